#!/usr/bin/env bash
# Runs the test stages in order (all of them, or those named as arguments) and ends with one
# plain "N passed, N failed" line. Every stage runs even after a failure; the exit code is 1
# when any stage failed. Stages: lint yamllint ruff sanity units netns molecule
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
export PATH="$top/.venv/bin:$PATH"
export ANSIBLE_CONFIG="$top/tests/ansible.cfg"
out="$top/tests/output/run-all"
rm -rf "$out"; mkdir -p "$out"

stages=("$@")
[ ${#stages[@]} -gt 0 ] || stages=(lint yamllint ruff sanity units netns molecule)

# The collection as ansible-test wants it: a copy under .../ansible_collections/kube_proxy/mode
# of the files git knows (tracked and untracked-but-not-ignored).
collection_copy() {
  local dest="$top/.cache/ansible-test/ansible_collections/kube_proxy/mode"
  rm -rf "$dest"; mkdir -p "$dest"
  git -C "$top" ls-files -co --exclude-standard -z | (cd "$top" && xargs -0 -r cp --parents -t "$dest" 2>/dev/null || true)
  # tests/output must not leak in; ansible-test creates its own
  echo "$dest"
}

stage_lint()     { ansible-lint --profile production; }
stage_yamllint() { yamllint --strict .; }
stage_ruff()     { ruff check . && ruff format --check .; }
stage_sanity() {
  local d; d=$(collection_copy)
  (cd "$d" && ansible-test sanity --venv --requirements --python 3.11 --color no)
}
stage_units() {
  local d; d=$(collection_copy)
  (cd "$d" && ansible-test units --venv --requirements --python 3.11 --color no)
}
stage_netns()    { python -m pytest -q -p no:cacheprovider tests/netns --junitxml "$out/netns.xml"; }
stage_molecule() { bash "$top/tests/run-molecule.sh"; }

declare -A result
for s in "${stages[@]}"; do
  echo "=== stage: $s ($(date +%T))"
  start=$(date +%s)
  "stage_$s" 2>&1 | tee "$out/$s.log"
  if [ "${PIPESTATUS[0]}" -eq 0 ]; then result[$s]=passed; else result[$s]=failed; fi
  echo "=== stage: $s ${result[$s]} in $(( $(date +%s) - start ))s"
done

echo
echo "=== summary"
passed=0; failed=0
for s in "${stages[@]}"; do
  printf '  %-10s %s\n' "$s" "${result[$s]}"
  if [ "${result[$s]}" = passed ]; then passed=$((passed+1)); else failed=$((failed+1)); fi
done
echo "stages: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
