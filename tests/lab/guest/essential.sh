#!/bin/sh
# mmdebstrap essential hook of tests/lab/build-image.sh (before the kernel is installed): the
# initramfs settings, so the initrd built at kernel install already holds the virtio drivers.
set -eu
root=$1
here=$(dirname "$0")
mkdir -p "$root/etc/initramfs-tools/conf.d" "$root/etc/initramfs-tools/hooks"
install -m 0644 "$here/initramfs.conf" "$root/etc/initramfs-tools/conf.d/lab.conf"
install -m 0755 "$here/initramfs-hook" "$root/etc/initramfs-tools/hooks/lab-virtio"
