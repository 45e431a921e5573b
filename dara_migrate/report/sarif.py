"""SARIF 2.1.0 log of an audit, for GitHub code scanning and other SARIF viewers.

Paths stay relative to the audited root through the `%SRCROOT%` base id; columns are
1-based code points with an exclusive end, which SARIF states with `columnKind`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

from dara_migrate import __version__
from dara_migrate.models import AuditResult, FileError, Finding, Related
from dara_migrate.rules.base import Rule

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
SRCROOT = "%SRCROOT%"
FINGERPRINT_KEY = "daraMigrate/v1"
LEVELS: dict[str, str] = {"error": "error", "warning": "warning", "info": "note"}


def render_sarif(result: AuditResult, rules: Sequence[type[Rule]]) -> str:
    """One SARIF run: the rules' descriptors, then every finding in the audit's order."""
    rule_index = {rule.code: index for index, rule in enumerate(rules)}
    run: dict[str, Any] = {
        "tool": {"driver": {
            "name": "dara-migrate",
            "version": __version__,
            "rules": [rule_descriptor(rule) for rule in rules],
        }},
        "invocations": [invocation(result.errors)],
        "originalUriBaseIds": {SRCROOT: {"uri": root_uri(result.root)}},
        "columnKind": "unicodeCodePoints",
        "results": [sarif_result(finding, rule_index) for finding in result.findings],
        "properties": {
            "target": result.target, "target_reason": result.target_reason,
            "mode": result.mode,
        },
    }
    log = {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}
    return json.dumps(log, indent=2, ensure_ascii=False) + "\n"


def rule_descriptor(rule: type[Rule]) -> dict[str, Any]:
    docs = rule.docs
    url = rule.url()
    # helpUri must be absolute: only a documentation site the package names gives one.
    descriptor: dict[str, Any] = {
        "id": rule.code,
        "name": rule.name,
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": docs.what},
        "help": {
            "text": f"Why: {docs.why}\n\nUse instead: {docs.use_instead}\n\n"
            f"Fix safety: {docs.fix_safety}",
            "markdown": f"## Why is this bad?\n\n{docs.why}\n\n## Use instead\n\n"
            f"{docs.use_instead}\n\n## Fix safety\n\n{docs.fix_safety}",
        },
        "defaultConfiguration": {"level": LEVELS[rule.severity]},
        "properties": {"fix": rule.fix},
    }
    if url is not None:
        descriptor["helpUri"] = url
    return descriptor


def sarif_result(finding: Finding, rule_index: dict[str, int]) -> dict[str, Any]:
    region = {
        "startLine": finding.line, "startColumn": finding.column,
        "endLine": finding.end_line, "endColumn": finding.end_column,
    }
    data: dict[str, Any] = {"ruleId": finding.rule}
    if finding.rule in rule_index:
        data["ruleIndex"] = rule_index[finding.rule]
    # Pending findings wait for a Dara release, not for the app: the text report counts
    # them apart and they fail no run, so they are notes here.
    data["level"] = "note" if finding.status == "pending" else LEVELS[finding.severity]
    data["message"] = {"text": finding.message}
    data["locations"] = [{"physicalLocation": physical_location(finding.path, region)}]
    if finding.related:
        data["relatedLocations"] = [
            related_location(index, related) for index, related in enumerate(finding.related)
        ]
    if finding.fingerprint:
        data["partialFingerprints"] = {FINGERPRINT_KEY: finding.fingerprint}
    if finding.status == "suppressed":
        data["suppressions"] = [{"kind": "inSource"}]
    elif finding.status == "acknowledged":
        data["suppressions"] = [{"kind": "inSource", "justification": "local-only"}]
    properties: dict[str, Any] = {"fix": finding.fix, "status": finding.status}
    if finding.suggested_uid is not None:
        properties["suggested_uid"] = finding.suggested_uid
    data["properties"] = properties
    return data


def related_location(index: int, related: Related) -> dict[str, Any]:
    return {
        "id": index,
        "physicalLocation": physical_location(related.path, {"startLine": related.line}),
        "message": {"text": related.message},
    }


def physical_location(path: str, region: dict[str, int]) -> dict[str, Any]:
    location: dict[str, Any] = {"artifactLocation": artifact_location(path)}
    # A location with no line (a whole-file problem) has no region rather than an invalid one.
    if region["startLine"] >= 1:
        location["region"] = region
    return location


def artifact_location(path: str) -> dict[str, str]:
    return {"uri": quote(path, safe="/"), "uriBaseId": SRCROOT}


def invocation(errors: Sequence[FileError]) -> dict[str, Any]:
    data: dict[str, Any] = {"executionSuccessful": not errors}
    if errors:
        data["toolExecutionNotifications"] = [notification(error) for error in errors]
    return data


def notification(error: FileError) -> dict[str, Any]:
    data: dict[str, Any] = {"level": "error", "message": {"text": error.message}}
    # A crash outside any one file (an empty path) has no location to point at.
    if error.path:
        data["locations"] = [{"physicalLocation": {"artifactLocation":
                                                   artifact_location(error.path)}}]
    return data


def root_uri(root: str) -> str:
    uri = Path(root).absolute().as_uri()
    # SARIF resolves relative uris against a base only when the base ends in a slash.
    return uri if uri.endswith("/") else uri + "/"
