"""Writes queries.jsonl ({text, duplicate_of, kind, mimics}) from queries.py."""
import json
from queries import LOOKALIKES, PARAPHRASES, UNRELATED

rows = [{"text": t, "duplicate_of": q, "kind": "paraphrase", "mimics": q} for t, q in PARAPHRASES]
for kind, items in LOOKALIKES.items():
    rows += [{"text": t, "duplicate_of": None, "kind": kind, "mimics": q} for t, q in items]
rows += [{"text": t, "duplicate_of": None, "kind": "unrelated", "mimics": None} for t in UNRELATED]
with open("queries.jsonl", "w", encoding="utf-8") as f:
    for r in rows:
        f.write(json.dumps(r, ensure_ascii=False) + "\n")
print(len(rows), "queries")
