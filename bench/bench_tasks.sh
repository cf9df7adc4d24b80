#!/usr/bin/env bash
# bench_tasks.sh — what one small task (`1+1`) costs the client, for each way of
# running it, at several pool sizes, against one ddbmini started here as a separate
# process (so that only the client process is measured):
#
#   raw      the blocking baseline: one thread and socket per connection, the same
#            request builder and response parser, no pool (bench_pool --mode raw)
#   capi     the C API: the libuv pool, all tasks submitted at once, each result
#            checked in the completion callback (bench_pool --mode pool)
#   workers  Lua: 256 coroutines calling pool:run in a loop
#   futures  Lua: runTaskAsync for every task, then result() of each
#   addtask  Lua: addTask for every task, then isFinished/getData of each
#   spawn    Lua: one coroutine per task (not in the default list)
#
# Columns:
#   instr/task   client instructions per task, counted by valgrind's callgrind (which
#                the machine's load does not disturb): a run of BENCH_CG_N tasks minus a
#                run of 256, divided by the difference, so start-up does not count
#   sys/task     client system calls per task (strace -c -f), the same difference
#   cpu us/task  client CPU (user + system, getrusage) over the tasks only; median of
#                REPS runs
#   tasks/s      median of REPS runs; mostly the server's speed, since ddbmini shares
#                the machine's cores with the client
#   x raw        instr/task over the raw client's at the same pool size
#
#   bench/bench_tasks.sh [N [REPS]]      (defaults: 20480 tasks, 5 runs)
# Environment: DDB_BUILD_DIR (default build/), BENCH_CONNS ("1 8 32"),
# BENCH_VARIANTS ("raw capi workers futures addtask"), BENCH_CG_N (2560; a multiple
# of 256), BENCH_NO_CALLGRIND=1, BENCH_NO_STRACE=1 (skip those columns), BENCH_PORT
# (ddbmini's port; default: one the system picks).
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-20480}
reps=${2:-5}
cg_n=${BENCH_CG_N:-2560}
small=256
conns_list=${BENCH_CONNS:-1 8 32}
variants=${BENCH_VARIANTS:-raw capi workers futures addtask}
build=$(cd "${DDB_BUILD_DIR:-build}" && pwd)
for f in "$build/ddbmini" "$build/bench_pool"; do
  [ -x "$f" ] || { echo "bench_tasks: $f not built" >&2; exit 1; }
done
if (( n % 256 || cg_n % 256 || cg_n <= small )); then
  echo "bench_tasks: N and BENCH_CG_N must be multiples of 256 (and BENCH_CG_N > 256)" >&2
  exit 1
fi
command -v valgrind >/dev/null || { echo "bench_tasks: no valgrind: instr/task skipped" >&2; BENCH_NO_CALLGRIND=1; }
command -v strace >/dev/null || { echo "bench_tasks: no strace: sys/task skipped" >&2; BENCH_NO_STRACE=1; }
export LUA_PATH="$PWD/lua/?.lua;$PWD/lua/?/init.lua;;" LUA_CPATH="$build/lua/?.so;;"
out=$(mktemp -d)
server_pid=
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  rm -rf "$out"
}
trap cleanup EXIT

# ddbmini on BENCH_PORT, else an ephemeral port; its one "listening" line gives the port.
"$build/ddbmini" --port "${BENCH_PORT:-0}" --threads 64 >"$out/ddbmini.log" 2>&1 &
server_pid=$!
port=
for _ in $(seq 100); do
  port=$(sed -n 's/^ddbmini listening on .*:\([0-9][0-9]*\)$/\1/p' "$out/ddbmini.log")
  [ -n "$port" ] && break
  sleep 0.05
done
[ -n "$port" ] || { echo "bench_tasks: ddbmini did not start" >&2; exit 1; }
export DDB_HOST=127.0.0.1 DDB_PORT=$port

# The client command of a variant: `client VARIANT CONNS TASKS`.
client() {
  case $1 in
    raw)  echo "$build/bench_pool --port $port --mode raw --conns $2 --tasks $3" ;;
    capi) echo "$build/bench_pool --port $port --mode pool --conns $2 --tasks $3" ;;
    workers|futures|addtask|spawn)     # the pool size comes from DDB_BENCH_CONNS
          echo "luajit bench/bench_lua_work.lua $1 $3" ;;
    *)    echo "bench_tasks: unknown variant $1" >&2; return 1 ;;
  esac
}

instructions() {   # variant conns tasks -> instructions of the whole client process
  local cmd
  cmd=$(client "$1" "$2" "$3")
  # shellcheck disable=SC2086
  valgrind --tool=callgrind --smc-check=all-non-file --callgrind-out-file=/dev/null \
    $cmd 2>&1 >/dev/null | sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}

syscalls() {       # variant conns tasks -> system calls of the client, all threads
  local cmd
  cmd=$(client "$1" "$2" "$3")
  # shellcheck disable=SC2086
  strace -f -c -o "$out/strace" $cmd >/dev/null 2>&1
  awk '$NF == "total" { print $4 }' "$out/strace"
}

per_task() {       # counter variant conns format -> per-task difference of two runs
  local big little
  big=$("$1" "$2" "$3" "$cg_n")
  little=$("$1" "$2" "$3" "$small")
  if [ -z "$big" ] || [ -z "$little" ]; then echo "?"; return; fi
  awk -v b="$big" -v s="$little" -v n=$((cg_n - small)) -v f="$4" 'BEGIN { printf f, (b - s) / n }'
}

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

timed() {          # variant conns -> "cpu_us_per_task tasks_per_s" (medians of reps)
  local cmd line
  cmd=$(client "$1" "$2" "$n")
  : >"$out/cpu"
  : >"$out/rate"
  for _ in $(seq "$reps"); do
    # shellcheck disable=SC2086
    line=$($cmd 2>"$out/err" | grep '^mode=' || true)
    if [ -z "$line" ] || ! grep -q 'errors=0' <<<"$line"; then
      echo "bench_tasks: $1 at $2 connections failed: $line $(tail -3 "$out/err")" >&2
      echo "? ?"
      return
    fi
    awk -v n="$n" '{ for (i = 1; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
                     print f["cpu_s"] / n * 1e6 >> "'"$out/cpu"'"
                     print n / f["wall_s"] >> "'"$out/rate"'" }' <<<"$line"
  done
  echo "$(median <"$out/cpu") $(median <"$out/rate")"
}

echo "bench_tasks: \`1+1\` against ddbmini (pid $server_pid, port $port); $n tasks x $reps runs" \
     "for CPU and rate (medians), callgrind/strace on $cg_n - $small tasks; $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
printf '%-8s %5s %11s %9s %12s %9s %7s\n' variant conns instr/task sys/task "cpu us/task" tasks/s "x raw"
for conns in $conns_list; do
  export DDB_BENCH_CONNS=$conns
  raw_instr=
  for v in $variants; do
    instr="-" sys="-"
    [ -n "${BENCH_NO_CALLGRIND:-}" ] || instr=$(per_task instructions "$v" "$conns" "%.0f")
    [ -n "${BENCH_NO_STRACE:-}" ] || sys=$(per_task syscalls "$v" "$conns" "%.2f")
    [ "$v" = raw ] && raw_instr=$instr
    ratio="-"
    if [[ "$instr" =~ ^[0-9]+$ && "$raw_instr" =~ ^[0-9]+$ && "$raw_instr" -gt 0 ]]; then
      ratio=$(awk -v a="$instr" -v b="$raw_instr" 'BEGIN { printf "%.2f", a / b }')
    fi
    read -r cpu rate < <(timed "$v" "$conns")
    printf '%-8s %5s %11s %9s %12s %9s %7s\n' "$v" "$conns" "$instr" "$sys" \
      "$(awk -v c="$cpu" 'BEGIN { if (c == "?") print "?"; else printf "%.2f", c }')" \
      "$(awk -v r="$rate" 'BEGIN { if (r == "?") print "?"; else printf "%.0f", r }')" "$ratio"
  done
done
