#!/usr/bin/env python3
"""Per-kind report of yusa's duplicate decisions on a labelled check set (JSON lines with
sentence1, sentence2, label, kind), through the product's own door: POST /similarity on a running
server, at its default preset unless --preset is given. Nothing here picks a threshold.

    target/release/yusa serve --addr 127.0.0.1:8099 --index-dir "$(mktemp -d)" &
    python3 scripts/check_set_report.py --port 8099 tests/data/dedup_check/checks.jsonl
"""
import argparse
import collections
import json
import urllib.request


def similarity(port, pairs, preset, thresholds):
    body = {"pairs": pairs}
    if preset:
        body["preset"] = preset
    if thresholds:
        body["thresholds"] = thresholds
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}/similarity",
        data=json.dumps(body).encode(),
        headers={"content-type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=300) as r:
        return json.load(r)["decisions"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("data")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--preset", choices=["strict", "balanced", "loose"])
    ap.add_argument("--thresholds", type=json.loads, help="JSON thresholds over the preset, as /similarity takes them")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--show", type=int, default=0, help="print up to N wrong decisions per kind")
    a = ap.parse_args()
    rows = [json.loads(l) for l in open(a.data, encoding="utf-8") if l.strip()]
    decisions = []
    for i in range(0, len(rows), 32):
        chunk = rows[i : i + 32]
        decisions += similarity(
            a.port, [[r["sentence1"], r["sentence2"]] for r in chunk], a.preset, a.thresholds
        )
    by_kind = collections.OrderedDict()
    for r, d in zip(rows, decisions):
        k = by_kind.setdefault(r["kind"], {"label": r["label"], "n": 0, "flagged": 0, "wrong": []})
        k["n"] += 1
        k["flagged"] += int(d["is_duplicate"])
        if bool(d["is_duplicate"]) != bool(r["label"]):
            k["wrong"].append((r["sentence1"], r["sentence2"], d["reason"]))
    tp = sum(k["flagged"] for k in by_kind.values() if k["label"] == 1)
    fp = sum(k["flagged"] for k in by_kind.values() if k["label"] == 0)
    pos = sum(k["n"] for k in by_kind.values() if k["label"] == 1)
    summary = {
        "preset": a.preset or "server default",
        "thresholds": a.thresholds,
        "pairs": len(rows),
        "precision": tp / max(tp + fp, 1),
        "recall": tp / max(pos, 1),
        "kinds": {
            kind: {
                "n": k["n"],
                "flagged": k["flagged"],
                "right": (k["flagged"] if k["label"] == 1 else k["n"] - k["flagged"]) / k["n"],
            }
            for kind, k in by_kind.items()
        },
    }
    if a.json:
        print(json.dumps(summary, ensure_ascii=False, indent=1))
        return
    print(f"{len(rows)} pairs, preset: {summary['preset']}, thresholds over it: {a.thresholds}")
    print(f"{'kind':<22} {'n':>4} {'flagged':>8} {'right':>7}  (look-alikes: kept apart; paraphrases: flagged)")
    for kind, k in by_kind.items():
        right = summary["kinds"][kind]["right"]
        print(f"{kind:<22} {k['n']:>4} {k['flagged']:>8} {right:>7.1%}")
        for s1, s2, why in k["wrong"][: a.show]:
            print(f"    {s1} / {s2}  — {why}")
    print(f"overall: precision {summary['precision']:.3f}, recall {summary['recall']:.3f}")


if __name__ == "__main__":
    main()
