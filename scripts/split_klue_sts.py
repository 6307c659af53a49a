"""Splits KLUE STS train (11,668 pairs) into a training part and a tuning-dev part for early stopping
and hyper-parameter search, *grouped* so that no sentence is on both sides. A random pair split leaks:
KLUE built several pairs from one source sentence, so a held-out pair's sentences (or near copies of
them) are seen in training, and the tuning figure reads 0.97 while KLUE dev reads 0.84.

Groups are the connected components of pairs linked by a shared sentence (after removing spaces and
punctuation) or by a near copy (character-bigram Jaccard >= 0.5, the paraphrase generator's small
edits). Whole groups go to the dev side until it holds --dev-fraction of the pairs.

Labels: KLUE's `label` is the real-label rounded half-up to one decimal; both files keep that score.
Writes JSONL {sentence1, sentence2, score}.
Usage: python3 scripts/split_klue_sts.py ../shared/data/klue_sts/klue_sts_train.csv OUT_TRAIN OUT_DEV [DEV_FRACTION]
"""
import collections, csv, json, random, re, sys
from decimal import Decimal, ROUND_HALF_UP

src, out_train, out_dev = sys.argv[1:4]
dev_fraction = float(sys.argv[4]) if len(sys.argv) > 4 else 0.1
rows = []
with open(src, encoding="utf-8", newline="") as f:
    for r in csv.DictReader(f):
        s1, s2 = r["sentence1"].strip(), r["sentence2"].strip()
        if not s1 or not s2:
            continue
        label = float(Decimal(r["label"]).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))
        rows.append((s1, s2, label))

def key(s):
    return re.sub(r"[\W_]+", "", s.lower())

def bigrams(k):
    return {k[i:i + 2] for i in range(len(k) - 1)} or {k}

parent = {}
def find(x):
    parent.setdefault(x, x)
    while parent[x] != x:
        parent[x] = parent[parent[x]]
        x = parent[x]
    return x
def union(a, b):
    parent[find(a)] = find(b)

keys = sorted({key(s) for s1, s2, _ in rows for s in (s1, s2)})
for s1, s2, _ in rows:
    union(key(s1), key(s2))
# Near copies: candidates share a rare bigram; link when the Jaccard of bigram sets is >= 0.5.
grams = {k: bigrams(k) for k in keys}
postings = collections.defaultdict(list)
for k in keys:
    for g in grams[k]:
        postings[g].append(k)
links = 0
for k in keys:
    counts = collections.Counter()
    for g in grams[k]:
        p = postings[g]
        if len(p) <= 300:
            counts.update(p)
    for other, shared in counts.items():
        if other <= k:
            continue
        j = shared / (len(grams[k]) + len(grams[other]) - shared)
        if j >= 0.5 and find(k) != find(other):
            union(k, other)
            links += 1

groups = collections.defaultdict(list)
for i, (s1, _, _) in enumerate(rows):
    groups[find(key(s1))].append(i)
order = sorted(groups)
random.Random(20261129).shuffle(order)
dev_idx, target = set(), int(len(rows) * dev_fraction)
for g in order:
    if len(dev_idx) >= target:
        break
    dev_idx.update(groups[g])
with open(out_train, "w", encoding="utf-8") as ft, open(out_dev, "w", encoding="utf-8") as fd:
    for i, (s1, s2, label) in enumerate(rows):
        (fd if i in dev_idx else ft).write(
            json.dumps({"sentence1": s1, "sentence2": s2, "score": label}, ensure_ascii=False) + "\n")
sizes = sorted((len(v) for v in groups.values()), reverse=True)
print(f"{len(rows)} pairs in {len(groups)} groups ({links} near-copy links; largest {sizes[:5]}): "
      f"{len(rows) - len(dev_idx)} train, {len(dev_idx)} tuning-dev", file=sys.stderr)
