"""ChatbotData (11,823 question/answer pairs, MIT) -> an asymmetric question -> answer retrieval set in
BEIR layout, the closest to "question -> passage" the shared data allows (no Korean QA corpus is there).

Documents are the distinct answers (embedded as passages); a query is a question, relevant to the
answer document(s) its rows give. A seeded sample of --queries questions is used.
Usage: python3 scripts/chatbot_qa_beir.py ../shared/data/chatbot_data/ChatbotData.csv OUT_DIR [QUERIES]
"""
import csv, json, os, random, sys

src, out = sys.argv[1:3]
nq = int(sys.argv[3]) if len(sys.argv) > 3 else 2000
rows = list(csv.DictReader(open(src, encoding="utf-8")))
answers, rel = {}, {}
for r in rows:
    q, a = r["Q"].strip(), r["A"].strip()
    if not q or not a:
        continue
    aid = answers.setdefault(a, str(len(answers)))
    rel.setdefault(q, set()).add(aid)
qs = sorted(rel)
random.Random(5).shuffle(qs)
qs = qs[:nq]
os.makedirs(out, exist_ok=True)
with open(os.path.join(out, "corpus.jsonl"), "w", encoding="utf-8") as f:
    for a, i in answers.items():
        f.write(json.dumps({"_id": i, "text": a}, ensure_ascii=False) + "\n")
with open(os.path.join(out, "queries.jsonl"), "w", encoding="utf-8") as f, \
     open(os.path.join(out, "qrels.tsv"), "w", encoding="utf-8") as g:
    g.write("query-id\tcorpus-id\tscore\n")
    for k, q in enumerate(qs):
        f.write(json.dumps({"_id": f"q{k}", "text": q}, ensure_ascii=False) + "\n")
        for aid in sorted(rel[q]):
            g.write(f"q{k}\t{aid}\t1\n")
print(f"{len(answers)} answer documents, {len(qs)} questions -> {out}", file=sys.stderr)
