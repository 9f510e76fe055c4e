#!/usr/bin/env bash
# Runs a command inside the TestVm root tree, e.g. to install packages or build native helpers:
#
#   tests/vm/chroot.sh ROOTFS cmd [args...]
#
# Binds proc, sys, dev, dev/pts and the host's resolv.conf (the tree's own names the QEMU user-network
# resolver 10.0.2.3), and a policy-rc.d that keeps packages from starting daemons in the chroot.
# CHROOT_BINDS="SRC:DST[:ro] ..." binds more host directories (read-only with :ro). Everything is
# undone on exit, even on failure.
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: $0 ROOTFS cmd [args...]" >&2; exit 2; }
root=$(cd "$1" && pwd); shift

mounted=()
policy=
cleanup() {
    local i
    for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
        umount "${mounted[i]}" 2>/dev/null || umount -l "${mounted[i]}" || true
    done
    [ -z "$policy" ] || rm -f "$policy"
}
trap cleanup EXIT
bind() { mount "$@"; mounted+=("${!#}"); }   # the last argument is the mount point

# The tree a mount point of its own, so that /proc/self/mountinfo in it lists its root (.NET's
# drive lookup in pwsh finds no mount for / otherwise and mangles every path).
bind --bind "$root" "$root"
bind -t proc proc "$root/proc"
bind --bind /sys "$root/sys"
bind --bind /dev "$root/dev"
bind --bind /dev/pts "$root/dev/pts"
touch "$root/etc/resolv.conf"
bind --bind /etc/resolv.conf "$root/etc/resolv.conf"
# Extra binds from CHROOT_BINDS="SRC:DST[:ro] ...": the host's files a command in the tree needs.
for b in ${CHROOT_BINDS:-}; do
    IFS=: read -r src dst mode <<< "$b"
    mkdir -p "$root$dst"
    bind --bind "$src" "$root$dst"
    [ "$mode" != ro ] || mount -o remount,bind,ro "$root$dst"
done
if [ ! -e "$root/usr/sbin/policy-rc.d" ]; then
    policy=$root/usr/sbin/policy-rc.d
    printf '#!/bin/sh\nexit 101\n' > "$policy"; chmod 755 "$policy"
fi

env -i HOME=/root LC_ALL=C.UTF-8 DEBIAN_FRONTEND=noninteractive \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin chroot "$root" "$@"
