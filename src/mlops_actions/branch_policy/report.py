"""The step summary of a branch-policy run: Markdown in which every branch name is data."""

from __future__ import annotations

import re
from collections.abc import Sequence

from mlops_actions.branch_policy.policy import Verdict, Violation

_ICON = {"error": ":x:", "warning": ":warning:", "notice": ":information_source:"}


def code(text: str) -> str:
    """``text`` as an inline code span that nothing in it can end early, safe in a table cell.

    Inside a code span Markdown and HTML are not interpreted; the fence is one backtick longer
    than the longest run in the text, and a pipe is escaped so it cannot split a table row.
    """
    text = " ".join(text.split())  # a newline would end the table row
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or not text else ""
    return f"{fence}{pad}{text}{pad}{fence}".replace("|", "\\|")


def _plain(text: str) -> str:
    """Prose around names: names inside it are already quoted by the policy's messages, but a
    message may carry a base name; neutralise what Markdown or HTML would read."""
    return re.sub(r"([\\`*_{}\[\]<>()#+!|~])", r"\\\1", " ".join(text.split()))


def summary_markdown(verdict: Verdict, findings: Sequence[Violation], notes: Sequence[str]) -> str:
    errors = sum(f.severity == "error" for f in findings)
    icon = ":x:" if errors else ":white_check_mark:"
    kind = verdict.kind or "unknown kind"
    out = [f"### {icon} branch-policy", ""]
    counts = f"{errors} error(s), {len(findings) - errors} warning(s) or notice(s)."
    if verdict.head:
        out.append(f"{code(verdict.head)} → {code(verdict.base)} ({_plain(kind)}): {counts}")
    else:
        out.append(f"{_plain(kind)}: {counts}")
    out.append("")
    if findings:
        out += ["| | Rule | Problem | Fix |", "|---|---|---|---|"]
        for f in findings:
            out.append(
                f"| {_ICON[f.severity]} | {f.rule.id} {f.rule.name} | {_plain(f.message)} | "
                f"{_plain(f.fix)} |"
            )
        out.append("")
    for note in notes:
        out.append(f"- {_plain(note)}")
    return "\n".join(out).rstrip() + "\n"
