#!/usr/bin/env bash
# valgrind.sh — run the C tests of a (non-sanitized) build under valgrind memcheck.
#
#   scripts/valgrind.sh [BUILD_DIR]        default: build
#
# Every ctest whose command is a C test program of the build runs under
#   valgrind --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect
# with the arguments ctest would give it; ddbmini children the tests start are not
# traced (--trace-children=no: the client is under test, the server has its own ASan
# runs). Prints "valgrind: ok <test>" or "valgrind: FAIL <test>" per test and exits
# non-zero if any test failed or valgrind found an error.
#
# Timing: valgrind runs code 20-50x slower. Tests that accept DDB_TIME_SCALE get 20.
# Not run, and why (printed as "valgrind: skip"):
#   - shell/command checks that are not C test programs (lua_module_symbols) and the
#     LuaJIT host ddblua_runs (LuaJIT's allocator and
#     JIT confuse memcheck without a suppression file);
#   - timing-based tests without a time scale whose deadlines cannot hold 20x slower:
#     ddbmini_load (4 x sleep(2000) must take ~2 s, 10M-row streaming rate),
#     test_pool_faults and test_pool_ha (sub-second timeout / failover deadlines),
#     rel_soak_short (throughput-bound: 20 000 tasks take minutes under memcheck; the
#     fault suite test_rel_faults exercises the same kill/restart paths);
#   - test_hostile: it bounds peak RSS (valgrind's own memory counts there) and loop
#     lateness during floods; it runs under ASan+UBSan instead.
set -u
build=${1:-build}
cd "$(dirname "$0")/.."
if ! command -v valgrind >/dev/null; then echo "valgrind: not installed"; exit 2; fi
if [ ! -f "$build/CTestTestfile.cmake" ]; then echo "valgrind: no ctest build in $build"; exit 2; fi
if grep -q -- '-fsanitize' "$build/CMakeCache.txt" 2>/dev/null ||
   grep -q 'DDB_SANITIZE:BOOL=ON' "$build/CMakeCache.txt" 2>/dev/null; then
  echo "valgrind: $build is a sanitizer build; use a plain one"; exit 2
fi

skip_reason() {
  case "$1" in
    lua_module_symbols) echo "not a C test program" ;;
    ddblua_runs) echo "LuaJIT host (JIT/allocator need suppressions)" ;;
    ddbmini_load) echo "timing-based (wall-clock concurrency and throughput)" ;;
    test_pool_faults|test_pool_ha) echo "timing-based (sub-second deadlines, no time scale)" ;;
    rel_soak_short) echo "throughput-bound (covered by test_rel_faults)" ;;
    test_hostile) echo "peak-RSS and lateness bounds (runs under ASan instead)" ;;
    *) return 1 ;;
  esac
}

failed=0
ran=0
log=$(mktemp -d)
# "ctest --show-only=json-v1" gives each test's command line and environment.
tests_json=$(cd "$build" && ctest --show-only=json-v1)
while IFS=$'\t' read -r name envs cmd; do
  [ -z "$name" ] && continue
  if reason=$(skip_reason "$name"); then echo "valgrind: skip $name ($reason)"; continue; fi
  ran=$((ran + 1))
  eval "set -- $cmd"
  # shellcheck disable=SC2086  # envs: VAR=value words from ctest's ENVIRONMENT
  if env $envs DDB_TIME_SCALE=20 timeout 1200 valgrind -q --error-exitcode=99 --leak-check=full \
       --errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect \
       --trace-children=no "$@" >"$log/$name.txt" 2>&1; then
    echo "valgrind: ok $name"
  else
    rc=$?
    echo "valgrind: FAIL $name (exit $rc)"
    grep -E '==[0-9]+==|FAIL' "$log/$name.txt" | head -40
    failed=$((failed + 1))
  fi
done < <(python3 - "$tests_json" <<'PY'
import json, shlex, sys
data = json.loads(sys.argv[1])
for t in data.get("tests", []):
    cmd = t.get("command") or []
    env = []
    for p in t.get("properties", []):
        if p.get("name") == "ENVIRONMENT":
            env = p.get("value") or []
    if not cmd:
        continue
    envs = " ".join(e for e in env if " " not in e) or "DDB_VALGRIND=1"
    print(t["name"] + "\t" + envs + "\t" + " ".join(shlex.quote(w) for w in cmd))
PY
)
echo "valgrind: $ran tests run, $failed failed (logs in $log)"
[ "$failed" -eq 0 ] && [ "$ran" -gt 0 ]
