#!/usr/bin/env bash
# Every benchmark, one command. Each prints its contenders' medians and the ratios against the
# baseline measured in the same run (see the goal line each prints).
set -euo pipefail
cd "$(dirname "$0")/.."
py=.venv/bin/python
echo "== env-verify: the fast-path report against collect_env, import torch and a bare start"
"$py" bench/env_verify.py "$@"
echo
echo "== composite bootstrap: what a warm run adds to a step"
"$py" bench/bootstrap.py
echo
echo "== version-guard: a 20,000-file monorepo scan against git grep"
"$py" bench/version_guard_scan.py
echo
echo "== version-guard on real ML repositories: precision against hand labels (needs ../vg-corpus)"
"$py" bench/version_guard_real.py --no-gate || true
echo
echo "== label-dispatch: API requests against the budgets"
"$py" bench/label_dispatch_requests.py
echo
echo "== milestone-release: API requests for a 1,000-item milestone"
"$py" bench/milestone_release_requests.py
echo
echo "== the API double: what OpenAPI validation costs a 1,000-item listing"
"$py" bench/github_double.py
echo
echo "== gpu-monitor: sampler CPU, wrapper overhead and memory, 24 h report size"
"$py" bench/gpu_monitor.py
echo "== branch-policy: CPU time of a name/target check against python -c pass"
"$py" bench/branch_policy.py
echo "== hostile input: 100,000 fuzzed inputs and the resource bombs"
"$py" bench/fuzz.py
