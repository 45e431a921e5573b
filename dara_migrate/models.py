"""Findings and verdicts: what every report renders."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from dara_migrate.autofix import Fix

from dara_migrate.target import LATEST

Severity = Literal["error", "warning", "info"]
FixKind = Literal["safe", "unsafe", "manual", "blocker"]
Status = Literal["open", "acknowledged", "suppressed", "pending"]
Verdict = Literal["ready", "fixable", "blocked", "local", "prepared"]

SEVERITY_ORDER: dict[str, int] = {"error": 0, "warning": 1, "info": 2}


def app_label(name: str, path: str, line: int) -> str:
    """How terminal output names an app: `dash (storefront/bootstrap.py:7)`."""
    return f"{name} ({shown_path(path)}:{line})"


def shown_path(path: str) -> str:
    """A path (or any name from the project) as line-based output shows it: control
    characters and line separators (a newline, a terminal escape) escaped, so each finding
    stays on its line."""
    if path.isprintable():
        return path
    return "".join(c.encode("unicode_escape").decode("ascii")
                   if unicodedata.category(c) in ("Cc", "Zl", "Zp") else c for c in path)


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
    autofix: Fix | None = field(default=None, compare=False, repr=False)
    """The fix the rule attached (its edits are built when `apply` asks); None when
    `apply` has nothing to write for this finding itself."""

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
    target: str = LATEST
    target_reason: str = ""
    app_id: str = ""
    unsafe: int = 0
    """Errors that `apply --unsafe-fixes` fixes (not counted among `blockers`)."""


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
    scope: str = ""
    """What was audited, as given on the command line (the root when nothing was)."""

    def target_lines(self) -> list[str]:
        """The profile of the run, or of each app when the apps' profiles differ."""
        return target_lines([(a.name, a.path, a.target, a.target_reason) for a in self.apps],
                            self.target, self.target_reason)


def common_target(apps: Sequence[tuple[str, str, str, str]]) -> tuple[str, str] | None:
    """The profile every app (name, config path, target, reason) gets, and why; None when
    the apps get different profiles or there is no app."""
    targets = {app[2] for app in apps}
    if len(targets) != 1:
        return None
    reasons = list(dict.fromkeys(app[3] for app in apps))
    if len(reasons) > 1:
        return targets.pop(), (f"each app's own project: {reasons[0]}, and "
                               f"{len(reasons) - 1} more alike")
    return targets.pop(), reasons[0]


def target_lines(apps: Sequence[tuple[str, str, str, str]], target: str, reason: str
                 ) -> list[str]:
    """One line for the profile when every app (name, config path, target, reason) has the
    same; else one line per app saying which it gets and why."""
    if len({app[2] for app in apps}) > 1:
        return [f"target {app_target} for app {name} ({path}): {why}"
                for name, path, app_target, why in apps]
    target, reason = common_target(apps) or (target, reason)
    return [f"target {target} ({reason})"]
