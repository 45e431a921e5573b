"""Findings and verdicts: what every report renders."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Severity = Literal["error", "warning", "info"]
FixKind = Literal["safe", "unsafe", "manual", "blocker"]
Status = Literal["open", "acknowledged", "suppressed", "pending"]
Verdict = Literal["ready", "fixable", "blocked", "local", "prepared"]

SEVERITY_ORDER: dict[str, int] = {"error": 0, "warning": 1, "info": 2}


@dataclass(frozen=True, slots=True)
class Related:
    path: str
    line: int
    message: str


@dataclass(slots=True)
class Finding:
    rule: str
    name: str
    severity: Severity
    fix: FixKind | None
    path: str
    line: int
    column: int
    end_line: int
    end_column: int
    message: str
    status: Status = "open"
    suggested_uid: str | None = None
    related: list[Related] = field(default_factory=list)
    fingerprint: str = ""
    anchor_line: int = 0
    """First line of the statement the finding sits in: where markers go."""
    anchor_column: int = 1
    statement_hash: str = ""
    apps: tuple[str, ...] = ()
    """Keys (`module:name`) of the apps whose modules hold the finding."""

    def sort_key(self) -> tuple[str, int, int, str]:
        return (self.path, self.line, self.column, self.rule)


@dataclass(slots=True)
class AppVerdict:
    name: str
    path: str
    line: int
    verdict: Verdict
    errors: int
    blockers: int


@dataclass(slots=True)
class FileError:
    path: str
    message: str


@dataclass(slots=True)
class AuditResult:
    root: str
    target: str
    target_reason: str
    mode: str
    files: int
    findings: list[Finding]
    apps: list[AppVerdict]
    errors: list[FileError]

