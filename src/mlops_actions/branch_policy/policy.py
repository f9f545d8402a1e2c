"""The branch strategy as data, and the check of one pull request against it.

Everything here is a pure function over (head, base, policy): no environment, no git, no
HTTP. A branch name is hostile input (anyone who can push a branch chooses it), so it is only
ever matched against patterns and carried as data; the report layer escapes it.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from mlops_actions.versions import SEMVER

Role = Literal["production", "integration"]
ROLES: tuple[Role, ...] = ("production", "integration")
NameForm = Literal["slug", "version", "any"]

# Lowercase kebab-case, optionally led by the issue number: `123-mixed-precision`, `fix-nan`.
SLUG = re.compile(r"^(?:[0-9]+-)?[a-z0-9]+(?:-[a-z0-9]+)*$")
SLUG_EXAMPLE = "123-mixed-precision"
VERSION_EXAMPLE = "2.5.0"

DEFAULT_PRODUCTION = ("main", "master")
DEFAULT_INTEGRATION = ("develop", "dev")
# Branches that bots open and name themselves; nobody can rename them.
DEFAULT_EXEMPT = ("dependabot/*", "renovate/*", "pre-commit-ci-update-config", "release-please--*")


@dataclass(frozen=True)
class Rule:
    id: str
    name: str
    summary: str


RULES = {
    rule.id: rule
    for rule in (
        Rule("BP001", "unknown-kind", "The head's name matches no kind of branch."),
        Rule("BP002", "malformed-name", "The name after the kind's prefix has the wrong form."),
        Rule("BP003", "wrong-target", "The kind of branch does not merge into this base."),
        Rule("BP004", "long-lived-head", "A long-lived branch merges where it should not."),
        Rule("BP005", "version-not-newer", "The release is not newer than the latest release."),
        Rule("BP006", "no-milestone", "No open milestone is titled with the release version."),
        Rule("BP007", "drift", "The head is far behind its target (commits or days)."),
        Rule("BP008", "no-merge-commits", "Merges into a long-lived branch cannot be commits."),
        Rule("BP009", "back-merge", "A merged release is not yet in the integration branch."),
    )
}


@dataclass(frozen=True)
class BranchKind:
    """Short-lived branches of one kind: `feature/<slug>` merging into the integration branch."""

    name: str
    prefix: str
    form: NameForm = "slug"
    pattern: re.Pattern[str] | None = None  # replaces `form` for the part after the prefix
    targets: tuple[str, ...] = ("integration",)  # roles or branch names

    def rest_ok(self, rest: str) -> bool:
        if self.pattern is not None:
            return self.pattern.fullmatch(rest) is not None
        if self.form == "slug":
            return SLUG.match(rest) is not None
        if self.form == "version":
            return version_in_name(rest) is not None
        return bool(rest)

    def example(self) -> str:
        if self.pattern is not None:
            return f"{self.prefix}<text matching {self.pattern.pattern}>"
        return self.prefix + {"slug": SLUG_EXAMPLE, "version": VERSION_EXAMPLE}.get(
            self.form, "<name>"
        )


def version_in_name(rest: str) -> str | None:
    """The SemVer version a `release/` or `hotfix/` branch names (`v` allowed), or None."""
    text = rest[1:] if rest[:1] in ("v", "V") else rest
    return text if SEMVER.match(text) else None


DEFAULT_KINDS = (
    BranchKind("feature", "feature/"),
    BranchKind("bugfix", "bugfix/"),
    BranchKind("refactor", "refactor/"),
    # A release is cut from develop and merges into main; its back-merge into develop may go
    # through a pull request of its own, so develop is a target too.
    BranchKind("release", "release/", "version", targets=("production", "integration")),
    BranchKind("hotfix", "hotfix/", "version", targets=("production", "integration")),
)


@dataclass(frozen=True)
class Policy:
    production: tuple[str, ...] = DEFAULT_PRODUCTION
    integration: tuple[str, ...] = DEFAULT_INTEGRATION
    kinds: tuple[BranchKind, ...] = DEFAULT_KINDS
    exempt: tuple[str, ...] = DEFAULT_EXEMPT
    trunk_based: bool = False

    def role_of(self, branch: str) -> Role | None:
        if branch in self.production:
            return "production"
        if branch in self.integration and not self.trunk_based:
            return "integration"
        return None

    def names_of(self, target: str) -> tuple[str, ...]:
        """The branch names a target stands for: a role's names, or the name itself."""
        if target == "production":
            return self.production
        if target == "integration":
            return () if self.trunk_based else self.integration
        return (target,)

    def targets_of(self, kind: BranchKind) -> tuple[str, ...]:
        """Where a kind merges; in trunk-based mode the integration role folds into production."""
        if self.trunk_based:
            wanted = ["production" if t == "integration" else t for t in kind.targets]
            return tuple(dict.fromkeys(wanted))
        return kind.targets


@dataclass(frozen=True)
class Violation:
    rule: Rule
    head: str
    base: str
    message: str
    fix: str
    severity: Literal["error", "warning", "notice"] = "error"

    def line(self) -> str:
        """One line naming the rule, the branch and the fix."""
        where = f"{shown(self.head)} -> {shown(self.base)}: " if self.head else ""
        return f"{self.rule.id} {self.rule.name}: {where}{self.message}: {self.fix}"

    def to_dict(self) -> dict[str, str]:
        return {
            "rule": self.rule.id,
            "name": self.rule.name,
            "severity": self.severity,
            "head": self.head,
            "base": self.base,
            "message": self.message,
            "fix": self.fix,
        }


@dataclass(frozen=True)
class Verdict:
    head: str
    base: str
    kind: str | None  # the kind name, a role ("production"), or "exempt"
    violations: tuple[Violation, ...] = field(default_factory=tuple)
    version: str | None = None  # what a version-form kind names, without the `v`


def shown(name: str) -> str:
    """A branch name fit for one log line: as it is, or quoted when it holds anything odd."""
    return (
        name if name and name.isprintable() and not any(c.isspace() for c in name) else repr(name)
    )


def is_exempt(head: str, policy: Policy) -> bool:
    return any(fnmatch.fnmatchcase(head, pattern) for pattern in policy.exempt)


def kind_for(head: str, policy: Policy) -> BranchKind | None:
    """The kind whose prefix leads the name; the longest prefix wins (`release/hot/` over
    `release/`)."""
    matches = [k for k in policy.kinds if head.startswith(k.prefix)]
    return max(matches, key=lambda k: len(k.prefix)) if matches else None


def _join(names: Sequence[str]) -> str:
    return " or ".join(names) if names else "(none)"


def check(head: str, base: str, policy: Policy) -> Verdict:
    """The violations of one pull request from ``head`` into ``base``."""
    if is_exempt(head, policy):
        return Verdict(head, base, "exempt")
    role = policy.role_of(head)
    if role is not None:
        return _check_long_lived(head, base, role, policy)
    kind = kind_for(head, policy)
    if kind is None:
        prefixes = ", ".join(k.example() for k in policy.kinds)
        return Verdict(
            head,
            base,
            None,
            (
                _violation(
                    "BP001",
                    head,
                    base,
                    "the name matches no kind of branch",
                    f"rename it to one of {prefixes}",
                ),
            ),
        )
    violations: list[Violation] = []
    rest = head[len(kind.prefix) :]
    version = version_in_name(rest) if kind.form == "version" and kind.pattern is None else None
    if not kind.rest_ok(rest):
        violations.append(
            _violation(
                "BP002",
                head,
                base,
                f"{kind.name} branches are named {_form_words(kind)}",
                f"rename it like {kind.example()}",
            )
        )
    targets = policy.targets_of(kind)
    allowed = [name for target in targets for name in policy.names_of(target)]
    if base not in allowed:
        violations.append(
            _violation(
                "BP003",
                head,
                base,
                f"{kind.name} branches merge into {_join(_first_names(targets, policy))}",
                f"retarget this PR to {_join(_first_names(targets, policy))}",
            )
        )
    return Verdict(head, base, kind.name, tuple(violations), version)


def _first_names(targets: Sequence[str], policy: Policy) -> list[str]:
    """One name per target for messages: the role's first name (`develop`, `main`)."""
    out: list[str] = []
    for target in targets:
        names = policy.names_of(target)
        if names and names[0] not in out:
            out.append(names[0])
    return out


def _form_words(kind: BranchKind) -> str:
    if kind.pattern is not None:
        return f"{kind.prefix}<{kind.pattern.pattern}>"
    return {
        "slug": f"{kind.prefix}<lowercase-kebab-case slug, optionally led by an issue number>",
        "version": f"{kind.prefix}<SemVer version, with or without v>",
    }.get(kind.form, f"{kind.prefix}<name>")


def _check_long_lived(head: str, base: str, role: Role, policy: Policy) -> Verdict:
    """main may only flow back into develop (the back-merge); develop reaches main through a
    release branch; in trunk-based mode main is never a head."""
    allowed = policy.names_of("integration") if role == "production" else ()
    if base in allowed:
        return Verdict(head, base, role)
    release = next((k for k in policy.kinds if k.form == "version"), None)
    if role == "integration":
        how = (
            f"cut a {release.example()} branch from {head} and open the PR from it"
            if release
            else f"merge {head} through a short-lived branch"
        )
        message = "the integration branch reaches production only through a release branch"
    elif allowed:
        how = (
            f"only back-merges from {head} into {_join(_first_names(['integration'], policy))} "
            "are allowed: close this PR"
        )
        message = "the production branch merges only back into the integration branch"
    else:
        how = "close this PR; branch off main with a short-lived branch instead"
        message = "the trunk is not merged into other branches"
    return Verdict(head, base, role, (_violation("BP004", head, base, message, how),))


def _violation(rule_id: str, head: str, base: str, message: str, fix: str) -> Violation:
    return Violation(RULES[rule_id], head, base, message, fix)
