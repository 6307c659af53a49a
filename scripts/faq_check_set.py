"""A check-before-insert set from StyleKQC's held-out groups (the ones scripts/split_stylekqc.py keeps
out of bi-encoder training; the cross-encoder never saw StyleKQC), the way an FAQ editor uses yusa:
a stored FAQ, and new questions to check against it before adding them.

Held-out groups (every 10th of the 2,400) are split in two halves. The 120 "stored" groups put their
first sentence in the FAQ (corpus.jsonl). Queries (queries.jsonl, {text, duplicate_of}):
- 2 other sentences of each stored group: duplicates of that entry (240);
- for each stored entry, the sentence of an unstored group with the highest character-bigram Jaccard
  to it: a question on a near topic, worded alike, that is *not* a duplicate (120 hard negatives);
- 1 random sentence of each unstored group: not a duplicate (120).
Usage: python3 scripts/faq_check_set.py ../shared/data/stylekqc/act_train.tsv OUT_DIR
"""
import json, os, random, sys

src, out_dir = sys.argv[1:3]
with open(src, encoding="utf-8") as f:
    lines = [l.rstrip("\n").split("\t", 1)[1].strip() for l in list(f)[1:] if l.strip()]
groups = [lines[i:i + 10] for i in range(0, len(lines), 10)]
held = [(i, g) for i, g in enumerate(groups) if i % 10 == 0]
stored, unstored = held[0::2], held[1::2]
rng = random.Random(29)

def bigrams(s):
    s = s.replace(" ", "")
    return {s[i:i + 2] for i in range(len(s) - 1)}

def jaccard(a, b):
    return len(a & b) / max(1, len(a | b))

os.makedirs(out_dir, exist_ok=True)
with open(os.path.join(out_dir, "corpus.jsonl"), "w", encoding="utf-8") as f:
    for gi, g in stored:
        f.write(json.dumps({"id": f"faq-{gi}", "text": g[0], "metadata": {"group": gi}}, ensure_ascii=False) + "\n")
queries = []
for gi, g in stored:
    for s in rng.sample(g[1:], 2):
        queries.append({"text": s, "duplicate_of": f"faq-{gi}", "kind": "paraphrase"})
pool = [s for _, g in unstored for s in g]
pool_bg = [bigrams(s) for s in pool]
used = set()
for gi, g in stored:
    e = bigrams(g[0])
    best = max((j for j in range(len(pool)) if j not in used), key=lambda j: jaccard(e, pool_bg[j]))
    used.add(best)
    queries.append({"text": pool[best], "duplicate_of": None, "kind": "near topic"})
for gi, g in unstored:
    queries.append({"text": rng.choice(g), "duplicate_of": None, "kind": "other question"})
rng.shuffle(queries)
with open(os.path.join(out_dir, "queries.jsonl"), "w", encoding="utf-8") as f:
    for q in queries:
        f.write(json.dumps(q, ensure_ascii=False) + "\n")
print(f"{len(stored)} stored entries, {len(queries)} queries "
      f"({sum(q['duplicate_of'] is not None for q in queries)} duplicates)", file=sys.stderr)
