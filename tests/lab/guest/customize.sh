#!/bin/sh
# mmdebstrap customize hook of tests/lab/build-image.sh: runs on the host, $1 is the guest's
# root directory, $2 the packages to seed into the guest's local apt repository.
set -eu
root=$1
repo_packages=$2
here=$(dirname "$0")

# User with passwordless sudo; key-only SSH (the key comes from the kernel command line).
chroot "$root" useradd --create-home --shell /bin/bash lab
echo 'lab ALL=(ALL) NOPASSWD:ALL' > "$root/etc/sudoers.d/lab"
chmod 0440 "$root/etc/sudoers.d/lab"
cat > "$root/etc/ssh/sshd_config.d/lab.conf" <<CONF
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin no
UseDNS no
CONF

# Boot-time setup and networking (systemd-networkd).
install -m 0755 "$here/lab-init" "$root/usr/local/sbin/lab-init"
install -m 0644 "$here/lab-init.service" "$root/etc/systemd/system/lab-init.service"
install -m 0644 "$here/10-lab-eth0.network" "$root/etc/systemd/network/10-lab-eth0.network"
chroot "$root" systemctl enable lab-init.service systemd-networkd.service ssh.service
chroot "$root" systemctl mask apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer \
  e2scrub_reap.service fstrim.timer dpkg-db-backup.timer systemd-networkd-wait-online.service \
  getty@tty1.service
chroot "$root" systemctl set-default multi-user.target
echo 'labguest' > "$root/etc/hostname"
printf '127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\n' > "$root/etc/hosts"
echo '/dev/vda / ext4 defaults,noatime 0 1' > "$root/etc/fstab"
# -cpu max shows SVM/VMX: keep udev from loading KVM and friends at every (slow, emulated) boot.
printf 'blacklist %s\n' kvm kvm_amd kvm_intel powernow_k8 pcspkr > "$root/etc/modprobe.d/lab-blacklist.conf"

# Local apt repository: the packages the collection installs plus their missing dependencies.
# shellcheck disable=SC2086 # a list of package names
chroot "$root" apt-get install --download-only --yes $repo_packages
mkdir -p "$root/var/local/lab-repo"
mv "$root"/var/cache/apt/archives/*.deb "$root/var/local/lab-repo/"
(cd "$root/var/local/lab-repo" && dpkg-scanpackages --multiversion . /dev/null > Packages 2>/dev/null)
rm -f "$root/etc/apt/sources.list" "$root"/etc/apt/sources.list.d/*
echo 'deb [trusted=yes] file:/var/local/lab-repo ./' > "$root/etc/apt/sources.list.d/lab-repo.list"
chroot "$root" apt-get update -qq

# Every VM gets its own machine-id at first boot; no leftover caches.
: > "$root/etc/machine-id"
rm -f "$root/var/lib/dbus/machine-id"
rm -rf "$root"/var/cache/apt/*.bin "$root"/var/log/*.log
