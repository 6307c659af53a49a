#!/usr/bin/env python3
"""Training and dev files for the learned sentiment head (`yusa-lab train sentiment`), from NSMC's raw
reviews and their 1-10 ratings:

    python3 scripts/build_sentiment_data.py ../shared/data OUT_DIR [--per-class 20000] [--exclude F.jsonl ...]

Ratings 1-3 are negative (label 0), 9-10 positive (label 1); 4-8 are left out (mixed, and where the
noise is). Split by movie, never by review: a movie goes whole to dev when the SHA-1 of its id ends in
0 (mod 10), so no movie's title, actors or running jokes are on both sides. Texts are unique across
both files (a review as common as "최고" would otherwise sit on both sides), and every text of an
--exclude file ({"text"} or {"sentence1","sentence2"} lines: the hand-written check sets, the NSMC scan
sample whose clusters are read by hand) is left out. Deterministic (seed 13).

Writes OUT_DIR/train.jsonl and OUT_DIR/dev.jsonl: {"text", "label", "movie", "rating"}.
"""
import argparse
import gzip
import hashlib
import json
import random
import re
from pathlib import Path


def key(text):
    return re.sub(r"\s+", " ", text).strip().lower()


def excluded(paths):
    out = set()
    for p in paths:
        with open(p, encoding="utf-8") as f:
            for line in f:
                if not line.strip():
                    continue
                o = json.loads(line)
                for k in ("text", "sentence1", "sentence2"):
                    if isinstance(o.get(k), str):
                        out.add(key(o[k]))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("data")
    ap.add_argument("out")
    ap.add_argument("--per-class", type=int, default=20000)
    ap.add_argument("--dev-per-class", type=int, default=3000)
    ap.add_argument("--exclude", action="append", default=[])
    a = ap.parse_args()
    skip = excluded(a.exclude)
    by_split = {"train": {0: [], 1: []}, "dev": {0: [], 1: []}}
    seen = {}
    with gzip.open(Path(a.data) / "nsmc" / "nsmc_reviews.tsv.gz", "rt", encoding="utf-8") as f:
        next(f)
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) != 5:
                continue
            _, movie, rating, _, text = parts
            r = int(rating)
            label = 0 if r <= 3 else 1 if r >= 9 else None
            k = key(text)
            if label is None or not re.search(r"[가-힣A-Za-z0-9]", k) or k in skip:
                continue
            split = "dev" if int(hashlib.sha1(movie.encode()).hexdigest(), 16) % 10 == 0 else "train"
            if k in seen:
                seen[k] = None  # on both sides or rated both ways: drop everywhere
                continue
            seen[k] = (split, label)
            by_split[split][label].append({"text": text.strip(), "label": label, "movie": movie, "rating": r})
    rng = random.Random(13)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    for split, n in (("train", a.per_class), ("dev", a.dev_per_class)):
        rows = []
        for label in (0, 1):
            pool = [x for x in by_split[split][label] if seen.get(key(x["text"])) is not None]
            rows += rng.sample(pool, min(n, len(pool)))
        rng.shuffle(rows)
        with open(out / f"{split}.jsonl", "w", encoding="utf-8") as w:
            for x in rows:
                w.write(json.dumps(x, ensure_ascii=False) + "\n")
        print(f"{split}: {len(rows)} reviews from {len({x['movie'] for x in rows})} movies")


if __name__ == "__main__":
    main()
