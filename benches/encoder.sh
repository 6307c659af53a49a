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

# The peer: graphs written once from the same safetensors (.cache/ort/), then run beside yusa.
if [ -f "$peer" ]; then
  [ -f .cache/ort/e5s.int8.onnx ] || "$venv/bin/python" "$peer" --model-dir "$model" build --int8
  ort=target/bench_encoder_ort.jsonl
  : > "$ort"
  for g in e5s.onnx e5s.int8.onnx; do
    "$venv/bin/python" "$peer" --model-dir "$model" encode --onnx ".cache/ort/$g" --input "$texts" | tee -a "$ort"
  done
  "$venv/bin/python" "$peer" --model-dir "$model" latency .cache/ort/e5s.onnx .cache/ort/e5s.int8.onnx \
    --input "$texts" | tee -a "$ort"
  "$venv/bin/python" - "$out" "$ort" <<'EOF'
import json, re, sys
yusa = open(sys.argv[1], encoding="utf-8").read()
ort = [json.loads(l) for l in open(sys.argv[2]) if l.strip()]
def tps(label):
    m = re.search(re.escape(label) + r".*?([\d.]+) tokens/s", yusa)
    return float(m.group(1)) if m else float("nan")
def p50(label):
    m = re.search(r"single query \(\d+ tokens\), " + label + r": p50 ([\d.]+) ms", yusa)
    return float(m.group(1)) if m else float("nan")
enc = {r["model"]: r for r in ort if "tokens_per_s" in r}
lat = {r["model"]: r for r in ort if "p50_ms" in r}
print("\nyusa / ONNX Runtime, this run:")
for name, label, g in [("f32", "yusa packed f32, length-sorted batches of 32", "e5s.onnx"),
                       ("int8", "yusa packed int8, length-sorted batches of 32", "e5s.int8.onnx")]:
    y, o = tps(label), enc[g]["tokens_per_s"]
    print(f"  {name} throughput: yusa {y:,.0f} tokens/s, ONNX Runtime {o:,.0f} tokens/s: {y / o:.2f}x")
for name, g in [("f32", "e5s.onnx"), ("int8", "e5s.int8.onnx")]:
    y, o = p50(name), lat[g]["p50_ms"]
    print(f"  {name} single query p50: yusa {y:.1f} ms, ONNX Runtime {o:.1f} ms: {o / y:.2f}x")
EOF
fi
