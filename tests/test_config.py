"""The config file: valid files load, every kind of bad file gives file:line and a fix."""

from __future__ import annotations

from pathlib import Path

import jsonschema
import pytest

from mlops_actions.cli import main
from mlops_actions.config import load_config, parse_config, schema
from mlops_actions.errors import ConfigError

GOOD = """\
version: 1
environment:
  torch: "2.4.1"
  cuda: "12.1"
  python: ">=3.10,<3.13"
  require-gpu: true
version-guard:
  fail-on: warning
  exclude: ["third_party/**"]
"""


def test_good_config_loads_with_positions() -> None:
    config = parse_config(GOOD, ".github/mlops.yml")
    assert config.section("environment")["torch"] == "2.4.1"
    assert config.where(("environment", "cuda")) == (4, 3)
    assert config.where(("version-guard", "exclude", 0)) == (9, 13)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("environment:\n  torch: [2.4\n", ".github/mlops.yml:3:1: YAML syntax error"),
        (
            'environment:\n  toch: "2.4"\n',
            ".github/mlops.yml:2:3: `environment.toch`: unknown key. Fix: did you mean `torch`?",
        ),
        (
            'environment:\n  require-gpu: "yes please"\n',
            ".github/mlops.yml:2:3: `environment.require-gpu`: must be a boolean",
        ),
        (
            "environment:\n  torch: 2.4\n",
            ".github/mlops.yml:2:3: `environment.torch`: must be a string, not the number 2.4",
        ),
        ("labels:\n  - name: x\n", ".github/mlops.yml:1:1: `labels`: unknown key"),
        (
            'label-dispatch:\n  labels:\n    - color: "ffffff"\n',
            ".github/mlops.yml:3:7: `label-dispatch.labels[0]`: missing required key `name`",
        ),
        ("- a\n- b\n", ".github/mlops.yml:1: the config file must be a mapping"),
        ("version: 2\n", ".github/mlops.yml:1:1: `version`: 2 is not allowed. Fix: use 1."),
    ],
)
def test_bad_config_names_file_line_and_fix(text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, ".github/mlops.yml")
    line = caught.value.one_line()
    assert line.startswith(expected), line
    assert "\n" not in line and "Fix:" in line


def test_missing_default_config_is_empty(tmp_path: Path) -> None:
    assert load_config(None, root=tmp_path).data == {}


def test_missing_named_config_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(Path("ci/mlops.yml"), root=tmp_path, required=True)


def test_schema_is_valid_json_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(schema())


def test_published_schema_file_is_up_to_date() -> None:
    import json

    published = Path(__file__).parents[1] / "docs" / "mlops.schema.json"
    assert json.loads(published.read_text()) == schema(), (
        "docs/mlops.schema.json is stale: run `mlops-actions config schema > docs/mlops.schema.json`"
    )


def test_cli_config_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / ".github").mkdir()
    config = tmp_path / ".github" / "mlops.yml"
    config.write_text(GOOD)
    assert main(["config", "check", "--working-directory", str(tmp_path)], env={}) == 0
    assert "is valid" in capsys.readouterr().out
    config.write_text("environment:\n  torch: 2.4\n")
    assert main(["config", "check", "--working-directory", str(tmp_path)], env={}) == 2
    err = capsys.readouterr().err
    assert err.strip().splitlines() == [
        ".github/mlops.yml:2:3: error: `environment.torch`: must be a string, not the number 2.4. "
        'Fix: write a string (quote versions: "2.4").'
    ]
    assert "Traceback" not in err


def test_positional_input_also_takes_its_flag(capsys: pytest.CaptureFixture[str]) -> None:
    import json

    assert main(["config", "schema"], env={}) == 0
    positional = json.loads(capsys.readouterr().out)
    assert main(["config", "--mode", "schema"], env={}) == 0
    assert json.loads(capsys.readouterr().out) == positional == schema()
