#!/usr/bin/env bash
# Encoder speed in one run, on the same texts: yusa (f32, int8, single query), numpy + OpenBLAS, and the
# ONNX Runtime peer (../shared/reference/ort_peer: the same model as an ONNX graph, f32 and int8), then
# the ratios yusa / ONNX Runtime.
# Usage: benches/encoder.sh [NSMC_GZ] [MODEL_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
nsmc=${1:-../shared/data/nsmc/nsmc_reviews.tsv.gz}
model=${2:-models/multilingual-e5-small}
peer=../shared/reference/ort_peer/ort_encode.py
venv=.cache/bench-venv
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/python" -c 'import numpy, onnx, onnxruntime, safetensors, tokenizers' 2>/dev/null ||
  "$venv/bin/pip" install --quiet numpy onnx onnxruntime safetensors tokenizers
ids=target/bench_encoder_ids.json
texts=target/bench_encoder_texts.txt
out=target/bench_encoder.txt
cargo bench --quiet --bench encoder -- --nsmc "$nsmc" --model "$model" --n 512 --batch 32 \
  --ids-out "$ids" --texts-out "$texts" | tee "$out"
"$venv/bin/python" benches/np_encoder.py "$model" "$ids"

# The peer: graphs written once from the same safetensors (.cache/ort/), then run beside yusa,
# alternating engine by engine for ROUNDS rounds (this machine's speed drifts by tens of percent
# within minutes); the ratios are of the medians.
rounds=${ROUNDS:-3}
if [ -f "$peer" ]; then
  [ -f .cache/ort/e5s.int8.onnx ] || "$venv/bin/python" "$peer" --model-dir "$model" build --int8
  ort=target/bench_encoder_ort.jsonl
  alt=target/bench_encoder_alt.txt
  : > "$ort"
  : > "$alt"
  for r in $(seq "$rounds"); do
    for p in int8 f32; do
      cargo bench --quiet --bench encoder -- --nsmc "$nsmc" --model "$model" --n 512 --batch 32 \
        --$p-batches 1 | tail -1 | tee -a "$alt"
      g=e5s.onnx; [ "$p" = int8 ] && g=e5s.int8.onnx
      "$venv/bin/python" "$peer" --model-dir "$model" encode --onnx ".cache/ort/$g" --input "$texts" | tee -a "$ort"
    done
    cargo bench --quiet --bench encoder -- --nsmc "$nsmc" --model "$model" --n 512 --latency-only 200 |
      grep "single query" | tee -a "$alt"
    "$venv/bin/python" "$peer" --model-dir "$model" latency .cache/ort/e5s.onnx .cache/ort/e5s.int8.onnx \
      --input "$texts" | tee -a "$ort"
  done
  "$venv/bin/python" - "$alt" "$ort" "$rounds" <<'EOF2'
import json, re, statistics, sys
yusa = open(sys.argv[1], encoding="utf-8").read()
ort = [json.loads(l) for l in open(sys.argv[2]) if l.strip()]
med = statistics.median
def tps(p):
    return [float(m) for m in re.findall(r"yusa packed " + p + r", batches of \d+ .*?([\d.]+) tokens/s", yusa)]
def p50(p):
    return [float(m) for m in re.findall(r"single query \(\d+ tokens\), " + p + r": p50 ([\d.]+) ms", yusa)]
enc = lambda g: [r["tokens_per_s"] for r in ort if r.get("model") == g and "tokens_per_s" in r]
lat = lambda g: [r["p50_ms"] for r in ort if r.get("model") == g and "p50_ms" in r]
print(f"\nyusa / ONNX Runtime, medians of {sys.argv[3]} alternating rounds in this run:")
for p, g in [("f32", "e5s.onnx"), ("int8", "e5s.int8.onnx")]:
    y, o = tps(p), enc(g)
    print(f"  {p} throughput: yusa {med(y):,.0f} tokens/s {sorted(round(v) for v in y)}, "
          f"ONNX Runtime {med(o):,.0f} {sorted(round(v) for v in o)}: {med(y) / med(o):.2f}x")
for p, g in [("f32", "e5s.onnx"), ("int8", "e5s.int8.onnx")]:
    y, o = p50(p), lat(g)
    print(f"  {p} single query p50: yusa {med(y):.1f} ms {sorted(y)}, ONNX Runtime {med(o):.1f} ms "
          f"{sorted(round(v, 1) for v in o)}: {med(o) / med(y):.2f}x")
EOF2
fi
