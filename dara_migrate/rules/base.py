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
import os
import re
import sys
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
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
               related: list[Related] | None = None, apps: tuple[str, ...] = ()) -> Finding:
        """A finding of `rule`; `fix` is the `Fix` the rule attaches (its applicability and
        proposed id go into the report), else the kind of fix a person has to make. `apps`:
        the keys of the apps it is about, for a finding about an app itself (DM201, DM701),
        which can sit in a factory that builds several; else the apps owning its file."""
        line, column, statement = anchor or (span.line, span.col, "")
        autofix = fix if isinstance(fix, Fix) else None
        kind = autofix.applicability if autofix else rule.fix if fix == "default" else fix
        # All fields in order, by position: thousands of findings are made per audit.
        return Finding(
            rule.code, rule.name, severity or rule.severity,
            kind,  # type: ignore[arg-type]
            # Interned: many findings say the same thing, word for word, in a large project.
            facts.path, span.line, span.col, span.end_line, span.end_col, sys.intern(message),
            "open",
            autofix.proposed_id if autofix else None, related or [], "", line, column,
            statement, apps, autofix,
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
    for entry in installed_metadata("dara-migrate", "Project-URL"):
        label, _, address = entry.partition(",")
        if label.strip().lower() == "documentation" and address.strip():
            return address.strip().rstrip("/")
    return None


def installed_metadata(distribution: str, field_name: str) -> list[str]:
    """Every value of a field of an installed distribution's core metadata, from the first
    `.dist-info` (or `.egg-info`) folder of that name on `sys.path`, as `importlib.metadata`
    finds it; empty when none is installed. Read directly: importing `importlib.metadata`
    (and the email parser it reads metadata with) costs more than writing a whole report."""
    wanted = _distribution_key(distribution)
    for entry in sys.path:
        folder = entry or "."
        try:
            names = os.listdir(folder)
        except OSError:
            continue  # a missing folder or a zip archive: nothing installed there as a folder
        for name in names:
            stem, _, suffix = name.rpartition(".")
            if suffix not in ("dist-info", "egg-info") or (
                    _distribution_key(stem.partition("-")[0]) != wanted):
                continue
            metadata = os.path.join(folder, name,
                                    "METADATA" if suffix == "dist-info" else "PKG-INFO")
            try:
                with open(metadata, encoding="utf-8", errors="surrogateescape") as handle:
                    return _header_values(handle, field_name)
            except OSError:
                continue
    return []


def _distribution_key(name: str) -> str:
    """A distribution name as installers write it in folder names (`dara_migrate`)."""
    return re.sub(r"[-_.]+", "_", name).lower()


def _header_values(lines: Iterable[str], field_name: str) -> list[str]:
    """The values of one field of an RFC 822 header block (core metadata before its body);
    a folded value keeps its continuation lines."""
    values: list[str] = []
    wanted = field_name.lower()
    taking = False
    for line in lines:
        line = line.rstrip("\r\n")
        if not line:
            break
        if line[0] in " \t":
            if taking:
                values[-1] += "\n" + line
            continue
        key, _, value = line.partition(":")
        taking = key.lower() == wanted
        if taking:
            values.append(value.strip())
    return values


def fingerprint(finding: Finding, ordinal: int) -> str:
    key = f"{finding.rule}|{finding.path}|{finding.statement_hash}|{ordinal}"
    return hashlib.sha256(key.encode()).hexdigest()[:32]
