#!/usr/bin/env bash
# Make (or reuse) an isolated virtual environment holding this action's own package, and print
# the path of its `mlops-actions` executable as the step output `bin`.
#
# The environment is keyed by a hash of the package source, kept under the runner's tool cache,
# and published by an atomic rename, so a warm run costs one hash and one test, parallel jobs on a
# self-hosted runner never see a half-built environment, and the caller's interpreter is never touched.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

find_python() {
  local candidate
  for candidate in ${MLOPS_ACTIONS_PYTHON:-} python3.13 python3.12 python3.11 python3.10 python3 python; do
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys, venv; sys.exit(0 if sys.version_info >= (3, 10) else 1)' 2>/dev/null; then
      command -v "$candidate"
      return 0
    fi
  done
  return 1
}

key=$(cd "$root" && { cat pyproject.toml; find src -type f \( -name '*.py' -o -name '*.json' -o -name '*.yml' -o -name '*.typed' \) -print0 | LC_ALL=C sort -z | xargs -0 cat; } | sha256sum | cut -c1-16)
cache=${RUNNER_TOOL_CACHE:-${RUNNER_TEMP:-${TMPDIR:-/tmp}}}/mlops-actions
venv=$cache/$key

if [ ! -f "$venv/.ready" ]; then
  if ! python=$(find_python); then
    echo "::error title=mlops-actions bootstrap::No Python 3.10 or newer on this runner or container. Fix: add actions/setup-python before this step, set MLOPS_ACTIONS_PYTHON to an interpreter, or run the root Docker action (uses: <owner>/mlops-actions@v1) instead."
    exit 4
  fi
  mkdir -p "$cache"
  # Build beside the final place and publish with one rename. The venv is only ever used as
  # `<venv>/bin/python -m mlops_actions`, which works after the move (console-script shebangs
  # would not).
  staging=$(mktemp -d "$cache/.staging.XXXXXX")
  trap 'rm -rf "$staging"' EXIT
  "$python" -m venv "$staging" >/dev/null
  if ! "$staging/bin/python" -m pip install --quiet --disable-pip-version-check --no-input "$root" >"$staging/pip.log" 2>&1; then
    cat "$staging/pip.log" >&2
    echo "::error title=mlops-actions bootstrap::Installing mlops-actions into its own environment failed (pip output above). Fix: check the runner's access to PyPI or its pip proxy settings."
    exit 4
  fi
  touch "$staging/.ready"
  if mv -T "$staging" "$venv" 2>/dev/null; then
    trap - EXIT
  fi  # else a parallel job published the same key first; ours is removed on exit
fi

if [ -n "${GITHUB_OUTPUT:-}" ]; then
  echo "python=$venv/bin/python" >>"$GITHUB_OUTPUT"
fi
echo "$venv/bin/python"
