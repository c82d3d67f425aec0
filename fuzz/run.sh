#!/usr/bin/env bash
# fuzz/run.sh BINARY_DIR [SECONDS] — builds the fuzzers if needed and runs each for SECONDS
# (default 60).
#
# Exit status: 0 if neither fuzzer found anything; 1 if one crashed, leaked, hit undefined
# behaviour or broke a property (the input is saved under BINARY_DIR/crashes and the command to
# replay it is printed); 2 on a usage or build error. The seeds are generated from
# docs/test-vectors.json on every run, so no binary corpus is committed; what the fuzzers find
# accumulates in BINARY_DIR/corpus from run to run.
set -euo pipefail

if [[ $# -lt 1 || $# -gt 2 || ! ${2:-60} =~ ^[0-9]+$ ]]; then
  echo "usage: fuzz/run.sh BINARY_DIR [SECONDS]" >&2
  exit 2
fi
bin=$(realpath -m "$1")
seconds=${2:-60}
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cxx=${FUZZ_CXX:-clang++-14}

if ! command -v "$cxx" >/dev/null; then
  echo "fuzz: $cxx not found; 'make fuzz' installs clang-14 and libclang-rt-14-dev" >&2
  exit 2
fi
if [[ ! -f $bin/build.ninja ]]; then
  cmake -S "$root/fuzz" -B "$bin" -G Ninja -DCMAKE_CXX_COMPILER="$cxx" >/dev/null || exit 2
fi
ninja -C "$bin" frame_fuzzer entry_fuzzer fuzz_seeds >/dev/null || exit 2
"$bin/fuzz_seeds" "$root/docs/test-vectors.json" "$bin/seeds/frame" "$bin/seeds/entry" || exit 2

# libFuzzer's final statistics, one line per fuzzer.
summarize() {
  local name=$1 log=$2
  local runs rate rss cov
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
  rss=$(sed -n 's/^stat::peak_rss_mb: *//p' "$log")
  cov=$(grep -o 'cov: [0-9]* ft: [0-9]* corp: [0-9]*' "$log" | tail -n 1 || true)
  echo "fuzz: ${name}_fuzzer ok: $runs runs, $rate exec/s, peak RSS ${rss} MB, $cov"
}

status=0
mkdir -p "$bin/crashes"
for name in frame entry; do
  corpus=$bin/corpus/$name
  log=$bin/$name.log
  mkdir -p "$corpus"
  echo "fuzz: running ${name}_fuzzer for ${seconds}s (log: $log)"
  # The first directory receives new inputs; the seeds are only read.
  if "$bin/${name}_fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -max_len=16384 -print_final_stats=1 -artifact_prefix="$bin/crashes/$name-" \
    "$corpus" "$bin/seeds/$name" >"$log" 2>&1; then
    summarize "$name" "$log"
  else
    status=1
    echo "fuzz: ${name}_fuzzer FAILED; the end of its log:" >&2
    tail -n 60 "$log" >&2
    artifact=$(grep -o "Test unit written to [^ ]*" "$log" | tail -n 1 | cut -d' ' -f5 || true)
    if [[ -n $artifact ]]; then
      echo "fuzz: replay with: $bin/${name}_fuzzer $artifact" >&2
    fi
  fi
done
exit $status
