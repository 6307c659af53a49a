#!/usr/bin/env python3
"""Reads `yusa-lab eval sts --predictions` files of pairs scored in both orders (written by
scripts/build_entailment_mix.py: row 2i is (a, b), row 2i + 1 is (b, a)) and reports a duplicate
decision made from the two scores — their lower, or their mean — with its threshold fitted on the
Question_pair calibration part at precision 0.95 (as `yusa calibrate` fits `balanced`): Question_pair
validation precision / recall / F1 and ROC-AUC, and the hand-written check set per kind (it fits
nothing).

Usage: entailment_report.py PAIRS_DIR PRED_DIR   (PAIRS_DIR: qp_calib_both.jsonl, qp_val_both.jsonl,
check_both.jsonl; PRED_DIR: the predictions for each, same names)
"""

import json
import sys
from collections import defaultdict
from pathlib import Path


def load(path, pairs):
    rows = [json.loads(l) for l in open(path, encoding="utf-8")]
    kinds = [json.loads(l).get("kind") for l in open(pairs, encoding="utf-8")]
    out = []
    for i in range(0, len(rows), 2):
        a, b = rows[i], rows[i + 1]
        out.append((a["score"] > 0, a["predicted"], b["predicted"], kinds[i]))
    return out


def auc(pos, neg):
    if not pos or not neg:
        return float("nan")
    wins = sum((p > n) + 0.5 * (p == n) for p in pos for n in neg)
    return wins / (len(pos) * len(neg))


def fit(scored, target=0.95):
    """Lowest threshold whose precision is at least `target` (the highest-recall such one)."""
    best = None
    for t in sorted({s for _, s in scored}):
        flagged = [y for y, s in scored if s >= t]
        if flagged and sum(flagged) / len(flagged) >= target:
            best = t
            break
    return best


def prf(scored, t):
    tp = sum(1 for y, s in scored if y and s >= t)
    fp = sum(1 for y, s in scored if not y and s >= t)
    fn = sum(1 for y, s in scored if y and s < t)
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return p, r, 2 * p * r / (p + r) if p + r else 0.0


def main():
    pairs, pred = Path(sys.argv[1]), Path(sys.argv[2])
    calib, val, check = (
        load(pred / f, pairs / f)
        for f in ("qp_calib_both.jsonl", "qp_val_both.jsonl", "check_both.jsonl")
    )
    ways = {
        "lower": lambda x, y: min(x, y),
        "mean": lambda x, y: (x + y) / 2,
        "first order": lambda x, y: x,
    }
    for name, f in ways.items():
        sc = lambda rows: [(y, f(x1, x2)) for y, x1, x2, _ in rows]
        t = fit(sc(calib))
        p, r, f1 = prf(sc(val), t)
        v = sc(val)
        ch = [(y, f(x1, x2), k) for y, x1, x2, k in check]
        print(f"## {name}: threshold {t:.3f}")
        print(
            f"QP validation P / R / F1 {p:.3f} / {r:.3f} / {f1:.3f}; ROC-AUC "
            f"{auc([s for y, s in v if y], [s for y, s in v if not y]):.3f}"
        )
        print(
            "check set ROC-AUC (paraphrase vs look-alike) "
            f"{auc([s for y, s, _ in ch if y], [s for y, s, _ in ch if not y]):.3f}"
        )
        kinds = defaultdict(list)
        for y, s, k in ch:
            kinds[k].append((s >= t) == y)
        print("  " + ", ".join(f"{k} {sum(v) / len(v):.2f}" for k, v in kinds.items()))


if __name__ == "__main__":
    main()
