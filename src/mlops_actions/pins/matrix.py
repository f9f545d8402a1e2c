"""GitHub Actions matrices: expanded the way GitHub does, lazily and within GitHub's limit.

The product of the keys is walked lazily, ``exclude`` removed, then ``include`` entries merged
or added. A matrix past GitHub's 256 jobs, or one that would take more than a fixed amount of
work to expand, raises ``MatrixTooLarge``: GitHub refuses such a run, so it is reported, never
expanded.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass

import yaml

from mlops_actions.pins.yamlnodes import Node, items, scalar, seq, yaml_number


@dataclass(frozen=True)
class Cell:
    """One matrix value: a scalar (``text``) or a mapping of cells, with its node."""

    node: Node
    text: str | None
    fields: tuple[tuple[str, Cell], ...] = ()

    def lookup(self, path: list[str]) -> Cell | None:
        if not path:
            return self
        for k, v in self.fields:
            if k == path[0]:
                return v.lookup(path[1:])
        return None

    def label(self) -> str:
        if self.text is not None:
            return self.text
        return json.dumps({k: v.label() for k, v in self.fields}, separators=(",", ":"))


Combo = dict[str, Cell]


def cell_of(node: Node) -> Cell:
    """The cell of one matrix value node."""
    if isinstance(node, yaml.MappingNode):
        return Cell(node, None, tuple((k, cell_of(v)) for k, _, v in items(node)))
    if isinstance(node, yaml.SequenceNode):
        return Cell(node, json.dumps([scalar(n) for n in node.value]))
    return Cell(node, yaml_number(node) or scalar(node) or "")


def same_value(a: Cell, b: Cell) -> bool:
    """Whether two cells hold the same value (GitHub compares values, not spellings)."""
    return a.label() == b.label()


MAX_MATRIX_JOBS = 256
"""GitHub runs at most 256 jobs per matrix; a larger one is refused, not expanded."""

_MATRIX_WORK = 1_000_000
"""Cells a matrix expansion may touch (combinations built, exclude and include entries
compared): a bound on the time a hostile matrix can take whatever its shape."""


class MatrixTooLarge(ValueError):
    """A matrix past GitHub's job limit or the expansion budget; the message says which."""


def matrix_combinations(matrix: Node | None) -> tuple[list[Combo], str | None]:
    """Expand a matrix like GitHub: product of the keys, ``exclude`` removed, then ``include``
    entries merged into every combination whose original values they do not overwrite, or
    added as new combinations. Returns the combinations and, if the matrix is an expression, a
    reason it cannot be expanded. The product is walked lazily: raises ``MatrixTooLarge`` as
    soon as more than ``MAX_MATRIX_JOBS`` combinations survive or the work budget is spent."""
    if matrix is None:
        return [{}], None
    if not isinstance(matrix, yaml.MappingNode):
        return [{}], f"matrix {scalar(matrix)!r} is an expression"
    keys: list[tuple[str, list[Cell]]] = []
    include: list[Combo] = []
    exclude: list[Combo] = []
    unresolved: str | None = None
    for key, _, value in items(matrix):
        if key in {"include", "exclude"}:
            entries = [{k: cell_of(v) for k, _, v in items(e)} for e in seq(value)]
            (include if key == "include" else exclude).extend(entries)
            continue
        if isinstance(value, yaml.SequenceNode):
            keys.append((key, [cell_of(v) for v in value.value]))
        else:
            unresolved = f"matrix.{key} is an expression ({scalar(value)!r})"
    budget = _Budget()
    names = [k for k, _ in keys]
    # An exclude entry removes every combination holding all of its (key, value) pairs.
    excluded = [frozenset((k, v.label()) for k, v in e.items()) for e in exclude]
    exclude_cost = sum(len(e) for e in excluded)
    labelled = [[(cell, (key, cell.label())) for cell in cells] for key, cells in keys]
    combos: list[Combo] = []
    if keys:
        for values in itertools.product(*labelled):
            budget.spend(len(values) + exclude_cost)
            pairs = frozenset(pair for _, pair in values)
            if any(e <= pairs for e in excluded):
                continue
            combos.append(dict(zip(names, (cell for cell, _ in values), strict=True)))
            _check_jobs(len(combos))
    original = set(names)
    base_len = len(combos)
    for entry in include:
        budget.spend(1 + base_len * len(entry))
        matched = False
        for c in combos[:base_len]:
            if all(k not in original or same_value(c[k], v) for k, v in entry.items() if k in c):
                c.update({k: v for k, v in entry.items() if k not in original or k not in c})
                matched = True
        if not matched:
            combos.append(dict(entry))
            _check_jobs(len(combos))
    return (combos or [{}]), unresolved


class _Budget:
    def __init__(self) -> None:
        self.left = _MATRIX_WORK

    def spend(self, cells: int) -> None:
        self.left -= cells
        if self.left < 0:
            raise MatrixTooLarge(
                f"the matrix is too large to expand (over {_MATRIX_WORK:,} cells compared)"
            )


def _check_jobs(count: int) -> None:
    if count > MAX_MATRIX_JOBS:
        raise MatrixTooLarge(
            f"the matrix makes more than {MAX_MATRIX_JOBS} jobs, GitHub's limit per workflow run"
        )
