#!/usr/bin/env python3
"""Split songys/Question_pair train into a training part and a calibration part, grouped by sentence.

Why: a cross-encoder trained on Question_pair pairs cannot have its duplicate thresholds calibrated on
the same pairs. Pairs that share a sentence (after whitespace normalisation) are one group, and whole
groups go to one side, so no sentence is on both. Groups are placed by a SHA-1 of their smallest
sentence (not Python's salted hash): every run gives the same split.

Usage: split_question_pair.py TRAIN_TXT CALIB_SHARE OUT_TRAIN OUT_CALIB   (both outputs keep the TSV format)
"""
import hashlib
import sys

from unionfind import UnionFind


def main():
    src, share, out_train, out_calib = sys.argv[1], float(sys.argv[2]), sys.argv[3], sys.argv[4]
    lines = open(src, encoding="utf-8").read().splitlines()
    header, rows = lines[0], [l for l in lines[1:] if l.strip()]
    uf = UnionFind()
    key = lambda s: " ".join(s.split())
    pairs = []
    for r in rows:
        q1, q2, _ = r.split("\t")
        a, b = key(q1), key(q2)
        uf.union(a, b)
        pairs.append((a, b, r))
    # A group's name is its smallest sentence: independent of the order the pairs were linked in.
    name = {}
    for a, b, _ in pairs:
        root = uf.find(a)
        name[root] = min(name.get(root, a), a, b)
    calib, train = [], []
    for a, _, r in pairs:
        h = int(hashlib.sha1(name[uf.find(a)].encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
        (calib if h < share else train).append(r)
    for path, part in ((out_train, train), (out_calib, calib)):
        with open(path, "w", encoding="utf-8") as f:
            f.write(header + "\n" + "\n".join(part) + "\n")
    print(f"{len(train)} training pairs, {len(calib)} calibration pairs", file=sys.stderr)


if __name__ == "__main__":
    main()
