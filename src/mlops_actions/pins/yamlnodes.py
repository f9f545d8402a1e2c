"""YAML node helpers that keep positions (``yaml.compose`` marks), and small YAML scanners:
conda environments and compose files."""

from __future__ import annotations

import posixpath
from dataclasses import replace

import yaml

from mlops_actions.parse import compose_yaml
from mlops_actions.pins.model import FileScan, Link, Pin, PinGroup, ScanError, Source
from mlops_actions.pins.values import (
    PYTORCH_CHANNEL,
    Decoded,
    decode_conda_spec,
    decode_image,
    from_pytorch_channel,
    pin_from,
)

Node = yaml.Node


def compose(path: str, text: str) -> Node | ScanError | None:
    """The document's root node, a ScanError for invalid YAML, None for an empty file."""
    try:
        return compose_yaml(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        col = mark.column + 1 if mark else 1
        return ScanError(path, line, col, f"invalid YAML: {exc.problem or exc}")
    except yaml.YAMLError as exc:
        first = str(exc).splitlines()[0] if str(exc) else "unreadable"
        return ScanError(path, 1, 1, f"invalid YAML: {first}")


def compose_mapping(path: str, text: str) -> yaml.MappingNode | FileScan:
    """The document's root mapping, or the scan to return when there is none: the YAML error,
    or nothing for an empty file or a root that is not a mapping."""
    root = compose(path, text)
    if isinstance(root, ScanError):
        return FileScan(errors=(root,))
    if not isinstance(root, yaml.MappingNode):
        return FileScan()
    return root


def get(node: Node | None, key: str) -> Node | None:
    if not isinstance(node, yaml.MappingNode):
        return None
    for k, v in node.value:
        if isinstance(k, yaml.ScalarNode) and k.value == key:
            found: Node = v
            return found
    return None


def items(node: Node | None) -> list[tuple[str, Node, Node]]:
    if not isinstance(node, yaml.MappingNode):
        return []
    return [(str(k.value), k, v) for k, v in node.value if isinstance(k, yaml.ScalarNode)]


def seq(node: Node | None) -> list[Node]:
    return list(node.value) if isinstance(node, yaml.SequenceNode) else []


def scalar(node: Node | None) -> str | None:
    return str(node.value) if isinstance(node, yaml.ScalarNode) else None


_FLOAT_TAG = "tag:yaml.org,2002:float"


def yaml_number(node: Node | None) -> str | None:
    """What a consumer of the parsed YAML sees for an unquoted number whose text changes when
    read as one: ``3.10`` → ``3.1``, ``12.0`` → ``12`` (GitHub turns the number back into text
    this way, setup-python issues #662 and #198); None for anything else."""
    if not isinstance(node, yaml.ScalarNode) or node.style or node.tag != _FLOAT_TAG:
        return None
    try:
        number = float(str(node.value).replace("_", ""))
    except ValueError:
        return None
    text = repr(number)
    text = text.removesuffix(".0")
    return text if text != node.value else None


def pos(node: Node) -> tuple[int, int]:
    """1-based position of the value's first character (inside quotes)."""
    quoted = isinstance(node, yaml.ScalarNode) and node.style in {'"', "'"}
    return node.start_mark.line + 1, node.start_mark.column + 1 + (1 if quoted else 0)


def offset_pos(node: Node, lines: list[str], offset: int) -> tuple[int, int]:
    """Position of ``offset`` inside a scalar's value, block scalars included."""
    value = str(node.value)
    line0, col0 = pos(node)
    if isinstance(node, yaml.ScalarNode) and node.style in {"|", ">"}:
        k = value.count("\n", 0, offset)
        line_start = value.rfind("\n", 0, offset) + 1
        src = line0 + k  # block content starts on the line after the indicator
        if src - 1 < len(lines):
            text = lines[src]
            indent = len(text) - len(text.lstrip(" ")) if src < len(lines) else 0
            return src + 1, indent + (offset - line_start) + 1
        return line0, col0
    if "\n" not in value[:offset]:
        return line0, col0 + offset
    return line0, col0


def pin_at(
    path: str,
    node: Node,
    d: Decoded,
    source: Source,
    context: str,
    raw: str | None = None,
    resolved: tuple[str, ...] = (),
) -> Pin:
    text = raw if raw is not None else (scalar(node) or "")
    return pin_from(d, path, pos(node), source, context, text, resolved=resolved)


def image_pins(
    path: str,
    node: Node,
    ref: str,
    source: Source,
    context: str,
    resolved: tuple[str, ...] = (),
    reason: str | None = None,
) -> list[Pin]:
    if reason is not None:
        return [
            pin_at(
                path,
                node,
                Decoded("image", ref, "unresolved", reason=reason),
                source,
                context,
                resolved=resolved,
            )
        ]
    out = []
    for d in decode_image(ref):
        p = pin_at(path, node, d, source, context, resolved=resolved)
        out.append(p if d.component == "image" else replace(p, derived_from=ref))
    return out


# --- conda ---------------------------------------------------------------------------------


def scan_conda(path: str, text: str) -> FileScan:
    from mlops_actions.pins.pyfiles import scan_requirements

    root = compose_mapping(path, text)
    if isinstance(root, FileScan):
        return root
    name = scalar(get(root, "name")) or posixpath.basename(path)
    channels = [c for c in (scalar(n) for n in seq(get(root, "channels"))) if c]
    pins: list[Pin] = []
    links: list[Link] = []
    errors: list[ScanError] = []
    for dep in seq(get(root, "dependencies")):
        spec = scalar(dep)
        if spec is not None:
            decoded = decode_conda_spec(spec)
            if isinstance(decoded, str):
                line, col = pos(dep)
                errors.append(ScanError(path, line, col, decoded))
            elif decoded is not None:
                note = (PYTORCH_CHANNEL,) if from_pytorch_channel(spec, channels) else ()
                pins.append(pin_at(path, dep, decoded, "conda", f"conda env {name}", None, note))
            continue
        pip_list = get(dep, "pip")
        if pip_list is None:
            continue
        nodes = [n for n in seq(pip_list) if scalar(n) is not None]
        # One text so file-wide pip options (--index-url) apply to every line, as pip does.
        sub = scan_requirements(path, "\n".join(scalar(n) or "" for n in nodes))
        ctx = f"conda env {name} pip"
        for p in sub.pins:
            line, col = pos(nodes[p.line - 1])
            pins.append(replace(p, source="conda", line=line, col=col + p.col - 1, context=ctx))
        for ln in sub.links:
            line = pos(nodes[ln.line - 1])[0]
            links.append(replace(ln, kind="installs", line=line, context=ctx))
        for e in sub.errors:
            line, col = pos(nodes[e.line - 1])
            errors.append(replace(e, line=line, col=col))
    return FileScan(pins=tuple(pins), links=tuple(links), errors=tuple(errors))


# --- compose -------------------------------------------------------------------------------


def scan_compose(path: str, text: str) -> FileScan:
    root = compose_mapping(path, text)
    if isinstance(root, FileScan):
        return root
    pins: list[Pin] = []
    links: list[Link] = []
    groups: list[PinGroup] = []
    base = posixpath.dirname(path)
    for service, _, body in items(get(root, "services")):
        ctx = f"service {service}"
        gid = f"compose:{path}:{service}"
        image_node = get(body, "image")
        ref = scalar(image_node)
        service_pins: list[Pin] = []
        images: tuple[str, ...] = ()
        if image_node is not None and ref is not None:
            reason = None
            if "$" in ref:
                reason = "image holds a compose variable (${...}) resolved from the environment"
            service_pins = image_pins(path, image_node, ref, "compose", ctx, reason=reason)
            images = (ref,)
            links.append(Link("runs-in", path, ref, pos(image_node)[0], context=gid, images=images))
        build = get(body, "build")
        if build is not None:
            context_dir = scalar(build) or scalar(get(build, "context")) or "."
            dockerfile = scalar(get(build, "dockerfile")) or "Dockerfile"
            ctx_path = posixpath.normpath(posixpath.join(base, context_dir))
            target = posixpath.normpath(posixpath.join(ctx_path, dockerfile))
            args: list[tuple[str, str]] = []
            args_node = get(build, "args")
            for key, _, value in items(args_node):
                args.append((key, scalar(value) or ""))
            for item in seq(args_node):
                key, _, text = (scalar(item) or "").partition("=")
                args.append((key, text))
            links.append(
                Link(
                    "builds",
                    path,
                    target,
                    pos(build)[0],
                    context=gid,
                    images=images,
                    build_args=tuple(args),
                    stage=scalar(get(build, "target")),
                    build_context=ctx_path,
                )
            )
        pins += service_pins
        groups.append(PinGroup(gid, "compose", service, path, tuple(service_pins), images=images))
    return FileScan(pins=tuple(pins), links=tuple(links), groups=tuple(groups))
