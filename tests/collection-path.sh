#!/usr/bin/env bash
# Makes this checkout resolvable as the collection kube_proxy.mode: a symlink
# .cache/collections/ansible_collections/kube_proxy/mode -> the checkout.
# tests/ansible.cfg points collections_path there, so `kube_proxy.mode.<verb>` resolves.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
dir="$top/.cache/collections/ansible_collections/kube_proxy"
mkdir -p "$dir"
ln -sfn "$top" "$dir/mode"
