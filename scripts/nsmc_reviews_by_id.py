#!/usr/bin/env python3
"""NSMC reviews by id, as yusa index input ({"id", "text"} lines, in the order of the id file):

    python3 scripts/nsmc_reviews_by_id.py ../shared/data docs/results/data/nsmc20k-review-ids.txt nsmc20k.jsonl

docs/results/data/nsmc20k-review-ids.txt is the 20,000-review sample whose duplicate clusters are read
by hand in docs/results (drawn once with seed 20261206; kept as ids so that every later reading is of
the same reviews). The sentiment head is fitted without them (scripts/build_sentiment_data.py --exclude).
"""
import gzip
import json
import sys
from pathlib import Path

data, ids_path, out = sys.argv[1:4]
ids = [l.strip() for l in open(ids_path, encoding="utf-8") if l.strip()]
want = set(ids)
text = {}
with gzip.open(Path(data) / "nsmc" / "nsmc_reviews.tsv.gz", "rt", encoding="utf-8") as f:
    next(f)
    for line in f:
        parts = line.rstrip("\n").split("\t")
        if len(parts) == 5 and parts[0] in want:
            text[parts[0]] = parts[4]
missing = [i for i in ids if i not in text]
if missing:
    sys.exit(f"{len(missing)} ids not in NSMC (first: {missing[0]})")
with open(out, "w", encoding="utf-8") as w:
    for i in ids:
        w.write(json.dumps({"id": i, "text": text[i]}, ensure_ascii=False) + "\n")
print(f"{len(ids)} reviews written to {out}")
