#!/usr/bin/env bash
# Runs a command as root in the TestVm started by boot.sh:  tests/vm/ssh.sh CACHE PORT [ssh options] cmd...
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: $0 CACHE PORT [ssh options] cmd..." >&2; exit 2; }
cache=$1 port=$2; shift 2
exec ssh -i "$cache/id_ed25519" -p "$port" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
    -o BatchMode=yes -o LogLevel=ERROR root@127.0.0.1 "$@"
