"""branch-policy's pure parts: the policy over (head, base, config), the config section, the
webhook payloads (GitHub's examples) and the Markdown a hostile branch name ends up in."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlops_actions.branch_policy.event import pull_facts
from mlops_actions.branch_policy.policy import Policy, check, shown
from mlops_actions.branch_policy.report import code, summary_markdown
from mlops_actions.branch_policy.settings import settings_from_config
from mlops_actions.config import parse_config
from mlops_actions.errors import ConfigError
from tests.support.events import load_event, retarget

DEFAULT = Policy()


def rules(head: str, base: str, policy: Policy = DEFAULT) -> list[str]:
    return [v.rule.id for v in check(head, base, policy).violations]


def policy_of(yaml_text: str) -> Policy:
    return settings_from_config(parse_config(yaml_text, "mlops.yml")).policy


# -- the default strategy -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("head", "base"),
    [
        ("feature/mixed-precision", "develop"),
        ("feature/123-mixed-precision", "develop"),
        ("bugfix/42-nan-in-loss", "dev"),
        ("refactor/split-trainer", "develop"),
        ("release/2.5.0", "main"),
        ("release/v1.4.0", "master"),
        ("release/2.5.0-rc.1", "main"),
        ("hotfix/2.4.2", "main"),
        ("hotfix/v2.4.2", "develop"),  # the back-merge of a hotfix through its own PR
        ("main", "develop"),  # the back-merge from production
        ("dependabot/pip/torch-2.5.0", "main"),
        ("renovate/torch-2.x", "main"),
        ("pre-commit-ci-update-config", "main"),
    ],
)
def test_the_strategy_allows(head: str, base: str) -> None:
    assert rules(head, base) == []


@pytest.mark.parametrize(
    ("head", "base", "expected"),
    [
        ("feature/mixed-precision", "main", ["BP003"]),
        ("bugfix/fix-nan", "release/2.5.0", ["BP003"]),
        ("feature/Mixed_Precision", "develop", ["BP002"]),
        ("feature/", "develop", ["BP002"]),
        ("feature/123-", "develop", ["BP002"]),
        ("feature/-x", "develop", ["BP002"]),
        ("release/2.5", "main", ["BP002"]),
        ("release/next", "develop", ["BP002"]),
        ("hotfix/2.4.02", "main", ["BP002"]),
        ("wip", "develop", ["BP001"]),
        ("Feature/x", "develop", ["BP001"]),
        ("develop", "main", ["BP004"]),
        ("main", "release/2.5.0", ["BP004"]),
        ("feature/X", "main", ["BP002", "BP003"]),
    ],
)
def test_the_strategy_refuses(head: str, base: str, expected: list[str]) -> None:
    assert rules(head, base) == expected


def test_a_violation_is_one_line_naming_rule_branch_and_fix() -> None:
    (violation,) = check("feature/mixed-precision", "main", DEFAULT).violations
    assert violation.line() == (
        "BP003 wrong-target: feature/mixed-precision -> main: feature branches merge into "
        "develop: retarget this PR to develop"
    )
    assert violation.to_dict()["rule"] == "BP003"


def test_release_and_hotfix_carry_their_version_without_v() -> None:
    assert check("release/v1.4.0", "main", DEFAULT).version == "1.4.0"
    assert check("hotfix/2.4.2", "main", DEFAULT).version == "2.4.2"
    assert check("feature/x", "develop", DEFAULT).version is None
    assert check("dependabot/npm/x", "main", DEFAULT).kind == "exempt"


def test_fixes_name_a_valid_name_for_unknown_kinds() -> None:
    (violation,) = check("wip", "develop", DEFAULT).violations
    for example in ("feature/123-mixed-precision", "release/2.5.0", "hotfix/2.5.0"):
        assert example in violation.fix
    # Every name a fix suggests passes the check itself.
    for example in re.findall(r"[a-z]+/[\w.-]+", violation.fix):
        target = "main" if example.startswith(("release/", "hotfix/")) else "develop"
        assert rules(example, target) == [], example


@given(st.text(min_size=1, max_size=40))
def test_any_name_gets_a_verdict_and_lines_stay_one_line(head: str) -> None:
    verdict = check(head, "main", DEFAULT)
    for violation in verdict.violations:
        assert "\n" not in violation.line() and "\r" not in violation.line()


# -- config ---------------------------------------------------------------------------------------
def test_trunk_based_mode_merges_everything_into_main() -> None:
    trunk = policy_of("branch-policy:\n  trunk-based: true\n")
    assert rules("feature/x", "main", trunk) == []
    assert rules("release/2.5.0", "main", trunk) == []
    assert rules("feature/x", "develop", trunk) == ["BP003"]
    assert rules("develop", "main", trunk) == ["BP001"]
    (violation,) = check("main", "develop", trunk).violations
    assert violation.rule.id == "BP004" and "trunk" in violation.message


def test_config_kinds_exemptions_and_branch_names() -> None:
    policy = policy_of(
        "branch-policy:\n"
        "  production: [stable]\n"
        "  integration: [next]\n"
        "  exempt: ['release-please--*', 'docs-bot/*']\n"
        "  kinds:\n"
        "    refactor: false\n"
        "    experiment: {prefix: 'exp/', pattern: '[a-z]+-[0-9]{4}', targets: [next, research]}\n"
        "    feature: {prefix: 'feat/'}\n"
    )
    assert rules("feat/x", "next", policy) == []
    assert rules("feature/x", "next", policy) == ["BP001"]
    assert rules("refactor/x", "next", policy) == ["BP001"]
    assert rules("exp/bert-2026", "research", policy) == []
    assert rules("exp/bert", "next", policy) == ["BP002"]
    assert rules("release/2.5.0", "stable", policy) == []
    assert rules("release/2.5.0", "main", policy) == ["BP003"]
    assert rules("docs-bot/update", "anything", policy) == []
    (violation,) = check("feat/x", "stable", policy).violations
    assert violation.fix == "retarget this PR to next"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("branch-policy:\n  trunk-base: true\n", "did you mean `trunk-based`?"),
        ("branch-policy:\n  drift: {max-comits: 3}\n", "did you mean `max-commits`?"),
        ("branch-policy:\n  kinds:\n    feature: {prefx: f/}\n", "did you mean `prefix`?"),
        ("branch-policy:\n  kinds:\n    feature: {prefix: f/, name: kebab}\n", "slug, version"),
        ("branch-policy:\n  kinds:\n    feature: true\n", "or false to remove"),
        ("branch-policy:\n  kinds:\n    feature: {prefix: f/, pattern: '('}\n", "regular expr"),
        ("branch-policy:\n  production: [main]\n  integration: [main]\n", "both production"),
        ("branch-policy:\n  release-checks: {back-merge: yes}\n", "use one of: open, warn, off"),
    ],
)
def test_config_errors_name_the_line_and_the_fix(text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        settings_from_config(parse_config(text, "mlops.yml"))
    line = caught.value.one_line()
    assert line.startswith("mlops.yml:") and expected in line, line


def test_milestone_check_follows_milestone_release_by_default() -> None:
    plain = settings_from_config(parse_config("branch-policy: {}\n", "m.yml"))
    assert not plain.milestone_required
    tied = settings_from_config(
        parse_config("milestone-release:\n  version-pattern: '^Release (?P<version>.+)$'\n", "m")
    )
    assert tied.milestone_required and tied.milestone_pattern is not None
    off = settings_from_config(
        parse_config(
            "milestone-release: {}\nbranch-policy:\n  release-checks: {milestone: off}\n", "m"
        )
    )
    assert not off.milestone_required


# -- GitHub's webhook examples --------------------------------------------------------------------
def test_opened_and_synchronize_examples() -> None:
    for name in ("pull_request.opened", "pull_request.synchronize", "pull_request.reopened"):
        facts = pull_facts("pull_request", load_event(name))
        assert facts is not None
        assert (facts.head, facts.base) == ("changes", "master")
        assert facts.action == name.split(".")[1]
        assert not facts.fork and facts.retargeted_from is None
        assert facts.head_sha and facts.base_sha


def test_edited_example_carries_the_old_base() -> None:
    facts = pull_facts("pull_request", load_event("pull_request.edited"))
    assert facts is not None and facts.action == "edited"
    assert facts.retargeted_from == "develop" and facts.base == "master"


def test_fork_pull_request_target() -> None:
    event = retarget(load_event("pull_request.opened"), head_repo="someone/Hello-World")
    facts = pull_facts("pull_request_target", event)
    assert facts is not None and facts.fork and facts.head == "changes"
    assert pull_facts("push", load_event("push")) is None


# -- hostile names in Markdown --------------------------------------------------------------------
@pytest.mark.parametrize(
    "name",
    ["feature/`rm -rf`", "x|y", "<img src=x onerror=alert(1)>", "``a`", "a\nb", "$(id)"],
)
def test_names_stay_data_in_markdown(name: str) -> None:
    span = code(name)
    inner = span.replace("\\|", "|")
    fence = re.match(r"`+", inner)
    assert fence is not None
    ticks = fence.group(0)
    assert inner.endswith(ticks) and ticks not in inner[len(ticks) : -len(ticks)].strip()
    assert "\n" not in span and "|" not in span.replace("\\|", "")


def test_summary_escapes_names_in_prose_and_spans() -> None:
    verdict = check("<b>x</b>", "main|*x*", DEFAULT)
    text = summary_markdown(verdict, verdict.violations, ["note about `main|*x*`"])
    assert "<b>" not in text.replace("`<b>x</b>`", "")
    assert "\\|" in text and "\\*x\\*" in text
    assert shown("a b") == "'a b'" and shown("feature/x") == "feature/x"
