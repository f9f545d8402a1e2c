"""File roles and settings as the rule families read them: which files are deployed, CI-only,
library metadata or side trees; the declared stack, severities and extra environments."""

from __future__ import annotations

from typing import Any

import pytest
from packaging.version import Version

from mlops_actions.config import Config, parse_config
from mlops_actions.errors import ConfigError
from mlops_actions.pins.model import Environment, Link, Pin, ScanResult
from mlops_actions.version_guard.rules.catalog import CATALOG
from mlops_actions.version_guard.rules.roles import (
    Roles,
    file_roles,
    in_side_tree,
    is_nightly,
)
from mlops_actions.version_guard.rules.settings import (
    PolicyItem,
    Settings,
    config_environments,
    glob_match,
    parse_policy,
    settings_from_config,
)


def pin(file: str, source: str = "requirements", **kw: Any) -> Pin:
    fields: dict[str, Any] = {"component": "torch", "value": "2.4.1", "how": "exact"}
    fields.update(kw)
    return Pin(file, 1, 1, source=source, **fields)  # type: ignore[arg-type]


def scan(
    pins: list[Pin], links: list[Link] = (), stages: dict[str, Any] | None = None
) -> ScanResult:  # type: ignore[assignment]
    files = tuple(
        dict.fromkeys([p.file for p in pins] + [x for lk in links for x in (lk.src, lk.dst)])
    )
    return ScanResult("/repo", files, tuple(pins), tuple(links), (), stages or {})


@pytest.mark.parametrize(
    ("path", "side"),
    [
        ("examples/x/requirements.txt", True),
        ("Docs/requirements.txt", True),
        ("a/notebooks/b/env.yml", True),
        ("archive/Dockerfile", True),
        ("examples", False),  # a file named like a side tree is not under one
        ("src/example.py", False),
        ("requirements.txt", False),
    ],
)
def test_side_trees(path: str, side: bool) -> None:
    assert in_side_tree(path) is side


@pytest.mark.parametrize(
    ("kw", "nightly"),
    [
        ({"resolved_from": ("index https://download.pytorch.org/whl/nightly/cu121",)}, True),
        ({"raw": "--pre torch -f https://x/whl/nightly/"}, True),
        ({"value": "2.6.0.dev20241112"}, True),
        ({"value": "2.6.0rc1"}, True),
        ({"value": "2.6.0"}, False),
        ({"value": "bogus"}, False),
        ({"value": ">=2.6.0.dev0", "how": "range"}, False),
    ],
)
def test_nightly_pins(kw: dict[str, Any], nightly: bool) -> None:
    assert is_nightly(pin("r.txt", **kw)) is nightly


def test_roles_follow_installs_and_includes_from_images_and_workflows() -> None:
    pins = [
        pin("Dockerfile", "dockerfile"),
        pin("examples/Dockerfile", "dockerfile"),
        pin(".github/workflows/ci.yml", "workflow"),
        pin("requirements/prod.txt"),
        pin("requirements/base.txt"),
        pin("requirements/test.txt"),
        pin("examples/req.txt"),
        pin("requirements/dev.in"),
        pin("docs/requirements.txt"),
    ]
    links = [
        Link("installs", "Dockerfile", "requirements/prod.txt", 3),
        Link("includes", "requirements/prod.txt", "requirements/base.txt", 1),
        Link("installs", "examples/Dockerfile", "examples/req.txt", 2),
        Link("installs", ".github/workflows/ci.yml", "requirements/test.txt", 9),
        Link("installs", ".github/workflows/lint.yml", "requirements/base.txt", 9),
        Link("builds", ".github/workflows/ci.yml", "Dockerfile", 5),
        Link("installs", "setup.py", "requirements/base.txt", 1),
        Link("reads", "setup.py", "requirements/meta.txt", 1),
    ]
    roles = file_roles(scan(pins, links, {"compose/Dockerfile.gpu": ()}), Settings())
    assert roles.deployed == frozenset(
        {"Dockerfile", "requirements/prod.txt", "requirements/base.txt", "compose/Dockerfile.gpu"}
    )
    assert roles.ci_only == frozenset({"requirements/test.txt"})
    assert roles.metadata == frozenset({"requirements/base.txt", "requirements/meta.txt"})
    assert roles.deployable("Dockerfile") and roles.deployable("requirements/prod.txt")
    assert not roles.deployable("requirements/base.txt")  # metadata an image installs too
    assert roles.installed_metadata("requirements/base.txt")
    assert not roles.installed_metadata("requirements/meta.txt")
    assert not roles.deployable("examples/req.txt") and not roles.deployable(
        "requirements/test.txt"
    )


def test_config_globs_decide_before_the_defaults() -> None:
    roles = Roles(
        frozenset({"pyproject.toml", "requirements.txt", "lib/reqs.txt"}),
        Settings(deployable=("examples/*",), library=("lib/*",)),
    )
    assert roles.deployable("examples/serve.txt")
    assert not roles.deployable("lib/reqs.txt")
    assert not roles.deployable("pyproject.toml")  # library metadata by default
    assert not roles.deployable("sub/setup.cfg")
    assert roles.deployable("requirements.txt")
    assert not roles.deployable("other.txt")


def test_the_stack_and_the_story() -> None:
    roles = Roles(
        frozenset({"Dockerfile"}),
        Settings(library=("lib/*",)),
        ci_only=frozenset({"requirements/test.txt"}),
        metadata=frozenset({"requirements/meta.txt"}),
    )
    assert roles.in_stack(pin("Dockerfile", "dockerfile"))
    assert roles.in_stack(pin("env/conda.yml", "conda"))
    assert roles.in_stack(pin("requirements/test.txt"))
    assert not roles.in_stack(pin("examples/req.txt"))
    assert not roles.in_stack(pin("lib/req.txt"))
    assert not roles.in_stack(pin("requirements/meta.txt"))
    assert not roles.in_stack(pin("pyproject.toml", "pyproject"))
    assert not roles.in_stack(pin("x/pyproject.toml", "requirements"))
    assert not roles.in_stack(pin(".github/workflows/ci.yml", "workflow"))

    assert roles.tells_the_story(pin("Dockerfile", "dockerfile"))
    assert roles.tells_the_story(pin("pyproject.toml", "pyproject"))
    assert not roles.tells_the_story(pin("Dockerfile", "dockerfile", how="range", value=">=2"))
    assert not roles.tells_the_story(pin("examples/Dockerfile", "dockerfile"))
    assert not roles.tells_the_story(pin("Dockerfile", "dockerfile", value="2.6.0.dev1"))
    assert not roles.tells_the_story(pin("lib/req.txt"))
    assert not roles.tells_the_story(pin("requirements/meta.txt"))
    assert not roles.tells_the_story(pin("requirements/test.txt"))
    assert roles.tells_the_story(
        pin(".github/workflows/ci.yml", "workflow", context="job x container")
    )
    assert roles.tells_the_story(pin("action.yml", "action", context="job x service db"))
    assert not roles.tells_the_story(pin(".github/workflows/ci.yml", "workflow", context="job x"))
    deployed_ci = Roles(frozenset({"r.txt"}), Settings(), ci_only=frozenset({"r.txt"}))
    assert deployed_ci.tells_the_story(pin("r.txt"))


# -- settings -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "pattern", "match"),
    [
        ("a/b/c.txt", "a/*", True),  # * crosses /
        ("pyproject.toml", "**/pyproject.toml", True),
        ("x/pyproject.toml", "**/pyproject.toml", True),
        ("x/y/req.in", "*.in", True),  # no / in the pattern: the file name alone
        ("x/req.in", "y/*.in", False),
        ("A.txt", "a.txt", False),
    ],
)
def test_glob_match(path: str, pattern: str, match: bool) -> None:
    assert glob_match(path, pattern) is match


@pytest.mark.parametrize(
    ("component", "text", "expected"),
    [
        ("cuda", " CPU ", PolicyItem("cuda", "CPU", None, None, cpu=True)),
        ("cuda", "12.1.1", PolicyItem("cuda", "12.1.1", Version("12.1"), None)),
        ("cuda", "twelve", "'twelve' is not a CUDA version"),
        ("torch", "2.4", PolicyItem("torch", "2.4", Version("2.4"), None)),
        ("torch", "~~", "'~~' is neither a version nor a PEP 440 specifier"),
    ],
)
def test_parse_policy(component: str, text: str, expected: object) -> None:
    assert parse_policy(component, text) == expected


def test_policy_allows() -> None:
    minor = parse_policy("torch", "2.4")
    assert isinstance(minor, PolicyItem)
    assert minor.allows(Version("2.4.1")) and minor.allows(Version("2.4"))
    assert not minor.allows(Version("2.5.0")) and not minor.allows(Version("2.4.1rc1"))
    assert not minor.allows(Version("2.4.0.dev1"))
    patch = parse_policy("torch", "2.4.1")
    assert isinstance(patch, PolicyItem)
    assert patch.allows(Version("2.4.1")) and not patch.allows(Version("2.4.2"))
    pre = parse_policy("torch", "2.5rc1")
    assert isinstance(pre, PolicyItem) and pre.allows(Version("2.5.0rc1"))
    spec = parse_policy("torch", ">=2.4,<2.6")
    assert isinstance(spec, PolicyItem)
    assert spec.allows(Version("2.5.0")) and spec.allows(Version("2.6.0rc1")) is False
    assert spec.allows(Version("2.5.0rc1"))  # pre-releases count
    assert not PolicyItem("torch", "x", None, None).allows(Version("1"))


def test_settings_from_the_config() -> None:
    text = (
        "environment:\n  torch: '2.4'\n  cuda: cpu\n"
        "version-guard:\n"
        "  rules:\n    VG014: off\n    torch-not-exact: warning\n"
        "  deployable: [serve/*]\n  library: [lib/*]\n  shared: [cuda]\n"
        "  change-label: deps-ok\n"
        "  environments:\n    - {name: serving, files: ['serve/*.txt', 'serve/Dockerfile']}\n"
    )
    s = settings_from_config(parse_config(text, "c.yml"))
    assert s.severities == {"VG014": "off", "VG002": "warning"}
    assert s.severity("VG014") == "off" and s.severity("VG002") == "warning"
    assert s.severity("VG001") == "error"
    assert (s.deployable, s.library, s.shared) == (("serve/*",), ("lib/*",), ("cuda",))
    assert s.change_label == "deps-ok" and s.config_path == "c.yml"
    assert s.policy == (
        PolicyItem("torch", "2.4", Version("2.4"), None),
        PolicyItem("cuda", "cpu", None, None, cpu=True),
    )
    assert s.groups == (("serving", ("serve/*.txt", "serve/Dockerfile")),)
    empty = settings_from_config(parse_config("version: 1\n", "c.yml"))
    assert empty == Settings(config_path="c.yml")


@pytest.mark.parametrize(
    ("component", "fix"),
    [
        (
            "cuda",
            'write an exact version ("2.4.1") or a specifier (">=2.4,<2.6"); for CUDA a version '
            'such as "12.1" or "cpu".',
        ),
        ("torch", 'write an exact version ("2.4.1") or a specifier (">=2.4,<2.6").'),
    ],
)
def test_a_bad_declared_version_names_its_key(component: str, fix: str) -> None:
    with pytest.raises(ConfigError) as info:
        settings_from_config(parse_config(f"environment:\n  {component}: '~~x'\n", "c.yml"))
    assert info.value.fix == fix
    assert info.value.line == 2
    assert f"`environment.{component}`" in info.value.message


def test_config_environments_take_the_pins_of_their_files() -> None:
    pins = [pin("serve/req.txt"), pin("serve/Dockerfile", "dockerfile"), pin("train/req.txt")]
    settings = Settings(groups=(("serving", ("serve/*",)), ("none", ("nothing/*",))))
    assert config_environments(scan(pins), settings) == [
        Environment(
            "config:serving",
            "file",
            "serving",
            "config",
            ("serve/req.txt", "serve/Dockerfile"),
            (pins[0], pins[1]),
        )
    ]


def test_a_workflow_without_pins_still_installs_for_ci_only() -> None:
    pins = [pin("Dockerfile", "dockerfile"), pin("requirements/lint.txt")]
    links = [Link("installs", ".github/workflows/lint.yml", "requirements/lint.txt", 4)]
    roles = file_roles(scan(pins, links), Settings())
    assert roles.ci_only == frozenset({"requirements/lint.txt"})


def test_an_unknown_rule_in_a_config_built_by_hand_is_named() -> None:
    config = Config(path="c.yml", data={"version-guard": {"rules": {"VG999": "off"}}})
    with pytest.raises(ConfigError) as info:
        settings_from_config(config)
    assert info.value.message == "`version-guard.rules.VG999`: unknown rule"
    assert info.value.fix == f"use a rule id or name: {', '.join(sorted(CATALOG))}."
    assert info.value.file == "c.yml"


def test_a_bad_declared_version_says_what_is_wrong() -> None:
    with pytest.raises(ConfigError) as info:
        settings_from_config(parse_config("environment:\n  torch: '~~x'\n", "c.yml"))
    assert info.value.message == (
        "`environment.torch`: '~~x' is neither a version nor a PEP 440 specifier"
    )


def test_a_declared_patch_release_allows_its_pre_releases() -> None:
    patch = parse_policy("torch", "2.4.1")
    assert isinstance(patch, PolicyItem)
    assert patch.allows(Version("2.4.1rc1"))
    minor = parse_policy("torch", "2.4")
    assert isinstance(minor, PolicyItem) and not minor.allows(Version("2.4.1rc1"))


def test_a_local_action_with_pins_installs_for_ci_only() -> None:
    pins = [
        pin("Dockerfile", "dockerfile"),
        pin("ci/setup/action.yml", "action"),
        pin("req/ci.txt"),
    ]
    links = [Link("installs", "ci/setup/action.yml", "req/ci.txt", 3)]
    assert file_roles(scan(pins, links), Settings()).ci_only == frozenset({"req/ci.txt"})


def test_a_plain_file_name_pattern_matches_in_any_folder() -> None:
    assert glob_match("x/req.in", "req.in")
    assert not glob_match("x/req.in", "x/other.in")
