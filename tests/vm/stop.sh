#!/usr/bin/env bash
# Stops the TestVm that boot.sh started from RUNDIR:  tests/vm/stop.sh RUNDIR
# Asks the guest to power off over ssh, waits up to 60 s for QEMU to exit, then kills it by the
# PID in RUNDIR/qemu.pid (only if that PID is still this QEMU). Safe to run twice. Keeps the disk.
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: $0 RUNDIR" >&2; exit 2; }
run=$(cd "$1" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
pid=$(cat "$run/qemu.pid" 2>/dev/null || true)
ours() { [ -n "$pid" ] && tr '\0' '\n' < "/proc/$pid/cmdline" 2>/dev/null | grep -qF "$run/qemu.pid"; }
ours || { rm -f "$run/qemu.pid"; exit 0; }

if [ -s "$run/ssh.env" ]; then
    . "$run/ssh.env"
    timeout 15 "$here/ssh.sh" "$CACHE" "$PORT" -o ConnectTimeout=5 systemctl poweroff 2>/dev/null || true
fi
for ((i = 0; i < 60; i++)); do ours || break; sleep 1; done
if ours; then
    echo "stop.sh: QEMU $pid did not power off, killing it" >&2
    kill -TERM "$pid"
    for ((i = 0; i < 10; i++)); do ours || break; sleep 1; done
    ! ours || kill -KILL "$pid"
fi
rm -f "$run/qemu.pid"
