"""StyleKQC train (2,400 groups of 10 paraphrases) -> a training part and a held-out retrieval set,
split by *group* (a random sentence split would put a query's paraphrases in training).

Held-out groups (every 10th group, 240 = 2,400 sentences) become BEIR files in OUT_DIR: each of their
sentences is a query whose 9 group siblings are relevant (like paraKQC). The corpus is all 24,000
sentences: the training groups are distractors (on the held-out groups alone, untrained e5 already
reaches P@1 1.000 and nothing can be told apart). The other groups give
contrastive training pairs: --pairs-per-group disjoint (anchor, positive) pairs from each group, with
`group` set so a batch never holds two pairs of one group (they would be false negatives).
Usage: python3 scripts/split_stylekqc.py ../shared/data/stylekqc/act_train.tsv TRAIN.jsonl OUT_DIR [PAIRS_PER_GROUP]
"""
import json, os, random, sys

src, train_out, out_dir = sys.argv[1:4]
per_group = int(sys.argv[4]) if len(sys.argv) > 4 else 2
with open(src, encoding="utf-8") as f:
    lines = [l.rstrip("\n").split("\t", 1)[1].strip() for l in list(f)[1:] if l.strip()]
assert len(lines) % 10 == 0, len(lines)
groups = [lines[i:i + 10] for i in range(0, len(lines), 10)]
rng = random.Random(13)
os.makedirs(out_dir, exist_ok=True)
held = [g for i, g in enumerate(groups) if i % 10 == 0]
train = [(i, g) for i, g in enumerate(groups) if i % 10 != 0]
n = 0
with open(train_out, "w", encoding="utf-8") as f:
    for gi, g in train:
        s = g[:]
        rng.shuffle(s)
        for k in range(min(per_group, 5)):
            f.write(json.dumps({"anchor": s[2 * k], "positive": s[2 * k + 1], "group": f"stylekqc-{gi}"},
                               ensure_ascii=False) + "\n")
            n += 1
with open(os.path.join(out_dir, "corpus.jsonl"), "w", encoding="utf-8") as c, \
     open(os.path.join(out_dir, "queries.jsonl"), "w", encoding="utf-8") as q, \
     open(os.path.join(out_dir, "qrels.tsv"), "w", encoding="utf-8") as r:
    r.write("query-id\tcorpus-id\tscore\n")
    for gi, g in enumerate(groups):
        for k, s in enumerate(g):
            i = gi * 10 + k
            line = json.dumps({"_id": str(i), "text": s}, ensure_ascii=False)
            c.write(line + "\n")
            if gi % 10 != 0:
                continue
            q.write(line + "\n")
            for j in range(gi * 10, gi * 10 + 10):
                if j != i:
                    r.write(f"{i}\t{j}\t1\n")
print(f"{len(groups)} groups: {n} training pairs from {len(train)}, {len(held) * 10} held-out queries over "
      f"{len(lines)} documents -> {out_dir}",
      file=sys.stderr)
