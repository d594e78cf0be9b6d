#!/usr/bin/env bash
# `make lab`: builds the guest image, boots the 3-VM lab (LAB_ID=demo: cp1, w1, w2) and runs the
# collection's playbooks on it: ansible-playbook -i .cache/lab/run/demo/hosts.yaml kube_proxy.mode.VERB
# for each VERB in $DEMO_PLAYBOOKS (default "migrate report": the rolling migration of the
# example inventory, iptables -> nftables, which runs the preflight and prepare itself and ends with
# its report; then the state of every node as kube_proxy.mode.report reads it). Then stops the VMs, unless
# LAB_KEEP=1 (it prints how to SSH in and how to stop them).
# The VMs have no Kubernetes: first the playbook $DEMO_SETUP (default tests/lab/cluster.yml: the
# current mode's tools and the cluster stand-in, docs/standin.md, seeded with Calico's manifest
# objects to match the example inventory) runs with the extra arguments $DEMO_SETUP_ARGS.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
export PATH="$top/.venv/bin:$PATH"
export ANSIBLE_CONFIG="$top/tests/ansible.cfg"
export LAB_ID=demo
read -r -a verbs <<< "${DEMO_PLAYBOOKS:-migrate report}"
run="$top/.cache/lab/run/$LAB_ID"
out="$top/tests/output/lab-demo"
mkdir -p "$out"

stop_lab() {
  if [ "${LAB_KEEP:-0}" = 1 ]; then
    echo
    echo "The lab keeps running (LAB_KEEP=1):"
    echo "  LAB_ID=demo bash tests/lab/lab.sh ssh cp1        # or w1, w2 (user 'lab', passwordless sudo)"
    echo "  ansible -i $run/hosts.yaml all -m ansible.builtin.ping"
    echo "  LAB_ID=demo bash tests/lab/lab.sh down           # stop it (or: LAB_ID=demo make lab-down)"
  else
    bash tests/lab/lab.sh down
  fi
}

start=$SECONDS
bash tests/lab/build-image.sh
bash tests/lab/lab.sh up 3
trap stop_lab EXIT
echo "demo: lab up after $((SECONDS - start))s"

setup=${DEMO_SETUP-tests/lab/cluster.yml}
if [ -n "$setup" ]; then
  echo "=== ansible-playbook $setup (cluster stand-in: no real Kubernetes in the lab) ($(date +%T))"
  read -r -a setup_args <<< "${DEMO_SETUP_ARGS-}"
  ansible-playbook -i "$run/hosts.yaml" "${setup_args[@]}" "$setup" 2>&1 | tee "$out/setup.log"
  [ "${PIPESTATUS[0]}" -eq 0 ] || { echo "demo: $setup failed (log: tests/output/lab-demo/setup.log)"; exit 1; }
fi

declare -A result
failed=0
for verb in "${verbs[@]}"; do
  echo "=== ansible-playbook kube_proxy.mode.$verb ($(date +%T))"
  t=$SECONDS
  if ansible-playbook -i "$run/hosts.yaml" "kube_proxy.mode.$verb" 2>&1 | tee "$out/$verb.log"; [ "${PIPESTATUS[0]}" -eq 0 ]; then
    result[$verb]=passed
  else
    result[$verb]=failed
    failed=$((failed + 1))
  fi
  echo "=== kube_proxy.mode.$verb: ${result[$verb]} in $((SECONDS - t))s (log: tests/output/lab-demo/$verb.log)"
done

echo
echo "=== demo summary (LAB_ID=demo, $((SECONDS - start))s)"
for verb in "${verbs[@]}"; do printf '  %-10s %s\n' "$verb" "${result[$verb]}"; done
[ "$failed" -eq 0 ]
