"""KLUE NLI train -> contrastive (anchor, positive, hard negative) triplets for `yusa-lab train bi-encoder`.

Every premise with both an entailment and a contradiction hypothesis gives one triplet (the SBERT /
SimCSE-NLI recipe): the contradiction is the opposite-polarity look-alike a duplicate detector must
not merge. Premises with several hypotheses of a kind use the first of each. `group` is the premise, so
a batch never holds the same premise twice (its other hypotheses would be false negatives).
Reads the release tarball directly (no extraction). Writes JSONL {anchor, positive, negative, group}.
With LIMIT, a seeded random LIMIT of them (a training step over 3 texts costs ~13 s on 2 cores).
Usage: python3 scripts/build_nli_triplets.py ../shared/data/klue_nli/klue-nli-v1.1.tar.gz OUT.jsonl [LIMIT]
"""
import collections, json, random, sys, tarfile

src, out = sys.argv[1:3]
limit = int(sys.argv[3]) if len(sys.argv) > 3 else None
with tarfile.open(src) as tar:
    member = next(m for m in tar.getmembers() if m.name.endswith("_train.json"))
    rows = json.load(tar.extractfile(member))
by_premise = collections.OrderedDict()
for r in rows:
    p = r["premise"].strip()
    by_premise.setdefault(p, {}).setdefault(r["gold_label"], r["hypothesis"].strip())
triplets = [{"anchor": p, "positive": h["entailment"], "negative": h["contradiction"], "group": p}
            for p, h in by_premise.items() if "entailment" in h and "contradiction" in h]
if limit is not None:
    random.Random(7).shuffle(triplets)
    triplets = triplets[:limit]
n = len(triplets)
with open(out, "w", encoding="utf-8") as f:
    for t in triplets:
        f.write(json.dumps(t, ensure_ascii=False) + "\n")
print(f"{len(rows)} NLI rows, {len(by_premise)} premises, {n} triplets -> {out}", file=sys.stderr)
