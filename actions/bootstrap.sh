#!/usr/bin/env bash
# Make (or reuse) an isolated virtual environment holding this action's own package, and print
# the path of its interpreter as the step output `python`.
#
# Nothing from the job's workspace is imported: every interpreter call runs isolated (-I: no
# current directory or script directory on sys.path, no PYTHON* variables, no user site), and
# the actions run the package with `python -I -B -m mlops_actions`.
#
# The environment is keyed by a hash of the package source and of the interpreter (its real
# path, version and a hash of its binary), so a changed interpreter gets a new one. It is
# published by an atomic rename, and checked before every use against the digest recorded when
# it was built (every file's path, size, inode and kernel-kept change time, bytecode included:
# nothing writes more with -B), which catches a half-written, partly deleted or changed
# environment and rebuilds it; a `.ready` marker would not.
#
# That digest lives beside the environment, so it cannot stop someone who can write the folder
# on purpose: they can write a matching digest too. What stops them is where the environment
# lives. A job container, or any step of an earlier job on a persistent runner, can write the
# runner's tool cache, so the shared cache is used only where no other job ran before:
# GitHub-hosted runners (a fresh machine per job), or where the runner's owner says so with
# MLOPS_ACTIONS_SHARED_CACHE=true (ephemeral self-hosted runners). Everywhere else it is built
# under RUNNER_TEMP, which the runner empties before and after every job, so an environment made
# by another job is never used; without RUNNER_TEMP, in a fresh folder per call.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# The first interpreter of 3.10 or newer with the venv module: its command, then "real-path
# version binary-sha256" on a second line. One start of each candidate, isolated (-I), so
# nothing in the current folder is imported, and without site (-S): every warm step pays for
# this start, and site-packages (.pth files) and importing venv cost it more than the rest.
find_python() {
  local candidate identity
  for candidate in ${MLOPS_ACTIONS_PYTHON:-} python3.13 python3.12 python3.11 python3.10 python3 python; do
    command -v "$candidate" >/dev/null 2>&1 || continue
    if identity=$("$candidate" -I -S -c 'import hashlib, os, sys
from importlib.machinery import PathFinder
if sys.version_info < (3, 10) or PathFinder.find_spec("venv") is None:
    sys.exit(1)
path = os.path.realpath(sys.executable)
with open(path, "rb") as binary:
    print(path, sys.version.split()[0], hashlib.sha256(binary.read()).hexdigest())' 2>/dev/null); then
      printf '%s\n%s\n' "$(command -v "$candidate")" "$identity"
      return 0
    fi
  done
  return 1
}

# One digest over every file and link in a folder (path, size, inode, change time, link
# target) but the recorded digest itself.
digest() {
  (cd "$1" && find . -path ./.digest -prune -o \( -type f -o -type l \) -printf '%p %s %i %C@ %l\n' |
    LC_ALL=C sort | sha256sum | cut -c1-64)
}

if ! found=$(find_python); then
  echo "::error title=mlops-actions bootstrap::No Python 3.10 or newer on this runner or container. Fix: add actions/setup-python before this step, set MLOPS_ACTIONS_PYTHON to an interpreter, or run the root Docker action (uses: <owner>/mlops-actions@v1) instead."
  exit 4
fi
{ read -r python; read -r interpreter; } <<<"$found"
key=$(cd "$root" && {
  echo "$interpreter"
  cat pyproject.toml
  find src -type f \( -name '*.py' -o -name '*.json' -o -name '*.yml' -o -name '*.typed' \) -print0 | LC_ALL=C sort -z | xargs -0 cat
} | sha256sum | cut -c1-16)

if [ "${RUNNER_ENVIRONMENT:-}" = github-hosted ] || [ "${MLOPS_ACTIONS_SHARED_CACHE:-}" = true ]; then
  cache=${RUNNER_TOOL_CACHE:-${RUNNER_TEMP:-${TMPDIR:-/tmp}}}/mlops-actions
elif [ -n "${RUNNER_TEMP:-}" ]; then
  cache=$RUNNER_TEMP/mlops-actions
else
  # Neither a runner's per-job folder nor a trusted cache: a fresh folder for this call.
  cache=$(mktemp -d "${TMPDIR:-/tmp}/mlops-actions.XXXXXX")
fi
venv=$cache/$key

if [ -f "$venv/.digest" ] && [ "$(digest "$venv")" != "$(cat "$venv/.digest")" ]; then
  echo "::warning title=mlops-actions bootstrap::The cached environment $venv does not match its recorded digest (changed after it was built); building a new one."
  rm -rf "$venv"
fi

if [ ! -f "$venv/.digest" ]; then
  mkdir -p "$cache"
  # Build beside the final place and publish with one rename. The venv is only ever used as
  # `<venv>/bin/python -I -B -m mlops_actions`, which works after the move (console-script
  # shebangs would not).
  staging=$(mktemp -d "$cache/.staging.XXXXXX")
  trap 'rm -rf "$staging"' EXIT
  "$python" -I -m venv "$staging" >/dev/null
  if ! "$staging/bin/python" -I -m pip install --quiet --disable-pip-version-check --no-input "$root" >"$staging/pip.log" 2>&1; then
    cat "$staging/pip.log" >&2
    echo "::error title=mlops-actions bootstrap::Installing mlops-actions into its own environment failed (pip output above). Fix: check the runner's access to PyPI or its pip proxy settings."
    exit 4
  fi
  # Run only as `python -I -B -m mlops_actions`, the environment needs no pip or setuptools
  # (what venv seeds) once the install is done: half of its files, each one checked against
  # the digest on every warm step. Left in place if pip cannot remove them.
  "$staging/bin/python" -I -m pip uninstall --quiet --yes pip setuptools >>"$staging/pip.log" 2>&1 || true
  digest "$staging" >"$staging/.digest"
  if mv -T "$staging" "$venv" 2>/dev/null; then
    trap - EXIT
  fi  # else a parallel job published the same key first; ours is removed on exit
fi

if [ -n "${GITHUB_OUTPUT:-}" ]; then
  echo "python=$venv/bin/python" >>"$GITHUB_OUTPUT"
fi
echo "$venv/bin/python"
