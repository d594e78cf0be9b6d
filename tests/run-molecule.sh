#!/usr/bin/env bash
# Runs `molecule test -s NAME` for every scenario (each directory under molecule/ with a
# molecule.yml, except shared), or for those named in $MOLECULE_SCENARIOS (space separated).
# Ends with the plain line "molecule: N passed, N failed"; exit 1 when one failed.
# Whatever happens (failure, Ctrl-C), no VM or VDE switch of the molecule labs survives: the trap
# runs tests/lab/lab.sh down for every LAB_ID=molecule-<scenario>.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
export PATH="$top/.venv/bin:$PATH"
export ANSIBLE_CONFIG="$top/tests/ansible.cfg"
export MOLECULE_PROJECT_DIRECTORY="$top"
out="$top/tests/output/molecule"
mkdir -p "$out"

if [ -n "${MOLECULE_SCENARIOS:-}" ]; then
  read -r -a scenarios <<< "$MOLECULE_SCENARIOS"
else
  scenarios=()
  for f in molecule/*/molecule.yml; do
    [ -e "$f" ] || continue
    s=$(basename "$(dirname "$f")")
    [ "$s" = shared ] || scenarios+=("$s")
  done
fi

cleanup() {
  local s
  for s in "${scenarios[@]}"; do
    if [ -d "$top/.cache/lab/run/molecule-$s" ]; then
      LAB_ID="molecule-$s" bash "$top/tests/lab/lab.sh" down >/dev/null 2>&1 || true
    fi
  done
}
trap cleanup EXIT
trap 'echo "molecule: interrupted" >&2; exit 130' INT TERM

passed=0 failed=0 failed_names=()
for s in "${scenarios[@]}"; do
  if [ ! -f "molecule/$s/molecule.yml" ]; then
    echo "=== molecule $s: no molecule/$s/molecule.yml"
    failed=$((failed + 1)); failed_names+=("$s"); continue
  fi
  echo "=== molecule test -s $s ($(date +%T))"
  start=$SECONDS
  if molecule test -s "$s" 2>&1 | tee "$out/$s.log"; [ "${PIPESTATUS[0]}" -eq 0 ]; then
    passed=$((passed + 1)); result=passed
  else
    failed=$((failed + 1)); failed_names+=("$s"); result=failed
  fi
  echo "=== molecule $s $result in $((SECONDS - start))s (log: tests/output/molecule/$s.log)"
done
[ ${#failed_names[@]} -eq 0 ] || echo "failed scenarios: ${failed_names[*]}"
echo "molecule: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
