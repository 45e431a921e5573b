"""The stable, versioned audit JSON (SPEC.md, "Audit JSON")."""

from __future__ import annotations

import io
import json
from collections import Counter
from collections.abc import Callable
from json.encoder import encode_basestring
from typing import IO, Any

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
_ITEMS_PER_WRITE = 256
"""Findings (apps, errors) encoded into one write: few calls on the stream, and never the
whole report."""


def render_json(result: AuditResult) -> str:
    """The report `write_json` writes, as one string."""
    text = io.StringIO()
    write_json(result, text)
    return text.getvalue()


def write_json(result: AuditResult, stream: IO[str]) -> None:
    """Write the report indented, with one finding (app, error) per line: as easy to read and
    to diff as fully indented JSON, and several times faster to write for thousands of
    findings, since the json module indents only in pure Python. Findings are encoded as they
    are written, so that neither their JSON values nor the whole report are ever in memory
    at once."""
    parts = ["{\n"]
    urls: dict[str, str] = {}
    for number, (key, value) in enumerate(audit_json(result, _unencoded).items()):
        parts.append(f"  {json.dumps(key)}: " if not number else f",\n  {json.dumps(key)}: ")
        if isinstance(value, list) and value:
            parts.append("[\n    ")
            for start in range(0, len(value), _ITEMS_PER_WRITE):
                if start:
                    parts.append(",\n    ")
                parts.append(",\n    ".join([
                    _encoded_finding(item, urls) if isinstance(item, Finding)
                    else _ONE_LINE.encode(item)
                    for item in value[start:start + _ITEMS_PER_WRITE]]))
                stream.write("".join(parts))
                parts.clear()
            parts.append("\n  ]")
        else:
            parts.append(json.dumps(value, indent=2, ensure_ascii=False).replace("\n", "\n  "))
    parts.append("\n}\n")
    stream.write("".join(parts))


def _unencoded(finding: Finding) -> Finding:
    # Kept as is in the report's values: `write_json` encodes each one when it writes it.
    return finding


def _encoded_finding(finding: Finding, urls: dict[str, str]) -> str:
    """`finding_json(finding)` as `_ONE_LINE` encodes it, written directly: a dict and an
    encoder call per finding cost more than the rest of the report. `urls` keeps each
    rule's encoded URL."""
    text = encode_basestring  # what the encoder writes a str with (ensure_ascii off)
    fix = "null" if finding.fix is None else text(finding.fix)
    url = urls.get(finding.rule)
    if url is None:
        found = _url(finding.rule)
        url = urls[finding.rule] = "null" if found is None else text(found)
    uid = "" if finding.suggested_uid is None else (
        f', "suggested_uid": {text(finding.suggested_uid)}')
    related = ", ".join(
        f'{{"path": {text(r.path)}, "line": {r.line}, "message": {text(r.message)}}}'
        for r in finding.related)
    return (f'{{"rule": {text(finding.rule)}, "name": {text(finding.name)}, '
            f'"severity": {text(finding.severity)}, "fix": {fix}, '
            f'"status": {text(finding.status)}, "path": {text(finding.path)}, '
            f'"line": {finding.line}, "column": {finding.column}, '
            f'"end_line": {finding.end_line}, "end_column": {finding.end_column}, '
            f'"message": {text(finding.message)}, "url": {url}, '
            f'"fingerprint": {text(finding.fingerprint)}{uid}, "related": [{related}]}}')


def _url(code: str) -> str | None:
    rule = BY_CODE.get(code)
    return rule.url() if rule is not None else None
