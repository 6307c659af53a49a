#!/bin/bash
# Reads a duplicate-model candidate on every set issue 30 judges by, as the results files report them.
#
#   scripts/eval_duplicate_candidate.sh MODELS_DIR PORT OUT_DIR [--keep-thresholds]
#
# MODELS_DIR: a models folder (the shipped one's files linked in, the candidate as
# ko-duplicate-cross-encoder). Unless --keep-thresholds, its dedup.json is refitted first by the shipped
# recipe (`make calibrate-duplicates`: precision 0.975 on Question_pair's calibration part, with the guard
# pairs; TP overrides the precision). Then: Question_pair validation, the `dedup_check` check set and the
# four FAQ check-before-insert sets over a served engine, `faq_check3`'s pairs, and the 20k NSMC scan
# (a collection `nsmc20k` in .cache/dup/idx, docs/results/2026-12-06-duplicate-decisions-learned.md).
# Needs `make calibrate-duplicates` to have written .cache/dup/qp_calib.tsv and mined_calib.jsonl.
set -euo pipefail
M=$1 P=$2 O=$3
mkdir -p "$O"
cd "$(dirname "$0")/.."
if [ "${4:-}" != "--keep-thresholds" ]; then
  target/release/yusa --models-dir "$M" calibrate --pairs .cache/dup/qp_calib.tsv \
    --guard-pairs .cache/dup/mined_calib.jsonl --target-precision "${TP:-0.975}" --out "$M/dedup.json" \
    > "$O/calibrate.txt" 2>&1
fi
target/release/yusa-lab --models-dir "$M" eval pairs --data ../shared/data/question_pair/validation.txt \
  > "$O/qpval.txt" 2>&1
D=$(mktemp -d)
target/release/yusa --models-dir "$M" serve --addr "127.0.0.1:$P" --index-dir "$D" > "$O/serve.log" 2>&1 &
SP=$!
trap 'kill $SP 2>/dev/null; rm -rf "$D"' EXIT
for _ in $(seq 90); do curl -s "localhost:$P/health" > /dev/null && break; sleep 2; done
python3 scripts/check_set_report.py --port "$P" tests/data/dedup_check/checks.jsonl > "$O/check.txt" 2>&1
for s in faq_check faq_check2 faq_check3 faq_check4; do
  python3 scripts/faq_check_report.py --port "$P" "tests/data/$s" > "$O/$s.txt" 2>&1
done
python3 scripts/check_set_report.py --port "$P" tests/data/faq_check3/checks.jsonl > "$O/faq_check3_pairs.txt" 2>&1
kill $SP
target/release/yusa --models-dir "$M" dedup --index-dir .cache/dup/idx --collection nsmc20k --format jsonl \
  --out "$O/scan.jsonl" > "$O/scan.txt" 2>&1
echo "done: $O"
