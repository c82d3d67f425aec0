#!/usr/bin/env bash
# The independent Python verifier (verify_record.py, written from docs/record-format.md alone)
# against the committed test vectors and against real exports of both demo stations.
#   run_thirdparty.sh HOTLINE_BINARY VECTORS_JSON
set -euo pipefail
hotline=$1
vectors=$2
here=$(cd "$(dirname "$0")" && pwd)
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

# Debian's interpreter, which has python3-nacl; not a pyenv shim that may lack it.
python=/usr/bin/python3

"$hotline" demo --dir "$dir" --entries 60 > /dev/null
"$python" "$here/verify_record.py" vectors "$vectors"
"$python" "$here/verify_record.py" export "$dir/alpha.jsonl"
"$python" "$here/verify_record.py" export "$dir/bravo.jsonl"
"$python" "$here/test_verify_record.py" "$dir/alpha.jsonl" "$dir/bravo.jsonl"
