"""Image mode: what an image says about itself against what is installed in it.

Tags, labels and ``ENV`` lines are written by hand and drift from what an image contains
(pytorch/pytorch#91097: the 1.13.1 image shipped torch 1.13.0). This module reads those claims
through the Docker engine, runs the stdlib-only probe inside the image, and compares.

``checks.image`` compares the claims (pure); ``verify_image`` does the engine calls,
each under a time limit.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlops_actions.env_verify.checks.image import ENV_CLAIMS, LABEL_PREFIX
from mlops_actions.errors import EnvironmentProblem, UsageError
from mlops_actions.parse import ParseError, loads_json

PROBE_FILE = Path(__file__).with_name("probe.py")
INTERPRETERS = ("python3", "python")


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
    gpus_refused: str | None = None
    """The engine's answer when it could not pass the host's GPUs (no NVIDIA toolkit)."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "ref": self.info.ref,
            "id": self.info.id,
            "tags": list(self.info.tags),
            "labels": dict(self.info.labels),
            "env": [
                e
                for e in self.info.env
                if e.split("=", 1)[0] in ENV_CLAIMS or e.startswith("NVIDIA_")
            ],
            "interpreter": self.interpreter,
            "gpus": self.gpus,
            "gpus_refused": self.gpus_refused,
            "notes": list(self.notes),
        }


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
            refused: str | None = None
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
                    # No NVIDIA container toolkit: probe without GPUs; the image-gpu-runtime
                    # check says so (a failure when a GPU is required).
                    refused = _first_line(exc)
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
                    # The image is the caller's, not ours: its output is bounded data.
                    facts = loads_json(out)
                except ParseError:
                    raise EnvironmentProblem(
                        f"the probe printed no JSON inside {ref} ({interpreter})",
                        fix="check the image's interpreter; the probe needs Python 3.8+.",
                    ) from None
                return ImageRun(info, facts, interpreter, gpus, notes, refused)
        raise EnvironmentProblem(
            f"image {ref} has neither python3 nor python on its PATH",
            fix="image mode probes the image's own interpreter: install Python 3.8+ in the "
            "image, or check its PATH.",
        )
    finally:
        client.close()
