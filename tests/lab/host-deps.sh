#!/usr/bin/env bash
# Installs the Debian packages the tests and the lab need on the host (root, apt-get).
set -euo pipefail
pkgs=(qemu-system-x86 qemu-utils mmdebstrap vde2 e2fsprogs openssh-client
      nftables iptables ipset iproute2 conntrack kmod dpkg-dev shellcheck git make python3-venv)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "host-deps: installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
