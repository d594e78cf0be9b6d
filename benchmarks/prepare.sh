#!/usr/bin/env bash
# Benchmark (not a timed test): the idempotent re-run of kube_proxy.mode.prepare on 3 lab VMs against
# a bare gather_facts play on the same VMs, in one run. Target: prepare re-run <= 1.5x gather_facts.
#
#   bash benchmarks/prepare.sh [ROUNDS]     (default 3 rounds; each round times both plays)
#
# Boots its own lab (LAB_ID=bench-prepare: cp1 iptables, w1 ipvs, w2 nftables), converges once
# (not timed), then alternates the two plays ROUNDS times and prints the medians and the ratio.
# The lab is taken down on exit. Results: benchmarks/results/prepare-<timestamp>.txt
#
# BENCH_INVENTORY="-i INV1 -i INV2 ..." measures VMs that are already up and prepared instead
# (e.g. molecule/prepare's after its idempotence step): no lab, no converge.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
rounds=${1:-3}
export PATH="$top/.venv/bin:$PATH" ANSIBLE_CONFIG="$top/tests/ansible.cfg"
export LAB_ID=bench-prepare
run="$top/.cache/lab/run/$LAB_ID"
out="$top/benchmarks/results"
mkdir -p "$out"
result="$out/prepare-$(date -u +%Y%m%dT%H%M%SZ).txt"

if [ -n "${BENCH_INVENTORY:-}" ]; then
  run=$(mktemp -d)
else
  trap 'bash "$top/tests/lab/lab.sh" down >/dev/null 2>&1 || true' EXIT
  bash "$top/tests/lab/lab.sh" up cp1 w1 w2
fi

inv="$run/bench-inventory"
mkdir -p "$inv/host_vars"
echo "kube_proxy_target_mode: iptables" > "$inv/host_vars/cp1.yml"
printf 'kube_proxy_target_mode: ipvs\nkube_proxy_target_config: {ipvs: {scheduler: rr, strictARP: true}}\n' \
  > "$inv/host_vars/w1.yml"
echo "kube_proxy_target_mode: nftables" > "$inv/host_vars/w2.yml"
cat > "$run/bench-gather-facts.yml" <<'PLAY'
- name: Bare gather_facts
  hosts: k8s_cluster
  gather_facts: true
  tasks: []
PLAY
if [ -n "${BENCH_INVENTORY:-}" ]; then
  read -r -a args <<< "$BENCH_INVENTORY"
  rm -rf "$inv/host_vars"
else
  args=(-i "$run/hosts.yaml" -i "$inv")
  echo "converge (not timed)"
  ansible-playbook "${args[@]}" "$top/playbooks/prepare.yml" > "$run/bench-converge.log"
fi

t() {  # t LOG CMD...: run CMD, print elapsed seconds (3 decimals)
  local log=$1 s e; shift
  s=$(date +%s.%N); "$@" > "$log"; e=$(date +%s.%N)
  awk -v s="$s" -v e="$e" 'BEGIN {printf "%.3f", e - s}'
}
gf=(); pr=()
for i in $(seq 1 "$rounds"); do
  gf+=("$(t "$run/bench-gather-$i.log" ansible-playbook "${args[@]}" "$run/bench-gather-facts.yml")")
  pr+=("$(t "$run/bench-prepare-$i.log" ansible-playbook "${args[@]}" "$top/playbooks/prepare.yml")")
  grep -qE 'changed=0 .*failed=0' "$run/bench-prepare-$i.log" || { echo "prepare re-run $i was not idempotent"; exit 1; }
  echo "round $i: gather_facts ${gf[-1]}s, prepare re-run ${pr[-1]}s"
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
mg=$(median "${gf[@]}"); mp=$(median "${pr[@]}")
ratio=$(awk -v p="$mp" -v g="$mg" 'BEGIN {printf "%.2f", p / g}')
{
  echo "prepare idempotent re-run vs bare gather_facts, 3 VMs (cp1 iptables, w1 ipvs, w2 nftables), $rounds rounds"
  echo "gather_facts: ${gf[*]} (median $mg s)"
  echo "prepare:      ${pr[*]} (median $mp s)"
  echo "ratio (median prepare / median gather_facts): $ratio (target <= 1.5)"
  echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$result"
awk -v r="$ratio" 'BEGIN {exit !(r <= 1.5)}' || { echo "ratio above 1.5"; exit 1; }
