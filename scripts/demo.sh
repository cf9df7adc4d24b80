#!/usr/bin/env bash
# The demo: installs missing Debian packages, builds (Release, in build/), then runs the
# seed's examples with ddblua. Each example starts its own ddbmini (the bundled test
# server) on a free loopback port, or uses a real DolphinDB server when DDB_HOST /
# DDB_PORT are set.
set -euo pipefail
cd "$(dirname "$0")/.."
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "1/3 packages"
bash scripts/install-deps.sh
echo "all present"

step "2/3 build (cmake, Release, build/)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
log=$(mktemp)
# Show compiler progress as it goes (a fresh build takes a minute or two on 2 cores).
{ cmake --build build -j "$(nproc)" --target ddblua ddbmini dolphindb_core; echo "exit=$?"; } 2>&1 |
  tee "$log" | { grep --line-buffered -E '^\[ *[0-9]+%\] (Building|Linking)' || true; } |
  sed -u -E 's#^\[ *([0-9]+)%\] (Building C object|Linking C [a-z ]+) .*/([^/]+)$#  [\1%] \3#'
if ! grep -qx 'exit=0' "$log"; then
  tail -40 "$log"; echo "build failed (full log: $log)"; exit 1
fi
echo "built build/ddblua, build/ddbmini, build/lua/dolphindb/core.so"

run() {
  step "$1"; shift
  local t0 t1; t0=$(date +%s.%N)
  DDB_BUILD_DIR=$PWD/build build/ddblua "$@"
  t1=$(date +%s.%N)
  printf '(%s finished in %.2f s)\n' "$(basename "$1")" "$(echo "$t1 - $t0" | bc -l 2>/dev/null || echo 0)"
}

step "3/3 the seed's examples (ddblua examples/*.lua)"
run "run: four coroutines, each sleep(2000) on the server -> about 2 s, not 8" examples/seed_run_coroutines.lua
run "a helper class scheduling user scripts (1 s, 3 s, 5 s, 1 s)" examples/seed_helper.lua
run "addTask / isFinished / getData" examples/seed_addtask.lua
run "runTaskAsync futures (about 1, 2, 2, 4 s)" examples/seed_runtaskasync.lua
run "a large table result (zero-copy column views)" examples/large_table.lua
