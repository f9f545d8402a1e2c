"""Shell scanning: the command forms pins hide in, checked word by word and against shlex."""

from __future__ import annotations

import shlex

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlops_actions.pins.shell import scan_shell, split_words


def _pins(text: str) -> list[tuple[str, str, str | None, str]]:
    """(component, value, variant, the word at the pin's offset) for each pin."""
    out = []
    for p in scan_shell(text).pins:
        word = text[p.offset :].split()[0] if text[p.offset :].split() else ""
        out.append((p.decoded.component, p.decoded.value, p.decoded.variant, word))
    return out


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            'if [ "$GPU" = 1 ]; then pip install torch==2.4.1+cu121; '
            "else pip install torch==2.4.1+cpu; fi",
            [("torch", "2.4.1+cu121", "cu121"), ("torch", "2.4.1+cpu", "cpu")],
        ),
        (
            'if [ -n "$X" ]; then true; elif true; then pip install torch==2.3.0; fi',
            [("torch", "2.3.0", None)],
        ),
        ("for p in a; do pip install torchvision==0.19.1; done", [("torchvision", "0.19.1", None)]),
        (
            "apt-get update && pip install torchaudio==2.4.1 || true; pip3 install torch==2.4.1",
            [("torchaudio", "2.4.1", None), ("torch", "2.4.1", None)],
        ),
        ("python -m uv pip install --system torch==2.5.1", [("torch", "2.5.1", None)]),
        ("uv pip install torch==2.5.1", [("torch", "2.5.1", None)]),
        ("pip3.10 install torch==2.3.1", [("torch", "2.3.1", None)]),
        ("pip${PYTHON_VERSION} install torch==2.2.2", [("torch", "2.2.2", None)]),
        ("python3.11 -m pip install --no-cache-dir torch==2.1.2", [("torch", "2.1.2", None)]),
        ("/opt/conda/bin/python -u -m pip install torch==2.1.0", [("torch", "2.1.0", None)]),
        (
            "conda run -n env --no-capture-output pip install torch==2.0.1",
            [("torch", "2.0.1", None)],
        ),
        (
            "pip install \\\n  torch==1.13.1 \\\n  torchvision==0.14.1",
            [("torch", "1.13.1", None), ("torchvision", "0.14.1", None)],
        ),
        ("sudo -H pip --no-cache-dir install torch==2.4.0", [("torch", "2.4.0", None)]),
        ("timeout 600 pip install torch==2.4.1", [("torch", "2.4.1", None)]),
        ("(cd sub && pip install torch==2.4.1)", [("torch", "2.4.1", None)]),
        ('bash -c "pip install torch==2.2.0"', [("torch", "2.2.0", None)]),
        (
            "uv pip install --torch-backend cu126 torch==2.6.0",
            [("cuda", "12.6", "cu126"), ("torch", "2.6.0", "cu126")],
        ),
        (
            "pip install dist/torch-2.1.0-cp310-cp310-linux_x86_64.whl",
            [("torch", "2.1.0", None)],
        ),
    ],
)
def test_command_forms_that_install_pins(
    text: str, expected: list[tuple[str, str, str | None]]
) -> None:
    got = _pins(text)
    assert [g[:3] for g in got] == expected
    # Every pin points at the word it was read from.
    for component, _, _, word in got:
        assert component in word or word.startswith(("cu", "--torch-backend"))


def test_commands_that_are_not_installs_give_nothing() -> None:
    for text in (
        "echo pip install torch==1.0",
        "python train.py --torch 2.1",
        "pip download torch==2.1.0",
        "uv add torch==2.1.0",
        "# pip install torch==2.1.0",
        "conda list torch",
    ):
        assert scan_shell(text).pins == (), text


def test_local_projects_are_installs_of_the_project_not_broken_requirements() -> None:
    result = scan_shell('pip install -e .[dev,gpu] ./sub "/app[x]" ".[torch]"')
    assert result.errors == ()
    assert result.pins == ()
    assert [(f.path, f.kind, f.extras) for f in result.files] == [
        (".", "project", ("dev", "gpu")),
        ("sub", "project", ()),
        ("/app", "project", ("x",)),
        (".", "project", ("torch",)),
    ]


def test_scripts_that_commands_run() -> None:
    result = scan_shell("bash -e ci/install.sh && ./scripts/setup.sh arg; source env.sh")
    assert [(f.path, f.kind) for f in result.files] == [
        ("ci/install.sh", "script"),
        ("./scripts/setup.sh", "script"),
        ("env.sh", "script"),
    ]


def test_torch_backend_auto_and_get_pip_are_recorded() -> None:
    (auto, torch) = scan_shell("uv pip install --torch-backend=auto torch==2.5.1").pins
    assert (auto.decoded.component, auto.decoded.value, auto.decoded.how) == (
        "cuda",
        "auto",
        "latest",
    )
    assert "driver of the machine that runs the install" in (auto.decoded.reason or "")
    assert torch.decoded.variant is None
    (py,) = scan_shell("curl -sSL https://bootstrap.pypa.io/pip/3.6/get-pip.py | python3").pins
    assert (py.decoded.component, py.decoded.value) == ("python", "3.6")


# Words shlex can split on its own: no shell operators, no expansions, no comments.
_WORD = st.text(
    alphabet=st.characters(codec="ascii", categories=["L", "N"], include_characters="-_=.+/:[],@~"),
    min_size=1,
    max_size=12,
)
_QUOTED = st.one_of(
    _WORD,
    _WORD.map(lambda w: f"'{w} x'"),
    _WORD.map(lambda w: f'"{w} y"'),
    _WORD.map(lambda w: f"a\\ {w}"),
)


@given(st.lists(_QUOTED, min_size=1, max_size=8))
def test_words_agree_with_shlex(words: list[str]) -> None:
    line = " ".join(words)
    ours = [w.text for command in split_words(line) for w in command]
    assert ours == shlex.split(line)


@given(st.text(max_size=200))
def test_scanning_is_total(text: str) -> None:
    scan_shell(text)


def test_project_installs_follow_cd_and_drop_what_cd_hides() -> None:
    def projects(text: str) -> list[str]:
        return [f.path for f in scan_shell(text).files if f.kind == "project"]

    assert projects("cd sub && pip install -e .[x]") == ["sub"]
    assert projects("pushd a; popd; pip install .") == ["."]
    # Another project: cloned and entered, or reached through a variable.
    assert projects("git clone https://x/y.git && cd y && pip install .") == ["y"]
    assert projects('cd "$SRC" && pip install .') == []
    assert projects("cd /tmp/build && pip install . && cd - && pip install .") == []
