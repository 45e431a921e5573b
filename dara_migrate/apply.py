"""`apply`: fix what can be fixed, to a fixpoint, then the escape hatch for what remains.

Every round audits the project as it would be after the edits so far (an in-memory overlay),
so nothing is written until the whole migration is known to converge and to parse.
"""

from __future__ import annotations

import difflib
import functools
import re
from bisect import bisect_left, bisect_right
from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from dara_migrate.action_rewrite import statement_line
from dara_migrate.autofix import Carried
from dara_migrate.edits import (
    AddMarker,
    Edit,
    EditError,
    EditStyle,
    InsertAfter,
    QuoteStyles,
    ReplaceCall,
    apply_edits,
)
from dara_migrate.engine import Project, load_project
from dara_migrate.files import FoundFiles, ReadError, Source, find_files, read_source
from dara_migrate.layout import line_length, split_lines
from dara_migrate.models import Finding
from dara_migrate.planner import (
    DEFAULT_REASON,
    FixOptions,
    PlannedFix,
    comment_width,
    plan_code_fixes,
    plan_escape_hatch,
    plan_mode,
    plan_moved_markers,
    remaining_by_app,
    remaining_errors,
    without_hatch_site,
    written_reason,
)
from dara_migrate.scan import shared_map
from dara_migrate.settings import Settings
from dara_migrate.target import MODE_ATTRIBUTE
from dara_migrate.writer import encode

MAX_ROUNDS = 5

FixKey = tuple[str, str, str, str]
"""A fix's rule, path, description and finding message (`fix_key`)."""


@dataclass
class FileChange:
    path: str
    encoding: str
    """What the file's text is encoded in (the diff is shown decoded with it)."""
    before: bytes
    after: bytes


@dataclass
class ApplyResult:
    project: Project
    changes: list[FileChange]
    applied: list[PlannedFix]
    """The fixes made, their edits spent (`_spend`): `changes` holds what they wrote."""
    hatch_apps: list[str]
    remaining: list[Finding]
    errors: list[str] = field(default_factory=list)
    without_hatch_site: list[str] = field(default_factory=list)
    """Apps with errors left and no name bound to their builder: no escape hatch was set."""
    refused: list[str] = field(default_factory=list)
    """uid fixes not written because the uid is already taken in the project."""


@dataclass
class ApplyOptions:
    fixes: FixOptions = field(default_factory=FixOptions)
    reason: str = DEFAULT_REASON
    local: bool = True
    """Write the escape hatch and markers where errors remain (`--no-local` turns it off)."""
    hatch: bool = True
    """With `local`, set the escape hatch; False leaves the errors open, marked at their sites
    (interactive "leave open with markers")."""
    set_mode: str | None = None
    excluded: frozenset[FixKey] = frozenset()
    """Fixes (`fix_key`) never to make: the build proof dropped them."""


class _Workspace:
    """The project's files as `apply` has rewritten them so far (nothing on disk yet)."""

    def __init__(self, root: Path, found: FoundFiles) -> None:
        self.root = root
        self.found = found
        """The walk of the paths: edits in memory change no file on disk, so it holds."""
        self.sources: dict[str, Source] = {}
        self.texts: dict[str, str] = {}
        self.errors: list[str] = []
        self.changed: dict[str, str | None] = {}
        """Files edited since the project was last loaded, with their text before the edit
        (None: the file on disk)."""
        self.undone: set[str] = set()
        """Files whose last edit was undone because its output did not parse."""
        self.packages: frozenset[str] = frozenset()
        """The project's top-level package names (no dots): first-party imports."""
        self.styles: dict[Path, EditStyle] = {}
        """By folder: the style is the nearest configuration's."""

    def style(self, path: str) -> EditStyle:
        folder = (self.root / path).parent
        if folder not in self.styles:
            self.styles[folder] = EditStyle(line_length(folder), self.packages)
        return self.styles[folder]

    def source(self, path: str) -> Source:
        if path not in self.sources:
            self.sources[path] = read_source(self.root / path)
        return self.sources[path]

    def text(self, path: str) -> str:
        return self.texts.get(path, self.source(path).text)

    def overlay(self, paths: Iterable[str]) -> dict[str, bytes]:
        return {path: encode(self.sources[path], self.texts[path]) for path in paths
                if path in self.texts}

    def reload(self, settings: Settings, paths: list[Path], previous: Project) -> Project:
        """The project as rewritten so far; only files edited since `previous` are read again.
        `previous` is retired: only the returned project may be used afterwards.

        Reading the edited files is also the check that they still parse: an edit whose
        output does not (a bug of ours) is undone and reported, and the file read again."""
        self.undone = set()
        while True:
            changed, self.changed = self.changed, {}
            reuse = {r.path: r for r in previous.results if r.path not in changed}
            previous.retire()
            project = load_project(settings, paths, overlay=self.overlay(changed), reuse=reuse,
                                   found=self.found)
            broken = [r for r in project.results if r.path in changed and r.error is not None]
            if not broken:
                return project
            for result in broken:
                self.errors.append(
                    f"{result.path}: internal error: the rewritten file does not parse "
                    f"({result.error} at line {result.error_line}); the file was not changed")
                self.undone.add(result.path)
                before = changed[result.path]
                if before is None:
                    del self.texts[result.path]
                else:
                    self.texts[result.path] = before
                self.changed[result.path] = None
            previous = project

    def edit(self, edits: dict[str, list[Edit]], workers: int = 1) -> set[str]:
        """Apply edits file by file (shared with `workers` - 1 other processes, 0: as many
        as there are idle cores); a file whose edit fails keeps its text and is reported."""
        tasks: dict[str, _EditTask] = {}
        unprepared: dict[str, str] = {}
        for path, file_edits in sorted(edits.items()):
            try:
                tasks[path] = (self.text(path), file_edits, self.style(path))
            except ReadError as error:
                unprepared[path] = str(error)
            except Exception as error:
                unprepared[path] = f"internal error: {type(error).__name__}: {error}"
        outcomes = dict(zip(tasks, _edit_all(list(tasks.values()), workers), strict=True))
        failed = set()
        for path in sorted(edits):
            edit_failed, edited = outcomes.get(path, (True, unprepared.get(path, "")))
            if edit_failed:
                self.errors.append(f"{path}: {edited}")
                failed.add(path)
                continue
            if edited != tasks[path][0]:
                self.changed.setdefault(path, self.texts.get(path))
                self.texts[path] = edited
        return failed


_EditTask = tuple[str, list[Edit], EditStyle]
"""A file's text, its edits and the style to write them in."""

def _edit_one(task: _EditTask) -> tuple[bool, str]:
    """(False, the file's new text), or (True, why its edits could not be made)."""
    text, edits, style = task
    try:
        return False, apply_edits(text, edits, style)
    except EditError as error:
        return True, str(error)
    except Exception as error:
        return True, f"internal error: {type(error).__name__}: {error}"


def _edit_chunk(tasks: Sequence[_EditTask]) -> list[tuple[bool, str]]:
    return [_edit_one(task) for task in tasks]


def _edit_all(tasks: list[_EditTask], workers: int) -> list[tuple[bool, str]]:
    """`_edit_one` of every task, in order, shared with other processes as the analysis
    shares files (edits are a pure function of the text)."""
    return shared_map(_edit_chunk, tasks, workers)


def _group(fixes: Iterable[PlannedFix]) -> dict[str, list[Edit]]:
    grouped: dict[str, list[Edit]] = defaultdict(list)
    for fix in fixes:
        for path, edits in [(fix.finding.path, fix.edits), *fix.elsewhere.items()]:
            # Fixes of one factory share its parameter and call-site edits.
            grouped[path].extend(e for e in edits if e not in grouped[path])
    return grouped


def run_apply(settings: Settings, paths: list[Path], options: ApplyOptions,
              on_round: Callable[[Project], None] | None = None) -> ApplyResult:
    """Plan and apply every fix in memory; the caller decides whether to write."""
    workspace = _Workspace(settings.root, find_files(settings, paths))
    applied: list[PlannedFix] = []
    offered: set[FixKey] = set(options.excluded)
    fix_options = options.fixes
    ask = fix_options.accept
    if ask is not None:
        def accept(fix: PlannedFix) -> bool:
            if ask(fix):
                return True
            # Later rounds ask nobody, so a declined fix must not come back in them.
            offered.add(fix_key(fix))
            return False

        fix_options = replace(fix_options, accept=accept)
    project = load_project(settings, paths, found=workspace.found)
    workspace.packages = frozenset(facts.module.split(".")[0] for facts in
                                   project.index.files.values()) | project.index.imported_heads
    refused: dict[str, str] = {}
    settled = False
    for round_number in range(MAX_ROUNDS):
        if on_round:
            on_round(project)
        refused = {}
        fixes = [f for f in plan_code_fixes(project, fix_options, workspace.text, refused)
                 if fix_key(f) not in offered]
        offered.update(fix_key(f) for f in fixes)
        # Later rounds only pick up what earlier fixes made fixable; nobody is asked twice.
        fix_options = FixOptions(unsafe=fix_options.unsafe,
                                 runtime_app_id=fix_options.runtime_app_id,
                                 runtime_env=fix_options.runtime_env)
        if not fixes:
            break
        failed = workspace.edit(_group(fixes), settings.jobs)
        reason = _first_round_reason(options, project) if round_number == 0 else None
        fixed_by = (_fixed_by(fixes, project.findings) if reason is not None and not failed
                    and on_round is None and not _hoists(fixes) else None)
        # Before the files are read again: the project the fixes were planned on is retired then.
        _spend(fixes)
        if reason is not None and fixed_by is not None:
            settled, project = _hatch_with_fixes(
                settings, paths, project, workspace, *fixed_by, _Hatch(reason, options.hatch),
                functools.partial(_fixes_done, fix_options, workspace.text, offered))
            if settled:
                applied.extend(fixes)
                break
        project = workspace.reload(settings, paths, project)
        failed |= workspace.undone
        applied.extend(f for f in fixes
                       if f.finding.path not in failed and failed.isdisjoint(f.elsewhere))
    else:
        workspace.errors.append(
            f"internal error: fixes did not converge after {MAX_ROUNDS} rounds")
    hatch_apps: list[str] = []
    without_hatch: list[str] = []
    if options.local:
        if not settled:
            # Without --reason, a reason written by an earlier run stays (as the interactive
            # default keeps it).
            reason = (options.reason if options.reason != DEFAULT_REASON
                      else written_reason(project) or DEFAULT_REASON)
            project = _settle_hatch(settings, paths, project, workspace,
                                    _Hatch(reason, options.hatch))
        hatch_apps = [app.key for app in project.apps if app.escape_hatch is not None]
        without_hatch = [app.key for app in without_hatch_site(project, remaining_by_app(project))]
    if options.set_mode:
        project = _set_mode(settings, paths, project, workspace, options.set_mode)
    remaining = remaining_errors(project)
    # A uid refused in one round is suggested anew in the next; what is still open was not.
    still_refused = [refused[f.fingerprint] for f in remaining if f.fingerprint in refused]
    changes = []
    # Each file's texts go once its bytes are made: the texts and the bytes of every changed
    # file are never alive together.
    for path in sorted(workspace.texts):
        source = workspace.sources.pop(path)
        before = encode(source, source.text)
        after = encode(source, workspace.texts.pop(path))
        if before != after:
            changes.append(FileChange(path, source.encoding, before, after))
    return ApplyResult(project, changes, applied, hatch_apps, remaining, workspace.errors,
                       without_hatch, still_refused)


def _spend(fixes: list[PlannedFix]) -> None:
    """Empty the edits of fixes that are made, and drop their findings' fix plans: both hold
    facts of the files as they were, which would otherwise stay alive with the fixes to the
    end of the run. What each fix fixed, how and in which files stays."""
    for fix in fixes:
        fix.edits.clear()
        for edits in fix.elsewhere.values():
            edits.clear()
        fix.finding.autofix = None


def _hoists(fixes: list[PlannedFix]) -> bool:
    """Whether a fix moves a definition out of a function: the moved definition is most often
    fixable in a further round (a uid at module level)."""
    return any(isinstance(edit, InsertAfter) and edit.key.startswith("hoist-")
               for fix in fixes for edits in [fix.edits, *fix.elsewhere.values()]
               for edit in edits)


def _fixed_by(fixes: list[PlannedFix], findings: list[Finding]
              ) -> tuple[list[Finding], list[tuple[Finding, Carried]]]:
    """The findings `fixes` should leave behind: their own, and the others on a call one of
    them replaces; and those they carry into the code they write, with where to (guesses
    the hatch's re-check verifies)."""
    replaced: dict[tuple[str, int, int], PlannedFix] = {
        (fix.finding.path, edit.line, edit.column): fix
        for fix in fixes for edit in fix.edits if isinstance(edit, ReplaceCall)}
    fixed = [fix.finding for fix in fixes]
    moving = []
    for finding in findings:
        fix = replaced.get((finding.path, finding.line, finding.column))
        if fix is None:
            continue
        carried = next((c for c in fix.carries if c.rule == finding.rule), None)
        if carried is None:
            fixed.append(finding)
        else:
            moving.append((finding, carried))
    return fixed, moving


def _fixes_done(options: FixOptions, text_of: Callable[[str], str],
                offered: set[FixKey], project: Project) -> bool:
    """Whether a further round would make no fix and refuse no uid."""
    refused: dict[str, str] = {}
    fixes = [f for f in plan_code_fixes(project, options, text_of, refused)
             if fix_key(f) not in offered]
    return not fixes and not refused


def fix_key(fix: PlannedFix) -> FixKey:
    """What names a fix across runs of `run_apply` on the same files."""
    return fix.finding.rule, fix.finding.path, fix.description, fix.finding.message


@dataclass(frozen=True)
class _Hatch:
    """What the escape hatch and markers say, and whether the hatch is set (else the errors
    stay open, marked at their sites)."""

    reason: str
    set: bool


def _hatch_edits(project: Project, hatch: _Hatch, text_of: Callable[[str], str],
                 fixed: Collection[Finding] = (), moving: Collection[Finding] = ()
                 ) -> dict[str, list[Edit]]:
    edits = plan_escape_hatch(project, hatch.reason, text_of, fixed, moving)
    if hatch.set:
        return edits
    return {path: [e for e in file_edits if not (isinstance(e, InsertAfter) and e.key == "hatch")]
            for path, file_edits in edits.items()}


def _settle_hatch(settings: Settings, paths: list[Path], project: Project,
                  workspace: _Workspace, hatch: _Hatch) -> Project:
    """Write the escape hatch (when `hatch.set`) and markers, then check that a second pass
    changes nothing."""
    for attempt in range(2):
        before = dict(workspace.texts)
        workspace.edit(_hatch_edits(project, hatch, workspace.text))
        if workspace.texts == before:
            return project
        project = workspace.reload(settings, paths, project)
        if attempt == 1:
            workspace.errors.append("internal error: escape hatch did not converge")
    return project


def _first_round_reason(options: ApplyOptions, project: Project) -> str | None:
    """The reason the escape hatch and markers get, known before the first round's fixes are
    read again: None when a marker an earlier run wrote has one (the fixes may move it)."""
    if not options.local or options.reason != DEFAULT_REASON:
        return options.reason if options.local else None
    return DEFAULT_REASON if written_reason(project) is None else None


def _hatch_with_fixes(settings: Settings, paths: list[Path], project: Project,
                      workspace: _Workspace, fixed: list[Finding],
                      moving: list[tuple[Finding, Carried]], hatch: _Hatch,
                      settles: Callable[[Project], bool]) -> tuple[bool, Project]:
    """The escape hatch and markers for what the first round's fixes (edited in, not read
    again yet) leave, written on top of them and read with them in one load instead of two.

    (True, that project) when it is what reading the fixes, then writing the hatch gives:
    `settles` finds no further round of fixes in it, and planning the hatch again changes
    nothing (after one more pass where the fixes left other errors than foreseen).
    Otherwise (False, the project to read the fixes again from) with the workspace as the
    fixes left it, so that the rounds go on one by one."""
    landed = []
    for finding, carried in moving:
        line = statement_line(workspace.texts.get(finding.path, ""), carried.function,
                              carried.statement)
        if line is None:
            return False, project
        landed.append((finding, line))
    planned = _hatch_edits(project, hatch, lambda path: workspace.source(path).text, fixed,
                           [finding for finding, _ in moving])
    moved: dict[str, list[Edit]] = {}
    quotes_before = QuoteStyles(project.index.files, lambda path: workspace.source(path).text)
    quotes_after = QuoteStyles(project.index.files, workspace.text)
    for path, file_edits in planned.items():
        if path not in workspace.changed:
            moved[path] = file_edits
            continue
        original, fixed_text = workspace.source(path).text, workspace.texts[path]
        lines = LineMap(original, fixed_text)
        moved_edits = [lines.moved(e) for e in file_edits]
        if None in moved_edits:
            return False, project
        # The hatch's literal is quoted as the file's strings are: planned on the text before.
        if any(isinstance(e, InsertAfter) for e in file_edits) and (
                quotes_before(path) != quotes_after(path)):
            return False, project
        moved[path] = [e for e in moved_edits if e is not None]
    for path, markers in plan_moved_markers(project, landed, hatch.reason, fixed).items():
        moved.setdefault(path, []).extend(markers)
    texts, changed, errors = dict(workspace.texts), dict(workspace.changed), len(workspace.errors)
    workspace.edit(moved)
    if len(workspace.errors) > errors:
        workspace.texts, workspace.changed = texts, changed
        del workspace.errors[errors:]
        return False, project
    candidate = workspace.reload(settings, paths, project)
    # As `_settle_hatch` checks its pass: planning again changes nothing. Where the fixes
    # left other errors than foreseen (code they write is flagged), once more.
    for attempt in range(2):
        if workspace.undone or not settles(candidate):
            break
        before = dict(workspace.texts)
        workspace.edit(_hatch_edits(candidate, hatch, workspace.text))
        if len(workspace.errors) > errors:
            break
        if workspace.texts == before:
            return True, candidate
        if attempt == 1:
            break
        candidate = workspace.reload(settings, paths, candidate)
    # Read again from the candidate: the files it read with the hatch, as the fixes left them.
    edited = {path for path in {*texts, *workspace.texts}
              if texts.get(path) != workspace.texts.get(path)}
    workspace.texts = texts
    workspace.changed = {**{path: texts.get(path) for path in edited}, **changed}
    workspace.undone = set()
    del workspace.errors[errors:]
    return False, candidate


class LineMap:
    """Where a line of a file's text before its fixes is in its text after them, where that
    is certain. Lines found once in each text, in the same order, anchor the others: between
    two anchors a line keeps its place when nothing there changed, else it must be the only
    one with its text, or its head (a statement the fixes rewrote), there in both texts. The
    hatch's place must be an anchor."""

    def __init__(self, before: str, after: str) -> None:
        self.before = split_lines(before, keepends=True)
        self.after = split_lines(after, keepends=True)
        before_count = Counter(self.before)
        after_at: dict[str, int] = {}
        for number, text in enumerate(self.after):
            after_at[text] = -1 if text in after_at else number
        pairs = [(number, after_at[text]) for number, text in enumerate(self.before)
                 if before_count[text] == 1 and after_at.get(text, -1) >= 0]
        self.anchors = [(-1, -1), *_in_order(pairs), (len(self.before), len(self.after))]
        self.starts = [number for number, _ in self.anchors]

    def line(self, line: int, unique: bool, ranked: bool = False) -> int | None:
        """With `ranked`, a line whose text (or head) both gaps have as often is the one of
        the same rank (the second `app.add_page(` is the second), for what only shows a
        line; the fixes' own moves stay with lines found once."""
        index = line - 1
        if not 0 <= index < len(self.before):
            return None
        position = bisect_right(self.starts, index) - 1
        (first, new_first), (last, new_last) = self.anchors[position:position + 2]
        if first == index:
            return new_first + 1
        if unique:
            return None
        old_gap, new_gap = self.before[first + 1:last], self.after[new_first + 1:new_last]
        if old_gap == new_gap:
            return new_first + index - first + 1
        for key in (str.rstrip, _head):
            wanted = key(self.before[index])
            found = [number for number, text in enumerate(new_gap) if key(text) == wanted]
            had = [number for number, text in enumerate(old_gap, first + 1)
                   if key(text) == wanted]
            if len(found) == len(had) == 1 or (ranked and found and len(found) == len(had)):
                return new_first + found[had.index(index)] + 2
        return None

    def moved(self, edit: Edit) -> Edit | None:
        """The hatch or a marker at its line after the fixes; None where that is not certain
        (removals of an earlier run's hatch or markers are left to the rounds)."""
        if isinstance(edit, AddMarker):
            line = self.line(edit.line, unique=False)
        elif isinstance(edit, InsertAfter) and edit.key == "hatch":
            line = self.line(edit.line, unique=True)
        else:
            return None
        return None if line is None else replace(edit, line=line)


def _in_order(pairs: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The longest run of `pairs` (in order of their first items) whose second items increase
    too."""
    tails: list[int] = []
    tail_at: list[int] = []
    previous = [-1] * len(pairs)
    for number, (_, second) in enumerate(pairs):
        length = bisect_left(tails, second)
        previous[number] = tail_at[length - 1] if length else -1
        if length == len(tails):
            tails.append(second)
            tail_at.append(number)
        else:
            tails[length] = second
            tail_at[length] = number
    run = []
    number = tail_at[-1] if tail_at else -1
    while number >= 0:
        run.append(pairs[number])
        number = previous[number]
    return run[::-1]


def _head(line: str) -> str:
    """A line up to its first parenthesis: what a fix that adds arguments leaves as it was."""
    return line.split("(", 1)[0].rstrip("\r\n")


def _set_mode(settings: Settings, paths: list[Path], project: Project, workspace: _Workspace,
              mode: str) -> Project:
    edits: dict[str, list[Edit]] = {}
    by_app = remaining_by_app(project)
    quotes = QuoteStyles(project.index.files, workspace.text)
    for app in project.apps:
        if by_app[app.key] or app.bound_name is None or app.declares(MODE_ATTRIBUTE):
            continue
        path = app.bound_name.facts.path
        width = comment_width(settings.root / path, workspace.text(path), app.bound_name.line)
        edit = plan_mode(app, mode, quotes(path), width)
        if edit is not None:
            edits.setdefault(path, []).append(edit)
    if not edits:
        return project
    workspace.edit(edits)
    return workspace.reload(settings, paths, project)


class BeforeMigration:
    """Findings of the migrated sources as of the files before the migration: where nothing
    is written yet (a dry run, the interactive review), the lines a person can open."""

    _SITE = re.compile(r"([\w./-]+\.py):(\d+)")
    """A site a message names (`pages/scenarios.py:65`)."""

    def __init__(self, result: ApplyResult) -> None:
        self.changes = {change.path: change for change in result.changes}
        self.maps: dict[str, tuple[LineMap, Sequence[tuple[str, int, int, int, int]]]] = {}

    def line(self, finding: Finding) -> int:
        """A line inside a statement the fixes split over lines (`store=BackendStore(...)`)
        is, if not found itself, that statement's first line."""
        if finding.anchor_line != finding.line and self._found(finding.path,
                                                               finding.line) is None:
            anchored = self._found(finding.path, finding.anchor_line)
            if anchored is not None:
                return anchored
        return self.line_in(finding.path, finding.line)

    def message(self, finding: Finding) -> str:
        """The message, with the lines of the sites it names (`... but x.py:65 passes it`)
        as of the files before the migration too."""
        return self._SITE.sub(lambda site: f"{site[1]}:{self.line_in(site[1], int(site[2]))}",
                              finding.message)

    def line_in(self, path: str, line: int) -> int:
        """A line the migration rewrote is found by its statement's head (`audit_conn =
        ServerVariable(`), where that is certain, else the rewritten block's first line."""
        found = self._found(path, line)
        if found is not None:
            return found
        index = line - 1
        for tag, first, _, after_first, after_last in self._maps(path)[1]:
            if after_first <= index < after_last:
                return first + (index - after_first if tag == "equal" else 0) + 1
        return line

    def _found(self, path: str, line: int) -> int | None:
        """The line where it is certain (a file the migration does not change: the same)."""
        if path not in self.changes:
            return line
        return self._maps(path)[0].line(line, unique=False, ranked=True)

    def _maps(self, path: str) -> tuple[LineMap, Sequence[tuple[str, int, int, int, int]]]:
        if path not in self.maps:
            change = self.changes[path]
            before = change.before.decode(change.encoding, "surrogateescape")
            after = change.after.decode(change.encoding, "surrogateescape")
            self.maps[path] = (LineMap(after, before), difflib.SequenceMatcher(
                None, before.splitlines(), after.splitlines(), autojunk=False).get_opcodes())
        return self.maps[path]
