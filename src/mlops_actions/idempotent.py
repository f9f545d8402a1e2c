"""Writes that are never sent twice: read the state first, and again after a failed write.

A write whose answer was lost (a dropped connection, a timeout, a 502 from a proxy) may have
landed. Sending it again blindly can make a second comment or a second dispatch, so a failed
write is followed by a read that says whether it landed, and only a write that did not land is
sent once more.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from mlops_actions.errors import GitHubError

WriteResult = Literal["present", "written", "landed"]


def write_once(
    done: Callable[[], bool], write: Callable[[], object], *, known_absent: bool = False
) -> WriteResult:
    """``write`` unless ``done()`` says its effect is already there.

    ``known_absent`` skips the first read when the caller already knows (an issue with no
    comments holds no marker). Returns "present" (nothing sent), "written", or "landed" (the
    write failed but its effect is there). A write that failed and did not land is sent once
    more; a second failure raises.
    """
    if not known_absent and done():
        return "present"
    try:
        write()
    except GitHubError:
        if done():
            return "landed"
        write()
    return "written"
