"""``devcontainer.json`` scanner (JSON with comments and trailing commas)."""

from __future__ import annotations

import posixpath
import re
from typing import Any

from mlops_actions.parse import ParseError, loads_json
from mlops_actions.pins.model import Component, FileScan, Link, Pin, PinGroup, ScanError
from mlops_actions.pins.pyfiles import _Locator
from mlops_actions.pins.values import Decoded, classify_value, decode_image, pin_from

_FEATURE_OPTIONS: dict[str, dict[str, Component]] = {
    "nvidia-cuda": {"cudaversion": "cuda", "cudnnversion": "cudnn"},
    "python": {"version": "python"},
}


def strip_jsonc(text: str) -> str:
    """Blank out comments and trailing commas, keeping every other character's offset."""
    out = list(text)
    i = 0
    in_str = False
    while i < len(text):
        c = text[i]
        if in_str:
            if c == "\\":
                i += 2
                continue
            if c == '"':
                in_str = False
            i += 1
            continue
        if c == '"':
            in_str = True
        elif text.startswith("//", i):
            end = text.find("\n", i)
            end = len(text) if end < 0 else end
            for k in range(i, end):
                out[k] = " "
            i = end
            continue
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            end = len(text) if end < 0 else end + 2
            for k in range(i, end):
                if out[k] != "\n":
                    out[k] = " "
            i = end
            continue
        elif c == ",":
            m = re.match(r",\s*[}\]]", "".join(out[i : i + 200]))
            if m:
                out[i] = " "
        i += 1
    return "".join(out)


def scan_devcontainer(path: str, text: str) -> FileScan:
    clean = strip_jsonc(text)
    try:
        data = loads_json(clean)
    except ParseError as exc:
        return FileScan(errors=(ScanError(path, exc.line or 1, exc.col or 1, exc.message),))
    if not isinstance(data, dict):
        return FileScan()
    loc = _Locator(clean)
    base = posixpath.dirname(path)
    gid = f"devcontainer:{path}"
    pins: list[Pin] = []
    links: list[Link] = []

    def value_at(key: str, value: str, start: int = 0) -> int:
        m = re.compile(rf'"{re.escape(key)}"\s*:\s*"').search(clean, start)
        if m is None:
            return loc.find(value, start)
        return m.end()

    def add(offset: int, d: Decoded, ctx: str, raw: str, derived: str | None = None) -> None:
        at = loc.pos(offset)
        pins.append(
            pin_from(d, path, at, "devcontainer", ctx, raw, environment=gid, derived_from=derived)
        )

    image = data.get("image")
    images: tuple[str, ...] = ()
    if isinstance(image, str):
        at = value_at("image", image)
        images = (image,)
        for d in decode_image(image):
            add(at, d, "image", image, None if d.component == "image" else image)
    build = data.get("build")
    if isinstance(build, dict):
        dockerfile = str(build.get("dockerfile", "Dockerfile"))
        context = str(build.get("context", "."))
        target = posixpath.normpath(posixpath.join(base, dockerfile))
        args = build.get("args", {})
        build_args = tuple(
            (str(k), str(v)) for k, v in (args.items() if isinstance(args, dict) else [])
        )
        line = loc.pos(loc.find('"build"'))[0]
        links.append(
            Link(
                "builds",
                path,
                target,
                line,
                context=gid,
                build_args=build_args,
                stage=build.get("target") if isinstance(build.get("target"), str) else None,
                build_context=posixpath.normpath(posixpath.join(base, context)),
            )
        )
    features: Any = data.get("features", {})
    if isinstance(features, dict):
        feat_start = loc.find('"features"')
        for fid, options in features.items():
            if not isinstance(options, dict):
                continue
            short = fid.rsplit("/", 1)[-1].split(":", 1)[0]
            table = _FEATURE_OPTIONS.get(short)
            if table is None:
                continue
            fstart = loc.find(f'"{fid}"', feat_start)
            for key, value in options.items():
                component = table.get(key.lower())
                if component is None or not isinstance(value, str):
                    continue
                add(
                    value_at(key, value, fstart),
                    classify_value(component, value),
                    f"feature {short}",
                    value,
                )
    groups = (PinGroup(gid, "devcontainer", path, path, tuple(pins), images=images),)
    return FileScan(pins=tuple(pins), links=tuple(links), groups=groups)
