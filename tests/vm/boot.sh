#!/usr/bin/env bash
# Boots the TestVm image (built by image.sh) in QEMU, in the background, and waits for ssh:
#
#   tests/vm/boot.sh CACHE RUNDIR PORT [TAG=DIR ...]
#
# RUNDIR/disk.qcow2 is a qcow2 overlay on CACHE/base.img, made on the first boot and kept, so a
# second boot is a reboot (a new image in CACHE replaces it). Each TAG=DIR shares DIR read-only
# over 9p; in the guest: mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 TAG /mnt/x
# ssh is forwarded from 127.0.0.1:PORT only. TCG, since this host's /dev/kvm (PVM) cannot run a
# stock kernel. Leaves RUNDIR/qemu.pid, console.log (serial), qemu.log (QEMU's own output) and
# ssh.env (for stop.sh). Prints "boot: N.N s" once ssh works; stop with stop.sh RUNDIR.
# Without ssh after 180 s it prints the end of the console log, stops QEMU and fails.
set -euo pipefail
[ $# -ge 3 ] || { echo "usage: $0 CACHE RUNDIR PORT [TAG=DIR ...]" >&2; exit 2; }
cache=$(cd "$1" && pwd); mkdir -p "$2"; run=$(cd "$2" && pwd); port=$3; shift 3
here=$(cd "$(dirname "$0")" && pwd)

if [ -s "$run/qemu.pid" ] && kill -0 "$(cat "$run/qemu.pid")" 2>/dev/null; then
    echo "boot.sh: a VM already runs from $run (pid $(cat "$run/qemu.pid"))" >&2; exit 1
fi
rm -f "$run/qemu.pid"

# The overlay, unless one on the current base image exists.
if [ -e "$run/disk.qcow2" ] && ! cmp -s "$cache/base.stamp" "$run/disk.stamp"; then
    echo "boot.sh: $cache has a new image, discarding the old disk" >&2
    rm -f "$run/disk.qcow2"
fi
if [ ! -e "$run/disk.qcow2" ]; then
    qemu-img create -q -f qcow2 -F raw -b "$cache/base.img" "$run/disk.qcow2"
    cp "$cache/base.stamp" "$run/disk.stamp"
fi

shares=()
for s in "$@"; do
    [[ $s == ?*=?* ]] || { echo "boot.sh: not TAG=DIR: $s" >&2; exit 2; }
    shares+=(-virtfs "local,path=$(cd "${s#*=}" && pwd),mount_tag=${s%%=*},security_model=none,readonly=on")
done

[ ! -e "$run/console.log" ] || mv "$run/console.log" "$run/console.log.1"
printf 'CACHE=%q\nPORT=%q\n' "$cache" "$port" > "$run/ssh.env"
t0=$EPOCHREALTIME; SECONDS=0
setsid nohup qemu-system-x86_64 -name testvm \
    -accel tcg,thread=multi -cpu max -smp 2 -m 3G -display none -no-reboot \
    -kernel "$cache/vmlinuz" -initrd "$cache/initrd.img" -append "root=/dev/vda rw console=ttyS0 quiet" \
    -drive "file=$run/disk.qcow2,if=virtio,format=qcow2,cache=writeback" \
    -netdev "user,id=n0,hostfwd=tcp:127.0.0.1:$port-:22" -device virtio-net-pci,netdev=n0 \
    -serial "file:$run/console.log" -pidfile "$run/qemu.pid" "${shares[@]}" \
    </dev/null >"$run/qemu.log" 2>&1 &
qpid=$!

# Wait for ssh (QEMU accepts on PORT at once; only a working login counts).
while :; do
    if ! kill -0 "$qpid" 2>/dev/null; then
        echo "boot.sh: QEMU exited; $run/qemu.log:" >&2; cat "$run/qemu.log" >&2; exit 1
    fi
    if "$here/ssh.sh" "$cache" "$port" -o ConnectTimeout=5 true 2>/dev/null; then break; fi
    if [ "$SECONDS" -ge 180 ]; then
        echo "boot.sh: no ssh after 180 s; tail of $run/console.log:" >&2
        tail -n 30 "$run/console.log" >&2
        kill -TERM "$qpid"; rm -f "$run/qemu.pid"; exit 1          # no half-booted VM left behind
    fi
    sleep 1
done
awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "boot: %.1f s\n", b - a }'
