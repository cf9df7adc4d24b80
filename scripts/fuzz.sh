#!/usr/bin/env bash
# Builds the libFuzzer targets with clang and runs each for $1 seconds (default 20)
# on its seed corpus (fuzz/corpus/<target>/). Prints "fuzz: ok <target>" per target.
# A crash leaves its input in fuzz/artifacts/: keep it as a regression case in
# fuzz/corpus/<target>/ once fixed.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-20}
# A fixed seed makes CI's short runs repeatable (a red CI must be reproducible here);
# DDB_FUZZ_SEED=0 lets libFuzzer pick one, for longer exploratory runs.
seed=${DDB_FUZZ_SEED:-1}
cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Debug -DDDB_FUZZ=ON -DCMAKE_C_COMPILER=clang >/dev/null
cmake --build build-fuzz -j "$(nproc)" >/dev/null
mkdir -p fuzz/artifacts
for bin in build-fuzz/fuzz/fuzz_*; do
  [ -x "$bin" ] || continue
  name=$(basename "$bin"); corpus=fuzz/corpus/$name; mkdir -p "$corpus"
  work=$(mktemp -d); cp -r "$corpus/." "$work/" 2>/dev/null || true
  "$bin" -max_total_time="$secs" -seed="$seed" -print_final_stats=1 -max_len=65536 -rss_limit_mb=4096 -malloc_limit_mb=4096 \
         -artifact_prefix=fuzz/artifacts/ "$work" "$corpus" >"build-fuzz/$name.log" 2>&1 ||
    { tail -30 "build-fuzz/$name.log"; echo "fuzz: FAILED $name"; exit 1; }
  rm -rf "$work"
  echo "fuzz: ok $name ($(grep -Eo 'stat::number_of_executed_units: [0-9]+' "build-fuzz/$name.log" || true))"
done
