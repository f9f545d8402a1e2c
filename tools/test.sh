#!/usr/bin/env bash
# The test command: lint, types, action/workflow schemas, zizmor, then the whole pytest suite.
# First makes what is missing (.venv, torch, the Docker engine, the base image: tools/setup.sh),
# so on a fresh machine this one command is all. Arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh all
bin=.venv/bin
mapfile -t action_files < <(git ls-files --cached --others --exclude-standard -- 'action.yml' '*/action.yml')
mapfile -t workflow_files < <(git ls-files --cached --others --exclude-standard -- '.github/workflows/*.yml')

echo "== ruff"
"$bin/ruff" check src tests bench tools
"$bin/ruff" format --check --quiet src tests bench tools
echo "== mypy (strict, src/)"
"$bin/mypy"
echo "== action and workflow schemas"
"$bin/check-jsonschema" --builtin-schema vendor.github-actions "${action_files[@]}"
"$bin/check-jsonschema" --builtin-schema vendor.github-workflows "${workflow_files[@]}"
echo "== zizmor"
# The auditor persona: every audit, every confidence; each accepted finding is justified in
# .github/zizmor.yml or inline where it occurs.
"$bin/zizmor" --offline --persona auditor --min-severity informational "${action_files[@]}" "${workflow_files[@]}"
echo "== pytest"
"$bin/python" -m pytest "$@"
