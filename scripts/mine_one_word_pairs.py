#!/usr/bin/env python3
"""Look-alike pairs mined from real text: two *different* real sentences that are word for word the
same but for one eojeol (whitespace word). Nothing is generated; both sides were written by people.

Where the source says what a sentence means, that label is used:
  paraKQC    same set = paraphrase, another set = another request
  StyleKQC   same group = paraphrase (mostly a register change), another group = another question
For sources without a meaning label (NSMC reviews, ChatbotData questions) the pair is kept as a
*negative* only when the two differing words are different words — their first syllables differ
(담배를 / 술을, 어제 / 내일, 최고 / 최악), or one carries a negation the other lacks (재밌다 / 재미없다,
돼요 / 안돼요) — and both hold two Hangul syllables at least (not ㅋㅋ against !!). Words that share their
first syllable and no negation (했어 / 했어요, 좋아요 / 좋아용, 뭐야 / 뭐임) are endings, register or
spelling: left out, since they may well be paraphrases. NSMC pairs rated on opposite sides (a mean
rating gap of 6 or more) are kept first: the rating says the meaning differs.

Pairs are split by connected sentence groups (union-find over shared sentences): the calibration part
shares no sentence with the training part. The hand-written check set (tests/data/dedup_check) is
never read here.

Usage: mine_one_word_pairs.py DATA_DIR OUT_TRAIN.jsonl OUT_CALIB.jsonl [SEED]
"""
import csv
import gzip
import itertools
import json
import random
import sys
from collections import defaultdict

from unionfind import UnionFind

data, out_train, out_calib = sys.argv[1:4]
rng = random.Random(int(sys.argv[4]) if len(sys.argv) > 4 else 11)
NEGATION = ("안", "못", "않", "없", "말")


def one_word_pairs(sentences, max_bucket=40):
    """(a, b, i) for sentences that differ only in their i-th eojeol."""
    buckets = defaultdict(set)
    for s in sentences:
        t = s.split()
        if 2 <= len(t) <= 12:
            for i in range(len(t)):
                buckets[(i, tuple(t[:i]), tuple(t[i + 1 :]))].add(s)
    out = {}
    for (i, _, _), v in buckets.items():
        if 1 < len(v) <= max_bucket:
            for a, b in itertools.combinations(sorted(v), 2):
                out[(a, b)] = i
    return out


def hangul(w):
    return [c for c in w if "가" <= c <= "힣"]


def different_words(a, b, i):
    """True when the i-th words are different words (see the module doc); None when unsure."""
    x, y = a.split()[i], b.split()[i]
    hx, hy = hangul(x), hangul(y)
    if len(hx) < 2 or len(hy) < 2:
        return None
    if hx[0] != hy[0]:
        return True
    nx = any(n in x for n in NEGATION)
    ny = any(n in y for n in NEGATION)
    return True if nx != ny else None


rows = []


def add(a, b, dup, source):
    if rng.random() < 0.5:
        a, b = b, a
    rows.append({"sentence1": a, "sentence2": b, "score": 5.0 if dup else 0.0, "source": source})


# paraKQC and StyleKQC: the set says whether the meaning is the same.
klue_dev = json.load(open(f"{data}/klue_sts/klue-sts-v1.1_dev.json", encoding="utf-8"))
dev_sents = {p[k].strip() for p in klue_dev for k in ("sentence1", "sentence2")}
pk = [l.rstrip("\n").split("\t") for l in open(f"{data}/parakqc/paraKQC_v1.txt", encoding="utf-8") if l.strip()]
sets = [pk[i : i + 10] for i in range(0, len(pk), 10)]
set_of = {}
for si, s in enumerate(sets):
    if not any(r[-1].strip() in dev_sents for r in s):
        for r in s:
            set_of.setdefault(r[-1].strip(), si)
for (a, b), _ in one_word_pairs(set_of).items():
    add(a, b, set_of[a] == set_of[b], "parakqc-one-word")

with open(f"{data}/stylekqc/act_train.tsv", encoding="utf-8") as f:
    lines = [l.rstrip("\n").split("\t", 1)[1].strip() for l in list(f)[1:] if l.strip()]
group_of = {}
for li, s in enumerate(lines):
    if (li // 10) % 10 != 0:  # every 10th group is the retrieval hold-out (split_stylekqc.py)
        group_of.setdefault(s, li // 10)
for (a, b), _ in one_word_pairs(group_of).items():
    add(a, b, group_of[a] == group_of[b], "stylekqc-one-word")

# ChatbotData questions: no meaning label; different words only.
qs = {r["Q"].strip() for r in csv.DictReader(open(f"{data}/chatbot_data/ChatbotData.csv", encoding="utf-8"))}
for (a, b), i in one_word_pairs(qs).items():
    if different_words(a, b, i):
        add(a, b, False, "chatbot-one-word")

# NSMC: reviews of any movie; the rating gap says opposite when it is wide.
ratings = defaultdict(list)
with gzip.open(f"{data}/nsmc/nsmc_reviews.tsv.gz", "rt", encoding="utf-8") as f:
    next(f)
    for line in f:
        p = line.rstrip("\n").split("\t")
        if len(p) >= 5:
            t = " ".join(p[4].split())
            if 4 <= len(t) <= 80:
                ratings[t].append(int(p[2]))
mean = {t: sum(r) / len(r) for t, r in ratings.items()}
opposite, other = [], []
for (a, b), i in one_word_pairs(ratings).items():
    if different_words(a, b, i):
        (opposite if abs(mean[a] - mean[b]) >= 6 else other).append((a, b))
rng.shuffle(opposite)
rng.shuffle(other)
for a, b in opposite[:5000]:
    add(a, b, False, "nsmc-one-word-opposite")
for a, b in other[:2500]:
    add(a, b, False, "nsmc-one-word")

# Grouped split: a tenth of the connected groups is the calibration part.
uf = UnionFind()
for r in rows:
    uf.union(r["sentence1"], r["sentence2"])
roots = sorted({uf.find(r["sentence1"]) for r in rows})
rng.shuffle(roots)
calib_roots = set(roots[: len(roots) // 10])
train = [r for r in rows if uf.find(r["sentence1"]) not in calib_roots]
calib = [r for r in rows if uf.find(r["sentence1"]) in calib_roots]
for path, part in ((out_train, train), (out_calib, calib)):
    rng.shuffle(part)
    with open(path, "w", encoding="utf-8") as f:
        for r in part:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
count = defaultdict(lambda: [0, 0])
for r in rows:
    count[r["source"]][int(r["score"] > 0)] += 1
print(f"{len(train)} train / {len(calib)} calibration pairs: " + ", ".join(f"{k} {v[1]}+/{v[0]}-" for k, v in sorted(count.items())))
