#!/usr/bin/env python3
"""Retrieval through the product's own doors, as a new user would run it: on a running `yusa serve`,
makes a collection the default way (`POST /collections` with a name only, so its first documents
decide what it is for; --role to say it instead), adds a BEIR corpus, asks every query (`POST /collections/{name}/search`, the
default mode unless --mode) and reports Recall@1, Recall@10 and MRR@10, and the role the server chose.
Nothing here tunes anything.

    target/release/yusa serve --addr 127.0.0.1:8099 --index-dir "$(mktemp -d)" &
    python3 scripts/http_retrieval_report.py --port 8099 --corpus tests/data/doc_check/corpus.jsonl \
        --queries tests/data/doc_tune_questions/queries.jsonl --qrels tests/data/doc_tune_questions/qrels.tsv
"""
import argparse
import json
import urllib.error

from yusa_http import call


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--corpus", required=True, help="BEIR corpus.jsonl (_id, title, text)")
    ap.add_argument("--queries", required=True, help="BEIR queries.jsonl (_id, text)")
    ap.add_argument("--qrels", required=True, help="BEIR qrels TSV (query-id, corpus-id, score)")
    ap.add_argument("--collection", default="http_retrieval")
    ap.add_argument("--mode", choices=["hybrid", "dense", "lexical"])
    ap.add_argument("--role", choices=["auto", "symmetric", "asymmetric"], default="auto",
                    help="auto (the default: a name only, the documents decide) or the role to create with")
    a = ap.parse_args()
    corpus = [json.loads(l) for l in open(a.corpus, encoding="utf-8") if l.strip()]
    queries = [json.loads(l) for l in open(a.queries, encoding="utf-8") if l.strip()]
    relevant = {}
    for line in open(a.qrels, encoding="utf-8"):
        p = line.rstrip("\n").split("\t")
        if len(p) >= 3 and p[2].isdigit() and int(p[2]) > 0:
            relevant.setdefault(p[0], set()).add(p[1])
    try:
        call(a.port, "DELETE", f"/collections/{a.collection}")
    except urllib.error.HTTPError:
        pass
    create = {"name": a.collection}
    if a.role != "auto":
        create["asymmetric"] = a.role == "asymmetric"
    call(a.port, "POST", "/collections", create)
    notices = []
    for i in range(0, len(corpus), 200):
        docs = [{"_id": d["_id"], "title": d.get("title") or None, "text": d["text"]} for d in corpus[i : i + 200]]
        out = call(a.port, "POST", f"/collections/{a.collection}/documents", {"documents": docs})
        if "notice" in out:
            notices.append(out["notice"])
    role = next(c["doc_role"] for c in call(a.port, "GET", "/collections")["collections"] if c["name"] == a.collection)
    r1 = r10 = mrr = 0.0
    asked = 0
    for q in queries:
        rel = relevant.get(q["_id"])
        if not rel:
            continue
        body = {"query": q["text"], "k": 10}
        if a.mode:
            body["mode"] = a.mode
        ids = [h["id"] for h in call(a.port, "POST", f"/collections/{a.collection}/search", body)["hits"]]
        first = next((i for i, d in enumerate(ids) if d in rel), None)
        asked += 1
        r1 += first == 0
        r10 += first is not None
        mrr += 0 if first is None else 1 / (first + 1)
    for n in notices:
        print("notice:", n)
    print(f"collection role: {role}; {len(corpus)} documents, {asked} queries, mode {a.mode or 'default'}")
    print(f"Recall@1 {r1 / asked:.3f}  Recall@10 {r10 / asked:.3f}  MRR@10 {mrr / asked:.4f}")


if __name__ == "__main__":
    main()
