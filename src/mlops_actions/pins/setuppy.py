"""``setup.py``: read with ``ast``, never executed.

What a ``setup(...)`` call says literally is read: ``install_requires``, ``extras_require`` and
``python_requires`` given as literals, as module-level names bound to literals, or as lists
joined with ``+``. A requirement list read from a file (``open('requirements.txt')``,
``Path(here) / 'requirements.txt'``, ``parse_requirements('requirements/base.txt')``) becomes a
``reads`` link: that file is the project's metadata, not something deployed on its own.
"""

from __future__ import annotations

import ast
import posixpath
import re
from collections.abc import Iterator

from packaging.utils import canonicalize_name

from mlops_actions.pins.model import FileScan, Link, LinkKind, Pin, ScanError
from mlops_actions.pins.values import (
    PACKAGE_COMPONENTS,
    Decoded,
    classify_value,
    decode_requirement,
    pin_from,
)

# File names a requirement list is read from (checked on the basename, lower case).
_LIST_SUFFIXES = (".txt", ".in")
_REQUIREMENT_DIRS = frozenset({"requirements", "requirement", "reqs"})
_NAME = re.compile(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def scan_setup_py(path: str, text: str) -> FileScan:
    try:
        return _scan(path, text)
    except (RecursionError, MemoryError):
        message = "setup.py is nested too deeply to read"
        return FileScan(errors=(ScanError(path, 1, 1, message),))


def _scan(path: str, text: str) -> FileScan:
    try:
        tree = ast.parse(text, filename=path)
    except SyntaxError as exc:
        return FileScan(
            errors=(
                ScanError(
                    path,
                    exc.lineno or 1,
                    exc.offset or 1,
                    f"setup.py is not valid Python (it is read, never run): {exc.msg}",
                ),
            )
        )
    except ValueError as exc:  # null bytes
        return FileScan(errors=(ScanError(path, 1, 1, f"setup.py cannot be parsed: {exc}"),))
    reader = _Reader(path, _bindings(tree))
    for call in _setup_calls(tree):
        for kw in call.keywords:
            if kw.arg == "install_requires":
                reader.requirements(kw.value, "install_requires")
            elif kw.arg == "extras_require":
                reader.extras(kw.value)
            elif kw.arg == "python_requires":
                reader.python(kw.value)
    # A requirement-named file opened anywhere in setup.py is read as metadata too (the list
    # is often built before the call: ``with open('requirements.txt') as f: reqs = ...``).
    for node in ast.walk(tree):
        found = _const_path(node) if isinstance(node, (ast.Call, ast.BinOp)) else None
        if found is not None and _is_requirement_list_name(found):
            reader.read(found, node)
        elif found is not None and posixpath.basename(found).lower() in _REQUIREMENT_DIRS:
            # `os.path.join(here, "requirements")`, the file names chosen at run time (a
            # loader over `requirements/*.txt`): the whole folder is the package's metadata.
            reader.read(found, node, kind="reads-dir")
    return FileScan(pins=tuple(reader.pins), links=tuple(reader.links), errors=tuple(reader.errors))


def _bindings(tree: ast.Module) -> dict[str, tuple[ast.expr, int]]:
    """Module-level ``NAME = expr`` (the last binding wins, as when the file runs)."""
    out: dict[str, tuple[ast.expr, int]] = {}
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
            target = stmt.targets[0]
            if isinstance(target, ast.Name):
                out[target.id] = (stmt.value, stmt.lineno)
        elif isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name) and stmt.value:
            out[stmt.target.id] = (stmt.value, stmt.lineno)
    return out


def _setup_calls(tree: ast.Module) -> Iterator[ast.Call]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
            if name == "setup":
                yield node


def _const_path(node: ast.AST) -> str | None:
    """A file path an expression names with constants: ``'a.txt'``, ``os.path.join(here,
    'requirements', 'base.txt')``, ``Path(here) / 'a.txt'``, ``open('a.txt')``. Leading
    non-constant parts (the setup.py directory, usually) are dropped."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
        right = _const_path(node.right)
        if right is None:
            return None
        left = _const_path(node.left)
        return posixpath.join(left, right) if left else right
    if isinstance(node, ast.Call) and node.args:
        func = node.func
        name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
        if name == "join":
            parts = [_const_path(a) for a in node.args]
            while parts and parts[0] is None:
                parts.pop(0)
            if not parts or any(p is None for p in parts):
                return None
            return posixpath.join(*[p for p in parts if p is not None])
        return _const_path(node.args[0])
    return None


def _is_requirement_list_name(path: str) -> bool:
    base = posixpath.basename(path).lower()
    if not base.endswith(_LIST_SUFFIXES):
        return False
    parent = posixpath.basename(posixpath.dirname(path)).lower()
    return "req" in base or "constraint" in base or parent in _REQUIREMENT_DIRS


class _Reader:
    def __init__(self, path: str, bindings: dict[str, tuple[ast.expr, int]]) -> None:
        self.path = path
        self.bindings = bindings
        self.pins: list[Pin] = []
        self.links: list[Link] = []
        self.errors: list[ScanError] = []
        self._read: set[str] = set()

    def _resolve(
        self, node: ast.expr, via: tuple[str, ...] = ()
    ) -> tuple[ast.expr, tuple[str, ...]]:
        """Follow a module-level name to its literal (a few steps at most)."""
        for _ in range(5):
            if not isinstance(node, ast.Name) or node.id not in self.bindings:
                break
            value, line = self.bindings[node.id]
            via = (*via, f"{node.id} (line {line})")
            node = value
        return node, via

    def read(self, relative: str, node: ast.AST, kind: LinkKind = "reads") -> None:
        target = posixpath.normpath(posixpath.join(posixpath.dirname(self.path), relative))
        if target in self._read or target.startswith("../") or target == "..":
            return
        self._read.add(target)
        self.links.append(
            Link(kind, self.path, target, getattr(node, "lineno", 1), context="setup.py")
        )

    def requirements(self, node: ast.expr, context: str, via: tuple[str, ...] = ()) -> None:
        node, via = self._resolve(node, via)
        if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
            for item in node.elts:
                if isinstance(item, ast.Starred):
                    self.requirements(item.value, context, via)
                else:
                    self._requirement(item, context, via)
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            self.requirements(node.left, context, via)
            self.requirements(node.right, context, via)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            # A one-string install_requires: setuptools splits it into lines.
            self._requirement(node, context, via)
        else:
            for sub in ast.walk(node):
                found = _const_path(sub) if isinstance(sub, (ast.Call, ast.BinOp)) else None
                if found is not None and found.lower().endswith(_LIST_SUFFIXES):
                    self.read(found, sub)

    def _requirement(self, item: ast.expr, context: str, via: tuple[str, ...]) -> None:
        item, via = self._resolve(item, via)
        at = (item.lineno, item.col_offset + 2)
        if isinstance(item, ast.Constant) and isinstance(item.value, str):
            for line in item.value.splitlines():
                text = line.split("#", 1)[0].strip()
                if not text:
                    continue
                result = decode_requirement(text)
                if isinstance(result, str):
                    self.errors.append(
                        ScanError(self.path, *at, f"{text!r} in {context}: {result}")
                    )
                    continue
                for d in result:
                    self._add(d, at, context, text, via)
        elif isinstance(item, ast.JoinedStr):
            head = next((v.value for v in item.values if isinstance(v, ast.Constant)), "")
            m = _NAME.match(str(head))
            component = PACKAGE_COMPONENTS.get(canonicalize_name(m.group(1))) if m else None
            if component is not None:
                reason = "built by an f-string when setup.py runs; it is never run here"
                self._add(
                    Decoded(component, ast.unparse(item), "unresolved", reason=reason),
                    at,
                    context,
                    ast.unparse(item),
                    via,
                )

    def extras(self, node: ast.expr) -> None:
        node, via = self._resolve(node)
        if isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                if isinstance(key, ast.Constant) and isinstance(key.value, str):
                    self.requirements(value, f"extra {key.value}", via)
        elif node is not None:
            self.requirements(node, "extras_require", via)

    def python(self, node: ast.expr) -> None:
        node, via = self._resolve(node)
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            at = (node.lineno, node.col_offset + 2)
            self._add(classify_value("python", node.value), at, "python_requires", node.value, via)

    def _add(
        self, d: Decoded, at: tuple[int, int], context: str, raw: str, via: tuple[str, ...]
    ) -> None:
        self.pins.append(pin_from(d, self.path, at, "setup.py", context, raw, resolved=via))
