#!/usr/bin/env python3
"""A tuning set for long documents, kept apart from the hand-written check set (tests/data/doc_check):
every section heading in the second half of a chapter of tests/data/doc_check/corpus.jsonl becomes a
query for its chapter (markdown marks and code ticks removed; headings that appear in two chapters are
left out). Made by rule, from the documents' own structure: it picks defaults (fusion for collections of
long documents) and is never reported as the quality of yusa on documents.

  python3 scripts/build_doc_tune.py tests/data/doc_check/corpus.jsonl tests/data/doc_tune
"""
import collections
import json
import re
import sys
from pathlib import Path


def main(corpus, out):
    out = Path(out)
    heads = []
    for line in open(corpus, encoding="utf-8"):
        d = json.loads(line)
        text = d["text"]
        half = len(text) // 2
        in_code = False
        pos = 0
        for ln in text.split("\n"):
            if ln.startswith("```"):
                in_code = not in_code
            if not in_code and pos >= half and re.match(r"^#{2,4} ", ln):
                h = re.sub(r"[#`*]", "", ln).strip()
                if len(h) >= 4 and h not in ("정리",):
                    heads.append((h, d["_id"]))
            pos += len(ln) + 1
    count = collections.Counter(h for h, _ in heads)
    heads = [(h, d) for h, d in heads if count[h] == 1]
    with open(out / "queries.jsonl", "w") as f, open(out / "qrels.tsv", "w") as q:
        q.write("query-id\tcorpus-id\tscore\n")
        for i, (h, d) in enumerate(heads):
            f.write(json.dumps({"_id": f"h{i}", "text": h}, ensure_ascii=False) + "\n")
            q.write(f"h{i}\t{d}\t1\n")
    print(len(heads), "heading queries")


if __name__ == "__main__":
    main(*sys.argv[1:])
