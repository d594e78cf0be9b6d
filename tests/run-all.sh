#!/usr/bin/env bash
# Runs the test stages in order (all of them, or those named as arguments) and ends with one
# plain "N passed, N failed" line. Every stage runs even after a failure; the exit code is 1
# when any stage failed. Stages: lint yamllint ruff sanity units galaxy netns molecule
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
export PATH="$top/.venv/bin:$PATH"
export ANSIBLE_CONFIG="$top/tests/ansible.cfg"
out="$top/tests/output/run-all"
rm -rf "$out"; mkdir -p "$out"
work=$(mktemp -d "${TMPDIR:-/tmp}/kube_proxy_mode.XXXXXX")
trap 'rm -rf "$work"' EXIT

stages=("$@")
[ ${#stages[@]} -gt 0 ] || stages=(lint yamllint ruff sanity units galaxy netns molecule)

# The collection as ansible-test wants it: a copy under .../ansible_collections/kube_proxy/mode
# of the files git knows (tracked and untracked-but-not-ignored).
collection_copy() {
  # outside the checkout: inside it, ansible-test would find the checkout's git and its .gitignore
  local dest="$work/ansible_collections/kube_proxy/mode"
  rm -rf "$dest"; mkdir -p "$dest"
  (
    cd "$top" || exit 1
    git ls-files -co --exclude-standard -z | while IFS= read -r -d '' f; do
      if [ -e "$f" ]; then printf '%s\0' "$f"; fi
    done | xargs -0 -r cp -P --parents -t "$dest"
  )
  echo "$dest"
}

stage_lint()     { ansible-lint --profile production; }
stage_yamllint() { yamllint --strict .; }
stage_ruff()     { ruff check . && ruff format --check .; }
# ansible-test --venv bootstraps pip with a get-pip script it downloads from a host that is not
# reachable here; give it ours (ensurepip + PyPI) under the name it looks for.
ansible_test_get_pip() {
  local ver
  ver=$(python - <<'PY'
import re, ansible_test, os
src = open(os.path.join(os.path.dirname(ansible_test.__file__), '_internal', 'python_requirements.py')).read()
print(re.search(r"pip='([0-9.]+)'", src).group(1))
PY
)
  mkdir -p ~/.ansible/test/cache
  cp "$top/tests/utils/get_pip.py" ~/.ansible/test/cache/"get_pip_${ver//./_}.py"
}

stage_sanity() {
  ansible_test_get_pip
  local d; d=$(collection_copy)
  (cd "$d" && ansible-test sanity --venv --requirements --python 3.11 --color no)
}
stage_units() {
  ansible_test_get_pip
  local d; d=$(collection_copy)
  (cd "$d" && ansible-test units --venv --requirements --python 3.11 --color no)
}
# The collection as users get it: build the tarball, install it into an empty collections path,
# and check that every playbook resolves by FQCN from there (and not from the checkout).
stage_galaxy() {
  local d="$work/galaxy" v
  rm -rf "$d"; mkdir -p "$d/build" "$d/collections"
  : > "$d/ansible.cfg"
  (
    export ANSIBLE_CONFIG="$d/ansible.cfg" ANSIBLE_COLLECTIONS_PATH="$d/collections"
    ansible-galaxy collection build --force --output-path "$d/build" "$top" &&
    ansible-galaxy collection install --offline "$d"/build/kube_proxy-mode-*.tar.gz || exit 1
    for v in preflight prepare migrate rollback report; do
      ansible-playbook -i localhost, --syntax-check "kube_proxy.mode.$v" || exit 1
    done
  )
}

stage_netns()    { python -m pytest -q -p no:cacheprovider tests/netns --junitxml "$out/netns.xml"; }
# The scenarios CI runs (every one under molecule/); MOLECULE_SCENARIOS picks some.
stage_molecule() { MOLECULE_SCENARIOS="${MOLECULE_SCENARIOS:-lab prepare preflight ipvs migrate}" bash "$top/tests/run-molecule.sh"; }

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
