#!/usr/bin/env bash
# packaging/hotline.service: its hardening options are all there, and systemd accepts the unit
# (systemd-analyze verify, with the unit's ExecStart pointed at the binary under test). Exit 77
# (skipped) only where systemd-analyze is not installed, after the options were checked.
#   check_unit.sh UNIT_FILE HOTLINE_BINARY
set -euo pipefail
unit=$1
hotline=$2

required=(
  "NoNewPrivileges=yes" "ProtectSystem=strict" "ProtectHome=yes" "PrivateTmp=yes"
  "PrivateDevices=yes" "ProtectKernelTunables=yes" "ProtectKernelModules=yes"
  "ProtectControlGroups=yes" "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6"
  "RestrictNamespaces=yes" "RestrictSUIDSGID=yes" "MemoryDenyWriteExecute=yes"
  "SystemCallFilter=@system-service" "CapabilityBoundingSet=" "UMask=0077"
  "StateDirectoryMode=0700" "LoadCredential=passphrase:/etc/hotline/passphrase"
)
missing=0
for directive in "${required[@]}"; do
  if ! grep -qxF "$directive" "$unit"; then
    echo "$unit: missing the line '$directive'"
    missing=1
  fi
done
((missing == 0)) || exit 1

if ! command -v systemd-analyze >/dev/null; then
  echo "systemd-analyze is not installed: the unit's options were checked, systemd did not read it"
  exit 77
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
sed "s|/usr/local/bin/hotline|$hotline|" "$unit" >"$work/hotline.service"
# verify exits 0 on some errors (an unparsable value is "ignored"), so any output is a failure.
if ! output=$(systemd-analyze verify --man=no "$work/hotline.service" 2>&1) || [[ -n $output ]]; then
  echo "systemd-analyze verify $unit:"
  echo "$output"
  exit 1
fi
echo "$unit: hardened, and systemd accepts it"
