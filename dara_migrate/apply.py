"""`apply`: fix what can be fixed, to a fixpoint, then the escape hatch for what remains.

Every round audits the project as it would be after the edits so far (an in-memory overlay),
so nothing is written until the whole migration is known to converge and to parse.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from dara_migrate.edits import (
    Edit,
    EditError,
    EditStyle,
    InsertAfter,
    apply_edits,
    quote_style,
)
from dara_migrate.engine import Project, load_project
from dara_migrate.files import FoundFiles, ReadError, Source, find_files, read_source
from dara_migrate.layout import line_length
from dara_migrate.models import Finding
from dara_migrate.planner import (
    DEFAULT_REASON,
    FixOptions,
    PlannedFix,
    plan_code_fixes,
    plan_escape_hatch,
    plan_mode,
    remaining_by_app,
    remaining_errors,
    without_hatch_site,
    written_reason,
)
from dara_migrate.scan import default_workers, share_chunks
from dara_migrate.settings import Settings
from dara_migrate.target import MODE_ATTRIBUTE
from dara_migrate.writer import encode

MAX_ROUNDS = 5


@dataclass
class FileChange:
    path: str
    source: Source
    before: bytes
    after: bytes


@dataclass
class ApplyResult:
    project: Project
    changes: list[FileChange]
    applied: list[PlannedFix]
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
    excluded: frozenset[tuple[str, str, str]] = frozenset()
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

_EDITS_IN_PROCESS_BELOW = 64
"""Fewer files than this are edited in this process: a pool costs more than it saves."""


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
    """`_edit_one` of every task, in order. With more than one worker, forked processes and
    this one share the chunks (as the analysis shares files); edits are a pure function of
    the text, so the results are the same."""
    workers = workers or default_workers()
    if workers <= 1 or len(tasks) < _EDITS_IN_PROCESS_BELOW:
        return _edit_chunk(tasks)
    size = max(4, len(tasks) // (workers * 16))
    return share_chunks(_edit_chunk, [tasks[start:start + size]
                                      for start in range(0, len(tasks), size)], workers)


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
    offered: set[tuple[str, str, str]] = set(options.excluded)
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
    for _ in range(MAX_ROUNDS):
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
        # Without --reason, a reason written by an earlier run stays (as the interactive
        # default keeps it).
        reason = (options.reason if options.reason != DEFAULT_REASON
                  else written_reason(project) or DEFAULT_REASON)
        project = _settle_hatch(settings, paths, project, workspace, reason,
                                options.hatch)
        hatch_apps = [app.key for app in project.apps if app.escape_hatch is not None]
        without_hatch = [app.key for app in without_hatch_site(project, remaining_by_app(project))]
    if options.set_mode:
        project = _set_mode(settings, paths, project, workspace, options.set_mode)
    remaining = remaining_errors(project)
    # A uid refused in one round is suggested anew in the next; what is still open was not.
    still_refused = [refused[f.fingerprint] for f in remaining if f.fingerprint in refused]
    changes = []
    for path in sorted(workspace.texts):
        source = workspace.source(path)
        before = encode(source, source.text)
        after = encode(source, workspace.texts[path])
        if before != after:
            changes.append(FileChange(path, source, before, after))
    return ApplyResult(project, changes, applied, hatch_apps, remaining, workspace.errors,
                       without_hatch, still_refused)


def fix_key(fix: PlannedFix) -> tuple[str, str, str]:
    """What names a fix across runs of `run_apply` on the same files."""
    return fix.finding.rule, fix.finding.path, fix.description + fix.finding.message


def _settle_hatch(settings: Settings, paths: list[Path], project: Project,
                  workspace: _Workspace, reason: str, hatch: bool) -> Project:
    """Write the escape hatch (when `hatch`) and markers, then check that a second pass
    changes nothing."""
    for attempt in range(2):
        edits = plan_escape_hatch(project, reason, workspace.text)
        if not hatch:
            edits = {path: [e for e in file_edits
                            if not (isinstance(e, InsertAfter) and e.key == "hatch")]
                     for path, file_edits in edits.items()}
        before = dict(workspace.texts)
        workspace.edit(edits)
        if workspace.texts == before:
            return project
        project = workspace.reload(settings, paths, project)
        if attempt == 1:
            workspace.errors.append("internal error: escape hatch did not converge")
    return project


def _set_mode(settings: Settings, paths: list[Path], project: Project, workspace: _Workspace,
              mode: str) -> Project:
    edits: dict[str, list[Edit]] = {}
    by_app = remaining_by_app(project)
    for app in project.apps:
        if by_app[app.key] or app.bound_name is None or app.declares(MODE_ATTRIBUTE):
            continue
        path = app.bound_name.facts.path
        edit = plan_mode(app, mode, quote_style(workspace.text(path)))
        if edit is not None:
            edits.setdefault(path, []).append(edit)
    if not edits:
        return project
    workspace.edit(edits)
    return workspace.reload(settings, paths, project)
