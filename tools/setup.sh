#!/usr/bin/env bash
# Make what this repository's commands need, doing only what is missing; safe to run again.
#   bash tools/setup.sh venv   .venv with the package (editable) and the test and lint groups
#   bash tools/setup.sh all    also torch (CPU build), git, a C compiler, the Docker engine and
#                              the local base image: everything the test suite uses
# .venv is remade when pyproject.toml changed since it was made (a stamp inside it says which).
set -euo pipefail
cd "$(dirname "$0")/.."
export PIP_DISABLE_PIP_VERSION_CHECK=1
what="${1:-venv}"
torch_pin="torch==2.13.0"

system_packages() {
  local need=()
  command -v git >/dev/null || need+=(git)
  command -v debootstrap >/dev/null || need+=(debootstrap)
  command -v dockerd >/dev/null || need+=(docker.io)
  # The NVML driver stand-in that env-verify's tests compile (tests/fixtures/env_verify).
  command -v cc >/dev/null || need+=(gcc libc6-dev)
  # A real Prometheus Pushgateway for gpu-monitor's --pushgateway test (run on loopback).
  command -v prometheus-pushgateway >/dev/null || need+=(prometheus-pushgateway)
  if [ ${#need[@]} -gt 0 ]; then
    if [ "$(id -u)" != 0 ]; then
      echo "setup: missing ${need[*]}; install them (apt-get install ${need[*]}) or run as root" >&2
      exit 4
    fi
    echo "== system packages: ${need[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  fi
}

venv() {
  local stamp=.venv/.mlops-actions-setup want
  want="$(sha256sum pyproject.toml | cut -c1-16)"
  if [ -x .venv/bin/python ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
    return
  fi
  echo "== virtual environment (.venv)"
  [ -x .venv/bin/python ] || python3 -m venv .venv
  # --group needs pip 25.1 or newer; the pip a venv starts with may be older.
  .venv/bin/python -m pip install -q --upgrade "pip>=25.1"
  .venv/bin/python -m pip install -q -e . --group test --group lint
  echo "$want" >"$stamp"
}

torch() {
  # The CPU build of torch: a real install for env-verify's tests.
  local have
  have="$(.venv/bin/python -c "import importlib.metadata as m; print(m.version('torch'))" 2>/dev/null || true)"
  if [ "${have%%+*}" != "${torch_pin#torch==}" ]; then
    echo "== $torch_pin"
    .venv/bin/python -m pip install -q "$torch_pin"
  fi
}

case "$what" in
  venv) venv ;;
  all)
    system_packages
    venv
    torch
    echo "== Docker engine"
    bash tools/bed/docker-up.sh
    echo "== local base image"
    bash tools/bed/base-image.sh
    ;;
  *)
    echo "usage: bash tools/setup.sh [venv|all]" >&2
    exit 2
    ;;
esac
