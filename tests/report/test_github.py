"""GitHub Actions annotations: one escaped workflow command per visible finding."""

from __future__ import annotations

from typing import Any

from dara_migrate.models import AuditResult, FileError, Finding
from dara_migrate.report.github import render_github


def finding(rule: str, name: str, severity: Any, message: str, **fields: Any) -> Finding:
    defaults: dict[str, Any] = {
        "fix": "safe", "path": "shop/pages/home.py", "line": 12, "column": 5,
        "end_line": 12, "end_column": 40,
    }
    defaults.update(fields)
    return Finding(rule=rule, name=name, severity=severity, message=message, **defaults)


def audit(findings: list[Finding], errors: list[FileError] | None = None) -> AuditResult:
    return AuditResult(
        root="/srv/shop", target="1.x", target_reason="", mode="enforce", files=2,
        findings=findings, apps=[], errors=errors or [],
    )


def test_one_command_per_finding() -> None:
    output = render_github(audit([
        finding("DM101", "missing-stable-uid", "error", "DerivedVariable has no uid="),
    ]))
    assert output == (
        "::error file=shop/pages/home.py,line=12,col=5,endLine=12,endColumn=40,"
        "title=DM101 missing-stable-uid::DerivedVariable has no uid=\n"
    )


def test_command_follows_severity_and_status() -> None:
    output = render_github(audit([
        finding("DM101", "missing-stable-uid", "error", "open error"),
        finding("DM002", "unused-marker", "warning", "stale marker", line=3),
        finding("DM104", "repeated-factory", "info", "hint", line=20),
        finding("DM103", "duplicate-uid", "error", "kept local", status="acknowledged"),
        finding("DM108", "missing-route-id", "error", "fixed by the target", status="pending"),
    ]))
    assert [line.split(" ", 1)[0] for line in output.splitlines()] == [
        "::error", "::warning", "::notice", "::notice", "::notice"]


def test_suppressed_findings_are_left_out() -> None:
    output = render_github(audit([
        finding("DM103", "duplicate-uid", "error", "ignored", status="suppressed"),
        finding("DM101", "missing-stable-uid", "error", "shown"),
    ]))
    assert output.count("\n") == 1
    assert output.endswith("::shown\n")


def test_message_escapes_percent_and_newlines_only() -> None:
    output = render_github(audit([
        finding("DM101", "missing-stable-uid", "error",
                "100% of workers: a, b\r\nsee docs: `uid=`\nnon-ASCII é ✓"),
    ]))
    message = output.split("::", 2)[2]
    assert message == "100%25 of workers: a, b%0D%0Asee docs: `uid=`%0Anon-ASCII é ✓\n"


def test_property_values_also_escape_colon_and_comma() -> None:
    output = render_github(audit([
        finding("DM101", "missing-stable-uid", "error", "m", path="shop/a,b:c%d\nx.py"),
    ]))
    assert output.startswith("::error file=shop/a%2Cb%3Ac%25d%0Ax.py,line=12,")


def test_escaping_survives_a_round_trip() -> None:
    path = "pkg/we:ird,%0A\r\nname.py"
    message = "50%: a,b\r\nc %25"
    line = render_github(audit([finding("DM101", "missing-stable-uid", "error", message,
                                        path=path)])).rstrip("\n")
    head, data = line[2:].split("::", 1)
    properties = dict(item.split("=", 1) for item in head.split(" ", 1)[1].split(","))
    assert unescape(properties["file"]) == path
    assert unescape(data) == message


def unescape(text: str) -> str:
    for escaped, raw in (("%0D", "\r"), ("%0A", "\n"), ("%3A", ":"), ("%2C", ","),
                         ("%25", "%")):
        text = text.replace(escaped, raw)
    return text


def test_tool_errors_are_reported() -> None:
    output = render_github(audit([], [
        FileError("shop/big.py", "rule DM205 crashed: KeyError: 'a,b'"),
        FileError("", "rule DM301 crashed: boom"),
    ]))
    assert output.splitlines() == [
        "::error file=shop/big.py,title=dara-migrate internal error::"
        "rule DM205 crashed: KeyError: 'a,b'",
        "::error title=dara-migrate internal error::rule DM301 crashed: boom",
    ]


def test_clean_audit_prints_nothing() -> None:
    assert render_github(audit([])) == ""


def test_paths_start_from_the_repositorys_top() -> None:
    output = render_github(audit([finding("DM101", "missing-stable-uid", "error", "no uid")],
                                 [FileError("shop/main.py", "cannot read")]), "apps/shop")
    assert output.splitlines()[0].startswith("::error file=apps/shop/shop/pages/home.py,")
    assert output.splitlines()[1].startswith("::error file=apps/shop/shop/main.py,")
