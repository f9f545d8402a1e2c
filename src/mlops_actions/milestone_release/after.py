"""What a release may do after it exists: tell the shipped items, start a follow-up workflow.

Both are writes a re-run must not repeat. Comments carry a marker per tag and are written only
where a read finds none (and re-read after a failed write); the dispatch is sent only by the run
that created the release, so a re-run never starts the workflow a second time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from mlops_actions.errors import GitHubError
from mlops_actions.idempotent import write_once
from mlops_actions.milestone_release.gh import RepoClient
from mlops_actions.milestone_release.model import Item
from mlops_actions.milestone_release.release import has_released_marker, released_comment
from mlops_actions.runner import Runner


@dataclass(frozen=True)
class Commented:
    written: tuple[int, ...] = ()
    present: tuple[int, ...] = ()
    left: tuple[int, ...] = ()  # over the comment limit: a re-run continues with them


def comment_released(
    client: RepoClient,
    runner: Runner,
    items: Sequence[Item],
    *,
    tag: str,
    url: str,
    limit: int,
    dry: bool,
) -> Commented:
    """One "released in" comment on every shipped issue and merged pull request."""
    shipped = sorted((i for i in items if i.shipped), key=lambda i: i.number)
    written: list[int] = []
    present: list[int] = []
    left: list[int] = []
    for item in shipped:
        if len(written) >= limit:
            left.append(item.number)
            continue

        def done(number: int = item.number) -> bool:
            return has_released_marker(client.comment_bodies(number), tag)

        if dry:
            if item.comments and done():
                present.append(item.number)
            else:
                runner.print(f"[dry-run] would comment on #{item.number}: released in {tag}")
                written.append(item.number)
            continue

        def write(item: Item = item) -> None:
            client.comment(item.number, released_comment(tag, url, item))

        # The list's comment count says an item without comments holds no marker: no read.
        result = write_once(done, write, known_absent=not item.comments)
        (present if result == "present" else written).append(item.number)
    if left:
        runner.warning(
            f"{len(left)} shipped item(s) were not told they were released in {tag} "
            f"(comment-limit {limit}); run the release again to continue"
        )
    return Commented(tuple(written), tuple(present), tuple(left))


def dispatch_after(
    client: RepoClient,
    runner: Runner,
    *,
    workflow: str,
    tag: str,
    release_created: bool,
    draft: bool,
    dry: bool,
) -> bool:
    """Start ``workflow`` on the new tag; True when it was (or, dry, would be) dispatched."""
    if draft:
        runner.notice(f"release {tag} is a draft: {workflow} is not dispatched")
        return False
    if not release_created:
        runner.notice(
            f"release {tag} already existed, so {workflow} is not dispatched again "
            "(only the run that creates the release dispatches)"
        )
        return False
    if dry:
        runner.print(f"[dry-run] would dispatch {workflow} on {tag}")
        return True
    try:
        client.dispatch(workflow, tag)
    except GitHubError as exc:
        # The answer may be lost after GitHub took the request, and a re-run will not dispatch
        # (the release exists by now): say how to check and how to start it by hand.
        raise GitHubError(
            f"release {tag} was made, but dispatching {workflow} failed: {exc.message}",
            fix=f"check the Actions tab for a {workflow} run on {tag}; if there is none, start "
            f"it with `gh workflow run {workflow} --ref {tag}` ({exc.fix.rstrip('.')}).",
        ) from None
    runner.print(f"dispatched {workflow} on {tag}")
    return True
