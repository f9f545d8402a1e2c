"""Image mode: what an image says about itself against what is installed in it.

Tags, labels and ``ENV`` lines are written by hand and drift from what an image contains
(pytorch/pytorch#91097: the 1.13.1 image shipped torch 1.13.0). This module reads those claims
through the Docker engine, runs the stdlib-only probe inside the image, and compares.

``claims_from_image`` and ``compare_claims`` are pure; ``verify_image`` does the engine calls,
each under a time limit.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlops_actions.env_verify import checks
from mlops_actions.env_verify.checks import CheckResult
from mlops_actions.env_verify.report import LABEL_COMPONENTS, LABEL_PREFIX
from mlops_actions.errors import EnvironmentProblem, UsageError
from mlops_actions.pins.values import decode_image, parse_image_ref

PROBE_FILE = Path(__file__).with_name("probe.py")
INTERPRETERS = ("python3", "python")
# Env variables whose value names the torch or Python the image is meant to hold.
ENV_CLAIMS = {"PYTORCH_VERSION": "torch", "TORCH_VERSION": "torch", "PYTHON_VERSION": "python"}
# Repositories whose tags follow pytorch/pytorch's {torch}-cuda{X.Y}-cudnn{N}-{flavour} scheme:
# the official one and mirrors or rebuilds that keep its name.
PYTORCH_TAG_NAMES = ("pytorch", "torch")


@dataclass(frozen=True)
class Claim:
    component: str
    """torch, variant, torchvision, torchaudio, cuda, cudnn, nccl or python."""
    value: str
    source: str
    """Where it was read: ``label io.mlops-actions.torch.version``, ``env PYTORCH_VERSION``,
    ``tag pytorch/pytorch:2.4.1-cuda12.1-cudnn9-runtime``."""


@dataclass(frozen=True)
class ImageInfo:
    ref: str
    id: str
    tags: tuple[str, ...]
    labels: Mapping[str, str]
    env: tuple[str, ...]


@dataclass
class ImageRun:
    info: ImageInfo
    facts: dict[str, Any]
    interpreter: str
    gpus: bool
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "ref": self.info.ref,
            "id": self.info.id,
            "tags": list(self.info.tags),
            "labels": dict(self.info.labels),
            "env": [e for e in self.info.env if e.split("=", 1)[0] in ENV_CLAIMS],
            "interpreter": self.interpreter,
            "gpus": self.gpus,
            "notes": list(self.notes),
        }


# -- claims (pure) --------------------------------------------------------------------------


def _torch_named(ref: str) -> bool:
    parsed = parse_image_ref(ref)
    if parsed is None:
        return False
    return parsed.repository.rsplit("/", 1)[-1] in PYTORCH_TAG_NAMES


def tag_claims(ref: str) -> list[Claim]:
    """What a pytorch-style tag says: torch, its variant, CUDA and the cuDNN major."""
    parsed = parse_image_ref(ref)
    if parsed is None or parsed.tag is None or not _torch_named(ref):
        return []
    decoded = decode_image(f"pytorch/pytorch:{parsed.tag}")
    out: list[Claim] = []
    for item in decoded[1:]:
        if item.how != "exact" or not item.value:
            continue
        out.append(Claim(item.component, item.value, f"tag {ref}"))
        if item.component == "torch" and item.variant:
            out.append(Claim("variant", item.variant, f"tag {ref}"))
    return out


def claims_from_image(
    labels: Mapping[str, str], env: Sequence[str], tags: Sequence[str]
) -> list[Claim]:
    """Every version claim the image's labels, ENV lines and tags make."""
    out: list[Claim] = []
    for suffix, component in LABEL_COMPONENTS.items():
        value = labels.get(LABEL_PREFIX + suffix)
        if value:
            out.append(Claim(component, value.strip(), f"label {LABEL_PREFIX}{suffix}"))
    title = labels.get("org.opencontainers.image.title", "")
    oci_version = labels.get("org.opencontainers.image.version", "")
    # The OCI version names the image's own release; it is torch's only for a torch image.
    if oci_version and (
        any(name in title.lower() for name in PYTORCH_TAG_NAMES)
        or any(_torch_named(tag) for tag in tags)
    ):
        out.append(Claim("torch", oci_version.strip(), "label org.opencontainers.image.version"))
    for line in env:
        key, sep, value = line.partition("=")
        if sep and key in ENV_CLAIMS and value.strip():
            out.append(Claim(ENV_CLAIMS[key], value.strip().removeprefix("v"), f"env {key}"))
    for tag in tags:
        out.extend(tag_claims(tag))
    return out


def _found_for(component: str, facts: Mapping[str, Any]) -> str | None:
    values = {
        "torch": checks.torch_version(facts),
        "variant": checks.torch_variant(facts),
        "torchvision": checks.distribution_version(facts, "torchvision"),
        "torchaudio": checks.distribution_version(facts, "torchaudio"),
        "cuda": checks.torch_cuda(facts),
        "cudnn": checks.cudnn_version(facts),
        "nccl": checks.nccl_version(facts),
        "python": checks.python_version(facts),
    }
    return values.get(component)


def compare_claim(claim: Claim, facts: Mapping[str, Any]) -> CheckResult:
    check_id = f"image-claim-{claim.component}"
    expected = f"{claim.value} ({claim.source})"
    fix = (
        "fix the label/tag/ENV at its source (the Dockerfile or the build workflow), or "
        "rebuild the image so it installs what it claims; set labels from env-verify's "
        "`image-labels` output so they are read from the installed stack."
    )
    variant = checks.torch_variant(facts)
    if claim.component == "variant" or (claim.component == "cuda" and claim.value == "cpu"):
        want = "cpu" if claim.component == "cuda" else claim.value
        ok = variant == want
        return CheckResult(
            check_id,
            "ok" if ok else "fail",
            expected,
            checks.show(variant),
            f"the image claims a {want} build; torch is "
            + (f"a {variant} build" if variant else "not installed"),
            "" if ok else fix,
        )
    found = _found_for(claim.component, facts)
    if found is None:
        if claim.component in ("cudnn", "nccl"):
            return CheckResult(
                check_id,
                "skip",
                expected,
                "(unknown)",
                f"no {claim.component} wheel in the image; run with smoke: true to ask torch",
            )
        what = "torch is not a CUDA build" if claim.component == "cuda" else "not installed"
        return CheckResult(
            check_id,
            "fail",
            expected,
            "(none)",
            f"the image claims {claim.component} {claim.value} but {what}",
            fix,
        )
    try:
        match = checks.version_matches(
            claim.value, found, variant if claim.component == "torch" else None
        )
    except ValueError:
        return CheckResult(
            check_id,
            "warn",
            expected,
            found,
            f"{claim.source} is not a version: {claim.value!r}",
            fix,
        )
    if match.ok:
        return CheckResult(
            check_id, "ok", expected, found, f"{claim.source} agrees with the installed {found}"
        )
    reason = f" ({match.detail})" if match.detail else ""
    return CheckResult(
        check_id,
        "fail",
        expected,
        found,
        f"{claim.source} says {claim.component} {claim.value}, the image has {found}{reason}",
        fix,
    )


def compare_claims(claims: Sequence[Claim], facts: Mapping[str, Any]) -> list[CheckResult]:
    if not claims:
        return [
            CheckResult(
                "image-claims",
                "skip",
                "",
                "",
                "the image makes no version claim (no io.mlops-actions.* labels, no "
                "PYTORCH_VERSION, no pytorch-style tag)",
            )
        ]
    return [compare_claim(claim, facts) for claim in claims]


# -- the engine -----------------------------------------------------------------------------


def _docker() -> Any:
    try:
        import docker  # type: ignore[import-untyped]
    except ImportError:  # a dependency of the package; missing only in a broken install
        raise EnvironmentProblem(
            "the `docker` Python package is not installed",
            fix="reinstall mlops-actions (pip install mlops-actions) so its dependencies come too.",
        ) from None
    return docker


_NO_ENGINE_FIX = (
    "start Docker on the runner (or set DOCKER_HOST), or run env-verify inside the image as a "
    "job container instead of using `image:`."
)


def connect(environment: Mapping[str, str], timeout: float) -> Any:
    """A Docker client that answered a ping; EnvironmentProblem otherwise."""
    docker = _docker()
    host = environment.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
    if host.startswith("unix://") and not Path(host[len("unix://") :]).exists():
        # Checked here: the SDK leaks its socket when the connection is refused.
        raise EnvironmentProblem(
            f"image mode needs a Docker engine and none answers at {host} (no such socket)",
            fix=_NO_ENGINE_FIX,
        )
    client = None
    try:
        client = docker.from_env(environment=dict(environment), timeout=max(1, int(timeout)))
        client.ping()
    except Exception as exc:
        if client is not None:
            client.close()
        raise EnvironmentProblem(
            f"image mode needs a Docker engine and none answers at {host} "
            f"({type(exc).__name__}: {_first_line(exc)})",
            fix=_NO_ENGINE_FIX,
        ) from None
    return client


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else type(exc).__name__


def inspect_image(client: Any, ref: str, *, pull: bool = True) -> ImageInfo:
    docker = _docker()
    try:
        image = client.images.get(ref)
    except docker.errors.ImageNotFound:
        if not pull:
            raise EnvironmentProblem(
                f"image {ref} is not on this Docker engine",
                fix="build or pull it before this step.",
            ) from None
        try:
            image = client.images.pull(ref)
        except Exception as exc:
            raise EnvironmentProblem(
                f"image {ref} is not on this Docker engine and pulling it failed: "
                f"{_first_line(exc)}",
                fix="build or pull the image before this step (docker/login-action for a "
                "private registry), and check the reference.",
            ) from None
    except docker.errors.APIError as exc:
        raise UsageError(
            f"the engine refused {ref!r}: {_first_line(exc)}",
            fix="give an image reference such as ghcr.io/org/train:2024-06 or an image id.",
            input="image",
        ) from None
    attrs = image.attrs or {}
    config = attrs.get("Config") or {}
    return ImageInfo(
        ref=ref,
        id=str(image.id),
        tags=tuple(image.tags or ()),
        labels=dict(config.get("Labels") or {}),
        env=tuple(config.get("Env") or ()),
    )


def probe_args(smoke: bool, want_compile: bool, timeout: float) -> list[str]:
    args = ["/probe/probe.py"]
    if smoke:
        args.append("--smoke")
    if want_compile:
        args.append("--compile")
    args.extend(["--timeout", f"{timeout:g}"])
    return args


def _run_once(
    client: Any,
    image_id: str,
    interpreter: str,
    args: Sequence[str],
    probe_dir: str,
    gpus: bool,
    timeout: float,
) -> tuple[int | None, str, str]:
    """(exit status or None when the interpreter is missing, stdout, stderr)."""
    docker = _docker()
    kwargs: dict[str, Any] = {
        "entrypoint": [interpreter],
        "command": list(args),
        "volumes": {probe_dir: {"bind": "/probe", "mode": "ro"}},
        "network_disabled": True,
        "detach": True,
        "environment": {"PYTHONDONTWRITEBYTECODE": "1"},
        "labels": {LABEL_PREFIX + "probe": "1"},
    }
    if gpus:
        kwargs["device_requests"] = [docker.types.DeviceRequest(count=-1, capabilities=[["gpu"]])]
    try:
        container = client.containers.create(image_id, **kwargs)
    except docker.errors.APIError as exc:
        raise EnvironmentProblem(
            f"could not create a container from {image_id[:19]}: {_first_line(exc)}",
            fix="check that the image runs on this engine (platform, storage space).",
        ) from None
    try:
        try:
            container.start()
        except docker.errors.APIError as exc:
            text = str(exc)
            if "executable file not found" in text or "no such file or directory" in text:
                return None, "", text
            raise
        try:
            status = container.wait(timeout=timeout)
        except Exception:
            raise EnvironmentProblem(
                f"the probe did not finish inside the image within {timeout:g} s",
                fix="raise `timeout` (the smoke probes import torch), or check the image's "
                "interpreter by hand: docker run --rm IMAGE python3 -c 'import sys'.",
            ) from None
        code = int(status.get("StatusCode", 1))
        out = container.logs(stdout=True, stderr=False).decode("utf-8", "replace")
        err = container.logs(stdout=False, stderr=True).decode("utf-8", "replace")
        if code == 127 and not out:
            return None, out, err
        return code, out, err
    finally:
        with contextlib.suppress(Exception):
            container.remove(force=True)


def verify_image(
    ref: str,
    *,
    environment: Mapping[str, str],
    host_gpus: bool,
    smoke: bool = False,
    want_compile: bool = False,
    timeout: float = 120.0,
    engine_timeout: float = 60.0,
) -> ImageRun:
    """Read the image's claims and probe it (with the host's GPUs when it has any)."""
    docker = _docker()
    client = connect(environment, engine_timeout)
    try:
        info = inspect_image(client, ref)
        run_limit = engine_timeout + (timeout * 12 if smoke else 0)
        args = probe_args(smoke, want_compile, timeout)
        notes: list[str] = []
        with tempfile.TemporaryDirectory(prefix="mlops-probe-") as probe_dir:
            shutil.copyfile(PROBE_FILE, Path(probe_dir) / "probe.py")
            Path(probe_dir).chmod(0o755)
            (Path(probe_dir) / "probe.py").chmod(0o644)
            gpus = host_gpus
            for interpreter in INTERPRETERS:
                try:
                    code, out, err = _run_once(
                        client, info.id, interpreter, args, probe_dir, gpus, run_limit
                    )
                except docker.errors.APIError as exc:
                    if not gpus:
                        raise EnvironmentProblem(
                            f"running the probe in {ref} failed: {_first_line(exc)}",
                            fix="check that the image starts on this engine.",
                        ) from None
                    # No NVIDIA container toolkit: probe without GPUs and say so.
                    notes.append(
                        f"GPUs could not be passed to the container ({_first_line(exc)}); "
                        "probed without them: install the NVIDIA container toolkit"
                    )
                    gpus = False
                    code, out, err = _run_once(
                        client, info.id, interpreter, args, probe_dir, gpus, run_limit
                    )
                if code is None:
                    continue
                if code != 0:
                    raise EnvironmentProblem(
                        f"the probe exited with status {code} inside {ref} ({interpreter}): "
                        f"{(err.strip().splitlines() or ['no output'])[-1][:300]}",
                        fix="the probe needs Python 3.8 or newer in the image; check "
                        f"`docker run --rm --entrypoint {interpreter} {ref} --version`.",
                    )
                try:
                    facts = json.loads(out)
                except json.JSONDecodeError:
                    raise EnvironmentProblem(
                        f"the probe printed no JSON inside {ref} ({interpreter})",
                        fix="check the image's interpreter; the probe needs Python 3.8+.",
                    ) from None
                return ImageRun(info, facts, interpreter, gpus, notes)
        raise EnvironmentProblem(
            f"image {ref} has neither python3 nor python on its PATH",
            fix="image mode probes the image's own interpreter: install Python 3.8+ in the "
            "image, or check its PATH.",
        )
    finally:
        client.close()
