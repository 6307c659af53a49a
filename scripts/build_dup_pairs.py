#!/usr/bin/env python3
"""Training pairs for a duplicate ("same meaning") pair model, from real labelled data only: score 5 =
duplicate, 0 = not. Lab data, written to files outside git.

  positives: Question_pair train part (label 0 = same), StyleKQC training groups (paraphrases of one
             question), paraKQC sets (paraphrases), KLUE STS train pairs scored >= 4.0
  negatives: Question_pair train part (label 1), paraKQC pairs across sets that share topic and intent
             (look-alikes that ask something else), KLUE NLI train contradictions and neutrals, KLUE
             STS train pairs scored <= 2.0

Held out: Question_pair's calibration part (grouped by sentence, scripts/split_question_pair.py) is the
dev set; StyleKQC's every-10th group (the retrieval hold-out); paraKQC sets holding a KLUE STS dev
sentence. The hand-written check set (tests/data/dedup_check) is never read here.

With --minimal-pairs, negatives that differ in few words are added, mined from real text: KLUE NLI
train contradictions whose hypothesis shares most of its premise's character bigrams, KLUE STS train
pairs scored <= 2.0 that share most bigrams, and NSMC reviews of one movie rated 1-2 and 9-10 that share
most bigrams (noisy: the same words are sometimes rated both ways).

Usage: build_dup_pairs.py DATA_DIR QP_TRAIN_PART OUT_TRAIN.jsonl [SEED] [--minimal-pairs]
"""
import csv
import json
import random
import sys
import tarfile
from collections import defaultdict

args = [a for a in sys.argv[1:] if not a.startswith("--")]
minimal = "--minimal-pairs" in sys.argv
data, qp_train, out = args[0], args[1], args[2]
rng = random.Random(int(args[3]) if len(args) > 3 else 7)


def bigrams(t):
    t = "".join(t.split())
    return {t[i : i + 2] for i in range(len(t) - 1)}


def letters(t):
    return "".join(c for c in t if c.isalnum())


def syllables(t):
    return sum("가" <= c <= "힣" for c in t)


def jaccard(a, b):
    x, y = bigrams(a), bigrams(b)
    return len(x & y) / max(len(x | y), 1)

rows = []


def add(a, b, dup, source):
    a, b = a.strip(), b.strip()
    if a and b and a != b:
        if rng.random() < 0.5:
            a, b = b, a
        rows.append({"sentence1": a, "sentence2": b, "score": 5.0 if dup else 0.0, "source": source})


# Question_pair (training part): 0 = the same question.
for line in open(qp_train, encoding="utf-8").read().splitlines()[1:]:
    if line.strip():
        q1, q2, label = line.split("\t")
        add(q1, q2, label.strip() == "0", "question_pair")

# StyleKQC training groups (every 10th group is held out, as in scripts/split_stylekqc.py).
with open(f"{data}/stylekqc/act_train.tsv", encoding="utf-8") as f:
    lines = [l.rstrip("\n").split("\t", 1)[1].strip() for l in list(f)[1:] if l.strip()]
groups = [lines[i : i + 10] for i in range(0, len(lines), 10)]
for gi, g in enumerate(groups):
    if gi % 10 != 0:
        a, b = rng.sample(g, 2)
        add(a, b, True, "stylekqc")

# paraKQC: sets of 10; sets sharing topic and intent are related but ask something else.
klue_dev = json.load(open(f"{data}/klue_sts/klue-sts-v1.1_dev.json", encoding="utf-8"))
dev_sents = {p[k].strip() for p in klue_dev for k in ("sentence1", "sentence2")}
pk = [l.rstrip("\n").split("\t") for l in open(f"{data}/parakqc/paraKQC_v1.txt", encoding="utf-8") if l.strip()]
sets = [pk[i : i + 10] for i in range(0, len(pk), 10)]
sets = [s for s in sets if not any(r[-1].strip() in dev_sents for r in s)]
by_kind = defaultdict(list)
for s in sets:
    by_kind[(s[0][0], s[0][1])].append(s)
for s in sets:
    a, b = rng.sample([r[-1] for r in s], 2)
    add(a, b, True, "parakqc")
    others = [o for o in by_kind[(s[0][0], s[0][1])] if o is not s]
    if others:
        o = rng.choice(others)
        add(rng.choice(s)[-1], rng.choice(o)[-1], False, "parakqc-related")

# KLUE NLI train: contradictions and neutrals are not the same meaning.
with tarfile.open(f"{data}/klue_nli/klue-nli-v1.1.tar.gz") as t:
    member = next(m for m in t.getmembers() if m.name.endswith("_train.json"))
    nli = json.load(t.extractfile(member))
contra = [r for r in nli if r["gold_label"] == "contradiction"]
neutral = [r for r in nli if r["gold_label"] == "neutral"]
for r in rng.sample(contra, 3000):
    add(r["premise"], r["hypothesis"], False, "klue-nli-contradiction")
for r in rng.sample(neutral, 1000):
    add(r["premise"], r["hypothesis"], False, "klue-nli-neutral")

if minimal:
    near = [r for r in contra if jaccard(r["premise"], r["hypothesis"]) >= 0.45]
    for r in near:
        add(r["premise"], r["hypothesis"], False, "klue-nli-contradiction-near")
    import gzip

    by_movie = defaultdict(lambda: ([], []))
    with gzip.open(f"{data}/nsmc/nsmc_reviews.tsv.gz", "rt", encoding="utf-8") as f:
        next(f)
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) < 5:
                continue
            movie, rating, text = parts[1], int(parts[2]), parts[4].strip()
            if len(text) < 8 or len(text) > 120:
                continue
            if rating <= 2:
                by_movie[movie][0].append(text)
            elif rating >= 9:
                by_movie[movie][1].append(text)
    mined = 0
    for movie, (low, high) in by_movie.items():
        low, high = low[:80], high[:80]
        hb = [(h, bigrams(h)) for h in high]
        for l in low:
            lb = bigrams(l)
            for h, b in hb:
                # Not the same words rated both ways (they differ in letters, not only in
                # symbols), and real sentences (four syllables at least).
                if (
                    len(lb & b) / max(len(lb | b), 1) >= 0.5
                    and letters(l) != letters(h)
                    and min(syllables(l), syllables(h)) >= 4
                ):
                    add(l, h, False, "nsmc-opposite-near")
                    mined += 1
                    break

# KLUE STS train: clear paraphrases and clearly different pairs (the middle is left out).
with open(f"{data}/klue_sts/klue_sts_train.csv", encoding="utf-8") as f:
    for r in csv.DictReader(f):
        s = float(r["label"])
        if s >= 4.0:
            add(r["sentence1"], r["sentence2"], True, "klue-sts-high")
        elif s <= 2.0 and minimal and jaccard(r["sentence1"], r["sentence2"]) >= 0.5:
            add(r["sentence1"], r["sentence2"], False, "klue-sts-low-near")
        elif s <= 2.0 and rng.random() < 0.5:
            add(r["sentence1"], r["sentence2"], False, "klue-sts-low")

rng.shuffle(rows)
with open(out, "w", encoding="utf-8") as f:
    for r in rows:
        f.write(json.dumps(r, ensure_ascii=False) + "\n")
count = defaultdict(lambda: [0, 0])
for r in rows:
    count[r["source"]][int(r["score"] > 0)] += 1
print(f"{len(rows)} pairs: " + ", ".join(f"{k} {v[1]}+/{v[0]}-" for k, v in sorted(count.items())))
