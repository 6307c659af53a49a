#!/usr/bin/env python3
"""A tuning set of documents of every length, for choosing how a document's passages add up: each
section of each document of tests/data/doc_check/corpus.jsonl (the text between two markdown headings,
code blocks kept, the heading line itself removed) becomes a document of its own when it has at least 100
characters; every heading that names one section only (4 characters or more, not 정리) becomes a query for
its section. Made by rule, like scripts/build_doc_tune.py: it picks defaults and is never reported as the
quality of yusa. Sections are 100 to several thousand characters (median about 1,050), so one, two or
many passages each — closer to a collection of paragraphs than the whole chapters are.

  python3 scripts/build_doc_sections.py tests/data/doc_check/corpus.jsonl .cache/doc_sections
"""
import collections
import json
import re
import sys
from pathlib import Path


def sections(text):
    """(heading, body) for every heading outside code blocks, in order."""
    out, head, body, in_code = [], None, [], False
    for ln in text.split("\n"):
        if ln.startswith("```"):
            in_code = not in_code
        if not in_code and re.match(r"^#{1,4} ", ln):
            if head is not None:
                out.append((head, "\n".join(body).strip()))
            head, body = re.sub(r"[#`*]", "", ln).strip(), []
        else:
            body.append(ln)
    if head is not None:
        out.append((head, "\n".join(body).strip()))
    return out


def main(corpus, out):
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    secs = []
    for line in open(corpus, encoding="utf-8"):
        d = json.loads(line)
        for n, (h, body) in enumerate(sections(d["text"])):
            secs.append((f"{d['_id']}#{n}", h, body))
    count = collections.Counter(h for _, h, _ in secs)
    queries = 0
    with open(out / "corpus.jsonl", "w", encoding="utf-8") as c, open(
        out / "queries.jsonl", "w", encoding="utf-8"
    ) as q, open(out / "qrels.tsv", "w", encoding="utf-8") as r:
        r.write("query-id\tcorpus-id\tscore\n")
        for sid, h, body in secs:
            if len(body) < 100:
                continue
            c.write(json.dumps({"_id": sid, "text": body}, ensure_ascii=False) + "\n")
            if count[h] == 1 and len(h) >= 4 and h != "정리":
                q.write(json.dumps({"_id": f"s{queries}", "text": h}, ensure_ascii=False) + "\n")
                r.write(f"s{queries}\t{sid}\t1\n")
                queries += 1
    print(queries, "heading queries")


if __name__ == "__main__":
    main(*sys.argv[1:])
