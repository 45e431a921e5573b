"""The stable, versioned audit JSON (SPEC.md, "Audit JSON")."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from typing import Any

from dara_migrate import __version__
from dara_migrate.models import AuditResult, Finding
from dara_migrate.rules import BY_CODE

SCHEMA_VERSION = 1


def finding_json(finding: Finding) -> dict[str, Any]:
    data: dict[str, Any] = {
        "rule": finding.rule, "name": finding.name, "severity": finding.severity,
        "fix": finding.fix, "status": finding.status, "path": finding.path,
        "line": finding.line, "column": finding.column, "end_line": finding.end_line,
        "end_column": finding.end_column, "message": finding.message,
        "url": _url(finding.rule), "fingerprint": finding.fingerprint,
    }
    if finding.suggested_uid is not None:
        data["suggested_uid"] = finding.suggested_uid
    data["related"] = [
        {"path": r.path, "line": r.line, "message": r.message} for r in finding.related
    ]
    return data


def audit_json(result: AuditResult,
               finding: Callable[[Finding], Any] = finding_json) -> dict[str, Any]:
    """The report as JSON values, each finding as `finding` makes it."""
    findings = result.findings
    return {
        "version": SCHEMA_VERSION,
        "tool": "dara-migrate",
        "tool_version": __version__,
        "target": result.target,
        "target_reason": result.target_reason,
        "mode": result.mode,
        "root": result.root,
        "findings": [finding(f) for f in findings],
        "apps": [
            {"name": a.name, "path": a.path, "line": a.line, "verdict": a.verdict,
             "errors": a.errors, "blockers": a.blockers, "target": a.target,
             "target_reason": a.target_reason, "app_id": a.app_id}
            for a in result.apps
        ],
        "errors": [{"path": e.path, "message": e.message} for e in result.errors],
        "summary": {
            "files": result.files,
            "findings": len(findings),
            "by_rule": dict(sorted(Counter(f.rule for f in findings).items())),
            "by_fix": dict(sorted(Counter(f.fix for f in findings if f.fix).items())),
        },
    }


_ONE_LINE = json.JSONEncoder(ensure_ascii=False, separators=(", ", ": "))


def render_json(result: AuditResult) -> str:
    """Indented, with one finding (app, error) per line: as easy to read and to diff as fully
    indented JSON, and several times faster to write for thousands of findings, since the
    json module indents only in pure Python."""
    # Pieces joined once: each join of a large report is a further copy of it in memory.
    parts = ["{\n"]
    for key, value in audit_json(result, _encoded_finding).items():
        parts.append(f"  {json.dumps(key)}: " if len(parts) == 1 else f",\n  {json.dumps(key)}: ")
        if isinstance(value, list) and value:
            parts.append("[\n    ")
            for number, item in enumerate(value):
                line = item if isinstance(item, str) else _ONE_LINE.encode(item)
                if number:
                    parts.append(",\n    ")
                parts.append(line)
            parts.append("\n  ]")
        else:
            parts.append(json.dumps(value, indent=2, ensure_ascii=False).replace("\n", "\n  "))
    parts.append("\n}\n")
    return "".join(parts)


def _encoded_finding(finding: Finding) -> str:
    # Encoded one by one: the dicts of thousands of findings alive together cost more than
    # the report itself.
    return _ONE_LINE.encode(finding_json(finding))


def _url(code: str) -> str | None:
    rule = BY_CODE.get(code)
    return rule.url() if rule is not None else None
