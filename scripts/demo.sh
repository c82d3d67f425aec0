#!/usr/bin/env bash
# make demo: two stations on this machine, a line between them, a record written and verified.
# (Until the link exists, the record is exchanged in one process; see README "State".)
set -euo pipefail
hotline=${1:-build/release/hotline}
dir=$(mktemp -d /tmp/hotline-demo-XXXXXX)

echo "== Two stations and a line, 60 entries exchanged with receipts and checkpoints"
"$hotline" demo --dir "$dir" --entries 60
echo
for station in alpha bravo; do
  echo "== hotline fingerprint --dir $dir/$station"
  "$hotline" fingerprint --dir "$dir/$station"
  echo "== hotline verify --dir $dir/$station"
  "$hotline" verify --dir "$dir/$station"
  echo "== hotline verify $dir/$station.jsonl"
  "$hotline" verify "$dir/$station.jsonl"
done
echo
echo "== Tamper with one byte of one entry in a copy of alpha's export, and verify it again"
python3 - "$dir/alpha.jsonl" "$dir/tampered.jsonl" <<'PY'
import base64, json, sys
lines = open(sys.argv[1]).read().splitlines()
item = json.loads(lines[10])
raw = bytearray(base64.b64decode(item["signed"]))
raw[len(raw) // 2] ^= 0x01
item["signed"] = base64.b64encode(bytes(raw)).decode()
lines[10] = json.dumps(item)
open(sys.argv[2], "w").write("\n".join(lines) + "\n")
PY
if "$hotline" verify "$dir/tampered.jsonl"; then
  echo "demo: the tampered record was not caught" >&2
  exit 1
fi
echo
echo "The stations live in $dir (remove it when done)."
