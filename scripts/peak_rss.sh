#!/usr/bin/env bash
# Runs a command and reports the peak of the summed resident memory of it and all its descendants
# (a Spark job in local mode is a Python driver, a JVM and Python workers), sampled every 2 s.
#   scripts/peak_rss.sh python -m yusa.spark --input … --out …
set -u
"$@" &
root=$!
peak=0
tree() { local p=$1; echo "$p"; for c in $(pgrep -P "$p"); do tree "$c"; done; }
while kill -0 "$root" 2>/dev/null; do
  kb=$(ps -o rss= -p "$(tree "$root" | paste -sd, -)" 2>/dev/null | awk '{s+=$1} END {print s+0}')
  [ "$kb" -gt "$peak" ] && peak=$kb
  sleep 2
done
wait "$root"; rc=$?
echo "peak summed RSS: $((peak / 1024)) MiB" >&2
exit $rc
