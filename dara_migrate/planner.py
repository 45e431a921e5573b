"""Planning across findings: which of the fixes the rules attached `apply` makes in a round
(and which uids it refuses), and the escape hatch and markers for the errors that remain."""

from __future__ import annotations

import textwrap
from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping
from pathlib import Path

from dara_migrate.autofix import MARKER_PREFIX, FixRound
from dara_migrate.autofix import FixOptions as FixOptions
from dara_migrate.autofix import PlannedFix as PlannedFix
from dara_migrate.edits import (
    AddMarker,
    Edit,
    InsertAfter,
    QuoteStyles,
    RemoveComments,
    RemoveStatement,
    literal,
)
from dara_migrate.engine import Project
from dara_migrate.facts import FileFacts
from dara_migrate.files import read_source
from dara_migrate.index.apps import App
from dara_migrate.index.definitions import literal_uids
from dara_migrate.layout import line_length, split_lines
from dara_migrate.models import Finding
from dara_migrate.target import DEFAULT_REASON as DEFAULT_REASON
from dara_migrate.target import (
    ESCAPE_HATCH_ATTRIBUTE,
    ESCAPE_HATCH_VALUE,
    MODE_ATTRIBUTE,
)

HATCH_PREFIX = "# dara-migrate: this app keeps process-local state"


def plan_code_fixes(project: Project, options: FixOptions, overlay_text: Callable[[str], str],
                    refused: dict[str, str] | None = None) -> list[PlannedFix]:
    """The fixes the rules attached to open findings, and to findings a `local-only` marker
    keeps behind the escape hatch (a later run may fix what an earlier one could not: with
    `--unsafe-fixes`, or a newer version); safe ones, and unsafe ones when asked for. A uid
    that is already taken anywhere in the project, or that another fix writes, is never
    written: the fix is left out and `refused` says why (by finding fingerprint)."""
    quotes: dict[str, str] = {}
    styles = QuoteStyles(project.index.files, overlay_text)

    def quote(path: str) -> str:
        if path not in quotes:
            quotes[path] = styles(path)
        return quotes[path]

    planning = FixRound(project.index, project.known_apps.apps, overlay_text, quote, options)
    taken: dict[str, tuple[str, int]] | None = None
    planned: list[PlannedFix] = []
    for finding in project.findings:
        fix = finding.autofix
        if finding.status not in ("open", "acknowledged") or fix is None:
            continue
        if fix.applicability == "unsafe" and not options.unsafe and options.accept is None:
            continue
        planned_fix = fix.plan(finding, planning)
        if planned_fix is None:
            continue
        uid = fix.written_uid(finding, planning)
        if uid is not None:
            taken = dict(literal_uids(project.index)) if taken is None else taken
            if uid in taken:
                path, line = taken[uid]
                if refused is not None:
                    refused[finding.fingerprint] = (
                        f"{finding.path}:{finding.line}: uid {uid!r} not written: "
                        f"{path}:{line} already uses it")
                continue
        if options.accept is not None and not options.accept(planned_fix):
            continue
        if uid is not None and taken is not None:
            taken[uid] = (finding.path, finding.line)
        planned.append(planned_fix)
    return planned


def plan_fix(project: Project, facts: FileFacts, finding: Finding, quote: str,
             options: FixOptions, text: str | None = None) -> PlannedFix | None:
    """The edits of the fix the rule attached to one finding (in `facts`, whose text is
    `text` when given, else the file's), or None when it has none `apply` can make."""
    if finding.autofix is None:
        return None

    def text_of(path: str) -> str:
        if path == facts.path and text is not None:
            return text
        return read_source(project.settings.root / path).text

    styles = QuoteStyles(project.index.files, text_of)

    def quote_of(path: str) -> str:
        return quote if path == facts.path else styles(path)

    planning = FixRound(project.index, project.known_apps.apps, text_of, quote_of, options)
    return finding.autofix.plan(finding, planning)


def remaining_errors(project: Project, fixed: Collection[Finding] = ()) -> list[Finding]:
    """Errors `apply` could not fix: what needs the escape hatch. `fixed`: findings whose
    fixes are being made, counted as gone."""
    gone = {id(finding) for finding in fixed}
    return [f for f in project.findings if _remains(f) and id(f) not in gone]


def _remains(finding: Finding) -> bool:
    """Whether a finding is an error that still needs the escape hatch."""
    return (finding.severity == "error" and finding.status in ("open", "acknowledged")
            and finding.rule != "DM001")


def remaining_by_app(project: Project, fixed: Collection[Finding] = ()
                     ) -> dict[str, list[Finding]]:
    """`remaining_errors` by app (apps x findings was seconds on monorepos)."""
    grouped: dict[str, list[Finding]] = {app.key: [] for app in project.apps}
    for finding in remaining_errors(project, fixed):
        for key in finding.apps:
            if key in grouped:
                grouped[key].append(finding)
    return grouped


_HATCH_WIDTH = 86
"""The widest the escape hatch's comment lines are, indentation included."""


def comment_width(file: Path, text: str, line: int) -> int:
    """How wide the comment lines of a block inserted after `line` of `file` (whose text is
    `text`) may be: inside a factory the block is indented, and must fit the line length."""
    bound_line = split_lines(text)[line - 1]
    indent = len(bound_line) - len(bound_line.lstrip())
    return max(min(_HATCH_WIDTH, line_length(file.parent) - indent), 40)


def hatch_comment(findings: Iterable[Finding], reason: str, width: int = _HATCH_WIDTH) -> str:
    """The comment above the escape hatch, in lines of at most `width` characters."""
    counts = Counter(f.rule for f in findings)
    summary = ", ".join(f"{code} x{count}" for code, count in sorted(counts.items()))
    text = (f"{HATCH_PREFIX[2:]} ({summary}); it scales with sticky sessions only. "
            f"Reason: {reason}.")
    return "\n".join(textwrap.wrap(text, width=width, initial_indent="# ",
                                   subsequent_indent="# ")) + "\n"


def written_reason(project: Project) -> str | None:
    """The reason an earlier run wrote in the `local-only` markers, if any."""
    for facts in project.index.files.values():
        for marker in facts.markers:
            if marker.kind == "local-only" and marker.reason:
                return marker.reason
    return None


def plan_escape_hatch(project: Project, reason: str, text_of: Callable[[str], str],
                      fixed: Collection[Finding] = (), moving: Collection[Finding] = ()
                      ) -> dict[str, list[Edit]]:
    """Escape hatch and `local-only` markers where errors remain (all but `fixed`, whose
    fixes are being made); their removal where none do. A hatch already written as it would
    be is left alone. `moving`: remaining errors that fixes move to new code, counted by the
    hatch but marked by `plan_moved_markers`."""
    edits: dict[str, list[Edit]] = defaultdict(list)
    by_app = remaining_by_app(project, fixed)
    styles = QuoteStyles(project.index.files, text_of)
    for app in project.apps:
        remaining = by_app[app.key]
        if app.bound_name is None:
            continue  # `without_hatch_site` says why; its sites get no marker either
        path = app.bound_name.facts.path
        text = text_of(path)
        block = ""
        if remaining:
            statement = (f"{app.bound_name.name}.{ESCAPE_HATCH_ATTRIBUTE} = "
                         f"{literal(ESCAPE_HATCH_VALUE, styles(path, text))}\n")
            width = comment_width(project.settings.root / path, text, app.bound_name.line)
            block = hatch_comment(remaining, reason, width) + statement
        if app.escape_hatch is not None:
            if block and _hatch_block_ends_at(text, app.escape_hatch.stmt_line, block):
                continue
            edits[path].append(RemoveStatement(app.escape_hatch.stmt_line))
        if block:
            edits[path].append(InsertAfter(app.bound_name.line, block, key="hatch"))
    markable = _markable(project, remaining_errors(project, fixed), by_app)
    gone = {id(finding) for finding in moving}
    _plan_markers(project, [f for f in markable if id(f) not in gone], reason, edits)
    return {path: file_edits for path, file_edits in edits.items() if file_edits}


def _markable(project: Project, remaining: list[Finding], by_app: Mapping[str, list[Finding]]
              ) -> list[Finding]:
    """The remaining errors that get a marker: not those of apps with no hatch site only."""
    stranded = {app.key for app in without_hatch_site(project, by_app)}
    return [f for f in remaining if not f.apps or not stranded.issuperset(f.apps)]


def plan_moved_markers(project: Project, moved: Collection[tuple[Finding, int]], reason: str,
                       fixed: Collection[Finding] = ()) -> dict[str, list[Edit]]:
    """The markers of errors that fixes being made move to new code (each finding with its
    anchor line in the fixed text), for `plan_escape_hatch(..., moving=)`'s plan."""
    line_of = {id(finding): line for finding, line in moved}
    wanted: dict[tuple[str, int], set[str]] = defaultdict(set)
    for finding in _markable(project, [f for f, _ in moved if _remains(f)],
                             remaining_by_app(project, fixed)):
        wanted[(finding.path, line_of[id(finding)])].add(finding.rule)
    edits: dict[str, list[Edit]] = defaultdict(list)
    for (path, line), codes in sorted(wanted.items()):
        edits[path].append(AddMarker(line, _marker_text(codes, reason)))
    return dict(edits)


def _hatch_block_ends_at(text: str, line: int, block: str) -> bool:
    """Whether `block` (comment lines, then a one-line statement) ends at `line` of `text`,
    at that statement's indentation."""
    lines = split_lines(text)
    wanted = split_lines(block)
    first = line - len(wanted)
    if first < 0 or line > len(lines):
        return False
    target = lines[line - 1]
    indent = target[:len(target) - len(target.lstrip())]
    return [f"{indent}{w}" for w in wanted] == lines[first:line]


def without_hatch_site(project: Project, by_app: Mapping[str, list[Finding]]) -> list[App]:
    """Apps with errors left (`remaining_by_app`) whose builder no name holds: no escape
    hatch can be set."""
    return [app for app in project.apps if app.bound_name is None and by_app[app.key]]


def _plan_markers(project: Project, remaining: list[Finding], reason: str,
                  edits: dict[str, list[Edit]]) -> None:
    wanted: dict[tuple[str, int], set[str]] = defaultdict(set)
    for finding in remaining:
        wanted[(finding.path, finding.anchor_line)].add(finding.rule)
    existing: dict[tuple[str, int], set[str]] = {}
    for facts in project.index.files.values():
        if facts.path not in project.selected:
            continue
        for marker in facts.markers:
            if marker.kind == "local-only":
                existing[(facts.path, marker.target_line)] = set(marker.codes)
    for (path, line), codes in existing.items():
        if codes != wanted.get((path, line), set()):
            edits[path].append(RemoveComments(line, MARKER_PREFIX))
    for (path, line), codes in sorted(wanted.items()):
        if existing.get((path, line), set()) == codes:
            continue
        edits[path].append(AddMarker(line, _marker_text(codes, reason)))


def _marker_text(codes: Iterable[str], reason: str) -> str:
    return f"{MARKER_PREFIX}{', '.join(sorted(codes))}] {reason}"


def plan_mode(app: App, mode: str, quote: str, width: int) -> InsertAfter | None:
    """`config.distributed_mode = 'warn'`: the runtime keeps checking what analysis cannot;
    its comment in lines of at most `width` characters."""
    if app.bound_name is None:
        return None
    what = ("report violations while the app runs" if mode == "warn"
            else "refuse to start on a violation")
    comment = textwrap.wrap(f"dara-migrate: no error left; the runtime checks what static "
                            f"analysis cannot ({mode}: {what}).", width=width,
                            initial_indent="# ", subsequent_indent="# ")
    return InsertAfter(app.bound_name.line,
                       "\n".join(comment) + "\n"
                       f"{app.bound_name.name}.{MODE_ATTRIBUTE} = {literal(mode, quote)}\n",
                       key="mode")
