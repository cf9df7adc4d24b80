#!/usr/bin/env bash
# bench_nginx.sh — the nginx adapter under wrk beside the plain module, same run.
#
#   bench/bench_nginx.sh [SECONDS] [CONNECTIONS]      (defaults: 5 s, 64)
#
# Starts ddbmini and the OpenResty example (examples/openresty/run.sh, 1 worker, an
# 8-connection pool), then for each script:
#   nginx:  wrk -c CONNECTIONS against /query?script=...  (HTTP + JSON + the adapter)
#   plain:  luajit bench/bench_nginx_plain.lua: CONNECTIONS coroutines calling
#           pool:run(script) on an 8-connection pool (no HTTP)
# and prints requests/s and latency percentiles of both and the ratio nginx/plain.
# Everything shares the machine's cores (wrk, nginx, ddbmini, luajit): compare the
# two columns, not the absolute numbers. Needs DDB_BUILD_DIR (default ./build).
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-5}
conns=${2:-64}
build=$(cd "${DDB_BUILD_DIR:-build}" && pwd)
export DDB_BUILD_DIR=$build
dir=$(mktemp -d /tmp/ddb-bench-nginx-XXXXXX)
port=$(( 20000 + RANDOM % 30000 ))
trap 'examples/openresty/run.sh --stop "$dir"; rm -rf "$dir"' EXIT
PORT=$port WORKERS=1 DDB_POOL_SIZE=8 examples/openresty/run.sh --start "$dir"
# shellcheck disable=SC1091
. "$dir/env"

cat > "$dir/report.lua" <<'LUA'
local done = function(summary, latency, requests)
  io.write(("rps=%.0f\np50_ms=%.2f\np90_ms=%.2f\np99_ms=%.2f\nerrors=%d\nnon2xx=%d\n"):format(
    summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status))
end
_G.done = done
LUA

val() { sed -n "s/^$1=//p" <<< "$2"; }

printf "\n"; printf '%-22s %-6s %9s %9s %9s %9s\n' "script" "side" "req/s" "p50 ms" "p90 ms" "p99 ms"
for script in "1+1" "sleep(5); 1"; do
  enc=$(printf '%s' "$script" | sed -e 's/+/%2B/g' -e 's/ /%20/g' -e 's/(/%28/g' -e 's/)/%29/g' -e 's/;/%3B/g')
  curl -sf "http://127.0.0.1:$PORT/query?script=$enc" > /dev/null   # warm up (loads modules)
  w=$(wrk -t2 -c"$conns" -d"${secs}s" -s "$dir/report.lua" "http://127.0.0.1:$PORT/query?script=$enc" | sed -n '/^rps=/,$p')
  p=$(LUA_PATH="$PWD/lua/?.lua;$PWD/lua/?/init.lua;;" LUA_CPATH="$build/lua/?.so;;" \
      luajit bench/bench_nginx_plain.lua 127.0.0.1 "$DDB_PORT" 8 "$conns" "$secs" "$script")
  if [ "$(val errors "$w")" != 0 ] || [ "$(val non2xx "$w")" != 0 ]; then
    echo "wrk saw errors for $script: $w" >&2; exit 1
  fi
  printf '%-22s %-6s %9s %9s %9s %9s\n' "$script" nginx "$(val rps "$w")" "$(val p50_ms "$w")" "$(val p90_ms "$w")" "$(val p99_ms "$w")"
  printf '%-22s %-6s %9s %9s %9s %9s\n' "" plain "$(val rps "$p")" "$(val p50_ms "$p")" "$(val p90_ms "$p")" "$(val p99_ms "$p")"
  awk -v a="$(val rps "$w")" -v b="$(val rps "$p")" 'BEGIN { printf "%-22s ratio nginx/plain requests/s: %.2f\n", "", a / b }'
done
# HTTP alone (no DolphinDB): what nginx + wrk cost on this machine in the same setup.
f=$(wrk -t2 -c"$conns" -d"${secs}s" -s "$dir/report.lua" "http://127.0.0.1:$PORT/fast" | sed -n '/^rps=/,$p')
printf '%-22s %-6s %9s %9s %9s %9s\n' "(no query: /fast)" nginx "$(val rps "$f")" "$(val p50_ms "$f")" "$(val p90_ms "$f")" "$(val p99_ms "$f")"
echo "($conns concurrent, ${secs}s each, 1 nginx worker, 8-connection pools, same ddbmini)"
