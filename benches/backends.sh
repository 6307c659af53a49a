#!/usr/bin/env bash
# The two storage backends side by side, in one run, on the same data: indexing N NSMC reviews with
# `yusa index` (embedding included, as users run it) into the embedded store and into PostgreSQL +
# pgvector (a local server from `make postgres`), then search latency over loopback against a
# `yusa serve` on each, the two alternating at each concurrency level.
# Usage: benches/backends.sh [NSMC_GZ] [N=20000]
set -euo pipefail
cd "$(dirname "$0")/.."
nsmc=${1:-../shared/data/nsmc/nsmc_reviews.tsv.gz}
n=${2:-20000}
make -s postgres
cargo build --release --quiet
cargo bench --quiet --bench search_latency --no-run
bin=target/release/yusa
work=$PWD/.cache/bench-backends
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
rm -rf "$work/index" && mkdir -p "$work"
url=$(scripts/pg_local.sh start "$work/pg" "$(free_port)")
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; scripts/pg_local.sh stop "$work/pg" || true; }
trap cleanup EXIT
$bin collections delete nsmc --store "$url" --no-cross-encoder >/dev/null 2>&1 || true
for store in embedded postgres; do
  args=(--index-dir "$work/index")
  [ $store = postgres ] && args+=(--store "$url")
  $bin index "${args[@]}" --collection nsmc --input "$nsmc" --text-column review --id-column review_id \
    --limit "$n" --no-cross-encoder --json > "target/bench_index_$store.json"
  python3 - "$store" <<'PY'
import json, sys
r = json.load(open(f'target/bench_index_{sys.argv[1]}.json'))
print(f"indexing, {sys.argv[1]:<9}: {r['indexed']} documents in {r['seconds']:.1f} s = {r['docs_per_second']:.1f} docs/s")
PY
done
# Queries: reviews after the indexed ones (not in the index).
python3 benches/nsmc_queries.py "$nsmc" "$n" > target/bench_queries.txt
declare -A port
for store in embedded postgres; do
  port[$store]=$(free_port)
  args=(--index-dir "$work/index")
  [ $store = postgres ] && args+=(--store "$url")
  $bin serve "${args[@]}" --no-cross-encoder --addr 127.0.0.1:${port[$store]} > "target/bench_serve_$store.log" 2>&1 &
  pids+=($!)
done
for store in embedded postgres; do
  for i in $(seq 1 600); do curl -sf localhost:${port[$store]}/health >/dev/null && break; sleep 0.5; done
done
for mode in hybrid lexical dense; do
  for clients in 1 8; do
    for store in embedded postgres; do
      echo "== $store, $mode, $clients client(s)"
      cargo bench --quiet --bench search_latency -- --port ${port[$store]} --collection nsmc \
        --queries target/bench_queries.txt --clients $clients --requests 200 --mode $mode
    done
  done
done
