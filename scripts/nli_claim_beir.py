"""KLUE NLI dev -> an asymmetric claim -> source passage retrieval set in BEIR layout (short query, longer
document, shared words: the kind of set where BM25 is strong), the nearest to question -> passage the
shared data allows.

Queries are the dev set's entailment and neutral hypotheses (a statement about the premise, or one
close to it); the relevant document is the premise it was written from. The corpus is every dev premise
plus every KLUE NLI *train* premise as distractors. KLUE NLI dev is never trained on (the bi-encoder
trains on NLI train triplets).
Usage: python3 scripts/nli_claim_beir.py ../shared/data/klue_nli OUT_DIR
"""
import json, os, sys, tarfile


def read(src):
    """KLUE NLI dev rows, and every premise (dev, then train) with its corpus id."""
    dev = json.load(open(os.path.join(src, "klue-nli-v1.1_dev.json"), encoding="utf-8"))
    with tarfile.open(os.path.join(src, "klue-nli-v1.1.tar.gz")) as tar:
        member = next(m for m in tar.getmembers() if m.name.endswith("_train.json"))
        train = json.load(tar.extractfile(member))
    docs = {}
    for r in dev + train:
        docs.setdefault(r["premise"].strip(), f"p{len(docs)}")
    return dev, docs


def write_corpus(docs, out):
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "corpus.jsonl"), "w", encoding="utf-8") as f:
        for text, i in docs.items():
            f.write(json.dumps({"_id": i, "text": text}, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    src, out = sys.argv[1:3]
    dev, docs = read(src)
    write_corpus(docs, out)
    n = 0
    with open(os.path.join(out, "queries.jsonl"), "w", encoding="utf-8") as q, \
         open(os.path.join(out, "qrels.tsv"), "w", encoding="utf-8") as g:
        g.write("query-id\tcorpus-id\tscore\n")
        for r in dev:
            if r["gold_label"] not in ("entailment", "neutral"):
                continue
            q.write(json.dumps({"_id": f"q{n}", "text": r["hypothesis"].strip()}, ensure_ascii=False) + "\n")
            g.write(f"q{n}\t{docs[r['premise'].strip()]}\t1\n")
            n += 1
    print(f"{len(docs)} premises, {n} claim queries -> {out}", file=sys.stderr)
