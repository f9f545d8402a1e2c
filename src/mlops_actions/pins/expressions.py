"""GitHub expressions in a workflow job: ``${{ matrix.* }}`` and ``${{ env.* }}`` resolved for
one matrix combination, each text once per set of the cells it reads (``resolver``); any other
expression is left unresolved, with the reason."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from functools import lru_cache

from mlops_actions.pins.expand import Expansion
from mlops_actions.pins.matrix import Cell, Combo

EXPR = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
_MATRIX_REF = re.compile(r"matrix\.([\w-]+(?:\.[\w-]+)*)")
_ENV_REF = re.compile(r"env\.([\w-]+)")


@lru_cache(maxsize=1024)
def _matrix_keys(text: str) -> tuple[str, ...]:
    """The matrix keys the expressions of ``text`` read (``matrix.torch`` → ``torch``)."""
    keys: list[str] = []
    for m in EXPR.finditer(text):
        mm = _MATRIX_REF.fullmatch(m.group(1))
        if mm is not None:
            keys.append(mm.group(1).split(".", 1)[0])
    return tuple(keys)


def resolver(
    combo: Combo,
    env: Mapping[str, str],
    matrix_reason: str | None,
    env_used: set[str],
    resolved: dict[tuple[str, tuple[Cell | None, ...]], tuple[Expansion, tuple[str, ...]]],
) -> Callable[[str], Expansion]:
    """Expressions of one matrix combination. A text resolves the same in every combination
    that gives the keys it reads the same cells: ``resolved`` (one per job) keeps it."""

    def resolve(text: str) -> Expansion:
        key = (text, tuple(map(combo.get, _matrix_keys(text))))
        found = resolved.get(key)
        if found is None:
            exp = expand_once(text)
            names = tuple(u[4:].partition("=")[0] for u in exp.used if u.startswith("env."))
            found = resolved[key] = (exp, names)
        env_used.update(found[1])
        return found[0]

    def expand_once(text: str) -> Expansion:
        unresolved: list[str] = []
        used: list[str] = []

        def sub(m: re.Match[str]) -> str:
            expr = m.group(1)
            mm = _MATRIX_REF.fullmatch(expr)
            if mm is not None:
                path = mm.group(1).split(".")
                cell = combo.get(path[0])
                cell = cell.lookup(path[1:]) if cell is not None else None
                if cell is not None and cell.text is not None:
                    used.append(f"matrix.{mm.group(1)}={cell.text}")
                    return cell.text
                unresolved.append(
                    matrix_reason or f"matrix.{mm.group(1)} is not defined in the matrix"
                )
                return m.group(0)
            me = _ENV_REF.fullmatch(expr)
            if me is not None and me.group(1) in env and "${{" not in env[me.group(1)]:
                used.append(f"env.{me.group(1)}={env[me.group(1)]}")
                return env[me.group(1)]
            unresolved.append(f"expression ${{{{ {expr} }}}} cannot be resolved statically")
            return m.group(0)

        out = EXPR.sub(sub, text)
        return Expansion(out, tuple(unresolved), tuple(used))

    return resolve
