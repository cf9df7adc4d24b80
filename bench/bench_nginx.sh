#!/usr/bin/env bash
# bench_nginx.sh — the nginx adapter (dolphindb.ngx) against a plain cosocket client,
# in one nginx and one run.
#
#   bench/bench_nginx.sh [-n REPS] [-s SECONDS] [-c "1 16 64 256"] [-w "1 2"]
#                        [-p POOL] [-e SCRIPT] [-o RAWFILE] [-f]
#   bench/bench_nginx.sh --plain [SECONDS] [CONNECTIONS]     (the older comparison, below)
#   bench/bench_nginx.sh --check     (both sides answer alike; the baseline's connection cap)
#
# Starts ddbmini (unless DDB_HOST/DDB_PORT name a server) and, for each worker count,
# one nginx (config generated into a temp dir) with two locations on the same port:
#   /pool?script=      examples/openresty/handler.lua's query(): this project's adapter
#                      (one dolphindb.ngx pool of POOL connections per worker)
#   /cosocket?script=  bench/cosocket_client.lua: a semaphore-limited pool of POOL
#                      cosockets per worker, the same C decoder (ddb.decode), the same
#                      JSON reply (examples/openresty/json.lua)
# Then for each concurrency, REPS times, both sides one after the other (the order
# alternates from one repetition to the next): wrk -cC for SECONDS against the script
# (default 1+1), and the CPU time (utime+stime, all threads) of the nginx master and
# workers from /proc/PID/stat over the run. Prints, per side, the medians of
# requests/s, p50, p99 and nginx CPU microseconds per request, and the ratios
# pool/cosocket with the targets of issue 13 (CPU <= 0.9x, req/s >= 1x, p50 <= 1.1x),
# judged on the ratio of the medians; "paired ratio" is the median of the ratios of the
# two sides' back-to-back runs (steadier when the load on the machine changes).
# -f adds a third side, /fast (HTTP alone, no query). -o appends every run as a TSV line.
# The same settings from the environment: REPS SECS CONCS WORKER_COUNTS POOL_SIZE SCRIPT RAW.
#
# Defaults: 3 repetitions x 3 s, concurrency "1 16 64 256", workers "1 2", 8 connections
# per worker and side, script 1+1: about 2.5 minutes. Traffic goes only to 127.0.0.1
# (and the DolphinDB server); everything started is stopped on exit (trap), and every
# wait is bounded. Needs nginx + lua-nginx-module + lua-resty-core, wrk, curl and a build
# (DDB_BUILD_DIR, default ./build). NGINX_BIN (default /usr/sbin/nginx), NGINX_MODULES
# (default /usr/lib/nginx/modules).
#
# --check: starts the same nginx (2 workers), sends a list of scripts (scalars, NULL, a
# table, print output, a 200000-element vector, a server error) to both locations and
# compares the answers (the "ms" field aside; an error is 400 from the handler, 500 from
# the baseline, both carrying the server's message), then counts the baseline's
# connections to the server under wrk -c256 (at most POOL per worker). Exit status 1 on
# a difference.
#
# --plain: the earlier comparison, kept as it was: examples/openresty/run.sh (1 worker,
# 8-connection pool) under wrk -c CONNECTIONS (default 64) beside the plain module
# (bench/bench_nginx_plain.lua: CONNECTIONS coroutines on an 8-connection pool, no
# HTTP), for "1+1" and "sleep(5); 1", SECONDS (default 5) each.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
build=$(cd "${DDB_BUILD_DIR:-build}" && pwd)
export DDB_BUILD_DIR=$build

wrk_report_lua() {
  cat > "$1" <<'LUA'
local done = function(summary, latency, requests)
  io.write(("requests=%d\nduration_s=%.3f\nrps=%.0f\np50_ms=%.3f\np90_ms=%.3f\np99_ms=%.3f\nerrors=%d\nnon2xx=%d\n"):format(
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status))
end
_G.done = done
LUA
}

val() { sed -n "s/^$1=//p" <<< "$2"; }

######################################################################## --plain
plain_mode() {
  local secs=${1:-5} conns=${2:-64}
  local dir port
  dir=$(mktemp -d /tmp/ddb-bench-nginx-XXXXXX)
  port=$(( 20000 + RANDOM % 30000 ))
  # shellcheck disable=SC2064
  trap "examples/openresty/run.sh --stop '$dir'; rm -rf '$dir'" EXIT
  PORT=$port WORKERS=1 DDB_POOL_SIZE=8 examples/openresty/run.sh --start "$dir"
  # shellcheck disable=SC1091
  . "$dir/env"
  wrk_report_lua "$dir/report.lua"
  printf "\n"; printf '%-22s %-6s %9s %9s %9s %9s\n' "script" "side" "req/s" "p50 ms" "p90 ms" "p99 ms"
  local script enc w p f
  for script in "1+1" "sleep(5); 1"; do
    enc=$(printf '%s' "$script" | sed -e 's/+/%2B/g' -e 's/ /%20/g' -e 's/(/%28/g' -e 's/)/%29/g' -e 's/;/%3B/g')
    curl -sf "http://127.0.0.1:$PORT/query?script=$enc" > /dev/null   # warm up (loads modules)
    w=$(wrk -t2 -c"$conns" -d"${secs}s" -s "$dir/report.lua" "http://127.0.0.1:$PORT/query?script=$enc" | sed -n '/^requests=/,$p')
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
  f=$(wrk -t2 -c"$conns" -d"${secs}s" -s "$dir/report.lua" "http://127.0.0.1:$PORT/fast" | sed -n '/^requests=/,$p')
  printf '%-22s %-6s %9s %9s %9s %9s\n' "(no query: /fast)" nginx "$(val rps "$f")" "$(val p50_ms "$f")" "$(val p90_ms "$f")" "$(val p99_ms "$f")"
  echo "($conns concurrent, ${secs}s each, 1 nginx worker, 8-connection pools, same ddbmini)"
}

if [ "${1:-}" = "--plain" ]; then
  shift
  plain_mode "$@"
  exit 0
fi

######################################################################## pool vs cosocket
reps=${REPS:-3}
secs=${SECS:-3}
concs=${CONCS:-"1 16 64 256"}
worker_counts=${WORKER_COUNTS:-"1 2"}
pool_size=${POOL_SIZE:-8}
script=${SCRIPT:-"1+1"}
raw=${RAW:-}
fast=0
check=0
if [ "${1:-}" = "--check" ]; then check=1; shift; fi
usage() { sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
while getopts "n:s:c:w:p:e:o:fh" opt; do
  case $opt in
    n) reps=$OPTARG ;; s) secs=$OPTARG ;; c) concs=$OPTARG ;; w) worker_counts=$OPTARG ;;
    p) pool_size=$OPTARG ;; e) script=$OPTARG ;; o) raw=$OPTARG ;; f) fast=1 ;; *) usage ;;
  esac
done
shift $(( OPTIND - 1 ))
if [ $# -gt 0 ]; then
  echo "bench_nginx.sh: unexpected argument '$1' (the older SECONDS CONNECTIONS form is now --plain SECONDS CONNECTIONS)" >&2
  usage
fi
for n in $reps $secs $pool_size $concs $worker_counts; do
  [[ $n =~ ^[1-9][0-9]*$ ]] || { echo "bench_nginx.sh: '$n' is not a positive integer" >&2; exit 2; }
done
for tool in wrk curl; do
  command -v "$tool" > /dev/null || { echo "bench_nginx.sh: $tool is not installed (scripts/install-deps.sh)" >&2; exit 2; }
done
nginx_bin=${NGINX_BIN:-/usr/sbin/nginx}
nginx_modules=${NGINX_MODULES:-/usr/lib/nginx/modules}
clk_tck=$(getconf CLK_TCK)

dir=$(mktemp -d /tmp/ddb-bench-nginx-XXXXXX)
ddb_pid=""
nginx_pid=""

stop_nginx() {
  [ -n "$nginx_pid" ] || return 0
  local workers w
  workers=$(child_pids "$nginx_pid")
  if kill -0 "$nginx_pid" 2>/dev/null; then
    kill -QUIT "$nginx_pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$nginx_pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$nginx_pid" 2>/dev/null && kill -KILL "$nginx_pid" 2>/dev/null
  fi
  for w in $workers; do kill -0 "$w" 2>/dev/null && kill -KILL "$w" 2>/dev/null; done
  nginx_pid=""
  return 0
}
cleanup() {
  stop_nginx || true
  if [ -n "$ddb_pid" ] && kill -0 "$ddb_pid" 2>/dev/null; then
    kill -TERM "$ddb_pid" 2>/dev/null || true
    wait "$ddb_pid" 2>/dev/null || true
  fi
  rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Children of a process (the nginx workers of a master), from /proc.
child_pids() {
  local want=$1 f line rest
  for f in /proc/[0-9]*/stat; do
    { read -r line < "$f"; } 2>/dev/null || continue
    rest=${line##*) }
    # shellcheck disable=SC2086
    set -- $rest                  # $1 state, $2 ppid
    [ "$2" = "$want" ] && { f=${f#/proc/}; echo "${f%/stat}"; }
  done
  return 0
}

# utime+stime (clock ticks) of the given processes, all their threads included.
cpu_ticks() {
  local total=0 p line rest
  for p in "$@"; do
    read -r line < "/proc/$p/stat" || { echo "bench_nginx.sh: nginx process $p is gone" >&2; exit 1; }
    rest=${line##*) }
    # shellcheck disable=SC2086
    set -- $rest                  # $12 utime, $13 stime (fields 14, 15)
    total=$(( total + ${12} + ${13} ))
  done
  echo "$total"
}

urlencode() {
  local s=$1 out="" c h i
  for (( i = 0; i < ${#s}; i++ )); do
    c=${s:i:1}
    case $c in
      [a-zA-Z0-9._~-]) out+=$c ;;
      *) printf -v h '%%%02X' "'$c"; out+=$h ;;
    esac
  done
  printf '%s' "$out"
}

median() {  # median of the arguments
  printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END {
    if (NR == 0) { print "nan"; exit }
    if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

# ---- the DolphinDB server
if [ -z "${DDB_HOST:-}" ]; then
  "$build/ddbmini" --port 0 > "$dir/ddbmini.out" 2>&1 &
  ddb_pid=$!
  for _ in $(seq 100); do grep -q "listening on" "$dir/ddbmini.out" && break; sleep 0.05; done
  DDB_PORT=$(sed -n 's/^ddbmini listening on .*:\([0-9]*\)$/\1/p' "$dir/ddbmini.out")
  [ -n "$DDB_PORT" ] || { echo "ddbmini did not start: $(cat "$dir/ddbmini.out")" >&2; exit 1; }
  DDB_HOST=127.0.0.1
fi
export DDB_HOST DDB_PORT DDB_POOL_SIZE=$pool_size
mkdir -p "$dir/tmp"
wrk_report_lua "$dir/report.lua"
port=$(( 20000 + RANDOM % 30000 ))
enc=$(urlencode "$script")
user_line=""
[ "$(id -u)" = 0 ] && user_line="user root root;"   # workers must reach the build tree

write_conf() {  # write_conf WORKERS
  cat > "$dir/nginx.conf" <<CONF
load_module $nginx_modules/ndk_http_module.so;
load_module $nginx_modules/ngx_http_lua_module.so;
$user_line
worker_processes $1;
worker_rlimit_nofile 16384;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
env DDB_HOST;
env DDB_PORT;
env DDB_POOL_SIZE;

events { worker_connections 8192; }

http {
  access_log off;
  client_body_temp_path $dir/tmp/body;
  proxy_temp_path $dir/tmp/proxy;
  fastcgi_temp_path $dir/tmp/fastcgi;
  uwsgi_temp_path $dir/tmp/uwsgi;
  scgi_temp_path $dir/tmp/scgi;
  lua_package_path "$repo/lua/?.lua;$repo/lua/?/init.lua;$repo/examples/openresty/?.lua;$repo/bench/?.lua;;";
  lua_package_cpath "$build/lua/?.so;;";
  lua_socket_log_errors off;

  init_worker_by_lua_block {
    -- the adapter side, exactly as examples/openresty/nginx.conf opens it
    require("handler").init{ socketDir = "$dir" }
    -- the baseline: the same server, the same number of connections per worker
    require("cosocket_client").init{ host = os.getenv("DDB_HOST"),
      port = tonumber(os.getenv("DDB_PORT")), size = tonumber(os.getenv("DDB_POOL_SIZE")) }
  }

  server {
    listen 127.0.0.1:$port reuseport;
    location = /pool { content_by_lua_block { require("handler").query() } }
    location = /cosocket { content_by_lua_block { require("cosocket_client").query() } }
    location = /fast { content_by_lua_block { ngx.say("fast") } }
  }
}
CONF
}

start_nginx() {  # start_nginx WORKERS
  write_conf "$1"
  rm -f "$dir/nginx.pid"
  "$nginx_bin" -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log"
  for _ in $(seq 100); do [ -s "$dir/nginx.pid" ] && break; sleep 0.05; done
  nginx_pid=$(cat "$dir/nginx.pid")
  local side ok deadline=$(( SECONDS + 20 ))
  for side in pool cosocket; do
    ok=0
    while [ $SECONDS -lt $deadline ]; do
      if curl -sf -m 5 "http://127.0.0.1:$port/$side?script=$enc" > /dev/null; then ok=1; break; fi
      sleep 0.05
    done
    if [ $ok = 0 ]; then
      echo "nginx did not answer /$side?script=$enc; $dir/error.log:" >&2
      tail -5 "$dir/error.log" >&2
      exit 1
    fi
  done
  # wait until every worker is up (the pid file is written before the workers fork)
  for _ in $(seq 100); do
    [ "$(child_pids "$nginx_pid" | wc -l)" -ge "$1" ] && break
    sleep 0.05
  done
  nginx_procs="$nginx_pid $(child_pids "$nginx_pid" | tr '\n' ' ')"
}

# run_side SIDE CONC -> sets r_rps r_p50 r_p99 r_cpu r_err
run_side() {
  local side=$1 c=$2 threads=2 out t0 t1 req
  [ "$c" -lt 2 ] && threads=1
  # shellcheck disable=SC2086
  t0=$(cpu_ticks $nginx_procs)
  out=$(timeout $(( secs + 60 )) wrk -t"$threads" -c"$c" -d"${secs}s" --timeout 10s \
          -s "$dir/report.lua" "http://127.0.0.1:$port/$side?script=$enc") \
    || { echo "wrk failed for /$side -c$c: $out" >&2; exit 1; }
  # shellcheck disable=SC2086
  t1=$(cpu_ticks $nginx_procs)
  [ "$nginx_procs" = "$nginx_pid $(child_pids "$nginx_pid" | tr '\n' ' ')" ] \
    || { echo "bench_nginx.sh: the nginx workers changed during the run (a crash?)" >&2; exit 1; }
  out=$(sed -n '/^requests=/,$p' <<< "$out")
  req=$(val requests "$out")
  r_rps=$(val rps "$out"); r_p50=$(val p50_ms "$out"); r_p99=$(val p99_ms "$out")
  r_err=$(( $(val errors "$out") + $(val non2xx "$out") ))
  r_cpu=$(awk -v d=$(( t1 - t0 )) -v hz="$clk_tck" -v n="$req" 'BEGIN { printf "%.1f", n ? d / hz * 1e6 / n : 0 }')
}

check_mode() {
  local w=2 failed=0 s e a b sa sb n max
  start_nginx $w
  # shellcheck disable=SC2016
  for s in '1+1' '"abc"' '5l' 'int(NULL)' 'NULL' 'x = 1' '1.5 2.5 NULL' 'table(1..3 as x, `a`b`c as y)' \
           'print(5); 2' '1..200000' 'nosuchfunction(1)'; do
    e=$(urlencode "$s")
    a=$(curl -s -m 10 -w '\n%{http_code}' "http://127.0.0.1:$port/pool?script=$e")
    b=$(curl -s -m 10 -w '\n%{http_code}' "http://127.0.0.1:$port/cosocket?script=$e")
    sa=${a##*$'\n'}; sb=${b##*$'\n'}
    a=$(sed -e '$d' -e 's/"ms":[0-9]*,//' <<< "$a"); b=$(sed -e '$d' -e 's/"ms":[0-9]*,//' <<< "$b")
    if [ "$sa" = 200 ] && [ "$sb" = 200 ] && [ "$a" = "$b" ]; then
      printf 'same      %-36s %s\n' "$s" "$(cut -c1-60 <<< "$a")"
    elif [ "$sa" = 400 ] && [ "$sb" = 500 ] && [[ $b =~ \"error\":\"([^\"]*)\" ]] && [[ $a == *"${BASH_REMATCH[1]}"* ]]; then
      printf 'same err  %-36s %s\n' "$s" "$(cut -c1-60 <<< "$b")"
    else
      failed=1
      printf 'DIFFERENT %-36s\n  pool %s %s\n  cosocket %s %s\n' "$s" "$sa" "$(cut -c1-200 <<< "$a")" "$sb" "$(cut -c1-200 <<< "$b")"
    fi
  done
  # the connection cap: nginx -> server connections while 256 requests wait on /cosocket
  local before
  before=$(ss -Htnp state established "( dport = :$DDB_PORT )" 2>/dev/null | grep -c nginx || true)
  timeout 30 wrk -t2 -c256 -d3s "http://127.0.0.1:$port/cosocket?script=$enc" > /dev/null &
  local wrk_pid=$!
  max=0
  for _ in $(seq 10); do
    sleep 0.25
    n=$(ss -Htnp state established "( dport = :$DDB_PORT )" 2>/dev/null | grep -c nginx || true)
    [ "$n" -gt "$max" ] && max=$n
  done
  wait "$wrk_pid" || true
  echo "nginx -> server connections: $before before, at most $max under wrk -c256 on /cosocket (cap: $before + $w workers x $pool_size)"
  [ "$max" -le $(( before + w * pool_size )) ] || failed=1
  # kept alive: no connection to the server was closed (closed ones linger in TIME-WAIT)
  n=$(ss -Htn state time-wait "( dport = :$DDB_PORT )" 2>/dev/null | wc -l)
  echo "connections to the server closed by nginx (TIME-WAIT): $n"
  [ "$n" = 0 ] || failed=1
  stop_nginx
  if [ $failed = 0 ]; then echo "check: ok"; else echo "check: FAILED"; exit 1; fi
}
[ $check = 1 ] && { check_mode; exit 0; }

declare -A R V
sides="pool cosocket"
[ $fast = 1 ] && sides="pool cosocket fast"
total_errors=0
[ -n "$raw" ] && [ ! -s "$raw" ] && printf 'workers\tconc\trep\tside\trps\tp50_ms\tp99_ms\tcpu_us_per_req\terrors\n' > "$raw"

echo "nginx: the adapter (/pool: dolphindb.ngx via examples/openresty/handler.lua) against a"
echo "plain cosocket client (/cosocket: bench/cosocket_client.lua), same nginx, script '$script';"
echo "$pool_size connections per worker and side; $reps runs x ${secs} s each, medians; CPU = utime+stime"
echo "of the nginx master + workers (all threads) / requests completed; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '\n%7s %5s  %-15s %9s %9s %9s %11s\n' workers conc side "req/s" "p50 ms" "p99 ms" "CPU us/req"
for w in $worker_counts; do
  start_nginx "$w"
  # warm up both sides (JIT, connections) before measuring
  for side in $sides; do
    timeout 60 wrk -t2 -c16 -d1s "http://127.0.0.1:$port/$side?script=$enc" > /dev/null
  done
  for c in $concs; do
    for (( rep = 1; rep <= reps; rep++ )); do
      order=$sides
      (( rep % 2 == 0 )) && order=$(tr ' ' '\n' <<< "$sides" | tac | tr '\n' ' ')
      for side in $order; do
        run_side "$side" "$c"
        R[$w,$c,$side,rps]+=" $r_rps"; R[$w,$c,$side,p50]+=" $r_p50"
        R[$w,$c,$side,p99]+=" $r_p99"; R[$w,$c,$side,cpu]+=" $r_cpu"
        total_errors=$(( total_errors + r_err ))
        [ "$r_err" != 0 ] && echo "  (w=$w c=$c $side: $r_err errors or non-2xx answers)" >&2
        [ -n "$raw" ] && printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$w" "$c" "$rep" "$side" \
          "$r_rps" "$r_p50" "$r_p99" "$r_cpu" "$r_err" >> "$raw"
        V[$side,rps]=$r_rps; V[$side,p50]=$r_p50; V[$side,p99]=$r_p99; V[$side,cpu]=$r_cpu
      done
      # the two sides of one repetition ran back to back: their ratio is a paired sample
      for k in rps p50 p99 cpu; do
        R[$w,$c,paired,$k]+=" $(awk -v a="${V[pool,$k]}" -v b="${V[cosocket,$k]}" 'BEGIN { printf "%.4f", b ? a / b : 0 }')"
      done
    done
    declare -A M=()
    for side in $sides; do
      for k in rps p50 p99 cpu; do
        # shellcheck disable=SC2086
        M[$side,$k]=$(median ${R[$w,$c,$side,$k]})
      done
      label=$side; [ "$side" = fast ] && label="fast (no query)"
      if [ "$side" = pool ]; then
        printf '%7s %5s  %-15s %9.0f %9.3f %9.3f %11.1f\n' "$w" "$c" "$label" "${M[$side,rps]}" "${M[$side,p50]}" "${M[$side,p99]}" "${M[$side,cpu]}"
      else
        printf '%7s %5s  %-15s %9.0f %9.3f %9.3f %11.1f\n' "" "" "$label" "${M[$side,rps]}" "${M[$side,p50]}" "${M[$side,p99]}" "${M[$side,cpu]}"
      fi
    done
    awk -v a="${M[pool,rps]}" -v b="${M[cosocket,rps]}" -v c="${M[pool,p50]}" -v d="${M[cosocket,p50]}" \
        -v e="${M[pool,p99]}" -v f="${M[cosocket,p99]}" -v g="${M[pool,cpu]}" -v h="${M[cosocket,cpu]}" 'BEGIN {
      r1 = b ? a / b : 0; r2 = d ? c / d : 0; r3 = f ? e / f : 0; r4 = h ? g / h : 0
      ok = (r4 <= 0.9 && r1 >= 1.0 && r2 <= 1.1) ? "yes" : "no"
      printf "%7s %5s  %-15s %9.2f %9.2f %9.2f %11.2f   target met: %s\n", "", "", "pool/cosocket", r1, r2, r3, r4, ok }'
    # shellcheck disable=SC2086
    printf '%7s %5s  %-15s %9.2f %9.2f %9.2f %11.2f\n' "" "" "paired ratio" "$(median ${R[$w,$c,paired,rps]})" \
      "$(median ${R[$w,$c,paired,p50]})" "$(median ${R[$w,$c,paired,p99]})" "$(median ${R[$w,$c,paired,cpu]})"
  done
  stop_nginx
done
echo
echo "target of issue 13 (pool/cosocket): CPU us/req <= 0.90, req/s >= 1.00, p50 <= 1.10; load after: $(cut -d' ' -f1-3 /proc/loadavg)"
[ "$total_errors" = 0 ] || echo "WARNING: $total_errors failed or non-2xx requests in all (see above)"
