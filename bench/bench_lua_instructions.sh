#!/usr/bin/env bash
# bench_lua_instructions.sh — the Lua layer's cost per task in instructions, which,
# unlike CPU time, does not depend on what else the machine is doing. Each workload
# of bench/bench_lua_work.lua runs under valgrind's callgrind twice, with N tasks and
# with 256; the difference over N - 256 tasks is the client's instructions per task
# (start-up, module loading and ddbmini's own work are not counted: ddbmini is
# another process). The Lua workloads are printed beside the C core's.
#
#   bench/bench_lua_instructions.sh [N]        (default 25600; a multiple of 256)
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-25600}
build=$(cd "${DDB_BUILD_DIR:-build}" && pwd)
export DDB_BUILD_DIR=$build
export LUA_PATH="$PWD/lua/?.lua;$PWD/lua/?/init.lua;;" LUA_CPATH="$build/lua/?.so;;"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

instructions() {   # mode tasks -> instructions of the whole client process
  valgrind --tool=callgrind --smc-check=all-non-file --callgrind-out-file="$out/cg" \
    luajit bench/bench_lua_work.lua "$1" "$2" 2>&1 | sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}

per_task() {       # mode -> instructions per task
  local big small
  big=$(instructions "$1" "$n")
  small=$(instructions "$1" 256)
  echo $(( (big - small) / (n - 256) ))
}

# Each Lua workload against the C run with as many tasks in flight: the workers keep
# 256, futures and spawn submit everything at once.
c=$(per_task c)
c_all=$(per_task c_all)
printf '%-34s %12s %16s\n' "workload ($n tasks, 8 connections)" "instr/task" "over the C core"
printf '%-34s %12d %16s\n' "C core, window 256" "$c" "-"
printf '%-34s %12d %16s\n' "C core, all queued" "$c_all" "-"
for mode in workers futures spawn; do
  v=$(per_task "$mode")
  base=$c_all
  [ "$mode" = workers ] && base=$c
  printf '%-34s %12d %+16d\n' "Lua: $mode" "$v" $(( v - base ))
done
