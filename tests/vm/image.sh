#!/usr/bin/env bash
# Builds the TestVm image: a Debian 12 guest with the stock distribution kernel, booted by boot.sh.
#
#   tests/vm/image.sh [CACHE]        CACHE defaults to /var/cache/containerps/testvm
#
# Makes, in CACHE:
#   rootfs/              the root tree (kept: later steps chroot into it, see chroot.sh)
#   vmlinuz, initrd.img  the guest kernel (linux-image-amd64, 6.1; not -cloud, which lacks 9p)
#   id_ed25519[.pub]     the key root logs in with over ssh (no password login)
#   rootfs.stamp         sha256 of this script, chroot.sh and guest-packages.txt
# Does nothing when rootfs.stamp matches. Needs root. build/TestVm.ps1 then makes the guest from a copy
# of rootfs: the project's own Bootstrap run in it, .NET and pwsh, then base.img.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=${1:-/var/cache/containerps/testvm}
mkdir -p "$cache"; cache=$(cd "$cache" && pwd)
rootfs=$cache/rootfs

# QEMU and debootstrap come from the host's own release: build/TestVm.ps1 installs them (HostSetup.ps1).
for tool in qemu-system-x86_64 qemu-img debootstrap mkfs.ext4; do
    command -v "$tool" >/dev/null || { echo "image.sh: $tool is missing (build.ps1 -Task TestVm installs it)" >&2; exit 1; }
done

stamp=$(cat "$here/image.sh" "$here/chroot.sh" "$here/guest-packages.txt" | sha256sum | cut -d' ' -f1)
if [ "$(cat "$cache/rootfs.stamp" 2>/dev/null)" = "$stamp" ] && [ -s "$cache/vmlinuz" ] && [ -s "$cache/initrd.img" ] && [ -s "$cache/id_ed25519" ]; then
    echo "image.sh: $cache is up to date"; exit 0
fi
t0=$(date +%s)

# Something left mounted in an old tree would be deleted through: refuse instead.
if findmnt -rno TARGET | grep -q "^$rootfs/"; then
    echo "image.sh: mounts remain under $rootfs, not rebuilding" >&2; exit 1
fi
rm -rf --one-file-system "$rootfs" "$cache/rootfs.stamp"
[ -s "$cache/id_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C testvm -f "$cache/id_ed25519"

# The host's Debian 12 mirror (first URIs: line of its deb822 sources).
mirror=$(awk '$1 == "URIs:" { print $2; exit }' /etc/apt/sources.list.d/debian.sources)
pkgs=$(sed 's/#.*//' "$here/guest-packages.txt" | xargs)
debootstrap --variant=minbase --include="${pkgs// /,}" bookworm "$rootfs" "$mirror"

# apt in the guest: the host's bookworm sources (bookworm, -updates, -security).
rm -f "$rootfs/etc/apt/sources.list"
grep -v '^#' /etc/apt/sources.list.d/debian.sources > "$rootfs/etc/apt/sources.list.d/debian.sources"
"$here/chroot.sh" "$rootfs" sh -ec "
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends $pkgs linux-image-amd64
    apt-get clean"

# Identity, disk, console, network, ssh.
echo testvm > "$rootfs/etc/hostname"
printf '127.0.0.1\tlocalhost\n127.0.1.1\ttestvm\n' > "$rootfs/etc/hosts"
echo '/dev/vda / ext4 defaults,errors=remount-ro 0 1' > "$rootfs/etc/fstab"
echo 'nameserver 10.0.2.3' > "$rootfs/etc/resolv.conf"          # QEMU user networking's resolver
printf '[Match]\nName=en*\n\n[Network]\nDHCP=ipv4\n' > "$rootfs/etc/systemd/network/20-en.network"
printf 'PasswordAuthentication no\nKbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\nUseDNS no\n' \
    > "$rootfs/etc/ssh/sshd_config.d/testvm.conf"
install -d -m 700 "$rootfs/root/.ssh"
install -m 600 "$cache/id_ed25519.pub" "$rootfs/root/.ssh/authorized_keys"
chroot "$rootfs" systemctl enable -q systemd-networkd serial-getty@ttyS0.service
# No apt runs of its own in the middle of a test (they would hold the dpkg lock).
chroot "$rootfs" systemctl mask -q apt-daily.timer apt-daily-upgrade.timer

# The kernel and its initrd, for QEMU's -kernel/-initrd.
kver=$(ls "$rootfs/lib/modules" | sort -V | tail -n1)
cp "$rootfs/boot/vmlinuz-$kver" "$cache/vmlinuz"
cp "$rootfs/boot/initrd.img-$kver" "$cache/initrd.img"

echo "$stamp" > "$cache/rootfs.stamp"
echo "image.sh: built $cache (kernel $kver) in $(( $(date +%s) - t0 )) s"
