#!/usr/bin/env bash
# run.sh — start ddbmini + nginx with the example config, with one command.
#
#   examples/openresty/run.sh                 start both, print URLs, stop on Ctrl-C
#   examples/openresty/run.sh --start DIR     start both in the background; DIR/env
#                                             holds NGINX_PID DDB_PID PORT DDB_PORT
#   examples/openresty/run.sh --stop DIR      stop what --start started
#
# Environment: DDB_BUILD_DIR (default ./build; needs ddbmini, lua/dolphindb/*.so),
# PORT (default 8080), WORKERS (1), DDB_POOL_SIZE (8), NGINX_BIN (/usr/sbin/nginx; not
# NGINX, which nginx itself reads as a list of inherited sockets).
# To use a real DolphinDB server instead of ddbmini set DDB_HOST and DDB_PORT.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
build=$(cd "${DDB_BUILD_DIR:-$repo/build}" && pwd)
nginx_bin=${NGINX_BIN:-/usr/sbin/nginx}

stop_dir() {
  local dir=$1
  [ -f "$dir/env" ] || return 0
  # shellcheck disable=SC1091
  . "$dir/env"
  if [ -n "${NGINX_PID:-}" ] && kill -0 "$NGINX_PID" 2>/dev/null; then
    kill -QUIT "$NGINX_PID"
    for _ in $(seq 100); do kill -0 "$NGINX_PID" 2>/dev/null || break; sleep 0.1; done
  fi
  if [ -n "${DDB_PID:-}" ] && kill -0 "$DDB_PID" 2>/dev/null; then
    kill -TERM "$DDB_PID"; wait "$DDB_PID" 2>/dev/null || true
  fi
  rm -f "$dir/env"
}

start_dir() {
  local dir=$1
  mkdir -p "$dir/tmp"
  local ddb_pid=""
  if [ -z "${DDB_HOST:-}" ]; then
    "$build/ddbmini" --port 0 > "$dir/ddbmini.out" 2>&1 &
    ddb_pid=$!
    for _ in $(seq 100); do grep -q "listening on" "$dir/ddbmini.out" && break; sleep 0.05; done
    DDB_PORT=$(sed -n 's/^ddbmini listening on .*:\([0-9]*\)$/\1/p' "$dir/ddbmini.out")
    [ -n "$DDB_PORT" ] || { echo "ddbmini did not start: $(cat "$dir/ddbmini.out")" >&2; exit 1; }
    DDB_HOST=127.0.0.1
  fi
  export DDB_HOST DDB_PORT DDB_POOL_SIZE=${DDB_POOL_SIZE:-8}
  local user_line=""
  [ "$(id -u)" = 0 ] && user_line="user root root;"   # workers must reach the build tree
  sed -e "s|\${NGINX_MODULES}|/usr/lib/nginx/modules|g" -e "s|\${USER_LINE}|$user_line|" \
      -e "s|\${WORKERS}|${WORKERS:-1}|" -e "s|\${PREFIX}|$dir|g" -e "s|\${REPO}|$repo|g" \
      -e "s|\${BUILD}|$build|g" -e "s|\${PORT}|${PORT:-8080}|" "$here/nginx.conf" > "$dir/nginx.conf"
  "$nginx_bin" -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log"
  for _ in $(seq 100); do [ -s "$dir/nginx.pid" ] && break; sleep 0.05; done
  printf 'NGINX_PID=%s\nDDB_PID=%s\nPORT=%s\nDDB_PORT=%s\n' "$(cat "$dir/nginx.pid")" "$ddb_pid" \
    "${PORT:-8080}" "$DDB_PORT" > "$dir/env"
  # Ready = a query went through a worker's pool (nginx alone answering /fast would
  # not show that the workers could load the module and open their pools).
  for _ in $(seq 100); do
    curl -sf -m 5 "http://127.0.0.1:${PORT:-8080}/query?script=1%2B1" >/dev/null && return 0
    sleep 0.05
  done
  echo "nginx did not answer a query; $dir/error.log:" >&2; tail -5 "$dir/error.log" >&2
  stop_dir "$dir"; exit 1
}

case "${1:-}" in
  --start) start_dir "$2" ;;
  --stop) stop_dir "$2" ;;
  "")
    dir=$(mktemp -d /tmp/ddb-openresty-XXXXXX)
    trap 'stop_dir "$dir"; rm -rf "$dir"' EXIT
    start_dir "$dir"
    p=${PORT:-8080}
    echo "nginx on http://127.0.0.1:$p (prefix $dir), DolphinDB at $DDB_HOST:$DDB_PORT"
    echo "  curl 'http://127.0.0.1:$p/query?script=1%2B2'"
    echo "  curl 'http://127.0.0.1:$p/query?script=table(1..3%20as%20x,%20\`a\`b\`c%20as%20y)'"
    echo "  curl 'http://127.0.0.1:$p/sleep?ms=50'"
    echo "Ctrl-C stops both."
    while sleep 3600; do :; done ;;
  *) echo "usage: $0 [--start DIR | --stop DIR]" >&2; exit 2 ;;
esac
