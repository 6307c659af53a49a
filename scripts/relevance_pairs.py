"""Question → passage relevance pairs from KLUE NLI *train*: each hypothesis (a statement written from its
premise) is a query whose relevant passage is that premise; hard negatives are the other premises that
lexical and dense search rank highest for it. KLUE NLI dev (the claim retrieval set,
`scripts/nli_claim_beir.py`) and every hand-written question set stay out.

Step 1 writes a BEIR set of sampled train hypotheses over the claim set's corpus (every KLUE NLI premise):
    python3 scripts/relevance_pairs.py queries ../shared/data/klue_nli OUT_DIR [N_PREMISES]
then `yusa-lab eval retrieval --asymmetric --no-cross-encoder --corpus OUT_DIR/corpus.jsonl --queries
OUT_DIR/queries.jsonl --qrels OUT_DIR/qrels.tsv --rankings OUT_DIR/rankings.jsonl` ranks them; step 2 turns
the rankings into training pairs (label 1: the premise; 0: a top-ranked other premise), split by premise:
    python3 scripts/relevance_pairs.py pairs OUT_DIR NEGATIVES_PER_LIST DEV_PREMISES
"""
import json, os, random, sys

sys.path.insert(0, os.path.dirname(__file__))
from nli_claim_beir import read, write_corpus  # noqa: E402


def queries(src, out, n_premises):
    dev, docs = read(src)
    import tarfile
    with tarfile.open(os.path.join(src, "klue-nli-v1.1.tar.gz")) as tar:
        member = next(m for m in tar.getmembers() if m.name.endswith("_train.json"))
        train = json.load(tar.extractfile(member))
    dev_premises = {r["premise"].strip() for r in dev}
    by_premise = {}
    for r in train:
        p = r["premise"].strip()
        if p in dev_premises:
            continue
        by_premise.setdefault(p, []).append(r["hypothesis"].strip())
    premises = sorted(by_premise)
    random.Random(7).shuffle(premises)
    write_corpus(docs, out)
    n = 0
    with open(os.path.join(out, "queries.jsonl"), "w", encoding="utf-8") as q, \
         open(os.path.join(out, "qrels.tsv"), "w", encoding="utf-8") as g:
        g.write("query-id\tcorpus-id\tscore\n")
        for p in premises[:n_premises]:
            for h in by_premise[p]:
                q.write(json.dumps({"_id": f"t{n}", "text": h, "premise": docs[p]}, ensure_ascii=False) + "\n")
                g.write(f"t{n}\t{docs[p]}\t1\n")
                n += 1
    print(f"{n} train hypotheses of {min(n_premises, len(premises))} premises -> {out}", file=sys.stderr)


def pairs(out, per_list, dev_premises):
    text = {}
    for line in open(os.path.join(out, "corpus.jsonl"), encoding="utf-8"):
        d = json.loads(line)
        text[d["_id"]] = d["text"]
    qs = {}
    for line in open(os.path.join(out, "queries.jsonl"), encoding="utf-8"):
        d = json.loads(line)
        qs[d["_id"]] = d
    tops = {}
    for line in open(os.path.join(out, "rankings.jsonl"), encoding="utf-8"):
        r = json.loads(line)
        if r["variant"] in ("lexical", "dense"):
            tops.setdefault(r["query_id"], {})[r["variant"]] = r["top"]
    premises = sorted({q["premise"] for q in qs.values()})
    random.Random(11).shuffle(premises)
    dev = set(premises[:dev_premises])
    files = {s: open(os.path.join(out, f"{s}.jsonl"), "w", encoding="utf-8") for s in ("train", "dev")}
    counts = {"train": [0, 0], "dev": [0, 0]}
    for qid, q in qs.items():
        split = "dev" if q["premise"] in dev else "train"
        f = files[split]
        rows = [(q["premise"], 1)]
        seen = {q["premise"]}
        for variant in ("lexical", "dense"):
            taken = 0
            for d in tops.get(qid, {}).get(variant, []):
                if taken == per_list:
                    break
                if d in seen:
                    continue
                seen.add(d)
                rows.append((d, 0))
                taken += 1
        for d, label in rows:
            f.write(json.dumps({"sentence1": q["text"], "sentence2": text[d], "label": label},
                               ensure_ascii=False) + "\n")
            counts[split][label] += 1
    for s, (neg, pos) in counts.items():
        print(f"{s}: {pos} relevant, {neg} not", file=sys.stderr)


if __name__ == "__main__":
    if sys.argv[1] == "queries":
        queries(sys.argv[2], sys.argv[3], int(sys.argv[4]) if len(sys.argv) > 4 else 2500)
    else:
        pairs(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
