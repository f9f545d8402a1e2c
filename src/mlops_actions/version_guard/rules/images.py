"""Image rules: base and service images must name a version, and what an image installs must
not depend on the machine that builds it.

VG001 image-unpinned (docs/version-guard.md#vg001-image-unpinned) and VG020 torch-backend-auto
(docs/version-guard.md#vg020-torch-backend-auto). Tests: tests/test_version_guard_rules_images.py."""

from __future__ import annotations

import re

from mlops_actions.pins.model import Environment, ScanResult
from mlops_actions.pins.values import is_moving, parse_image_ref
from mlops_actions.version_guard.rules.catalog import Rule, Severity, define
from mlops_actions.version_guard.rules.findings import Context, Findings
from mlops_actions.version_guard.rules.readings import members, variant_key, where
from mlops_actions.version_guard.rules.roles import Roles

RULES = define(
    __name__,
    Rule(
        "VG001",
        "image-unpinned",
        "error",
        "A base or service image is untagged or uses a floating tag such as `latest`.",
        "An image without a tag, or with a tag that moves (`latest`, `nightly`, `stable`, "
        "`rolling`, `edge`, or one of them joined to a flavour such as `latest-gpu`, "
        "`nightly-cu121`, `gpu-latest`), changes under you: the next build silently gets another "
        "torch, CUDA or Python. A dated tag (`nightly-20240501`) is pinned; a moving word beside "
        "a version (`latest-rust-1.85.1`) is a warning. The check follows "
        "`ARG` values and build arguments, so `ARG BASE=pytorch/pytorch:latest` / `FROM ${BASE}` "
        "is caught (hadolint's DL3007/DL3006 see only literal tags). Images pinned by digest "
        "pass. A compose service's `image:` beside `build:` names the image it builds and is not "
        "checked; an image this repository builds itself (named in a build step, or after one "
        "of its Dockerfiles, as in `FROM org/base:latest` with `Dockerfile.base`) is a warning.",
        "Pin a versioned tag of the same image (for pytorch/pytorch "
        "`2.4.1-cuda12.1-cudnn9-runtime`, for nvidia/cuda `12.4.1-runtime-ubuntu22.04`, for "
        "others the release you test with), or a digest (`image@sha256:…`); when the tag comes "
        "from an `ARG`, give the `ARG` a versioned default and pass versioned build arguments.",
    ),
    Rule(
        "VG020",
        "torch-backend-auto",
        "error",
        "An image installs torch with `uv pip install --torch-backend=auto`.",
        "With `--torch-backend=auto` uv picks the torch build (CUDA version or CPU) from the GPU "
        "driver of the machine that runs the install. In a `docker build` that is the build "
        "machine, which usually has no GPU: a CUDA image silently gets the CPU build, and two "
        "builders produce two different images. An error in an image on CUDA, a warning in "
        "other images; CI jobs that install on the machine that runs them are not reported.",
        "Name the build: `--torch-backend=cu126` (or the PyTorch index "
        "`--index-url https://download.pytorch.org/whl/cu126`), matching the image's CUDA.",
    ),
)


def check(ctx: Context, out: Findings) -> None:
    _image_pinned(ctx.scan, out)
    for env in ctx.distinct_environments:
        _torch_backend_auto(env, ctx.roles, out)


_VERSIONED = re.compile(r"\d+\.\d+")


def floating_tag(tag: str) -> bool:
    """A tag that moves (``latest-gpu``, ``cu121-latest``, ``rolling``; not a dated nightly):
    the scanner's own reading, ``pins.values.is_moving``."""
    return is_moving(tag)


def _example_tag(repository: str) -> str:
    """A versioned tag of the same image, for the fix."""
    examples = {
        "pytorch/pytorch": "pytorch/pytorch:2.4.1-cuda12.1-cudnn9-runtime",
        "nvidia/cuda": "nvidia/cuda:12.4.1-runtime-ubuntu22.04",
        "python": "python:3.11.9-slim",
    }
    if repository in examples:
        return f"such as {examples[repository]}"
    return f"{repository}:<version>, the release you test with"


def _built_here(scan: ScanResult) -> tuple[set[tuple[str, str]], set[str], set[str]]:
    """What this repository builds: the images a compose service or workflow step names for
    its build output, ``(file, reference)`` and repositories; and the names its Dockerfiles
    carry (``Dockerfile.base``, ``base.Dockerfile``, ``base/Dockerfile``), which build scripts
    use as image names (``-t org/base:latest -f Dockerfile.base``)."""
    outputs: set[tuple[str, str]] = set()
    repositories: set[str] = set()
    for link in scan.links:
        if link.kind != "builds":
            continue
        for image in link.images:
            outputs.add((link.src, image))
            ref = parse_image_ref(image)
            if ref is not None:
                repositories.add(ref.repository)
    names: set[str] = set()
    for dockerfile in scan.stages:
        directory, _, base = dockerfile.rpartition("/")
        lower = base.lower()
        if lower.startswith(("dockerfile.", "containerfile.")):
            names.add(lower.split(".", 1)[1])
        elif lower.endswith(".dockerfile"):
            names.add(lower.rsplit(".", 1)[0])
        elif directory:
            names.add(directory.rsplit("/", 1)[-1].lower())
    return outputs, repositories, names


def _built_name(repository: str, repositories: set[str], names: set[str]) -> bool:
    """``org/base`` or ``olmo-torch2-base`` beside ``Dockerfile.base``: a name a build script
    gives the image it builds from that Dockerfile."""
    if repository in repositories:
        return True
    last = repository.rsplit("/", 1)[-1].lower()
    return any(last == n or last.endswith((f"-{n}", f"_{n}")) for n in names)


def _image_pinned(scan: ScanResult, out: Findings) -> None:
    outputs, repositories, names = _built_here(scan)
    for pin in scan.pins:
        if pin.component != "image" or (pin.file, pin.value) in outputs:
            continue  # a compose service's `image:` beside `build:` names what it builds
        ref = parse_image_ref(pin.value)
        moving_tag = pin.how == "exact" and ref is not None and ref.tag and floating_tag(ref.tag)
        if pin.how not in {"latest", "unpinned"} and not moving_tag:
            continue
        via = f" (resolved from {'; '.join(pin.resolved_from)})" if pin.resolved_from else ""
        if pin.how == "unpinned":
            what = f"image {pin.value} has no tag"
        else:
            what = f"image {pin.value} uses the floating tag `{ref.tag if ref else pin.value}`"
        example = _example_tag(ref.repository) if ref else "<image>:<version>"
        local = ref is not None and _built_name(ref.repository, repositories, names)
        at_most: Severity | None = None
        if ref is not None and ref.tag is not None and _VERSIONED.search(ref.tag) is not None:
            # `latest-rust-1.85.1`: the toolchain is pinned, the tool on top still moves.
            what += "; part of the tag is versioned, the rest moves"
            at_most = "warning"
        elif local:
            # Built here, usually just before by the same pipeline: worth knowing, not a gate.
            what += "; the image is built in this repository, so the tag is what the build chain last made"
            at_most = "notice"
        elif ref is not None and "nightly" in f"{ref.repository}:{ref.tag or ''}".lower():
            # A nightly lane tracks the newest build on purpose.
            what += "; a nightly image tracks the newest build on purpose"
            at_most = "notice"
        elif ref is not None and pin.source not in _RUNTIME_SOURCES and _utility(ref.repository):
            # alpine, manylinux, a Rust or Node toolchain: hygiene (hadolint's DL3006/DL3007),
            # not the torch, CUDA or Python this gate is about.
            what += "; a utility image that carries no torch, CUDA or Python stack"
            at_most = "warning"
        out.add(
            "VG001",
            what + via,
            pin,
            fix=f"pin a versioned tag ({example}) or a digest"
            + (", and tag the base build with the same version." if local else "."),
            at_most=at_most,
        )


_RUNTIME_SOURCES = frozenset({"compose", "devcontainer"})
"""Where an image is what users run: every image there is the stack."""

_UTILITY_IMAGE = re.compile(
    r"(alpine|busybox|scratch|(many|musl)linux[\w.-]*|node|golang|rust|cargo-chef|nginx|"
    r"httpd|caddy|traefik|redis|postgres|mysql|mariadb|mongo|memcached|docker|dind|"
    r"buildpack-deps|gcc|clang|bash|curl|git|gradle|maven|openjdk|eclipse-temurin)",
    re.I,
)
"""Images known to hold tools or services, not a torch, CUDA or Python stack. Any other image
(a team's own `ghcr.io/org/train`, say) may carry the stack, so it stays an error."""


def _utility(repository: str) -> bool:
    return _UTILITY_IMAGE.fullmatch(repository.rsplit("/", 1)[-1]) is not None


def _torch_backend_auto(env: Environment, roles: Roles, out: Findings) -> None:
    """``uv pip install --torch-backend=auto`` in an image build (the scanner gives it as a CUDA
    pin with value ``auto`` noted ``torch-backend auto``)."""
    if env.kind not in {"docker", "devcontainer", "compose"}:
        return
    pins = members(env)
    autos = [
        p
        for p in pins
        if p.component == "cuda"
        and p.value == "auto"
        and any(r.startswith("torch-backend") for r in p.resolved_from)
        and roles.deployable(p.file)
    ]
    cuda = [
        (p, k)
        for p in pins
        if (k := variant_key(p)) is not None and k != "cpu" and not k.startswith("rocm")
    ]
    for pin in autos:
        on_cuda = f" on CUDA {cuda[0][1]} ({where(cuda[0][0])})" if cuda else ""
        tag = "cu" + cuda[0][1].replace(".", "") if cuda else "cu126"
        out.add(
            "VG020",
            f"uv picks the torch build from the GPU of the machine that builds this image{on_cuda}"
            "; a build machine without a GPU installs the CPU build",
            pin,
            related=[(p.file, p.line) for p, _ in cuda[:1]],
            fix=f"write --torch-backend={tag} (the CUDA of the image) instead of auto.",
            at_most=None if cuda else "warning",
        )
