#!/usr/bin/env bash
# Builds the lab's Debian 12 (bookworm) guest image: a root filesystem made by mmdebstrap, packed
# into a partitionless ext4 image and converted to qcow2, plus the kernel and initrd copied out
# (qemu boots them directly with -kernel/-initrd). Output in .cache/lab/image/:
#   base.qcow2 vmlinuz initrd.img recipe.sha256
# The image is rebuilt only when the recipe changes: the hash covers this script, the files under
# tests/lab/guest/ and the settings below. FORCE=1 rebuilds anyway.
#
# Packages the collection installs on nodes (LAB_REPO_PACKAGES) are NOT installed: their .deb
# files and the dependencies missing from the image are seeded into a local apt repository,
# /var/local/lab-repo, which is the guest's only apt source ([trusted=yes]). So
# `apt-get update && apt-get install nftables ...` works offline inside the guests.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
out="$top/.cache/lab/image"
guest="$top/tests/lab/guest"

SUITE=bookworm
MIRROR=${LAB_MIRROR:-http://deb.debian.org/debian}
SECURITY_MIRROR=${LAB_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
IMAGE_SIZE=4G
PACKAGES=systemd,systemd-sysv,udev,dbus,openssh-server,python3,python3-apt,sudo,kmod,iproute2,procps,linux-image-cloud-amd64,initramfs-tools
LAB_REPO_PACKAGES="nftables iptables ipset ipvsadm conntrack"

recipe_hash() {
  {
    cat "$0"
    find "$guest" -type f -print0 | sort -z | xargs -0 cat
    echo "$SUITE $MIRROR $SECURITY_MIRROR $IMAGE_SIZE $PACKAGES $LAB_REPO_PACKAGES"
  } | sha256sum | cut -d' ' -f1
}

mkdir -p "$out"
# One build at a time (several labs may start together); the others wait and then find it current.
exec 9>"$out/.lock"
flock 9
hash=$(recipe_hash)
if [ "${FORCE:-0}" != 1 ] && [ -f "$out/recipe.sha256" ] && [ "$(cat "$out/recipe.sha256")" = "$hash" ] \
   && [ -f "$out/base.qcow2" ] && [ -f "$out/vmlinuz" ] && [ -f "$out/initrd.img" ]; then
  echo "build-image: up to date ($out/base.qcow2)"
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "build-image: must run as root (mmdebstrap --mode=root)" >&2
  exit 1
fi

start=$(date +%s)
mkdir -p "$out"
work=$(mktemp -d "$out/build.XXXXXX")
trap 'rm -rf "$work"' EXIT
rootfs="$work/rootfs"

echo "build-image: mmdebstrap $SUITE from $MIRROR"
# The hooks run on the host with the root filesystem as their first argument.
mmdebstrap --mode=root --variant=minbase --include="$PACKAGES" --skip=cleanup/apt/lists \
  --essential-hook="'$guest/essential.sh' \"\$1\"" \
  --customize-hook="'$guest/customize.sh' \"\$1\" '$LAB_REPO_PACKAGES'" \
  "$SUITE" "$rootfs" \
  "deb $MIRROR $SUITE main" \
  "deb $MIRROR $SUITE-updates main" \
  "deb $SECURITY_MIRROR $SUITE-security main"

kver=$(basename "$(find "$rootfs/boot" -name 'vmlinuz-*' | sort | tail -n 1)")
kver=${kver#vmlinuz-}
cp "$rootfs/boot/vmlinuz-$kver" "$work/vmlinuz"
cp "$rootfs/boot/initrd.img-$kver" "$work/initrd.img"
echo "build-image: kernel $kver, initrd $(du -h "$work/initrd.img" | cut -f1)"

echo "build-image: ext4 ($IMAGE_SIZE, sparse) -> qcow2"
mkfs.ext4 -q -F -L labroot -d "$rootfs" "$work/root.raw" "$IMAGE_SIZE"
qemu-img convert -O qcow2 "$work/root.raw" "$work/base.qcow2"
rm -f "$work/root.raw"

for f in base.qcow2 vmlinuz initrd.img; do mv -f "$work/$f" "$out/$f"; done
echo "$hash" > "$out/recipe.sha256"
echo "build-image: done in $(( $(date +%s) - start ))s, $(du -h "$out/base.qcow2" | cut -f1) qcow2 ($out)"
