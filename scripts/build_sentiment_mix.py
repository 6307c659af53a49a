#!/usr/bin/env python3
"""Training file for the sentiment classifier's second stage: rated NSMC reviews (label 0 / 1, from
scripts/build_sentiment_data.py) mixed with texts that carry no sentiment, labelled 0.5.

Why the neutral texts: trained on reviews alone, the classifier read the register of a sentence as
its sentiment (요즘 잠이 안 와 0.09, 요즘 잠을 이루지 못하고 있어요 0.91), because polite endings are
commoner in positive reviews; a veto built on it then split paraphrases across registers. StyleKQC
says the same request in ten styles, and Question_pair's questions are requests too: read at 0.5,
they teach the model that style and asking are not sentiment.

    python3 scripts/build_sentiment_mix.py ../shared/data .cache/sentiment/train.jsonl \
        .cache/dup/qp_train.tsv OUT.jsonl [--nsmc 25000] [--exclude F.jsonl ...]

StyleKQC: only groups whose index is 1–5 mod 10 (group 0 mod 10 is the held-out retrieval set of
scripts/split_stylekqc.py; 6–9 stay unseen, so that paraphrase pairs from them measure the veto on
texts it never read). Question_pair: the grouped training part only (its calibration part fits the
veto's gap), each question whose SHA-1 is even. Texts of --exclude files never. Seed 17.
"""
import argparse, hashlib, json, random, re


def key(t):
    return re.sub(r"\s+", " ", t).strip().lower()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("data")
    ap.add_argument("nsmc_train")
    ap.add_argument("qp_train")
    ap.add_argument("out")
    ap.add_argument("--nsmc", type=int, default=25000)
    ap.add_argument("--exclude", action="append", default=[])
    a = ap.parse_args()
    banned = set()
    for p in a.exclude:
        for l in open(p, encoding="utf-8"):
            if not l.strip():
                continue
            r = json.loads(l)
            for f in ("text", "sentence1", "sentence2", "a", "b"):
                if isinstance(r.get(f), str):
                    banned.add(key(r[f]))
    rng = random.Random(17)
    nsmc = [json.loads(l) for l in open(a.nsmc_train, encoding="utf-8")]
    rng.shuffle(nsmc)
    rows = [{"text": r["text"], "label": r["label"]} for r in nsmc[: a.nsmc]]
    seen = {key(r["text"]) for r in rows}
    neutral = []
    with open(f"{a.data}/stylekqc/act_train.tsv", encoding="utf-8") as f:
        lines = [l.rstrip("\n").split("\t", 1)[1].strip() for l in list(f)[1:] if l.strip()]
    for gi in range(0, len(lines), 10):
        if (gi // 10) % 10 in (1, 2, 3, 4, 5):
            neutral += lines[gi : gi + 10]
    styl = len(neutral)
    with open(a.qp_train, encoding="utf-8") as f:
        next(f)
        for l in f:
            for q in l.rstrip("\n").split("\t")[:2]:
                if int(hashlib.sha1(q.encode()).hexdigest(), 16) % 2 == 0:
                    neutral.append(q)
    kept = 0
    for t in neutral:
        k = key(t)
        if not k or k in seen or k in banned:
            continue
        seen.add(k)
        rows.append({"text": t, "label": 0.5})
        kept += 1
    rng.shuffle(rows)
    with open(a.out, "w", encoding="utf-8") as o:
        for r in rows:
            o.write(json.dumps(r, ensure_ascii=False) + "\n")
    print(f"{len(rows)} texts: {min(a.nsmc, len(nsmc))} rated reviews, {kept} neutral "
          f"({styl} StyleKQC sentences read, the rest Question_pair)")


if __name__ == "__main__":
    main()
