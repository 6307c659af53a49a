#!/usr/bin/env python3
"""The training and calibration files of the duplicate models (docs/results/
2026-12-06-duplicate-decisions-learned.md), from the files the other scripts write:

    python3 scripts/split_question_pair.py ../shared/data/question_pair/train.txt 0.2 D/qp_train.tsv D/qp_calib.tsv
    (cd scripts && python3 split_pawsx.py ../../shared/data/pawsx_ko/dev_2k.tsv ../D/pawsx_train.jsonl ../D/pawsx_held.jsonl)
    python3 scripts/build_dup_pairs.py ../shared/data D/qp_train.tsv D/base.jsonl 7 --minimal-pairs
    python3 scripts/mine_one_word_pairs.py ../shared/data D/mined_train.jsonl D/mined_calib.jsonl
    python3 scripts/build_dup_mix.py D        # writes D/train.jsonl and D/dev.jsonl

train.jsonl: the mined pairs, PAWS-X's training half (non-paraphrases as 0) and a sample of base.jsonl;
dev.jsonl (early stopping and `yusa calibrate`): Question_pair's calibration part and the mined
calibration part. The hand-written check sets are never read. (The trials of
docs/results/2026-12-06-duplicate-model-third-try.md used an earlier version of the mining script: 12,933 /
1,812 mined pairs where the present one gives 13,049 / 1,696.)
"""The training and calibration files of the duplicate-model trials (docs/results/
2026-12-06-duplicate-model-third-try.md, run v2), from the files the other scripts write:

    python3 scripts/split_question_pair.py ../shared/data/question_pair/train.txt 0.2 D/qp_train.tsv D/qp_calib.tsv
    (cd scripts && python3 split_pawsx.py ../../shared/data/pawsx_ko/dev_2k.tsv ../D/pawsx_train.jsonl ../D/pawsx_held.jsonl)
    python3 scripts/build_dup_pairs.py ../shared/data D/qp_train.tsv D/base.jsonl 7 --minimal-pairs
    (cd scripts && python3 mine_one_word_pairs.py ../../shared/data ../D/mined_train.jsonl ../D/mined_calib.jsonl)
    python3 scripts/build_dup_mix.py D        # writes D/train.jsonl and D/dev.jsonl

train.jsonl: the mined pairs, PAWS-X's training half (non-paraphrases as 0) and a sample of base.jsonl;
dev.jsonl (early stopping and `yusa calibrate`): Question_pair's calibration part and the mined
calibration part. The hand-written check sets are never read.
"""
import json
import random
import sys

d = sys.argv[1]
rng = random.Random(5)
rows = [json.loads(l) for l in open(f"{d}/mined_train.jsonl", encoding="utf-8")]
for l in open(f"{d}/pawsx_train.jsonl", encoding="utf-8"):
    r = json.loads(l)
    r["score"] = 5.0 if r["score"] >= 5 else 0.0
    r["source"] = "pawsx"
    rows.append(r)
keep_all = {"question_pair", "klue-nli-contradiction-near", "nsmc-opposite-near", "parakqc", "parakqc-related", "stylekqc"}
fraction = {"klue-nli-contradiction": 0.5, "klue-nli-neutral": 0.5, "klue-sts-high": 0.8, "klue-sts-low": 0.4}
for l in open(f"{d}/base.jsonl", encoding="utf-8"):
    r = json.loads(l)
    if r["source"] in keep_all or rng.random() < fraction.get(r["source"], 1):
        rows.append(r)
rng.shuffle(rows)
with open(f"{d}/train.jsonl", "w", encoding="utf-8") as f:
    for r in rows:
        f.write(json.dumps(r, ensure_ascii=False) + "\n")
dev = [json.loads(l) for l in open(f"{d}/mined_calib.jsonl", encoding="utf-8")]
for l in open(f"{d}/qp_calib.tsv", encoding="utf-8").read().splitlines()[1:]:
    a, b, y = l.split("\t")
    dev.append({"sentence1": a, "sentence2": b, "score": 5.0 if y.strip() == "0" else 0.0, "source": "question_pair"})
with open(f"{d}/dev.jsonl", "w", encoding="utf-8") as f:
    for r in dev:
        f.write(json.dumps(r, ensure_ascii=False) + "\n")
print(f"{len(rows)} training pairs ({sum(r['score'] > 0 for r in rows)} duplicates), {len(dev)} calibration pairs")
