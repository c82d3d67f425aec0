#!/usr/bin/env bash
# Runs every benchmark of BUILD_DIR and prints their JSON documents as one JSON array on stdout
# (also saved as BUILD_DIR/bench-results.json). Progress goes to stderr. Exits non-zero if any
# program failed, timed out or printed something that is not one JSON document; a failed program
# appears in the array as {"benchmark": NAME, "failed": true, "exit_code": N}.
set -uo pipefail

build=${1:?usage: bench/run.sh BUILD_DIR}
# A safety net only: every program stops by itself well before this.
limit_seconds=900

if [[ ! -x "$build/bench/hotline_bench_micro" ]]; then
  echo "bench/run.sh: no benchmarks in $build (configure with -DHOTLINE_BENCH=ON)" >&2
  exit 2
fi

scratch=$(mktemp -d /tmp/hotline-bench-run-XXXXXX)
trap 'rm -rf "$scratch"' EXIT

status=0
documents=()
# run NAME [--limit SECONDS] COMMAND...
run() {
  local name=$1
  shift
  local limit=$limit_seconds
  if [[ $1 == --limit ]]; then
    limit=$2
    shift 2
  fi
  local out="$scratch/$name.json"
  local start=$SECONDS
  echo "bench/run.sh: running $name" >&2
  timeout --signal=TERM "$limit" "$@" >"$out"
  local code=$?
  echo "bench/run.sh: $name exited $code after $((SECONDS - start)) s" >&2
  if [[ $code -eq 0 ]] && python3 -c 'import json, sys; json.load(open(sys.argv[1]))' "$out" 2>/dev/null; then
    documents+=("$out")
    return
  fi
  if [[ $code -eq 0 ]]; then
    echo "bench/run.sh: $name did not print one JSON document" >&2
    code=1
  fi
  printf '{"benchmark": "%s", "failed": true, "exit_code": %d}\n' "$name" "$code" >"$out"
  documents+=("$out")
  status=1
}

run micro "$build/bench/hotline_bench_micro"
run append "$build/bench/hotline_bench_append"
if [[ -x "$build/hotline" ]]; then
  run verify "$build/bench/hotline_bench_verify" --hotline "$build/hotline"
else
  run verify "$build/bench/hotline_bench_verify"
fi
# The link benchmark queues 150,000 messages, one durable send request each: 1 min of its 2.5 on a
# quiet disk, but about 10 min when the disk's fsync slows to 4 ms under other load.
run link --limit 1800 "$build/bench/hotline_bench_link"
# The HTTP API under 50 concurrent clients, 10,000 requests, against the optimised binary (issue 6).
if [[ -x "$build/hotline" ]]; then
  export HOTLINE_BINARY="$build/hotline"
  run api --limit 600 \
    /usr/bin/python3 "$(dirname "$0")/../tests/api/api_load.py" --clients 50 --requests 10000
fi

python3 - "${documents[@]}" >"$build/bench-results.json" <<'PY'
import json, sys
print(json.dumps([json.load(open(path)) for path in sys.argv[1:]], indent=2))
PY
cat "$build/bench-results.json"
exit $status
