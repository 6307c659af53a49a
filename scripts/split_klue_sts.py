"""Splits KLUE STS train (11,668 pairs) into a training part and a tuning-dev part for early stopping
and hyper-parameter search, *grouped* so that no sentence is on both sides. A random pair split leaks:
KLUE built several pairs from one source sentence, so a held-out pair's sentences (or near copies of
them) are seen in training, and the tuning figure reads 0.97 while KLUE dev reads 0.84.

Groups are the connected components of pairs linked by a shared sentence (after removing spaces and
punctuation) or by a near copy (character-bigram Jaccard >= 0.5, the paraphrase generator's small
edits). Whole groups go to the dev side until it holds --dev-fraction of the pairs.

Groups are named by their smallest sentence key before the seeded shuffle, so a split no longer depends on
Python's per-process string hashing (the version that made the shipped model's split did: its set
iteration order changed the groups' names from run to run). --dev-rows FILE takes the tuning split's rows
from FILE instead (`scripts/klue_sts_tune_dev.rows`: the split the shipped cross-encoder was trained and
tuned with); --write-rows FILE records a new split's rows.

With --parakqc PATH (paraKQC_v1.txt), every sentence of one paraKQC paraphrase set also joins one group.
Without it, 397 of the tuning split's 414 paraKQC pairs have a paraphrase of theirs in the training part
(paraphrases are reworded, not near copies), and the tuning figure on them reads 0.98 against 0.86 on KLUE
dev. Off by default so that the shipped model's split (`make train-sts`) stays as it was.

Labels: KLUE's `label` is the real-label rounded half-up to one decimal; both files keep that score.
Writes JSONL {sentence1, sentence2, score}.
Usage: python3 scripts/split_klue_sts.py [--parakqc PATH] [--dev-rows FILE] [--write-rows FILE] ../shared/data/klue_sts/klue_sts_train.csv OUT_TRAIN OUT_DEV [DEV_FRACTION]
"""
import collections, csv, json, random, re, sys
from unionfind import UnionFind
from decimal import Decimal, ROUND_HALF_UP

args = sys.argv[1:]
opts = {}
while args and args[0] in ("--parakqc", "--dev-rows", "--write-rows"):
    opts[args[0]], args = args[1], args[2:]
parakqc = opts.get("--parakqc")
src, out_train, out_dev = args[:3]
dev_fraction = float(args[3]) if len(args) > 3 else 0.1
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

uf = UnionFind()
find, union = uf.find, uf.union

keys = sorted({key(s) for s1, s2, _ in rows for s in (s1, s2)})
for s1, s2, _ in rows:
    union(key(s1), key(s2))
set_links = 0
if parakqc:
    # paraKQC: blocks of 10 lines are one paraphrase set; link the set's sentences that KLUE used.
    present = set(keys)
    sets = collections.defaultdict(list)
    with open(parakqc, encoding="utf-8") as f:
        for i, line in enumerate(f):
            parts = line.rstrip("\n").split("\t")
            if len(parts) >= 3 and key(parts[2]) in present:
                sets[i // 10].append(key(parts[2]))
    for members in sets.values():
        for k in members[1:]:
            if find(k) != find(members[0]):
                union(k, members[0])
                set_links += 1
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

by_root = collections.defaultdict(list)
for i, (s1, _, _) in enumerate(rows):
    by_root[find(key(s1))].append(i)
# Name each group by its smallest key: the root depends on the order of the unions above.
groups = {min(key(s) for i in members for s in rows[i][:2]): members for members in by_root.values()}
if "--dev-rows" in opts:
    with open(opts["--dev-rows"], encoding="utf-8") as f:
        dev_idx = {int(line) for line in f if line.strip() and not line.startswith("#")}
    if not dev_idx or max(dev_idx) >= len(rows):
        sys.exit(f"{opts['--dev-rows']}: row numbers outside the {len(rows)} pairs of {src}")
else:
    order = sorted(groups)
    random.Random(20261129).shuffle(order)
    dev_idx, target = set(), int(len(rows) * dev_fraction)
    for g in order:
        if len(dev_idx) >= target:
            break
        dev_idx.update(groups[g])
if "--write-rows" in opts:
    with open(opts["--write-rows"], "w", encoding="utf-8") as f:
        f.write("".join(f"{i}\n" for i in sorted(dev_idx)))
with open(out_train, "w", encoding="utf-8") as ft, open(out_dev, "w", encoding="utf-8") as fd:
    for i, (s1, s2, label) in enumerate(rows):
        (fd if i in dev_idx else ft).write(
            json.dumps({"sentence1": s1, "sentence2": s2, "score": label}, ensure_ascii=False) + "\n")
sizes = sorted((len(v) for v in groups.values()), reverse=True)
print(f"{len(rows)} pairs in {len(groups)} groups ({links} near-copy links, {set_links} paraKQC-set links; largest {sizes[:5]}): "
      f"{len(rows) - len(dev_idx)} train, {len(dev_idx)} tuning-dev", file=sys.stderr)
