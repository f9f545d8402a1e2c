"""The label sync plan exactly: each action, its reason, the call order and the summary table."""

from __future__ import annotations

from mlops_actions.label_dispatch.model import LabelSpec
from mlops_actions.label_dispatch.sync import ExistingLabel, SyncAction, plan_sync, render_plan

SPECS = [
    LabelSpec("task:training", color="1d76db", aliases=("training",)),
    LabelSpec("Type:Bug", color="aa0000", description="Broken"),
    LabelSpec("task:eval"),
    LabelSpec("area:docs", aliases=("docs", "doc")),
    LabelSpec("type:x", aliases=("x",)),
    LabelSpec("release:1"),
    LabelSpec("keepme", description="same", color="abcdef"),
    LabelSpec("nodesc", aliases=("nd",)),
]
EXISTING = [
    ExistingLabel("training", "EDEDED", "old"),
    ExistingLabel("type:bug", "D73A4A", None),
    ExistingLabel("docs", "ededed"),
    ExistingLabel("doc", "ededed"),
    ExistingLabel("x", "111111"),
    ExistingLabel("type:x", "222222"),
    ExistingLabel("keepme", "ABCDEF", "same"),
    ExistingLabel("stale", "ffffff"),
    ExistingLabel("release:old", "ffffff"),
    ExistingLabel("nd", "#123456", "kept"),
]

REFUSE_MERGE = (
    "cannot rename `x` to `type:x`: `type:x` already exists and GitHub cannot merge labels. "
    "Move the issues from `x` to `type:x` and delete `x`, or drop the alias"
)
REFUSE_SEVERAL = (
    "several aliases of `area:docs` exist (`docs`, `doc`); only one can be renamed. "
    "Merge them by hand first, or drop all but one alias"
)


def test_every_kind_of_action_with_its_fields() -> None:
    plan = plan_sync(SPECS, EXISTING, exclude=("release:*",), delete_unmanaged=True)
    assert plan.actions == (
        SyncAction(
            "rename",
            "training",
            new_name="task:training",
            color="1d76db",
            description="old",
            reason="alias of `task:training`; issues keep the label",
        ),
        SyncAction(
            "update",
            "type:bug",
            new_name="Type:Bug",
            color="aa0000",
            description="Broken",
            reason="name case 'type:bug' → 'Type:Bug', color D73A4A → aa0000, description",
        ),
        SyncAction("create", "task:eval", color="ededed", description=""),
        SyncAction("refuse", "docs", new_name="area:docs", reason=REFUSE_SEVERAL),
        SyncAction("unchanged", "type:x"),
        SyncAction("refuse", "x", new_name="type:x", reason=REFUSE_MERGE),
        SyncAction("exclude", "release:1", reason="matches an exclude pattern"),
        SyncAction("unchanged", "keepme"),
        SyncAction(
            "rename",
            "nd",
            new_name="nodesc",
            color="123456",
            description="kept",
            reason="alias of `nodesc`; issues keep the label",
        ),
        SyncAction("delete", "stale", reason="not in the config"),
        SyncAction("exclude", "release:old", reason="matches an exclude pattern"),
    )
    # Deletes free names first, creates come last; refused and excluded labels are no calls.
    assert [(a.kind, a.name) for a in plan.changes] == [
        ("delete", "stale"),
        ("rename", "training"),
        ("rename", "nd"),
        ("update", "type:bug"),
        ("create", "task:eval"),
    ]
    assert plan.refused == (plan.actions[3], plan.actions[5])
    counts = {k: plan.count(k) for k in ("create", "update", "rename", "delete", "refuse")}
    assert counts == {"create": 1, "update": 1, "rename": 2, "delete": 1, "refuse": 2}
    assert (plan.count("unchanged"), plan.count("exclude"), plan.count("keep")) == (2, 2, 0)


def test_the_summary_table_of_a_dry_run() -> None:
    plan = plan_sync(SPECS, EXISTING, exclude=("release:*",), delete_unmanaged=True)
    assert render_plan(plan, dry_run=True) == (
        "### Label sync plan (dry run: nothing changed)\n"
        "\n"
        "| action | label | change |\n"
        "| --- | --- | --- |\n"
        "| rename | `training` → `task:training` | alias of `task:training`; issues keep the label |\n"
        "| update | `type:bug` → `Type:Bug` | name case 'type:bug' → 'Type:Bug', "
        "color D73A4A → aa0000, description |\n"
        "| create | `task:eval` |  |\n"
        f"| refuse | `docs` → `area:docs` | {REFUSE_SEVERAL} |\n"
        f"| refuse | `x` → `type:x` | {REFUSE_MERGE} |\n"
        "| exclude | `release:1` | matches an exclude pattern |\n"
        "| rename | `nd` → `nodesc` | alias of `nodesc`; issues keep the label |\n"
        "| delete | `stale` | not in the config |\n"
        "| exclude | `release:old` | matches an exclude pattern |\n"
        "\n"
        "5 change(s): 1 create, 1 update, 2 rename, 1 delete, 2 refuse; 2 unchanged."
    )


def test_the_summary_of_nothing_to_do_when_applying() -> None:
    plan = plan_sync([LabelSpec("a", color="ffffff")], [ExistingLabel("a", "FFFFFF")])
    assert render_plan(plan, dry_run=False) == (
        "### Label sync plan\n\n0 change(s): nothing to do; 1 unchanged."
    )
    kept = plan_sync([], [ExistingLabel("b", "ffffff")])
    assert render_plan(kept, dry_run=False).endswith(
        "| keep | `b` | not in the config (set delete-unmanaged to delete) |\n"
        "\n0 change(s): 1 keep; 0 unchanged."
    )


def test_unmanaged_labels_are_kept_unless_deletion_is_asked_for() -> None:
    existing = [ExistingLabel("wontfix", "ffffff"), ExistingLabel("deps", "ffffff")]
    kept = plan_sync([], existing, exclude=("DEPS",))
    assert kept.actions == (
        SyncAction("keep", "wontfix", reason="not in the config (set delete-unmanaged to delete)"),
        SyncAction("exclude", "deps", reason="matches an exclude pattern"),
    )
    assert kept.changes == ()
    deleted = plan_sync([], existing, exclude=("DEPS",), delete_unmanaged=True)
    assert [(a.kind, a.name) for a in deleted.changes] == [("delete", "wontfix")]


def test_an_excluded_alias_is_neither_renamed_nor_deleted() -> None:
    plan = plan_sync(
        [LabelSpec("type:dep", aliases=("dependencies",))],
        [ExistingLabel("dependencies", "ffffff")],
        exclude=("dependencies",),
        delete_unmanaged=True,
    )
    assert [(a.kind, a.name) for a in plan.actions] == [
        ("create", "type:dep"),
        ("exclude", "dependencies"),
    ]


def test_update_keeps_what_the_config_leaves_open() -> None:
    # No color and no description in the config: the label's own are kept, nothing changes.
    plan = plan_sync([LabelSpec("a")], [ExistingLabel("A", "#ABCDEF", "theirs")])
    assert plan.actions == (
        SyncAction(
            "update",
            "A",
            new_name="a",
            color="abcdef",
            description="theirs",
            reason="name case 'A' → 'a'",
        ),
    )
    same = plan_sync([LabelSpec("a", description="")], [ExistingLabel("a", "abcdef", None)])
    assert same.actions == (SyncAction("unchanged", "a"),)
    described = plan_sync(
        [LabelSpec("a", description="new")], [ExistingLabel("a", "abcdef", "old")]
    )
    assert described.actions == (
        SyncAction("update", "a", color="abcdef", description="new", reason="description"),
    )


def test_a_rename_without_config_color_keeps_the_labels_color_and_description() -> None:
    plan = plan_sync(
        [LabelSpec("new", aliases=("old",), description="")],
        [ExistingLabel("old", "#00FF00", "was")],
    )
    assert plan.actions == (
        SyncAction(
            "rename",
            "old",
            new_name="new",
            color="00ff00",
            description="",
            reason="alias of `new`; issues keep the label",
        ),
    )


def test_a_created_label_takes_the_configured_color_and_description() -> None:
    plan = plan_sync([LabelSpec("n", color="123abc", description="d")], [])
    assert plan.actions == (SyncAction("create", "n", color="123abc", description="d"),)


def test_an_excluded_label_in_the_config_and_the_repository_is_listed_once() -> None:
    plan = plan_sync(
        [LabelSpec("release:1")], [ExistingLabel("Release:1", "ffffff")], exclude=("release:*",)
    )
    assert plan.actions == (
        SyncAction("exclude", "release:1", reason="matches an exclude pattern"),
    )
