#!/usr/bin/env bash
# Collection benchmarks: indexing throughput on N NSMC reviews (docs/s, peak memory, size on disk),
# then search latency over loopback at 1 and 8 clients, without and (when a cross-encoder exists)
# with rerank. Usage: benches/collection.sh [NSMC_GZ] [N=100000]
set -euo pipefail
cd "$(dirname "$0")/.."
nsmc=${1:-../shared/data/nsmc/nsmc_reviews.tsv.gz}
n=${2:-100000}
root=.cache/bench-index
coll=nsmc$n
cargo build --release --quiet
cargo bench --quiet --bench search_latency --no-run
bin=target/release/yusa
if [ ! -f "$root/$coll/manifest.json" ]; then
  /usr/bin/time -v -o target/bench_index_time.txt \
    $bin index --index-dir "$root" --collection "$coll" --input "$nsmc" --text-column review --id-column review_id \
      --limit "$n" --no-cross-encoder --json > target/bench_index.json
  python3 - <<'PY'
import json, re
r = json.load(open('target/bench_index.json'))
t = open('target/bench_index_time.txt').read()
rss = int(re.search(r'Maximum resident set size \(kbytes\): (\d+)', t).group(1))
print(f"indexing: {r['indexed']} documents in {r['seconds']:.1f} s = {r['docs_per_second']:.1f} docs/s; peak RSS {rss/1024:.0f} MiB")
PY
fi
echo "index size on disk: $(du -sh "$root/$coll" | cut -f1)"
# Queries: reviews after the indexed ones (not in the index).
python3 benches/nsmc_queries.py "$nsmc" "$n" > target/bench_queries.txt
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
$bin serve --index-dir "$root" --addr 127.0.0.1:$port > target/bench_serve.log 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for i in $(seq 1 600); do curl -sf localhost:$port/health >/dev/null && break; sleep 0.5; done
cargo bench --quiet --bench search_latency -- --port $port --collection "$coll" --queries target/bench_queries.txt --clients 1,8 --requests 200
if curl -sf localhost:$port/info | grep -q '"cross_encoder":"'; then
  cargo bench --quiet --bench search_latency -- --port $port --collection "$coll" --queries target/bench_queries.txt --clients 1,8 --requests 80 --rerank true
else
  echo "rerank: skipped (no cross-encoder under models/)"
fi
