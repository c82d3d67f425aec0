#!/usr/bin/env bash
# make demo: two real stations on loopback joined by a line. Messages go both ways, a station is
# killed with SIGKILL while messages wait for it, a request for a call is sent, acknowledged and
# accepted, and both records are verified afterwards.
# Interactive (a terminal): the stations keep running until Ctrl-C, for `hotline send` and
# `hotline status` by hand. Ports: DEMO_ALPHA_PORT and DEMO_BRAVO_PORT (default 17401, 17402).
set -euo pipefail
hotline=$(realpath "${1:-build/release/hotline}")
alpha_port=${DEMO_ALPHA_PORT:-17401}
bravo_port=${DEMO_BRAVO_PORT:-17402}
# The API and console of each station (plain HTTP: they listen on loopback only).
alpha_api=${DEMO_ALPHA_API_PORT:-17481}
bravo_api=${DEMO_BRAVO_API_PORT:-17482}
dir=$(mktemp -d /tmp/hotline-demo-XXXXXX)
line=alpha-bravo
pids=()

stop_stations() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  pids=()
}
trap stop_stations EXIT

serve() {  # serve NAME: starts the station in the background, waits until it answers
  "$hotline" serve --dir "$dir/$1" >>"$dir/$1.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 100); do
    "$hotline" status --dir "$dir/$1" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "demo: $1 did not start; see $dir/$1.log" >&2
  exit 1
}

# delivered NAME N: waits until N of NAME's entries are receipted by the peer.
delivered() {
  for _ in $(seq 300); do
    n=$("$hotline" status --dir "$dir/$1" --json |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["lines"][0]["receipted"])')
    [[ $n -ge $2 ]] && return 0
    sleep 0.1
  done
  echo "demo: $1's entries were not delivered; see $dir/*.log" >&2
  exit 1
}

echo "== Two stations, each with its own identity, database and configuration"
"$hotline" init --dir "$dir/alpha" --name alpha --listen "127.0.0.1:$alpha_port" \
  --api "127.0.0.1:$alpha_api" --no-api-tls 2>/dev/null
"$hotline" init --dir "$dir/bravo" --name bravo --listen "127.0.0.1:$bravo_port" \
  --api "127.0.0.1:$bravo_api" --no-api-tls 2>/dev/null
alpha_fp=$("$hotline" fingerprint --dir "$dir/alpha")
bravo_fp=$("$hotline" fingerprint --dir "$dir/bravo")
echo
echo "== A line between them, each pinning the other's key"
"$hotline" line add --dir "$dir/alpha" --name $line --peer "$bravo_fp" --route "127.0.0.1:$bravo_port"
"$hotline" line add --dir "$dir/bravo" --name $line --peer "$alpha_fp" --route "127.0.0.1:$alpha_port"
serve alpha
serve bravo
echo
echo "== Messages both ways"
"$hotline" send --dir "$dir/alpha" --line $line --precedence FLASH --wait 10 \
  --text "Request an urgent call between ministers"
"$hotline" send --dir "$dir/bravo" --line $line --text "Received; the duty officer is informed"
delivered alpha 1
delivered bravo 1
"$hotline" status --dir "$dir/alpha"
"$hotline" status --dir "$dir/bravo"
echo
echo "== kill -9 bravo; alpha queues three messages; bravo comes back and receives them"
kill -KILL "${pids[1]}"
wait "${pids[1]}" 2>/dev/null || true
unset 'pids[1]'
pids=("${pids[@]}")
for i in 1 2 3; do
  "$hotline" send --dir "$dir/alpha" --line $line --text "message $i while bravo is down"
done
serve bravo
delivered alpha 4
"$hotline" status --dir "$dir/alpha"
echo
echo "== The procedure: alpha's duty officer asks for a call; bravo acknowledges and accepts it"
# Each station's people, with their roles (passwords on standard input).
echo "demo password for ann" | "$hotline" user add --dir "$dir/alpha" --name ann --role operator
echo "demo password for bob" | "$hotline" user add --dir "$dir/bravo" --name bob --role operator
echo "demo password for bea" | "$hotline" user add --dir "$dir/bravo" --name bea --role principal
request=$("$hotline" request --dir "$dir/alpha" --line $line --as ann --kind call \
  --topic "Incident at the border crossing" --officials "defence ministers" \
  --window +2h/+3h --precedence IMMEDIATE --json |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["request"]["id"])')
echo "alpha sent request $request"
for _ in $(seq 100); do  # bravo's station records the delivery by itself
  state=$("$hotline" requests --dir "$dir/alpha" --line $line --request "$request" --json |
          python3 -c 'import json,sys; print(json.load(sys.stdin)["request"]["state"])')
  [[ $state != sent ]] && break
  sleep 0.1
done
"$hotline" ack --dir "$dir/bravo" --line $line --request "$request" --as bob
"$hotline" accept --dir "$dir/bravo" --line $line --request "$request" --as bea
sleep 0.5
"$hotline" requests --dir "$dir/alpha" --line $line --request "$request"
echo
echo "== The report: computed from the record alone, the same at both stations"
"$hotline" report --dir "$dir/bravo" --line $line
echo
echo "== The HTTP API: alpha's duty officer logs in, sends a FLASH message, reads the request"
python3 - "$alpha_api" "$request" <<'PY'
import json, sys, urllib.request
base = f"http://127.0.0.1:{sys.argv[1]}"
def call(method, path, body=None, cookie=None, csrf=None):
    headers = {"Content-Type": "application/json"}
    if cookie: headers["Cookie"] = cookie
    if csrf: headers["X-CSRF-Token"] = csrf
    data = json.dumps(body).encode() if body is not None else None
    with urllib.request.urlopen(urllib.request.Request(base + path, data, headers, method=method)) as r:
        return json.load(r), r.headers
print("GET /healthz ->", call("GET", "/healthz")[0]["status"])
session, headers = call("POST", "/api/v1/session", {"user": "ann", "password": "demo password for ann"})
cookie = headers["Set-Cookie"].split(";")[0]
print("POST /api/v1/session -> logged in as", session["user"], "(" + session["role"] + ")")
sent, _ = call("POST", "/api/v1/lines/alpha-bravo/messages",
               {"precedence": "FLASH", "text": "Sent from the API"}, cookie, session["csrf_token"])
print("POST /api/v1/lines/alpha-bravo/messages ->", sent["status"], "seq", sent.get("seq"))
request, _ = call("GET", f"/api/v1/lines/alpha-bravo/requests/{sys.argv[2]}", cookie=cookie)
print(f"GET /api/v1/lines/alpha-bravo/requests/{sys.argv[2]} ->", request["request"]["state"])
PY
echo

if [[ -t 0 && -z "${CI:-}" ]]; then
  echo "The stations are running. In another terminal, try:"
  echo "  $hotline send --dir $dir/alpha --line $line --precedence FLASH --text hello"
  echo "  $hotline status --dir $dir/bravo"
  echo "  $hotline request --dir $dir/alpha --line $line --as ann --kind video --topic T --window +1d/+1d1h"
  echo "  $hotline requests --dir $dir/bravo --line $line"
  echo "  the API: http://127.0.0.1:$alpha_api/api/v1 (log in as ann, password 'demo password for ann'; docs/api.yaml)"
  echo "Logs: $dir/alpha.log, $dir/bravo.log. Press Ctrl-C to stop them and verify the records."
  trap 'echo' INT
  wait "${pids[@]}" 2>/dev/null || true
fi
stop_stations

for station in alpha bravo; do
  echo "== hotline verify --dir $dir/$station"
  "$hotline" verify --dir "$dir/$station"
done
"$hotline" export --dir "$dir/alpha" --out "$dir/alpha.jsonl"
echo
echo "== Tamper with one byte of one entry in a copy of alpha's export, and verify it again"
python3 - "$dir/alpha.jsonl" "$dir/tampered.jsonl" <<'PY'
import base64, json, sys
lines = open(sys.argv[1]).read().splitlines()
item = next(json.loads(l) for l in lines if json.loads(l).get("type") == "entry")
raw = bytearray(base64.b64decode(item["signed"]))
raw[len(raw) // 2] ^= 0x01
item["signed"] = base64.b64encode(bytes(raw)).decode()
for i, l in enumerate(lines):
    if json.loads(l).get("type") == "entry":
        lines[i] = json.dumps(item)
        break
open(sys.argv[2], "w").write("\n".join(lines) + "\n")
PY
if "$hotline" verify "$dir/tampered.jsonl"; then
  echo "demo: the tampered record was not caught" >&2
  exit 1
fi
echo
echo "The stations live in $dir; start one again with: $hotline serve --dir $dir/alpha"
