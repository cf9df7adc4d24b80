#!/usr/bin/env bash
# Runs the busted specs under LuaJIT against a build directory (default: build/).
# Usage: scripts/busted.sh [spec files...]
set -uo pipefail
cd "$(dirname "$0")/.."
build=${DDB_BUILD_DIR:-$PWD/build}
export DDB_BUILD_DIR=$build
export LUA_PATH="$PWD/lua/?.lua;$PWD/lua/?/init.lua;$PWD/spec/?.lua;;"
export LUA_CPATH="$build/lua/?.so;;"
# ASan must be loaded first when the module was built with it; LuaJIT itself is not.
if grep -q 'DDB_SANITIZE:BOOL=ON' "$build/CMakeCache.txt" 2>/dev/null; then
  export LD_PRELOAD="$(clang -print-file-name=libclang_rt.asan-x86_64.so)"
  export DDB_ASAN_PRELOAD=$LD_PRELOAD    # kept for children after a spec unsets LD_PRELOAD
  export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
fi
exec luajit "$(command -v busted)" --output=spec/support/summary.lua "${@:-spec}"
