"""gpu-monitor's `gpus` output as status-comment rows: every field, the bounds, odd shapes; and
the event facts the gate reads from a webhook (fork, kind, labeled)."""

from __future__ import annotations

import json

import pytest

from mlops_actions.label_dispatch.event import Event, Subject, parse_event
from mlops_actions.label_dispatch.gpu import MAX_GPUS, gpu_rows
from tests.support.events import load_event


@pytest.mark.parametrize("text", ["", "{not json", '{"a": 1}', "[1]", '[{"index": 0}, 2]', "3"])
def test_another_shape_gives_none(text: str) -> None:
    assert gpu_rows(text) is None


def test_no_gpu_is_one_row() -> None:
    assert gpu_rows("[]") == (("GPUs", "no NVIDIA GPU visible"),)


def test_every_figure_of_one_gpu() -> None:
    gpu = {
        "index": 0,
        "name": "H100",
        "util_mean": 87.5,
        "util_p95": 99,
        "peak_mib": 61440.4,
        "peak_percent": 75.3,
        "power_mean_w": 512.0,
        "energy_wh": 0.4231,
        "temperature_max_c": 74.0,
        "throttle": ["sw-power-cap", "hw-slowdown"],
        "xid": 1,
        "ecc": 2,
        "lost": True,
    }
    assert gpu_rows(json.dumps([gpu])) == (
        (
            "GPU 0 H100",
            "util 87.5% mean, 99% p95 · peak 61440 MiB (75.3%) · 512 W mean · 0.4231 Wh · "
            "max 74 °C · throttled: sw-power-cap, hw-slowdown · 1 Xid events · 2 ECC events · "
            "lost during the run",
        ),
    )


def test_partial_and_odd_fields() -> None:
    gpus = [
        {
            "index": True,  # not a number
            "name": 5,  # not a string
            "util_mean": 50,
            "peak_mib": 1000.4,
            "energy_wh": 2,
            "throttle": ["x" * 50] + [str(i) for i in range(12)],
            "ecc": 2,
            "xid": 0,
            "lost": "yes",  # only true is true
        },
        {
            "index": 2.0,
            "name": "N" * 100,
            "util_p95": 5,  # a p95 without a mean says nothing
            "peak_percent": 3,  # a share without a peak says nothing
            "power_mean_w": float("inf"),
            "temperature_max_c": float("nan"),
        },
        {},
        {"throttle": [], "xid": None, "power_mean_w": 7},
    ]
    text = json.dumps(gpus).replace("Infinity", "1e400").replace("NaN", "1e400")
    assert gpu_rows(text) == (
        (
            "GPU ?",
            "util 50% mean · peak 1000 MiB · 2 Wh · throttled: " + "x" * 40 + ", 0, 1, 2, 3, 4, "
            "5, 6, 7, 8 · 2 ECC events",
        ),
        ("GPU 2 " + "N" * 80, "no samples"),
        ("GPU ?", "no samples"),
        ("GPU ?", "7 W mean"),
    )


def test_names_and_figures_are_table_cells() -> None:
    [(key, value)] = (
        gpu_rows(json.dumps([{"index": 1, "name": "A|<b>", "throttle": ["x|y"]}])) or ()
    )
    assert key == "GPU 1 A\\|&lt;b&gt;"
    assert value == "throttled: x\\|y"


def test_at_most_sixteen_rows_and_a_count_of_the_rest() -> None:
    rows = gpu_rows(json.dumps([{"index": i} for i in range(MAX_GPUS + 2)])) or ()
    assert len(rows) == MAX_GPUS + 1
    assert rows[MAX_GPUS - 1] == (f"GPU {MAX_GPUS - 1}", "no samples")
    assert rows[-1] == ("GPUs", "2 more not shown")
    exact = gpu_rows(json.dumps([{"index": i} for i in range(MAX_GPUS)])) or ()
    assert len(exact) == MAX_GPUS and exact[-1][0] == f"GPU {MAX_GPUS - 1}"


# -- event facts --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("head_repo", "base_repo", "fork"),
    [
        ("o/r", "o/r", False),
        ("O/R", "o/r", False),
        ("c/r", "o/r", True),
        (None, "o/r", True),  # the fork was deleted
        ("o/r", None, True),
    ],
)
def test_a_fork_is_a_head_in_another_repository(
    head_repo: str | None, base_repo: str | None, fork: bool
) -> None:
    subject = Subject(1, True, "a", (), head_repo=head_repo, base_repo=base_repo)
    assert subject.fork is fork
    assert subject.kind == "pull_request"


def test_an_issue_is_never_a_fork() -> None:
    subject = Subject(1, False, "a", (), head_repo=None, base_repo="o/r")
    assert subject.fork is False and subject.kind == "issues"


def test_labeled_needs_the_action_and_a_label() -> None:
    assert Event("issues", "labeled", "s", None, "x").labeled is True
    assert Event("issues", "labeled", "s", None, None).labeled is False
    assert Event("issues", "unlabeled", "s", None, "x").labeled is False


def test_payload_parts_of_the_wrong_type_are_ignored() -> None:
    payload = load_event("pull_request.labeled")
    payload["sender"] = "not-an-object"
    payload["label"] = ["not-an-object"]
    payload["pull_request"]["user"] = None
    payload["pull_request"]["labels"] = {"name": "x"}
    payload["pull_request"]["head"]["repo"] = None
    payload["repository"] = "not-an-object"
    payload["pull_request"]["base"]["repo"] = None
    event = parse_event("pull_request", payload)
    assert (event.sender, event.label) == ("", None)
    assert event.subject is not None
    assert (event.subject.author, event.subject.labels) == ("", ())
    assert (event.subject.head_repo, event.subject.base_repo) == (None, None)
    assert event.subject.fork is True
    assert parse_event("issues", {"issue": "x"}).subject is None
    assert parse_event("push", load_event("pull_request.labeled")).subject is None
    assert parse_event("label", {"label": {"color": "x"}}).label is None


def test_missing_names_read_as_empty() -> None:
    payload = load_event("pull_request.labeled")
    payload["sender"] = {}
    payload["pull_request"]["user"] = {}
    del payload["pull_request"]["title"]
    payload["pull_request"]["base"]["repo"] = {"full_name": "o/r"}
    payload["repository"] = {"full_name": "x/y"}
    event = parse_event("pull_request_target", payload)
    assert event.sender == "" and event.subject is not None
    assert (event.subject.author, event.subject.title) == ("", "")
    assert event.subject.base_repo == "o/r"  # the PR's own base, not the payload's repository
    issue = parse_event("issues", {"issue": {"number": 1}, "repository": {}})
    assert issue.subject is not None and issue.subject.base_repo == ""
