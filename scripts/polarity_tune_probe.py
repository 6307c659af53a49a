"""A tuning-side stand-in for the polarity probe, used to choose the bi-encoder average (model card of
yusa-ko-e5-small): label 0 = the held-out polarity flips of scripts/polarity_stage_pairs.py's dev file
(score 1.0), label 1 = the KLUE STS tuning-split pairs scored ≥ 4 (paraphrase-like). Neither the probe
nor KLUE STS dev is read. `yusa-lab eval pairs --no-cross-encoder --data OUT` prints the mean cosine of each.

Usage: python3 scripts/polarity_tune_probe.py polarity_stage_dev.jsonl klue_tune_dev.jsonl OUT.jsonl
"""
import json, sys

stage_dev, klue_dev, out = sys.argv[1:4]
klue = [json.loads(l) for l in open(klue_dev, encoding="utf-8") if l.strip()]
in_klue = {(p["sentence1"], p["sentence2"]) for p in klue}
flips = [
    p
    for p in (json.loads(l) for l in open(stage_dev, encoding="utf-8") if l.strip())
    if (p["sentence1"], p["sentence2"]) not in in_klue and p["score"] <= 1.0
]
close = [p for p in klue if p["score"] >= 4.0]
with open(out, "w", encoding="utf-8") as f:
    for label, rows in ((0, flips), (1, close)):
        for p in rows:
            f.write(json.dumps({"sentence1": p["sentence1"], "sentence2": p["sentence2"], "label": label}, ensure_ascii=False) + "\n")
print(f"{len(flips)} flips, {len(close)} paraphrase-like pairs", file=sys.stderr)
