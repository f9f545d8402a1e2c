"""Python packaging files: requirements / constraints, pyproject.toml, setup.cfg, .python-version.

TOML and INI parsers give no positions, so each value is located in the text after parsing
(first occurrence at or after its table header); the parse itself is ``tomllib`` /
``configparser`` and every requirement goes through ``packaging``.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, replace
from typing import Any

from mlops_actions.parse import ParseError, loads_toml
from mlops_actions.pins.model import FileScan, Link, Pin, ScanError, Source
from mlops_actions.pins.values import (
    PACKAGE_COMPONENTS,
    Decoded,
    classify_value,
    decode_requirement,
    decode_wheel_url,
    index_variant,
    pin_from,
    variant_pin,
)

_WHEEL_COMPONENTS = {"torch", "torchvision", "torchaudio"}


class _Locator:
    """Find a needle's 1-based (line, col) in text, searching forward from a hint offset."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._starts = [0]
        for m in re.finditer("\n", text):
            self._starts.append(m.end())

    def pos(self, offset: int) -> tuple[int, int]:
        lo, hi = 0, len(self._starts) - 1
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self._starts[mid] <= offset:
                lo = mid
            else:
                hi = mid - 1
        return lo + 1, offset - self._starts[lo] + 1

    def find(self, needle: str, start: int = 0) -> int:
        at = self.text.find(needle, start)
        if at < 0:
            at = self.text.find(needle)
        return max(at, 0)

    def header(self, pattern: str) -> int:
        m = re.search(pattern, self.text, re.MULTILINE)
        return m.start() if m else 0


def _pin(
    path: str,
    loc: _Locator,
    offset: int,
    d: Decoded,
    source: Source,
    context: str,
    raw: str,
    resolved: tuple[str, ...] = (),
) -> Pin:
    return pin_from(d, path, loc.pos(offset), source, context, raw, resolved=resolved)


def _apply_index(pins: list[Pin], variants: list[tuple[str, str]]) -> list[Pin]:
    """Give torch-family pins without a local version the variant of the file's single
    PyTorch index; with several indexes pip may pick from any, so none is assumed."""
    distinct = {v for _, v in variants}
    if len(distinct) != 1:
        return pins
    url, variant = variants[0]
    return [
        replace(p, variant=variant, resolved_from=(*p.resolved_from, f"index {url}"))
        if p.variant is None and p.component in _WHEEL_COMPONENTS and p.how != "unresolved"
        else p
        for p in pins
    ]


# --- requirements --------------------------------------------------------------------------

_REQ_OPTION = re.compile(
    r"^(?P<opt>-r|--requirement|-c|--constraint|-i|--index-url|--extra-index-url|-f|"
    r"--find-links|-e|--editable)(?:\s*=\s*|\s+|(?=\S))(?P<value>\S+)"
)
_ENV_VAR = re.compile(r"\$\{[A-Z0-9_]+\}")


@dataclass(frozen=True)
class _Line:
    text: str
    offset: int
    """Offset of ``text`` in the file."""


_COMMENT = re.compile(r"(^|\s)#.*$")


def _logical_lines(text: str) -> list[_Line]:
    """pip's line model: comments stripped, backslash continuations joined."""
    out: list[_Line] = []
    buf = ""
    start = 0
    pos = 0
    for raw in text.splitlines(keepends=True):
        line = raw.rstrip("\r\n")
        stripped = _COMMENT.sub("", line) if "#" in line else line
        if not buf:
            start = pos + (len(line) - len(line.lstrip()))
        if stripped.rstrip().endswith("\\"):
            buf += stripped.rstrip()[:-1] + " "
        else:
            buf += stripped
            if buf.strip():
                out.append(_Line(buf.strip(), start))
            buf = ""
        pos += len(raw)
    if buf.strip():
        out.append(_Line(buf.strip(), start))
    return out


def scan_requirements(path: str, text: str) -> FileScan:
    loc = _Locator(text)
    pins: list[Pin] = []
    links: list[Link] = []
    errors: list[ScanError] = []
    variants: list[tuple[str, str]] = []
    base = posixpath.dirname(path)
    for ln in _logical_lines(text):
        m = _REQ_OPTION.match(ln.text)
        if m is not None:
            opt, value = m.group("opt"), m.group("value")
            value_off = ln.offset + m.start("value")
            line, _ = loc.pos(ln.offset)
            if opt in {"-r", "--requirement", "-c", "--constraint"}:
                target = posixpath.normpath(posixpath.join(base, value))
                links.append(Link("includes", path, target, line, context=opt))
            elif opt in {"-i", "--index-url", "--extra-index-url", "-f", "--find-links"}:
                variant = index_variant(value)
                if variant is not None:
                    variants.append((value, variant))
                    implied = variant_pin(variant)
                    if implied is not None:
                        pins.append(_pin(path, loc, value_off, implied, "requirements", opt, value))
            continue
        if ln.text.startswith("-"):
            continue
        req_text = re.split(r"\s+--?[a-z]", ln.text, maxsplit=1)[0].strip()
        if _ENV_VAR.search(req_text):
            name = re.match(r"[A-Za-z0-9._-]+", req_text)
            comp = PACKAGE_COMPONENTS.get(name.group(0).lower()) if name else None
            if comp is not None:
                d = Decoded(comp, req_text, "unresolved", reason="holds an environment variable")
                pins.append(_pin(path, loc, ln.offset, d, "requirements", "", ln.text))
            continue
        if "://" in req_text and "@" not in req_text.split("://", 1)[0]:
            for d in decode_wheel_url(req_text):
                pins.append(_pin(path, loc, ln.offset, d, "requirements", "wheel URL", ln.text))
            continue
        result = decode_requirement(req_text)
        if isinstance(result, str):
            line, col = loc.pos(ln.offset)
            errors.append(ScanError(path, line, col, f"{req_text!r}: {result}"))
            continue
        marker = req_text.partition(";")[2].strip()
        for d in result:
            ctx = f"marker {marker}" if marker else ""
            pins.append(_pin(path, loc, ln.offset, d, "requirements", ctx, ln.text))
    return FileScan(
        pins=tuple(_apply_index(pins, variants)), links=tuple(links), errors=tuple(errors)
    )


# --- pyproject.toml ------------------------------------------------------------------------


def _table(value: Any) -> dict[str, Any]:
    """A TOML table the file should have, or an empty one when it holds something else (a
    shape no tool accepts either; the scan reads what it can instead of failing)."""
    return value if isinstance(value, dict) else {}


def _array(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _requirement_items(
    path: str,
    loc: _Locator,
    items: object,
    context: str,
    start: int,
    source: Source,
    errors: list[ScanError],
) -> list[Pin]:
    pins: list[Pin] = []
    if not isinstance(items, list):
        line, col = loc.pos(start)
        errors.append(ScanError(path, line, col, f"{context} must be a list of requirements"))
        return pins
    cursor = start
    for item in items:
        if not isinstance(item, str):
            continue
        at = loc.find(item, cursor)
        cursor = at + len(item)
        result = decode_requirement(item)
        if isinstance(result, str):
            line, col = loc.pos(at)
            errors.append(ScanError(path, line, col, f"{item!r} in {context}: {result}"))
            continue
        for d in result:
            pins.append(_pin(path, loc, at, d, source, context, item))
    return pins


def _poetry_value(name: str, spec: Any) -> tuple[Decoded | None, str]:
    """A Poetry dependency value → decoded pin and the text to locate."""
    component = "python" if name == "python" else PACKAGE_COMPONENTS.get(name.lower())
    if component is None:
        return None, ""
    if isinstance(spec, list):
        spec = spec[0] if spec else ""
    if isinstance(spec, dict):
        if "url" in spec:
            wheel = decode_wheel_url(str(spec["url"]))
            return (wheel[0] if wheel else None), str(spec["url"])
        spec = spec.get("version", "")
    text = str(spec).strip()
    if text.startswith("^") or (text.startswith("~") and not text.startswith("~=")):
        return Decoded(component, text, "range"), text
    if text == "*":
        return Decoded(component, "", "unpinned"), text
    if re.fullmatch(r"\d[\w.+!-]*", text):
        # A bare Poetry version is an exact constraint.
        return classify_value(component, "==" + text), text
    return classify_value(component, text), text


def scan_pyproject(path: str, text: str) -> FileScan:
    loc = _Locator(text)
    errors: list[ScanError] = []
    try:
        data = loads_toml(text)
    except ParseError as exc:
        return FileScan(errors=(ScanError(path, exc.line or 1, exc.col or 1, exc.message),))
    pins: list[Pin] = []
    project = data.get("project", {})
    if isinstance(project, dict):
        start = loc.header(r"^\[project\]")
        pins += _requirement_items(
            path,
            loc,
            project.get("dependencies", []),
            "dependencies",
            loc.find("dependencies", start),
            "pyproject",
            errors,
        )
        rp = project.get("requires-python")
        if isinstance(rp, str):
            at = loc.find(rp, loc.find("requires-python", start))
            pins.append(
                _pin(
                    path, loc, at, classify_value("python", rp), "pyproject", "requires-python", rp
                )
            )
        optional = project.get("optional-dependencies", {})
        if isinstance(optional, dict):
            opt_start = loc.header(r"^\[project\.optional-dependencies\]")
            for extra, items in optional.items():
                at = loc.find(extra, opt_start)
                pins += _requirement_items(
                    path, loc, items, f"extra {extra}", at, "pyproject", errors
                )
    groups = data.get("dependency-groups", {})
    if isinstance(groups, dict):
        g_start = loc.header(r"^\[dependency-groups\]")
        for group, items in groups.items():
            at = loc.find(group, g_start)
            pins += _requirement_items(path, loc, items, f"group {group}", at, "pyproject", errors)
    tool = _table(data.get("tool"))
    poetry = _table(tool.get("poetry"))
    if poetry:
        sections: list[tuple[str, str, dict[str, Any]]] = [
            (r"^\[tool\.poetry\.dependencies\]", "poetry", _table(poetry.get("dependencies")))
        ]
        for gname, group in _table(poetry.get("group")).items():
            if isinstance(group, dict):
                sections.append(
                    (
                        rf"^\[tool\.poetry\.group\.{re.escape(gname)}\.dependencies\]",
                        f"poetry group {gname}",
                        _table(group.get("dependencies")),
                    )
                )
        sources = {
            s.get("name"): s.get("url", "")
            for s in _array(poetry.get("source"))
            if isinstance(s, dict)
        }
        for header, ctx, deps in sections:
            start = loc.header(header)
            for name, spec in deps.items():
                decoded, needle = _poetry_value(name, spec)
                if decoded is None:
                    continue
                m = re.search(rf"^\s*{re.escape(name)}\s*=", text[start:], re.MULTILINE)
                at = start + m.start() + len(m.group(0)) - len(m.group(0).lstrip()) if m else start
                resolved: tuple[str, ...] = ()
                if isinstance(spec, dict) and spec.get("source") in sources:
                    url = str(sources[spec["source"]])
                    variant = index_variant(url)
                    if variant and decoded.variant is None:
                        decoded = replace(decoded, variant=variant)
                        resolved = (f"poetry source {spec['source']} {url}",)
                pins.append(_pin(path, loc, at, decoded, "pyproject", ctx, needle, resolved))
        for source_name, source_url in sources.items():
            url = str(source_url)
            variant = index_variant(url)
            implied = variant_pin(variant) if variant else None
            if implied is not None:
                pins.append(
                    _pin(
                        path,
                        loc,
                        loc.find(str(url)),
                        implied,
                        "pyproject",
                        f"poetry source {source_name}",
                        str(url),
                    )
                )
    uv = _table(tool.get("uv"))
    if uv:
        pins = _uv(path, loc, uv, pins)
    return FileScan(pins=tuple(pins), errors=tuple(errors), links=tuple(_dynamic(path, loc, tool)))


def _dynamic(path: str, loc: _Locator, tool: Any) -> list[Link]:
    """``[tool.setuptools.dynamic] dependencies = {file = [...]}`` (and optional-dependencies):
    the project's requirement lists live in those files, which are metadata (``reads``)."""
    setuptools = tool.get("setuptools", {}) if isinstance(tool, dict) else {}
    dynamic = setuptools.get("dynamic", {}) if isinstance(setuptools, dict) else {}
    if not isinstance(dynamic, dict):
        return []
    specs: list[Any] = [dynamic.get("dependencies")]
    optional = dynamic.get("optional-dependencies")
    if isinstance(optional, dict):
        specs += list(optional.values())
    links: list[Link] = []
    base = posixpath.dirname(path)
    for spec in specs:
        files = spec.get("file") if isinstance(spec, dict) else None
        for name in [files] if isinstance(files, str) else files or []:
            if isinstance(name, str) and name:
                line = loc.pos(loc.find(name))[0]
                target = posixpath.normpath(posixpath.join(base, name))
                links.append(Link("reads", path, target, line, context="setuptools dynamic"))
    return links


def _uv(path: str, loc: _Locator, uv: dict[str, Any], pins: list[Pin]) -> list[Pin]:
    """``[[tool.uv.index]]`` URLs and ``[tool.uv.sources]`` that route torch to an index."""
    index_variants: dict[str, tuple[str, str]] = {}
    for index in _array(uv.get("index")):
        if not isinstance(index, dict):
            continue
        url = str(index.get("url", ""))
        variant = index_variant(url)
        if variant is None:
            continue
        index_variants[str(index.get("name", ""))] = (url, variant)
        implied = variant_pin(variant)
        if implied is not None:
            pins.append(
                _pin(
                    path,
                    loc,
                    loc.find(url),
                    implied,
                    "pyproject",
                    f"uv index {index.get('name', '')}",
                    url,
                )
            )
    sources = _table(uv.get("sources"))
    routed: dict[str, set[str]] = {}
    for name, spec in sources.items():
        entries = spec if isinstance(spec, list) else [spec]
        for entry in entries:
            if isinstance(entry, dict) and entry.get("index") in index_variants:
                routed.setdefault(name.lower(), set()).add(str(entry["index"]))
    out: list[Pin] = []
    for p in pins:
        names = routed.get(p.component)
        if p.variant is None and names and len(names) == 1 and p.component in _WHEEL_COMPONENTS:
            index = next(iter(names))
            url, variant = index_variants[index]
            p = replace(p, variant=variant, resolved_from=(*p.resolved_from, f"uv index {index}"))
        out.append(p)
    return out


# --- setup.cfg -----------------------------------------------------------------------------


def scan_setup_cfg(path: str, text: str) -> FileScan:
    loc = _Locator(text)
    import configparser  # here: most repositories have no setup.cfg

    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(text, source=path)
    except configparser.Error as exc:
        line = getattr(exc, "lineno", 1) or 1
        return FileScan(errors=(ScanError(path, line, 1, f"invalid setup.cfg: {exc}"),))
    errors: list[ScanError] = []
    pins: list[Pin] = []
    if parser.has_section("options"):
        start = loc.header(r"^\[options\]")
        reqs = parser.get("options", "install_requires", fallback="")
        items = [r.strip() for r in re.split(r"[\n;]", reqs) if r.strip()] if reqs else []
        items = [r for r in re.split(r"\n", reqs) if r.strip()]
        pins += _requirement_items(
            path, loc, [r.strip() for r in items], "install_requires", start, "setup.cfg", errors
        )
        py = parser.get("options", "python_requires", fallback=None)
        if py:
            at = loc.find(py.strip(), loc.find("python_requires", start))
            pins.append(
                _pin(
                    path,
                    loc,
                    at,
                    classify_value("python", py.strip()),
                    "setup.cfg",
                    "python_requires",
                    py.strip(),
                )
            )
    if parser.has_section("options.extras_require"):
        start = loc.header(r"^\[options\.extras_require\]")
        for extra, value in parser.items("options.extras_require"):
            items = [r.strip() for r in value.splitlines() if r.strip()]
            at = loc.find(extra, start)
            pins += _requirement_items(path, loc, items, f"extra {extra}", at, "setup.cfg", errors)
    return FileScan(pins=tuple(pins), errors=tuple(errors))


# --- .python-version -----------------------------------------------------------------------


def scan_python_version(path: str, text: str) -> FileScan:
    loc = _Locator(text)
    pins: list[Pin] = []
    offset = 0
    for raw in text.splitlines(keepends=True):
        value = raw.strip()
        if value and not value.startswith("#"):
            col_off = offset + raw.index(value)
            pins.append(
                _pin(
                    path, loc, col_off, classify_value("python", value), "python-version", "", value
                )
            )
        offset += len(raw)
    return FileScan(pins=tuple(pins))
