#!/usr/bin/env bash
# Encoder throughput, yusa beside numpy + OpenBLAS on the same inputs, in one run.
# Usage: benches/encoder.sh [NSMC_GZ] [MODEL_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
nsmc=${1:-../shared/data/nsmc/nsmc_reviews.tsv.gz}
model=${2:-models/multilingual-e5-small}
venv=.cache/bench-venv
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet numpy
fi
ids=target/bench_encoder_ids.json
cargo bench --quiet --bench encoder -- --nsmc "$nsmc" --model "$model" --n 512 --batch 32 --ids-out "$ids"
"$venv/bin/python" benches/np_encoder.py "$model" "$ids"
