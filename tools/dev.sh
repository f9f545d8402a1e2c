#!/usr/bin/env bash
# Run an mlops-actions command from this checkout, making .venv first if it is missing or stale.
#   bash tools/dev.sh                       the main job: version-guard on this repository's
#                                           own pins (.github/mlops.yml leaves the fixtures out)
#   bash tools/dev.sh config check          any other command and flags
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh venv >&2
if [ $# -eq 0 ]; then
  set -- version-guard .
fi
exec .venv/bin/mlops-actions "$@"
