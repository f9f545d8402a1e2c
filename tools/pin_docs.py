"""Pin every reference to this repository's actions in the docs' YAML examples to one release.

Examples users copy must pass zizmor's unpinned-uses audit, which wants a commit SHA; the
version goes in a comment. After a release is tagged, point the examples at it:

    .venv/bin/python tools/pin_docs.py SHA VERSION      # e.g. tools/pin_docs.py 55d4875… v1.0.0
    .venv/bin/python tools/pin_docs.py --check          # exit 1 if the examples disagree

Only fenced ```yaml blocks of README.md and docs/*.md are rewritten; prose is left alone.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
YAML_BLOCK = re.compile(r"(^```ya?ml[ \t]*\n)(.*?)(^```[ \t]*$)", re.S | re.M)
OURS = re.compile(
    r"(mlops-actions/mlops-actions(?:/[\w./-]+)?)@(?:v\d[\w.]*|[0-9a-f]{40})(?: # v[\d.]+)?"
)
PIN = re.compile(r"mlops-actions/mlops-actions(?:/[\w./-]+)?@([0-9a-f]{40}) # (v[\d.]+)")


def docs() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def rewrite(text: str, sha: str, version: str) -> str:
    def block(match: re.Match[str]) -> str:
        body = OURS.sub(lambda m: f"{m.group(1)}@{sha} # {version}", match.group(2))
        return match.group(1) + body + match.group(3)

    return YAML_BLOCK.sub(block, text)


def pins() -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for path in docs():
        for match in YAML_BLOCK.finditer(path.read_text(encoding="utf-8")):
            found.update(PIN.findall(match.group(2)))
    return found


def main(argv: list[str]) -> int:
    if argv == ["--check"]:
        found = pins()
        print("\n".join(f"{sha} # {version}" for sha, version in sorted(found)))
        return 0 if len(found) == 1 else 1
    if len(argv) != 2 or not re.fullmatch(r"[0-9a-f]{40}", argv[0]) or not argv[1].startswith("v"):
        print(__doc__, file=sys.stderr)
        return 2
    for path in docs():
        text = path.read_text(encoding="utf-8")
        new = rewrite(text, argv[0], argv[1])
        if new != text:
            path.write_text(new, encoding="utf-8")
            print(f"pinned {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
