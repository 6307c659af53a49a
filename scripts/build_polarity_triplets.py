"""Contrastive triplets that teach the bi-encoder polarity, from scripts/build_hard_negatives.py's pairs
(NSMC reviews outside the probe's range): anchor = a review, positive = its surface variant (spacing
or final punctuation changed, score 5.0), negative = the same review with its meaning flipped (antonym,
안-negation or a changed number, score 1.0). Reviews with only one of the two are left out.
Usage: python3 scripts/build_polarity_triplets.py hard_negatives.jsonl > polarity_triplets.jsonl
"""
import json, sys

variant, flip = {}, {}
for line in open(sys.argv[1], encoding="utf-8"):
    p = json.loads(line)
    (variant if p["score"] >= 5.0 else flip).setdefault(p["sentence1"], p["sentence2"])

n = 0
for anchor, negative in flip.items():
    if anchor in variant:
        print(json.dumps({"anchor": anchor, "positive": variant[anchor], "negative": negative, "group": anchor}, ensure_ascii=False))
        n += 1
print(f"{n} triplets", file=sys.stderr)
