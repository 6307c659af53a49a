"""Scored pairs for the bi-encoder's polarity stage (stage 3 of `make train-bi`).

The polarity pairs of scripts/build_hard_negatives.py (NSMC reviews outside the probe's range: flips at
STS 1.0, surface variants at 5.0) are split by review — every pair of one review on the same side — into
a training and a dev part. Training = the training part + a seeded sample of the KLUE STS tuning-train
pairs (so one epoch stays short and KLUE's scale keeps its weight); dev = the KLUE STS tuning-dev pairs
+ the held-out polarity pairs, so picking the best step weighs STS quality and polarity together. The
probe (tests/data/polarity) is never touched: its reviews come from another range of NSMC.

Usage: python3 scripts/polarity_stage_pairs.py hard_negatives.jsonl klue_tune_train.jsonl \
           klue_tune_dev.jsonl N_KLUE out_train.jsonl out_dev.jsonl
"""
import hashlib, json, random, sys

hard, klue_train, klue_dev, n_klue, out_train, out_dev = sys.argv[1:7]


def rows(path):
    return [json.loads(line) for line in open(path, encoding="utf-8") if line.strip()]


def held_out(review):
    # One review in six goes to dev, decided by a hash so the split does not depend on file order.
    return int(hashlib.sha1(review.encode("utf-8")).hexdigest(), 16) % 6 == 0


pol = rows(hard)
pol_train = [p for p in pol if not held_out(p["sentence1"])]
pol_dev = [p for p in pol if held_out(p["sentence1"])]
klue = rows(klue_train)
random.Random(20261129).shuffle(klue)
train = klue[: int(n_klue)] + pol_train
random.Random(7).shuffle(train)
dev = rows(klue_dev) + pol_dev


def write(path, items):
    with open(path, "w", encoding="utf-8") as f:
        for p in items:
            f.write(json.dumps({"sentence1": p["sentence1"], "sentence2": p["sentence2"], "score": p["score"]}, ensure_ascii=False) + "\n")


write(out_train, train)
write(out_dev, dev)
print(f"train: {len(train)} pairs ({len(pol_train)} polarity); dev: {len(dev)} pairs ({len(pol_dev)} polarity)", file=sys.stderr)
