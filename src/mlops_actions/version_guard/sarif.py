"""SARIF 2.1.0 output for ``github/codeql-action/upload-sarif`` (code scanning alerts)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mlops_actions import __version__
from mlops_actions.errors import with_fix
from mlops_actions.version_guard.rules import RULES, Finding

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://github.com/mlops-actions/mlops-actions/blob/v1/docs/version-guard.md"
_LEVEL = {"error": "error", "warning": "warning", "notice": "note"}


def _anchor(rule_id: str, name: str) -> str:
    return f"{INFORMATION_URI}#{rule_id.lower()}-{name}"


def _location(file: str, line: int | None, col: int | None) -> dict[str, Any]:
    region: dict[str, Any] = {"startLine": max(line or 1, 1)}
    if col:
        region["startColumn"] = col
    return {
        "physicalLocation": {
            "artifactLocation": {"uri": file, "uriBaseId": "%SRCROOT%"},
            "region": region,
        }
    }


def to_sarif(findings: Sequence[Finding], prefix: str = "") -> dict[str, Any]:
    """The SARIF log; ``prefix`` turns scan-root paths into repository-root paths."""

    def path(file: str) -> str:
        return f"{prefix}{file}" if prefix else file

    rules = [
        {
            "id": r.id,
            "name": r.name,
            "shortDescription": {"text": r.summary},
            "fullDescription": {"text": r.rationale},
            "help": {
                "text": f"{r.rationale}\n\nRemediation: {r.remediation}",
                "markdown": r.help_markdown(),
            },
            "helpUri": _anchor(r.id, r.name),
            "defaultConfiguration": {"level": _LEVEL[r.severity]},
            "properties": {"tags": ["pytorch", "pinning"]},
        }
        for r in RULES
    ]
    index = {r.id: i for i, r in enumerate(RULES)}
    results: list[dict[str, Any]] = []
    for f in findings:
        result: dict[str, Any] = {
            "ruleId": f.rule_id,
            "ruleIndex": index[f.rule_id],
            "level": _LEVEL[f.severity],
            "message": {"text": with_fix(f.message, f.fix)},
        }
        if f.file:
            result["locations"] = [_location(path(f.file), f.line, f.col)]
            # Code scanning keys alerts on this: the same finding on a moved line stays one alert.
            result["partialFingerprints"] = {
                "versionGuard/v1": f"{f.rule_id}:{path(f.file)}:{f.message}"
            }
        if f.related:
            result["relatedLocations"] = [
                {**_location(path(file), line, None), "id": i, "message": {"text": "also here"}}
                for i, (file, line) in enumerate(f.related)
            ]
        results.append(result)
    return {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "mlops-actions version-guard",
                        "version": __version__,
                        "semanticVersion": __version__,
                        "informationUri": INFORMATION_URI,
                        "rules": rules,
                    }
                },
                "originalUriBaseIds": {"%SRCROOT%": {"description": {"text": "repository root"}}},
                "results": results,
            }
        ],
    }
