"""Splits PAWS-X ko dev (2,000 pairs) into a training half and a held-out half for measuring, so that
yusa can train on PAWS-X and still report an honest figure on it. Pairs that share a sentence
(PAWS builds several pairs from one source sentence) always land on the same side (union-find over
sentences), so no held-out sentence is ever seen in training.

Writes JSONL: train → {sentence1, sentence2, score} (paraphrase 5.0, not 1.0: same words, another
meaning — related, not equivalent); held-out → {sentence1, sentence2, label}.
Usage: python3 scripts/split_pawsx.py ../shared/data/pawsx_ko/dev_2k.tsv OUT_TRAIN OUT_HELDOUT
"""
import csv, json, random, sys
from unionfind import UnionFind

src, out_train, out_held = sys.argv[1:4]
rows = []
with open(src, encoding="utf-8") as f:
    r = csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
    next(r)
    for row in r:
        if len(row) < 4:
            continue
        s1, s2, label = row[1].strip(), row[2].strip(), row[3].strip()
        if not s1 or not s2 or s1 == "NS" or s2 == "NS" or label not in ("0", "1"):
            continue
        rows.append((s1, s2, int(label)))
uf = UnionFind()
find = uf.find
for s1, s2, _ in rows:
    uf.union(s1, s2)
groups = sorted({find(s1) for s1, _, _ in rows})
random.Random(20261129).shuffle(groups)
train_groups = set(groups[: len(groups) // 2])
n = [0, 0]
with open(out_train, "w", encoding="utf-8") as ft, open(out_held, "w", encoding="utf-8") as fh:
    for s1, s2, label in rows:
        if find(s1) in train_groups:
            ft.write(json.dumps({"sentence1": s1, "sentence2": s2, "score": 5.0 if label else 1.0}, ensure_ascii=False) + "\n")
            n[0] += 1
        else:
            fh.write(json.dumps({"sentence1": s1, "sentence2": s2, "label": label}, ensure_ascii=False) + "\n")
            n[1] += 1
print(f"{len(rows)} pairs in {len(groups)} sentence groups: {n[0]} train, {n[1]} held out", file=sys.stderr)
