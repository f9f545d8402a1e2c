"""The taxonomy rules over one issue's labels: each problem's exact message, what is removed and
what remains, and when a permission lookup is needed."""

from __future__ import annotations

import pytest

from mlops_actions.config import parse_config
from mlops_actions.label_dispatch.model import Settings, settings_from_config
from mlops_actions.label_dispatch.taxonomy import (
    Problem,
    check_labels,
    missing_required,
    needs_sender_role,
    valid_labels,
)

TEXT = """\
label-dispatch:
  labels:
    - {name: "task:training"}
    - {name: "task:eval"}
    - {name: "gpu:required", restricted: write}
    - {name: "type:bug"}
    - {name: "type:feature"}
    - {name: "good first issue"}
  exclude: ["release:*"]
  categories:
    task: {exclusive: true, required: true}
    type: {exclusive: true}
    area: {required: true}
"""


def settings(unknown: str = "report", text: str = TEXT) -> Settings:
    return settings_from_config(
        parse_config(text + f"  unknown-labels: {unknown}\n", ".github/mlops.yml")
    )


def test_each_problem_exactly_and_nothing_removed_when_reporting() -> None:
    result = check_labels(
        settings(),
        ["task:training", "task:eval", "type:bug", "wibble", "release:2.5"],
    )
    assert result.problems == (
        Problem("unknown-label", "`wibble` is not a label of this repository's taxonomy", "wibble"),
        Problem(
            "exclusive",
            "only one `task:*` label may be set, found `task:training`, `task:eval`: "
            "remove all but one",
        ),
        Problem(
            "required",
            "a `area:*` label is required before work starts: add one of a `area:*` label",
        ),
    )
    assert result.remove == ()
    assert result.labels_after == (
        "task:training",
        "task:eval",
        "type:bug",
        "wibble",
        "release:2.5",
    )
    assert not result.ok


def test_unknown_labels_removed_when_asked() -> None:
    result = check_labels(settings("remove"), ["task:eval", "Wibble", "area:x"])
    assert result.problems == (
        Problem(
            "unknown-label",
            "`Wibble` is not a label of this repository's taxonomy and was removed",
            "Wibble",
        ),
        Problem(
            "unknown-label",
            "`area:x` is not a label of this repository's taxonomy and was removed",
            "area:x",
        ),
        Problem(
            "required",
            "a `area:*` label is required before work starts: add one of a `area:*` label",
        ),
    )
    assert result.remove == ("Wibble", "area:x")
    assert result.labels_after == ("task:eval",)


def test_unknown_labels_ignored_when_asked_or_without_a_taxonomy() -> None:
    ignored = check_labels(settings("ignore"), ["task:eval", "area:x", "wibble"])
    assert ignored.problems == () and ignored.ok
    bare = Settings()
    assert check_labels(bare, ["anything"]).problems == ()


def test_required_category_lists_its_labels() -> None:
    result = check_labels(settings(), ["type:bug", "area:x"], sender="x")
    assert [p.message for p in result.problems if p.code == "required"] == [
        "a `task:*` label is required before work starts: add one of `task:training`, `task:eval`"
    ]


def test_one_label_of_an_exclusive_category_is_fine() -> None:
    result = check_labels(settings("ignore"), ["task:eval", "type:bug", "area:x"])
    assert result.ok and result.problems == ()


@pytest.mark.parametrize(
    ("sender", "role", "removed", "message"),
    [
        (
            "reader",
            "read",
            True,
            "`gpu:required` may only be applied by someone with write access; @reader has read, "
            "so it was removed",
        ),
        (
            "",
            None,
            True,
            "`gpu:required` may only be applied by someone with write access; the sender has "
            "none, so it was removed",
        ),
        ("writer", "write", False, ""),
        ("admin", "admin", False, ""),
    ],
)
def test_a_restricted_label_needs_the_role_of_whoever_applied_it(
    sender: str, role: str | None, removed: bool, message: str
) -> None:
    labels = ["task:eval", "area:x", "gpu:required"]
    result = check_labels(
        settings("ignore"), labels, applied="GPU:Required", sender=sender, sender_role=role
    )
    if removed:
        assert result.problems == (Problem("restricted", message, "gpu:required"),)
        assert result.remove == ("gpu:required",)
        assert result.labels_after == ("task:eval", "area:x")
    else:
        assert result.problems == () and result.remove == ()


def test_a_restricted_label_added_earlier_is_not_judged_again() -> None:
    labels = ["task:eval", "area:x", "gpu:required"]
    result = check_labels(
        settings("ignore"), labels, applied="task:eval", sender="reader", sender_role="read"
    )
    assert result.problems == ()
    unapplied = check_labels(settings("ignore"), labels, sender="reader", sender_role="read")
    assert unapplied.problems == ()


def test_removing_a_label_can_leave_its_category_empty() -> None:
    text = TEXT.replace(
        '{name: "gpu:required", restricted: write}',
        '{name: "gpu:required", restricted: write}\n    - {name: "area:gpu", restricted: admin}',
    )
    s = settings("ignore", text)
    result = check_labels(
        s, ["task:eval", "area:gpu"], applied="area:gpu", sender="w", sender_role="write"
    )
    assert [p.code for p in result.problems] == ["restricted", "required"]
    assert result.labels_after == ("task:eval",)


def test_missing_required_categories() -> None:
    s = settings()
    assert missing_required(s, ["type:bug"]) == ("task", "area")
    assert missing_required(s, ["task:eval", "area:x"]) == ()
    assert missing_required(s, ["task:eval"]) == ("area",)


def test_valid_labels_by_category_in_config_order() -> None:
    assert valid_labels(settings()) == {
        "task": ["task:training", "task:eval"],
        "gpu": ["gpu:required"],
        "type": ["type:bug", "type:feature"],
        "": ["good first issue"],
    }


def test_only_a_restricted_applied_label_needs_a_lookup() -> None:
    s = settings()
    assert needs_sender_role(s, "GPU:required") is True
    assert needs_sender_role(s, "task:eval") is False
    assert needs_sender_role(s, "wibble") is False
    assert needs_sender_role(s, None) is False
    assert needs_sender_role(s, "") is False


def test_an_excluded_label_skips_only_itself() -> None:
    result = check_labels(settings(), ["release:2.5", "wibble", "task:eval", "area:x"])
    assert [p.label for p in result.problems] == ["wibble", "area:x"]


def test_without_a_sender_the_message_says_the_sender() -> None:
    result = check_labels(
        settings("ignore"), ["task:eval", "area:x", "gpu:required"], applied="gpu:required"
    )
    assert result.problems[0].message == (
        "`gpu:required` may only be applied by someone with write access; the sender has none, "
        "so it was removed"
    )
