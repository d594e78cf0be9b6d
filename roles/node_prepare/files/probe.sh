#!/bin/sh
# Read-only probe of the role node_prepare: prints key=value lines, changes nothing.
# Input (environment): NP_MODULES, NP_SYSCTLS (space-separated), NP_MODULES_FILE, NP_SYSCTL_FILE,
# NP_RECORD_FILE.
PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin:/opt/bin:/usr/local/bin"
export PATH
kr=$(uname -r)
echo "kernel=$kr"
if [ -r /etc/os-release ]; then
  (
    # shellcheck disable=SC1091
    . /etc/os-release
    echo "os_id=${ID:-}"
    echo "os_id_like=${ID_LIKE:-}"
    echo "os_version_id=${VERSION_ID:-}"
    echo "os_variant_id=${VARIANT_ID:-}"
    echo "os_name=${PRETTY_NAME:-}"
  )
fi
if [ -e /run/ostree-booted ]; then echo "ostree=1"; else echo "ostree=0"; fi
if [ -e /sys/class/net/kube-ipvs0 ]; then echo "kube_ipvs0=1"; else echo "kube_ipvs0=0"; fi
loaded=" $(cut -d' ' -f1 /proc/modules 2>/dev/null | tr '\n' ' ')"
for m in $NP_MODULES; do
  m=$(echo "$m" | tr - _)
  case "$loaded" in
    *" $m "*) s=loaded ;;
    *)
      if grep -qE "/$(echo "$m" | sed 's/_/[-_]/g')\.ko" "/lib/modules/$kr/modules.builtin" 2>/dev/null; then s=builtin
      elif modinfo -F filename "$m" >/dev/null 2>&1; then s=available
      else s=missing
      fi ;;
  esac
  echo "module.$m=$s"
done
for k in $NP_SYSCTLS; do
  f="/proc/sys/$(echo "$k" | tr . /)"
  if [ -r "$f" ]; then echo "sysctl.$k=$(cat "$f")"; fi
done
for t in iptables ipset ipvsadm nft conntrack; do
  # Only nft is asked for its version: ipvsadm and ipset may load kernel modules when they run.
  if p=$(command -v "$t" 2>/dev/null); then
    if [ "$t" = nft ]; then p=$(nft --version 2>&1 | head -n 1); fi
    echo "tool.$t=${p:-unknown}"
  fi
done
for pair in "modules_load:$NP_MODULES_FILE" "sysctl:$NP_SYSCTL_FILE"; do
  f=${pair#*:}
  if [ -f "$f" ]; then echo "file.${pair%%:*}=$(sha1sum "$f" | cut -d' ' -f1)"; fi
done
if [ -f "$NP_RECORD_FILE" ]; then
  grep -E '^[a-z0-9_.-]+=' "$NP_RECORD_FILE" | sed 's/^/record./'
fi
exit 0
