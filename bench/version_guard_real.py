"""version-guard on real ML repositories: precision against hand labels, known defects, speed.

    python bench/version_guard_real.py [--corpus DIR] [--only NAME ...] [--json FILE]
                                       [--unlabeled FILE] [--no-gate]

The corpus is a folder of plain working trees, one per row of `version_guard_real/corpus.tsv`
(repository, commit, folder name), each the files of that one commit and nothing else: no
`.git`, no submodules. Make one with
`git clone https://github.com/OWNER/NAME src && git -C src archive COMMIT | tar -x -C DIR/FOLDER`.
No file of these repositories is ever kept in this one; only where findings are, and the
verdicts, are.

Each tree is scanned by the `mlops-actions version-guard` process as a new user would run it
(no config file, `--format json`), next to `grep -rIn torch` over the same tree as the baseline
for time. Every error and warning is matched to `version_guard_real/labels.tsv` by repository,
file, line and rule: TRUE (a real problem a team would want blocked or told) or FALSE (a false
alarm), each with the reason. `version_guard_real/defects.tsv` lists the real defects found by
reading the trees by hand; each must be reported at its line by one of the rules it names.

Prints, per repository, the findings by verdict, the defects found, crashes and the time; then
the totals: error precision (TRUE / labelled errors), warning precision, the rules that were
FALSE more than once, defects found, unlabelled findings. The bars: error precision >= 95%, no
rule FALSE more than once, every known defect found, no crash, no unlabelled error. It exits 1
when one is missed (`--no-gate` to only report). `--unlabeled FILE` writes the unlabelled
findings as label rows to fill in.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from _timing import child_env

HERE = Path(__file__).resolve().parent
DATA = HERE / "version_guard_real"
REPO_ROOT = HERE.parent
LABELLED = ("error", "warning")
ERROR_PRECISION_BAR = 0.95


@dataclass(frozen=True)
class Label:
    verdict: str  # TRUE or FALSE
    why: str


@dataclass(frozen=True)
class Defect:
    repo: str
    file: str
    line: int
    rules: frozenset[str]
    why: str


@dataclass
class RepoResult:
    repo: str
    folder: str
    seconds: float = 0.0
    grep_seconds: float = 0.0
    exit_code: int = 0
    crashed: bool = False
    files: int = 0
    pins: int = 0
    findings: list[dict[str, object]] = field(default_factory=list)
    verdicts: Counter[tuple[str, str]] = field(default_factory=Counter)
    unlabeled: list[dict[str, object]] = field(default_factory=list)
    defects_found: list[Defect] = field(default_factory=list)
    defects_missed: list[Defect] = field(default_factory=list)


def read_tsv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        rows = csv.DictReader(
            (line for line in handle if line.strip() and not line.startswith("#")),
            delimiter="\t",
        )
        return list(rows)


def split_location(location: str) -> tuple[str, int]:
    file, _, line = location.rpartition(":")
    return file, int(line)


def load_labels() -> dict[tuple[str, str, int, str], Label]:
    labels: dict[tuple[str, str, int, str], Label] = {}
    for row in read_tsv(DATA / "labels.tsv"):
        file, line = split_location(row["location"])
        verdict = row["verdict"].upper()
        if verdict not in ("TRUE", "FALSE"):
            raise SystemExit(f"labels.tsv: verdict {row['verdict']!r} is not TRUE or FALSE")
        labels[(row["repo"], file, line, row["rule"])] = Label(verdict, row["why"])
    return labels


def load_defects() -> list[Defect]:
    defects = []
    for row in read_tsv(DATA / "defects.tsv"):
        file, line = split_location(row["location"])
        rules = frozenset(r.strip() for r in row["rules"].split(",") if r.strip())
        defects.append(Defect(row["repo"], file, line, rules, row["why"]))
    return defects


def timed(argv: list[str]) -> tuple[float, subprocess.CompletedProcess[str]]:
    start = time.perf_counter()
    done = subprocess.run(
        argv, capture_output=True, text=True, env=child_env(), check=False, timeout=600
    )
    return time.perf_counter() - start, done


def scan(repo: str, folder: Path) -> RepoResult:
    result = RepoResult(repo=repo, folder=folder.name)
    result.grep_seconds, _ = timed(["grep", "-rIn", "torch", str(folder)])
    argv = [sys.executable, "-m", "mlops_actions", "version-guard", str(folder)]
    result.seconds, done = timed([*argv, "--format", "json", "--fail-on", "never"])
    result.exit_code = done.returncode
    result.crashed = done.returncode not in (0, 1) or "Traceback" in done.stderr
    if result.crashed:
        print(f"  {repo}: exit {done.returncode}: {done.stderr.strip()[-500:]}", file=sys.stderr)
        return result
    report = json.loads(done.stdout)
    result.files = len(report["files"])
    result.pins = len(report["pins"])
    result.findings = [f for f in report["findings"] if f["severity"] in LABELLED]
    return result


def judge(
    result: RepoResult,
    labels: dict[tuple[str, str, int, str], Label],
    defects: list[Defect],
) -> None:
    for finding in result.findings:
        key = (result.repo, str(finding["file"]), int(str(finding["line"])), str(finding["rule"]))
        label = labels.get(key)
        if label is None:
            result.unlabeled.append(finding)
        else:
            result.verdicts[(str(finding["severity"]), label.verdict)] += 1
    reported = {(str(f["file"]), int(str(f["line"])), str(f["rule"])) for f in result.findings}
    for defect in defects:
        if defect.repo != result.repo:
            continue
        hit = any((defect.file, defect.line, rule) in reported for rule in defect.rules)
        (result.defects_found if hit else result.defects_missed).append(defect)


def false_by_rule(
    results: list[RepoResult], labels: dict[tuple[str, str, int, str], Label]
) -> Counter[str]:
    counts: Counter[str] = Counter()
    for result in results:
        for finding in result.findings:
            key = (
                result.repo,
                str(finding["file"]),
                int(str(finding["line"])),
                str(finding["rule"]),
            )
            label = labels.get(key)
            if label is not None and label.verdict == "FALSE":
                counts[f"{finding['rule']} {finding['name']}"] += 1
    return counts


def precision(results: list[RepoResult], severity: str) -> tuple[int, int, float | None]:
    true = sum(r.verdicts[(severity, "TRUE")] for r in results)
    false = sum(r.verdicts[(severity, "FALSE")] for r in results)
    return true, false, (true / (true + false) if true + false else None)


def label_row(repo: str, finding: dict[str, object]) -> str:
    return "\t".join(
        [
            repo,
            f"{finding['file']}:{finding['line']}",
            str(finding["rule"]),
            str(finding["severity"]),
            "?",
            str(finding["message"]).replace("\t", " "),
        ]
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--corpus",
        type=Path,
        default=Path(os.environ.get("VG_CORPUS", REPO_ROOT.parent / "vg-corpus")),
        help="folder of the plain working trees (default $VG_CORPUS or ../vg-corpus)",
    )
    parser.add_argument("--only", nargs="*", default=None, help="repositories to run")
    parser.add_argument("--json", type=Path, help="write the results as JSON")
    parser.add_argument("--unlabeled", type=Path, help="write unlabelled findings as label rows")
    parser.add_argument("--no-gate", action="store_true", help="report only; always exit 0")
    args = parser.parse_args()

    corpus = read_tsv(DATA / "corpus.tsv")
    labels = load_labels()
    defects = load_defects()
    results: list[RepoResult] = []
    missing = []
    for row in corpus:
        if args.only and row["repo"] not in args.only and row["folder"] not in args.only:
            continue
        folder = args.corpus / row["folder"]
        if not folder.is_dir():
            missing.append(f"{row['repo']}@{row['commit']} -> {folder}")
            continue
        result = scan(row["repo"], folder)
        judge(result, labels, defects)
        results.append(result)
    if missing:
        print("missing working trees (see the docstring for how to make them):", file=sys.stderr)
        for line in missing:
            print(f"  {line}", file=sys.stderr)
        if not results:
            return 2

    header = (
        f"{'repository':42} {'files':>5} {'pins':>5} {'err T/F':>8} {'warn T/F':>9} "
        f"{'unlab':>5} {'defects':>8} {'s':>6} {'x grep':>7}"
    )
    print(header)
    for r in results:
        print(
            f"{r.repo:42} {r.files:5} {r.pins:5} "
            f"{r.verdicts[('error', 'TRUE')]:>4}/{r.verdicts[('error', 'FALSE')]:<3} "
            f"{r.verdicts[('warning', 'TRUE')]:>4}/{r.verdicts[('warning', 'FALSE')]:<4} "
            f"{len(r.unlabeled):5} "
            f"{len(r.defects_found):>4}/{len(r.defects_found) + len(r.defects_missed):<3} "
            f"{r.seconds:6.2f} {r.seconds / max(r.grep_seconds, 1e-6):7.1f}"
            + ("  CRASH" if r.crashed else "")
        )
    err_t, err_f, err_p = precision(results, "error")
    warn_t, warn_f, warn_p = precision(results, "warning")
    falses = false_by_rule(results, labels)
    repeated = {rule: n for rule, n in falses.items() if n > 1}
    found = sum(len(r.defects_found) for r in results)
    known = found + sum(len(r.defects_missed) for r in results)
    crashes = [r.repo for r in results if r.crashed]
    unlabeled_errors = sum(1 for r in results for f in r.unlabeled if f["severity"] == "error")
    unlabeled = sum(len(r.unlabeled) for r in results)

    def pct(value: float | None) -> str:
        return "n/a" if value is None else f"{100 * value:.1f}%"

    print()
    print(f"errors:   {err_t} TRUE, {err_f} FALSE: precision {pct(err_p)}")
    print(f"warnings: {warn_t} TRUE, {warn_f} FALSE: precision {pct(warn_p)}")
    print(f"FALSE by rule: {dict(falses) or 'none'}")
    print(f"known defects found: {found}/{known}")
    for r in results:
        for d in r.defects_missed:
            print(f"  missed: {d.repo} {d.file}:{d.line} ({', '.join(sorted(d.rules))}): {d.why}")
    print(f"crashes: {len(crashes)} {crashes or ''}")
    print(f"unlabelled findings: {unlabeled} ({unlabeled_errors} errors)")
    total = sum(r.seconds for r in results)
    grep = sum(r.grep_seconds for r in results)
    print(
        f"time: {total:.2f} s for {len(results)} repositories ({total / max(grep, 1e-6):.1f}x grep)"
    )

    if args.unlabeled:
        rows = [label_row(r.repo, f) for r in results for f in r.unlabeled]
        args.unlabeled.write_text("\n".join(rows) + ("\n" if rows else ""), encoding="utf-8")
    if args.json:
        payload = {
            "error_precision": err_p,
            "warning_precision": warn_p,
            "false_by_rule": dict(falses),
            "defects_found": found,
            "defects_known": known,
            "crashes": crashes,
            "unlabeled": unlabeled,
            "repos": [
                {
                    "repo": r.repo,
                    "files": r.files,
                    "pins": r.pins,
                    "seconds": r.seconds,
                    "grep_seconds": r.grep_seconds,
                    "verdicts": {f"{s}:{v}": n for (s, v), n in r.verdicts.items()},
                    "unlabeled": len(r.unlabeled),
                    "crashed": r.crashed,
                }
                for r in results
            ],
        }
        args.json.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")

    misses = []
    if err_p is None or err_p < ERROR_PRECISION_BAR:
        misses.append(f"error precision {pct(err_p)} < {pct(ERROR_PRECISION_BAR)}")
    if repeated:
        misses.append(f"rules FALSE more than once: {repeated}")
    if found < known:
        misses.append(f"{known - found} known defects not reported")
    if crashes:
        misses.append(f"crashes: {crashes}")
    if unlabeled_errors:
        misses.append(f"{unlabeled_errors} unlabelled errors")
    if misses:
        print("bars missed: " + "; ".join(misses))
        return 0 if args.no_gate else 1
    print("bars met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
