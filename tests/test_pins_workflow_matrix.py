"""A large CI matrix is expanded lazily: every combination is its own environment, but each
`run:` step is parsed once per distinct set of the matrix values it reads, not once per
combination."""

from __future__ import annotations

from unittest import mock

from mlops_actions.pins import workflow
from mlops_actions.pins.workflow import scan_workflow

SIX_KEYS = """\
name: ci
on: [push]
permissions: {}
jobs:
  test:
    runs-on: ubuntu-latest
    strategy:
      matrix:
        torch: ["2.3.1", "2.4.1", "2.5.1"]
        python: ["3.10", "3.11"]
        os: [a, b]
        shard: [1, 2]
        precision: [fp16, bf16]
        compile: [on, off]
    steps:
      - run: pip install torch==${{ matrix.torch }} --index-url https://download.pytorch.org/whl/cpu
      - run: pip install -r requirements/test.txt
      - run: |
          if [ "${{ matrix.python }}" = "3.10" ]; then echo old; fi
          pip install numpy==1.26.4
      - run: pytest --shard ${{ matrix.shard }} --precision ${{ matrix.precision }}
"""


def test_six_key_matrix_parses_each_step_once_per_value_set_it_reads() -> None:
    calls = mock.Mock(wraps=workflow.scan_shell)
    with mock.patch.object(workflow, "scan_shell", calls):
        scan = scan_workflow(".github/workflows/ci.yml", SIX_KEYS)
    combos = [g for g in scan.groups if g.id.startswith("ci:.github/workflows/ci.yml:test[")]
    assert len(combos) == 3 * 2 * 2 * 2 * 2 * 2
    # torch step: 3 values; requirements step: once; python step: 2; shard x precision: 4.
    assert calls.call_count == 3 + 1 + 2 + 4
    # Every combination still holds the torch its own matrix value names.
    for group in combos:
        wanted = group.id.split("torch=", 1)[1].split(",", 1)[0].rstrip("]")
        torches = {
            p.value for p in group.pins if p.component == "torch" and "matrix." not in p.context
        }
        assert torches == {wanted}, group.id
        assert group.installs == ("requirements/test.txt",)
