#!/usr/bin/env python3
"""FAQ check-before-insert, per kind, through the product's own doors on a running server: makes a
collection of the stored entries, checks every new text against it (POST
/collections/{name}/duplicates/check, the collection's default preset unless --preset), and reports
precision and recall overall and what each kind got. A flag is right when the text is a paraphrase and
its entry is among those reported. Nothing here picks a threshold.

    target/release/yusa serve --addr 127.0.0.1:8099 --index-dir "$(mktemp -d)" &
    python3 scripts/faq_check_report.py --port 8099 tests/data/faq_check
"""
import argparse
import collections
import json
import urllib.error

from yusa_http import call


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("folder", help="holds corpus.jsonl and queries.jsonl")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--collection", default="faq_check")
    ap.add_argument("--preset", choices=["strict", "balanced", "loose"])
    ap.add_argument("--show", action="store_true", help="print every wrong decision")
    a = ap.parse_args()
    corpus = [json.loads(l) for l in open(f"{a.folder}/corpus.jsonl", encoding="utf-8") if l.strip()]
    queries = [json.loads(l) for l in open(f"{a.folder}/queries.jsonl", encoding="utf-8") if l.strip()]
    try:
        call(a.port, "DELETE", f"/collections/{a.collection}")
    except urllib.error.HTTPError:
        pass
    call(a.port, "POST", "/collections", {"name": a.collection})
    call(a.port, "POST", f"/collections/{a.collection}/documents", {"documents": corpus})
    body = {"texts": [q["text"] for q in queries]}
    if a.preset:
        body["preset"] = a.preset
    res = call(a.port, "POST", f"/collections/{a.collection}/duplicates/check", body)
    per = collections.defaultdict(lambda: [0, 0])
    flagged = right = positives = 0
    for q, r in zip(queries, res["results"]):
        ids = [m["id"] for m in r["duplicates"]]
        is_dup = q["duplicate_of"] is not None
        positives += is_dup
        ok = (q["duplicate_of"] in ids) if is_dup else not ids
        flagged += bool(ids)
        right += bool(ids) and is_dup and q["duplicate_of"] in ids
        per[q["kind"]][0] += ok
        per[q["kind"]][1] += 1
        if a.show and not ok:
            why = "; ".join(f'{m["id"]} {m["text"]} ({m["evidence"]["reason"]})' for m in r["duplicates"]) or "nothing flagged"
            print(f'  wrong [{q["kind"]}] {q["text"]} → {why}')
    p = right / flagged if flagged else 1.0
    rc = right / positives if positives else 0.0
    print(f'verifier {res.get("verifier")}; {len(queries)} texts against {len(corpus)} entries')
    print(f"precision {p:.3f}  recall {rc:.3f}  ({right} right of {flagged} flagged, {positives} paraphrases)")
    print("kind                 right / texts")
    for k, (ok, n) in per.items():
        print(f"{k:<20} {ok:>3} / {n:<3} ({100 * ok / n:.0f}%)")


if __name__ == "__main__":
    main()
