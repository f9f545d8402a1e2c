"""The marker comment exactly: its text, the record it carries, how it is found and read back."""

from __future__ import annotations

import json

import pytest

from mlops_actions.label_dispatch.marker import (
    MARKER,
    STATE_CLOSE,
    STATE_OPEN,
    MarkerState,
    RunStatus,
    encode_state,
    find_marker,
    flatten_metrics,
    normalize_status,
    parse_state,
    render_comment,
    transition,
    with_run,
)

SHA_A, SHA_B, SHA_C = "a" * 40, "b" * 40, "c" * 40
BOT = "github-actions[bot]"

FULL = MarkerState(
    labels_checked=True,
    problems=("p1", "p2"),
    gate="Allowed",
    routes=("gpu", "cpu"),
    dispatched=(f"gpu@{SHA_A}", f"cpu@{SHA_B}"),
    approved=(SHA_C,),
    run=RunStatus("running", "https://x/r/1", "gpu", "done well", (("loss", "0.5"), ("acc", "1"))),
)

FULL_TEXT = f"""\
{MARKER}
### Labels need attention

- p1
- p2

<details><summary>Valid labels</summary>

- `task:*`: `task:a`, `task:b`
- other: `bug`

</details>

### Routing

Allowed

Routes: `gpu`, `cpu`

Started: `gpu` at `aaaaaaa`, `cpu` at `bbbbbbb`

### Status

:arrows_counterclockwise: **running** · route `gpu` · [run](https://x/r/1)

done well

| metric | value |
| --- | --- |
| loss | 0.5 |
| acc | 1 |

{STATE_OPEN}{{"approved":["{SHA_C}"],"dispatched":["gpu@{SHA_A}","cpu@{SHA_B}"],\
"gate":"Allowed","labels_checked":true,"problems":["p1","p2"],"routes":["gpu","cpu"],\
"run":{{"metrics":[["loss","0.5"],["acc","1"]],"route":"gpu","run_url":"https://x/r/1",\
"status":"running","summary":"done well"}},"v":1}}{STATE_CLOSE}
"""


def empty_record(**fields: object) -> str:
    data = {"approved": [], "dispatched": [], "gate": "", "labels_checked": False}
    data |= {"problems": [], "routes": []}
    data |= fields
    inner = json.dumps({**data, "v": 1}, sort_keys=True, separators=(",", ":"))
    return f"{STATE_OPEN}{inner}{STATE_CLOSE}"


# -- rendering ----------------------------------------------------------------------------------


def test_every_part_of_the_comment_exactly() -> None:
    body = render_comment(FULL, {"task": ["task:a", "task:b"], "": ["bug"]})
    assert body == FULL_TEXT
    assert parse_state(body) == FULL


def test_an_empty_state_is_the_marker_and_the_record_only() -> None:
    assert render_comment(MarkerState(), {}) == f"{MARKER}\n\n{empty_record()}\n"


def test_labels_that_follow_the_taxonomy_say_so_without_the_valid_list() -> None:
    body = render_comment(MarkerState(labels_checked=True), {"task": ["task:a"]})
    assert body == (
        f"{MARKER}\n### Labels\n\n:white_check_mark: The labels follow the taxonomy.\n\n"
        f"{empty_record(labels_checked=True)}\n"
    )


def test_problems_without_a_taxonomy_list_no_valid_labels() -> None:
    body = render_comment(MarkerState(labels_checked=True, problems=("p",)), {})
    assert body == (
        f"{MARKER}\n### Labels need attention\n\n- p\n\n"
        f"{empty_record(labels_checked=True, problems=['p'])}\n"
    )


def test_unchecked_labels_show_no_labels_section() -> None:
    body = render_comment(MarkerState(problems=("p",)), {"task": ["task:a"]})
    assert "### Labels" not in body and "- p" not in body


@pytest.mark.parametrize(
    ("state", "section"),
    [
        (MarkerState(gate="Not routed: no"), "\n### Routing\n\nNot routed: no\n"),
        (MarkerState(routes=("r",)), "\n### Routing\n\n\nRoutes: `r`\n"),
        (
            MarkerState(dispatched=(f"r@{SHA_A}",)),
            "\n### Routing\n\n\nStarted: `r` at `aaaaaaa`\n",
        ),
    ],
)
def test_each_routing_fact_alone_opens_the_routing_section(
    state: MarkerState, section: str
) -> None:
    body = render_comment(state, {})
    assert body.startswith(MARKER + "\n" + section)


@pytest.mark.parametrize(
    ("run", "section"),
    [
        (RunStatus("queued"), ":hourglass: **queued**"),
        (RunStatus("succeeded", "u"), ":white_check_mark: **succeeded** · [run](u)"),
        (RunStatus("failed", route="r"), ":x: **failed** · route `r`"),
        (RunStatus("cancelled"), ":no_entry_sign: **cancelled**"),
    ],
)
def test_status_line_per_status_with_only_the_parts_given(run: RunStatus, section: str) -> None:
    body = render_comment(MarkerState(run=run), {})
    assert body.split("### Status\n\n")[1].split("\n")[0] == section
    assert "| metric |" not in body


def test_state_record_keeps_the_html_comment_closed() -> None:
    text = encode_state(MarkerState(gate="<b>a</b> & -->"))
    assert "<" not in text and ">" not in text and "&" not in text
    assert "\\u003cb\\u003ea\\u003c/b\\u003e \\u0026 --\\u003e" in text


# -- reading the record back --------------------------------------------------------------------


def test_the_last_record_in_a_body_is_the_one_read() -> None:
    first = render_comment(MarkerState(gate="old"), {})
    second = render_comment(MarkerState(gate="new"), {})
    assert parse_state(first + second).gate == "new"


@pytest.mark.parametrize(
    "body",
    [
        MARKER,
        f"{MARKER}\n{STATE_OPEN}" + '{"gate": "x"}',  # never closed
        f"{MARKER}\n{STATE_OPEN}[1, 2]{STATE_CLOSE}",  # not an object
        f"{MARKER}\n{STATE_OPEN}{{broken{STATE_CLOSE}",
    ],
)
def test_a_damaged_record_reads_as_empty(body: str) -> None:
    assert parse_state(body) == MarkerState()


def test_a_record_is_read_with_defaults_and_bad_parts_dropped() -> None:
    body = (
        f"{STATE_OPEN}"
        '{"gate": "g", "labels_checked": 1, "problems": "not a list", "routes": ["r", 2],'
        ' "run": {"status": "succeeded", "metrics": [["k", 1], ["only one"], "x", ["a", "b", "c"]]}}'
        f"{STATE_CLOSE}"
    )
    state = parse_state(body)
    assert state == MarkerState(
        labels_checked=True,
        problems=(),
        gate="g",
        routes=("r", "2"),
        run=RunStatus("succeeded", "", "", "", (("k", "1"),)),
    )
    assert parse_state(f"{STATE_OPEN}{{}}{STATE_CLOSE}") == MarkerState()


def test_a_run_with_an_unknown_status_is_no_run() -> None:
    body = f'{STATE_OPEN}{{"gate": "g", "run": {{"status": "exploded"}}}}{STATE_CLOSE}'
    assert parse_state(body) == MarkerState(gate="g")
    body = f'{STATE_OPEN}{{"run": ["running"]}}{STATE_CLOSE}'
    assert parse_state(body) == MarkerState()


def test_text_after_the_record_does_not_spoil_it() -> None:
    body = render_comment(MarkerState(gate="g"), {}) + "edited below -->\n"
    assert parse_state(body) == MarkerState(gate="g")


def test_a_run_without_metrics_reads_as_one_with_none() -> None:
    body = f'{STATE_OPEN}{{"run": {{"status": "queued", "run_url": "u"}}}}{STATE_CLOSE}'
    assert parse_state(body) == MarkerState(run=RunStatus("queued", "u"))


def test_find_marker_ignores_case_of_the_login_and_leading_space() -> None:
    body = "  \n" + render_comment(MarkerState(gate="g"), {})
    comments = [(1, BOT, "text " + MARKER), (2, "GitHub-Actions[BOT]", body), (3, BOT, body)]
    marker = find_marker(comments, BOT)
    assert marker is not None
    assert (marker.comment_id, marker.body, marker.state.gate) == (2, body, "g")
    assert find_marker([(1, "someone", body)], BOT) is None
    assert find_marker([], BOT) is None


# -- statuses and transitions -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("word", "status"),
    [
        ("queued", "queued"),
        ("pending", "queued"),
        (" Success ", "succeeded"),
        ("in_progress", "running"),
        ("in-progress", "running"),
        ("started", "running"),
        ("running", "running"),
        ("FAILURE", "failed"),
        ("failed", "failed"),
        ("succeeded", "succeeded"),
        ("canceled", "cancelled"),
        ("cancelled", "cancelled"),
        ("skipped", "cancelled"),
        ("done", None),
    ],
)
def test_status_words(word: str, status: str | None) -> None:
    assert normalize_status(word) == status


@pytest.mark.parametrize(
    ("current", "status", "url", "expected"),
    [
        (None, "queued", "u1", (True, "first status")),
        (RunStatus("succeeded", "u1"), "running", "u2", (True, "new run")),
        (RunStatus("succeeded", "u1"), "running", "", (True, "new run")),
        (RunStatus("running", ""), "queued", "", (True, "new run")),
        (RunStatus("running", "u1"), "running", "u1", (True, "same status")),
        (RunStatus("queued", "u1"), "running", "u1", (True, "queued → running")),
        (RunStatus("queued", "u1"), "succeeded", "u1", (True, "queued → succeeded")),
        (
            RunStatus("succeeded", "u1"),
            "failed",
            "u1",
            (False, "the run already ended as succeeded"),
        ),
        (
            RunStatus("cancelled", "u1"),
            "running",
            "u1",
            (False, "the run already ended as cancelled"),
        ),
        (
            RunStatus("running", "u1"),
            "queued",
            "u1",
            (False, "queued after running is out of order"),
        ),
        (None, "bogus", "u1", (False, "unknown status 'bogus'")),
        (RunStatus("queued", "u1"), "bogus", "u2", (False, "unknown status 'bogus'")),
    ],
)
def test_transitions_and_their_reasons(
    current: RunStatus | None, status: str, url: str, expected: tuple[bool, str]
) -> None:
    assert transition(current, status, url) == expected


def test_with_run_replaces_only_the_run() -> None:
    run = RunStatus("failed", "u")
    assert with_run(FULL, run) == MarkerState(
        labels_checked=True,
        problems=FULL.problems,
        gate=FULL.gate,
        routes=FULL.routes,
        dispatched=FULL.dispatched,
        approved=FULL.approved,
        run=run,
    )


# -- metrics ------------------------------------------------------------------------------------


def test_metrics_rows_exactly() -> None:
    data = {
        "loss": 0.123456789,
        "nan": float("nan"),
        "inf": float("inf"),
        "-inf": float("-inf"),
        "steps": 10,
        "ok": False,
        "yes": True,
        "none": None,
        "long": "x" * 250,
        "nested": {"deep": {"k": "v"}, "list": [1, [2]]},
    }
    assert flatten_metrics(data, 20) == (
        ("loss", "0.123457"),
        ("nan", "nan"),
        ("inf", "inf"),
        ("-inf", "-inf"),
        ("steps", "10"),
        ("ok", "false"),
        ("yes", "true"),
        ("long", "x" * 200),
        ("nested.deep.k", "v"),
        ("nested.list\\[0\\]", "1"),
        ("nested.list\\[1\\]\\[0\\]", "2"),
    )


def test_metrics_stop_at_the_limit_inside_nested_values() -> None:
    data = {"a": {"b": 1, "c": 2, "d": 3}, "e": [4, 5]}
    assert flatten_metrics(data, 2) == (("a.b", "1"), ("a.c", "2"))
    assert flatten_metrics(data, 4) == (("a.b", "1"), ("a.c", "2"), ("a.d", "3"), ("e\\[0\\]", "4"))
    assert flatten_metrics(data, 0) == ()


def test_metrics_under_a_prefix() -> None:
    assert flatten_metrics({"k": 1}, 5, prefix="eval") == (("eval.k", "1"),)
    assert flatten_metrics([7], 5, prefix="gpu") == (("gpu\\[0\\]", "7"),)
    assert flatten_metrics(3.5, 5, prefix="x") == (("x", "3.5"),)
