"""What a rule is: code, name, severity, fix kind, documentation and runnable examples.

A rule is one class. Its `VALID`/`INVALID` examples are small modules; lines of an invalid
example that must be reported end in `# expect: DMxxx`, and an invalid example that the rule's
fix rewrites carries the files as `apply` leaves them (`fixed`, Fixit's
`expected_replacement`). The test suite runs every example and its fix, and `explain` prints
them, so documentation and behaviour cannot drift apart.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from sys import intern
from typing import ClassVar

from dara_migrate.autofix import Fix
from dara_migrate.facts import Call, FileFacts, Scope, Span
from dara_migrate.index.apps import ProjectApps
from dara_migrate.index.project import ProjectIndex
from dara_migrate.models import Finding, FixKind, Related, Severity
from dara_migrate.settings import Settings

_EXPECTATION = re.compile(r"\s*# expect: [A-Z0-9 ]+$")


def without_expectations(source: str) -> str:
    """The source without its `# expect:` comments, as the documentation shows it."""
    return "\n".join(_EXPECTATION.sub("", line) for line in source.split("\n"))


@dataclass(frozen=True)
class Example:
    """A tiny project: `files` maps a path (under the project root) to its source."""

    files: dict[str, str]
    note: str = ""
    fixed: dict[str, str] = field(default_factory=dict)
    """Each file the rule's fix rewrites, as `apply` leaves it (`# expect:` comments left
    out): with `--select` the rule, and `--unsafe-fixes` unless its fix is safe."""

    @classmethod
    def module(cls, source: str, note: str = "", fixed: str | None = None) -> Example:
        return cls({"app/main.py": source}, note,
                   {"app/main.py": fixed} if fixed is not None else {})


@dataclass(frozen=True)
class RuleDocs:
    what: str
    why: str
    use_instead: str
    fix_safety: str
    confidence: str


@dataclass
class Context:
    """What rules read (the index, settings) and how they report."""

    index: ProjectIndex
    settings: Settings
    selected: frozenset[str]
    """Paths whose findings are reported (the PATHS given, within the project)."""
    apps: ProjectApps
    """Every app of the project, found once per load."""
    deployment_secrets: Mapping[str, bool] = field(default_factory=dict)
    """Deployment files (`.env*`, Dockerfiles, compose, k8s/helm YAML) by path relative to the
    root: whether each names `JWT_SECRET` (DM701; names only, never values)."""

    def report(self, rule: Rule, facts: FileFacts, span: Span, message: str, *,
               anchor: tuple[int, int, str] | None = None,
               fix: Fix | FixKind | str | None = "default", severity: Severity | None = None,
               related: list[Related] | None = None) -> Finding:
        """A finding of `rule`; `fix` is the `Fix` the rule attaches (its applicability and
        proposed id go into the report), else the kind of fix a person has to make."""
        line, column, statement = anchor or (span.line, span.col, "")
        autofix = fix if isinstance(fix, Fix) else None
        kind = autofix.applicability if autofix else rule.fix if fix == "default" else fix
        return Finding(
            rule=rule.code, name=rule.name, severity=severity or rule.severity,
            fix=kind,  # type: ignore[arg-type]
            path=facts.path, line=span.line, column=span.col, end_line=span.end_line,
            # Interned: many findings say the same thing, word for word, in a large project.
            end_column=span.end_col, message=intern(message),
            suggested_uid=autofix.proposed_id if autofix else None,
            related=related or [], anchor_line=line, anchor_column=column,
            statement_hash=statement, autofix=autofix,
        )

    def at_call(self, rule: Rule, facts: FileFacts, call: Call, message: str,
                **options: object) -> Finding:
        return self.report(rule, facts, call.span, message,
                           anchor=(call.stmt_line, call.stmt_col, call.stmt_hash),
                           **options)  # type: ignore[arg-type]

    def at_scope(self, rule: Rule, facts: FileFacts, scope: Scope, message: str,
                 **options: object) -> Finding:
        span = scope.span
        if scope.decorators:
            span = Span(scope.stmt_line, scope.stmt_col, span.end_line, span.end_col)
        return self.report(rule, facts, span, message,
                           anchor=(scope.stmt_line, scope.stmt_col, scope.stmt_hash),
                           **options)  # type: ignore[arg-type]

    def is_selected(self, facts: FileFacts) -> bool:
        return facts.path in self.selected


class Rule:
    code: ClassVar[str]
    name: ClassVar[str]
    severity: ClassVar[Severity]
    fix: ClassVar[FixKind | None]
    summary: ClassVar[str]
    docs: ClassVar[RuleDocs]
    fix_needs: ClassVar[frozenset[str]] = frozenset()
    """What the target profile's Dara must provide for the fix (`target.RUNTIME`); under a
    profile without it the finding is pending and `apply` leaves it."""
    VALID: ClassVar[list[Example]] = []
    INVALID: ClassVar[list[Example]] = []

    def check(self, ctx: Context) -> Iterator[Finding]:
        raise NotImplementedError

    @classmethod
    def url(cls) -> str | None:
        """The rule page on the documentation site the installed package names, if any
        (`dara-migrate explain CODE` always works)."""
        site = documentation_site()
        return f"{site}/rules/{cls.code}.md" if site else None


@functools.cache
def documentation_site() -> str | None:
    """`[project.urls] Documentation` of the installed dara-migrate, without a final `/`."""
    from importlib.metadata import PackageNotFoundError, metadata

    try:
        entries: list[str] = metadata("dara-migrate").get_all("Project-URL") or []
    except PackageNotFoundError:
        return None
    for entry in entries:
        label, _, address = entry.partition(",")
        if label.strip().lower() == "documentation" and address.strip():
            return address.strip().rstrip("/")
    return None


def fingerprint(finding: Finding, ordinal: int) -> str:
    key = f"{finding.rule}|{finding.path}|{finding.statement_hash}|{ordinal}"
    return hashlib.sha256(key.encode()).hexdigest()[:32]
