#!/usr/bin/env bash
# The whole test suite, exactly what CI runs:
#   1. installs missing Debian packages, 2. builds (Release) and runs ctest + busted,
#   3. runs the release build's C tests under valgrind memcheck,
#   4. rebuilds under ASan+UBSan (clang) and runs ctest + busted again,
#   5. runs each libFuzzer target for a bounded time.
# Ends with one line "N passed, N failed" counting every test that ran.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
bash scripts/install-deps.sh || { echo "dependency install failed"; echo "0 passed, 1 failed"; exit 1; }
jobs=$(nproc)
passed=0; failed=0
log=$(mktemp -d)

count_ctest() {   # parse "NN% tests passed, F tests failed out of T"
  local line; line=$(grep -E 'tests passed, [0-9]+ tests? failed out of [0-9]+' "$1" | tail -1)
  if [ -z "$line" ]; then failed=$((failed + 1)); echo "!! ctest printed no summary"; return; fi
  local f t; f=$(sed -E 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\1/' <<<"$line")
  t=$(sed -E 's/.* failed out of ([0-9]+).*/\1/' <<<"$line")
  passed=$((passed + t - f)); failed=$((failed + f))
}
count_busted() {  # our handler prints "busted: N passed, N failed, N errors"
  local line; line=$(grep -E '^busted: [0-9]+ passed, [0-9]+ failed, [0-9]+ errors' "$1" | tail -1)
  if [ -z "$line" ]; then failed=$((failed + 1)); echo "!! busted printed no summary"; return; fi
  local p f e; read -r p f e < <(sed -E 's/busted: ([0-9]+) passed, ([0-9]+) failed, ([0-9]+) errors.*/\1 \2 \3/' <<<"$line")
  passed=$((passed + p)); failed=$((failed + f + e))
}

run_suite() {     # $1 build dir, $2 label, rest: cmake options
  local dir=$1 label=$2; shift 2
  echo "== [$label] build"
  if ! { cmake -S . -B "$dir" "$@" >"$log/$label-cmake.txt" 2>&1 &&
         cmake --build "$dir" -j "$jobs" >"$log/$label-build.txt" 2>&1; }; then
    cat "$log/$label-cmake.txt" "$log/$label-build.txt" | tail -60
    echo "!! [$label] build failed"; failed=$((failed + 1)); return
  fi
  echo "== [$label] ctest"
  (cd "$dir" && ctest --output-on-failure -j "$jobs" --timeout 300) 2>&1 | tee "$log/$label-ctest.txt" | grep -Ev '^ +Start|Test +#[0-9]+: .* Passed'
  count_ctest "$log/$label-ctest.txt"
  if [ -d spec ] && ls spec/*_spec.lua >/dev/null 2>&1; then
    echo "== [$label] busted"
    DDB_BUILD_DIR="$root/$dir" bash scripts/busted.sh 2>&1 | tee "$log/$label-busted.txt"
    count_busted "$log/$label-busted.txt"
  fi
}

run_suite build "release" -DCMAKE_BUILD_TYPE=Release
if [ "${DDB_SKIP_VALGRIND:-0}" != 1 ]; then
  echo "== [valgrind] C tests of the release build under memcheck"
  bash scripts/valgrind.sh build >"$log/valgrind.txt" 2>&1; vrc=$?
  grep -E '^valgrind: (ok|FAIL|skip)' "$log/valgrind.txt"
  passed=$((passed + $(grep -c '^valgrind: ok' "$log/valgrind.txt")))
  vfail=$(grep -c '^valgrind: FAIL' "$log/valgrind.txt")
  if [ "$vrc" -ne 0 ] && [ "$vfail" -eq 0 ]; then vfail=1; tail -20 "$log/valgrind.txt"; fi
  failed=$((failed + vfail))
fi
if [ "${DDB_SKIP_SANITIZE:-0}" != 1 ]; then
  run_suite build-asan "asan+ubsan" -DCMAKE_BUILD_TYPE=Debug -DDDB_SANITIZE=ON -DCMAKE_C_COMPILER=clang
fi
if [ "${DDB_SKIP_FUZZ:-0}" != 1 ]; then
  echo "== [fuzz] build and run"
  if bash scripts/fuzz.sh "${DDB_FUZZ_SECONDS:-15}" >"$log/fuzz.txt" 2>&1; then
    grep -E '^fuzz:' "$log/fuzz.txt"; passed=$((passed + $(grep -c '^fuzz: ok' "$log/fuzz.txt")))
  else
    tail -40 "$log/fuzz.txt"; failed=$((failed + 1))
  fi
fi
echo
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
