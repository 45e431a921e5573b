"""The audit: files -> facts -> project index -> findings -> markers -> verdicts."""

from __future__ import annotations

import fnmatch
import gc
import traceback
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import pathspec

from dara_migrate.files import (
    CACHE_FOLDER,
    FoundFiles,
    SourceRoots,
    find_files,
    relative_path,
    secret_mentions,
)
from dara_migrate.index.apps import App, ProjectApps
from dara_migrate.index.project import ProjectIndex
from dara_migrate.models import (
    AppVerdict,
    AuditResult,
    FileError,
    Finding,
    Verdict,
    common_target,
)
from dara_migrate.rules import ALL_RULES, BY_CODE, matches
from dara_migrate.rules.base import Context, fingerprint
from dara_migrate.rules.identity import RewrittenByDM105
from dara_migrate.scan import (
    FileResult,
    analyze_all,
    cache_salt,
    gc_paused,
    make_jobs,
    prepare_cache_folder,
    prune_cache,
    take_entries_written,
)
from dara_migrate.settings import Settings
from dara_migrate.target import fix_applies


@dataclass(slots=True)
class Project:
    """Everything an audit learned, kept for `apply` and `verify` to reuse."""

    settings: Settings
    index: ProjectIndex
    roots: SourceRoots
    results: list[FileResult]
    selected: frozenset[str]
    deployment_files: list[Path]
    known_apps: ProjectApps
    """Every app of the project, also those that own no selected file."""
    apps: list[App]
    """The apps that own a selected file: those the run gives a verdict."""
    findings: list[Finding]
    errors: list[FileError]

    def retire(self) -> None:
        """Drop everything (results, index, apps, findings) when a newer load of the project
        replaces this one, so that the two are never alive together: the caller keeps the
        results it reuses, and the facts of edited files go before they are extracted anew."""
        self.results = []
        self.index = ProjectIndex.build(())
        self.known_apps = ProjectApps()
        self.apps = []
        self.findings = []


class Discovered(NamedTuple):
    python: list[Path]
    selected: frozenset[str]
    """Relative paths of the Python files and unwalkable folders the command was given."""
    deployment: list[Path]
    problems: list[FileResult]
    """Folders that could not be walked (unreadable, symlink loops), reported as DM001."""
    roots: SourceRoots


def discover(settings: Settings, paths: Iterable[Path],
             found: FoundFiles | None = None) -> Discovered:
    """All project Python files, the selected ones, deployment files, unwalkable folders and
    the source roots (from `found`, a walk of the same paths, when given). A path given
    explicitly is read even where a .gitignore above it ignores it (as a file given to git
    add -f)."""
    found = found or find_files(settings, paths)
    problems = [FileResult(folder.relative_to(settings.root).as_posix() or ".", None, reason)
                for folder, reason in sorted(found.problems.items())]
    python, selected, deployment = found.python, found.selected, found.deployment
    if settings.nested:
        python, selected, deployment = _without_nested_excludes(settings, found)
    return Discovered(python, selected, deployment, problems,
                      SourceRoots(settings.root, found.projects))


def _without_nested_excludes(settings: Settings, found: FoundFiles
                             ) -> tuple[list[Path], frozenset[str], list[Path]]:
    """The walk's files less those the `exclude` patterns of a nested project's table leave
    out (matched from that project's folder, as its own runs match them)."""
    specs: dict[str, pathspec.GitIgnoreSpec] = {
        folder: pathspec.GitIgnoreSpec.from_lines(nested.exclude)
        for folder, nested in settings.nested.items() if nested.exclude}
    if not specs:
        return found.python, found.selected, found.deployment

    def excluded(path: Path) -> bool:
        relative = relative_path(path, settings.root)
        return any(relative.startswith(f"{folder}/") and spec.match_file(
            relative[len(folder) + 1:]) for folder, spec in specs.items())

    gone = {p for p in found.python if excluded(p)}
    return ([p for p in found.python if p not in gone],
            found.selected - {relative_path(p, settings.root) for p in gone},
            [p for p in found.deployment if not excluded(p)])


def load_project(settings: Settings, paths: Iterable[Path],
                 progress: Callable[[int], None] | None = None,
                 on_total: Callable[[int], None] | None = None,
                 overlay: Mapping[str, bytes] | None = None,
                 reuse: Mapping[str, FileResult] | None = None,
                 found: FoundFiles | None = None) -> Project:
    """Read and index the project; run every rule. `overlay` replaces file contents; `reuse`
    holds facts of files known to be unchanged since they were read; `found` is a walk of
    `paths` already made."""
    found = found or find_files(settings, paths)
    settings = settings.with_nested_tables(found.projects, found.selected)
    python, selected, deployment, problems, roots = discover(settings, paths, found)
    with gc_paused():
        # The overlay's bytes (edited files) are dropped once read, not kept while indexing.
        results = read_facts(settings, roots, python, overlay, reuse, found, progress, on_total)
        overlay = None
        if problems:
            results = sorted([*results, *problems], key=lambda r: r.path)
        index = ProjectIndex.build((r.facts for r in results if r.facts is not None),
                                   alias_names(roots, found.aliases))
        known = ProjectApps.build(index, settings, roots)
        project = Project(settings, index, roots, results, selected, deployment, known,
                          known.owning_selected(selected), [], [])
        project.findings = run_rules(project)
        # The project lives until the command ends and holds no cycles: collections that
        # rescan its millions of objects cost seconds in `apply`, and find nothing.
        gc.freeze()
    return project


def alias_names(roots: SourceRoots, aliases: Mapping[str, str] | None
                ) -> list[tuple[str, str, bool, str]]:
    """Each symlink to a project file as the index takes it: (its path, its module, whether
    it is a package `__init__`, the path of the file it links to)."""
    return [(path, *roots.module_name(path), real) for path, real in (aliases or {}).items()]


def read_facts(settings: Settings, roots: SourceRoots, python: list[Path],
               overlay: Mapping[str, bytes] | None, reuse: Mapping[str, FileResult] | None,
               found: FoundFiles | None, progress: Callable[[int], None] | None,
               on_total: Callable[[int], None] | None, prune: bool = True
               ) -> list[FileResult]:
    """Each Python file's facts, in order: from `reuse`, else read (from `overlay` when it
    holds the file), else from the cache (`found`: the walk, with the digests it took).
    `prune`: `python` is every file of the project, so cache entries of no file can go."""
    cache_dir = None
    if settings.use_cache:
        cache_dir = prepare_cache_folder(settings.root, settings.cache_dir or
                                         settings.root / CACHE_FOLDER)
    jobs = make_jobs(roots, python, cache_dir, cache_salt(settings.fact_key()), overlay,
                     found.content_digests if found else None)
    if on_total:
        on_total(len(jobs))
    kept = reuse or {}
    fresh = iter(analyze_all([j for j in jobs if j.path not in kept], settings.jobs, progress))
    results = [kept[j.path] if j.path in kept else next(fresh) for j in jobs]
    if cache_dir is not None and take_entries_written() and prune:
        prune_cache(cache_dir, {r.digest for r in results if r.digest})
    return results


def run_rules(project: Project, unread_secrets: Mapping[str, bool] | None = None
              ) -> list[Finding]:
    """Every rule's findings, markers applied; `unread_secrets`: project files not indexed
    here (the other parts of `parts.audit_changed`) that name the deployment's secret."""
    settings = project.settings
    secrets = secret_mentions(settings.root, project.deployment_files)
    ctx = Context(project.index, settings, project.selected, project.known_apps,
                  deployment_secrets={**secrets, **unread_secrets} if unread_secrets else secrets)
    findings: list[Finding] = []
    for result in project.results:
        if result.error is not None and result.path in project.selected:
            rule = BY_CODE["DM001"]
            findings.append(Finding(
                rule.code, rule.name, rule.severity, rule.fix, result.path, result.error_line,
                result.error_column, result.error_line, result.error_column,
                result.error, anchor_line=result.error_line,
            ))
    for rule_class in ALL_RULES:
        try:
            findings.extend(rule_class().check(ctx))
        except Exception as error:  # one broken rule must not stop the audit
            frame = traceback.extract_tb(error.__traceback__)[-1]
            project.errors.append(FileError(
                "", f"rule {rule_class.code} crashed: {type(error).__name__}: {error} "
                f"({Path(frame.filename).name}:{frame.lineno})"))
    findings.sort(key=Finding.sort_key)
    _assign_apps(project, findings)
    _apply_markers(project, findings)
    findings = _filter(findings, settings)
    _unpair_rewrites(findings)
    _mark_pending(project, findings)
    _fingerprint(findings)
    return findings


def _unpair_rewrites(findings: list[Finding]) -> None:
    """A DM301 that DM105's rewrite of the same call removes is fixed only while that DM105
    is reported and open: where it is left out (`--select`, `--ignore`) or suppressed, no
    fix comes, and the DM301 is the blocker it is without one."""
    paired = [f for f in findings if f.rule == "DM301" and isinstance(f.autofix, RewrittenByDM105)]
    if not paired:
        return
    rewritten = {(f.path, f.line, f.column) for f in findings
                 if f.rule == "DM105" and f.status == "open" and f.autofix is not None}
    for finding in paired:
        if (finding.path, finding.line, finding.column) not in rewritten:
            finding.autofix = None
            finding.fix = BY_CODE["DM301"].fix


def _mark_pending(project: Project, findings: list[Finding]) -> None:
    """What a rule's fix needs of Dara (`Rule.fix_needs`) stays pending where the apps' target
    profiles lack it (all the apps the finding belongs to; the run's profile for findings
    of no app)."""
    targets = {app.key: app.target for app in project.apps}
    for finding in findings:
        needs = BY_CODE[finding.rule].fix_needs
        if not needs or any(fix_applies(targets[key], needs) for key in finding.apps) or (
                not finding.apps and fix_applies(
                    project.settings.governing(finding.path).target, needs)):
            continue
        # The declaration itself is pending whatever a marker says; what it would cover
        # only while it is still an open error.
        if finding.rule == "DM201" or (finding.status == "open" and finding.severity == "error"):
            finding.status = "pending"


def _apply_markers(project: Project, findings: list[Finding]) -> None:
    by_anchor: dict[tuple[str, int], list[Finding]] = defaultdict(list)
    for finding in findings:
        by_anchor[(finding.path, finding.anchor_line)].append(finding)
    # A local-only marker is acknowledged only while its own app keeps the escape hatch.
    hatched = {app.key for app in project.apps if app.escape_hatch}
    unused: list[Finding] = []
    rule = BY_CODE["DM002"]
    for facts in project.index.files.values():
        if facts.path not in project.selected:
            continue
        for marker in facts.markers:
            matched = [f for f in by_anchor.get((facts.path, marker.target_line), ())
                       if f.rule in marker.codes]
            problem = ""
            if marker.kind == "ignore" and not marker.reason:
                problem = "ignore marker without a reason suppresses nothing; add a reason"
            elif not matched:
                problem = (f"{marker.kind}[{', '.join(marker.codes)}] marker matches no finding "
                           "on the next statement; remove it")
            for finding in matched:
                if marker.kind == "ignore" and marker.reason:
                    finding.status = "suppressed"
                elif marker.kind == "local-only" and hatched.intersection(finding.apps):
                    finding.status = "acknowledged"
            if problem:
                line_text_end = 1 + len(f"# dara-migrate: {marker.kind}[]")
                unused.append(Finding(
                    rule.code, rule.name, rule.severity, rule.fix, facts.path, marker.line, 1,
                    marker.line, line_text_end, problem, anchor_line=marker.line,
                    statement_hash=f"{marker.kind}{marker.codes}{marker.reason}"))
    if unused:  # the rest are in order already
        findings.extend(unused)
        findings.sort(key=Finding.sort_key)


_UNREAD = "DM001"
"""The rule of files the audit could not read (`_filter`)."""


def _filter(findings: list[Finding], settings: Settings) -> list[Finding]:
    kept = []
    # Per path, once: the closest [tool.dara-migrate] table's select and ignore, and the
    # per-file-ignores patterns the path matches.
    rules_of: dict[str, tuple[tuple[str, ...], tuple[str, ...], list[tuple[str, ...]]]] = {}
    for finding in findings:
        rules = rules_of.get(finding.path)
        if rules is None:
            governing = settings.governing(finding.path)
            seen_as = settings.relative_to_table(finding.path)
            rules = rules_of[finding.path] = (governing.select, governing.ignore, [
                codes for pattern, codes in governing.per_file_ignores.items()
                if fnmatch.fnmatch(seen_as, pattern)])
        select, ignore, ignores = rules
        if finding.rule == _UNREAD:
            # A file the audit cannot read hides all its findings: `--select DM1` or
            # `--ignore DM` must not turn that into a clean verdict. Only its code drops it.
            if _UNREAD not in ignore and not any(_UNREAD in codes for codes in ignores):
                kept.append(finding)
            continue
        if select and not matches(finding.rule, select):
            continue
        if ignore and matches(finding.rule, ignore):
            continue
        if not any(matches(finding.rule, codes) for codes in ignores):
            kept.append(finding)
    return kept



def _assign_apps(project: Project, findings: list[Finding]) -> None:
    if not project.apps:
        return
    # One pass over the apps' files, not apps x files: each list is in app order.
    owning: dict[str, list[str]] = defaultdict(list)
    for app in project.apps:
        for path in app.files:
            owning[path].append(app.key)
    nobody: tuple[str, ...] = (project.apps[0].key,) if len(project.apps) == 1 else ()
    reported = {app.key for app in project.apps}
    owners_of: dict[str, tuple[str, ...]] = {}
    for finding in findings:
        if finding.apps:
            continue  # about one app (DM201, DM701): its rule said which
        owners = owners_of.get(finding.path)
        if owners is None:
            owners = owners_of[finding.path] = tuple(owning.get(finding.path, ())) or nobody or (
                tuple(app.key for app in project.known_apps.unimported_owner(finding.path)
                      if app.key in reported))
        finding.apps = owners


def _fingerprint(findings: list[Finding]) -> None:
    ordinals: dict[tuple[str, str, str], int] = defaultdict(int)
    for finding in findings:
        key = (finding.rule, finding.path, finding.statement_hash)
        ordinals[key] += 1
        finding.fingerprint = fingerprint(finding, ordinals[key])


class AppSummary(NamedTuple):
    """What the report says of an app besides its findings (kept between runs by `parts`)."""

    key: str
    name: str
    path: str
    line: int
    escape_hatch: bool
    target: str
    target_reason: str
    app_id: str
    call: int
    """The builder call's id in its file: apps are found in path, then call order."""

    @classmethod
    def of(cls, app: App) -> AppSummary:
        return cls(app.key, app.name, *app.where, app.escape_hatch is not None, app.target,
                   app.target_reason, app.app_id, app.call.id)


def app_verdicts(apps: list[AppSummary], findings: list[Finding]) -> list[AppVerdict]:
    """CONTRACT.md's verdict for each app, from the findings of the whole project."""
    errors: dict[str, list[Finding]] = defaultdict(list)
    for finding in findings:
        if finding.severity == "error":
            for key in finding.apps:
                errors[key].append(finding)
    result = []
    for app in apps:
        mine = errors[app.key]
        live = [f for f in mine if f.status in ("open", "acknowledged")]
        open_ = [f for f in mine if f.status == "open"]
        blockers = [f for f in live if f.fix in ("manual", "blocker", None)]
        verdict: Verdict
        if not live:
            # Only a profile that lacks what a fix needs leaves findings pending.
            verdict = "prepared" if any(f.status == "pending" for f in mine) else "ready"
        elif app.escape_hatch and not open_:
            verdict = "local"
        elif all(f.fix == "safe" for f in live):
            verdict = "fixable"
        else:
            verdict = "blocked"
        unsafe = sum(f.fix == "unsafe" for f in live)
        result.append(AppVerdict(app.name, app.path, app.line, verdict, len(live),
                                 len(blockers), app.target, app.target_reason, app.app_id,
                                 unsafe))
    return result


def audit(settings: Settings, paths: Iterable[Path],
          progress: Callable[[int], None] | None = None,
          on_total: Callable[[int], None] | None = None,
          found: FoundFiles | None = None, kept: Path | None = None
          ) -> tuple[AuditResult, Project]:
    """Audit the project around `paths` (walked as `found`, when given); findings, file count
    and apps cover the paths. `kept`: where the project's parts are kept between runs, for a
    walk that took every file's digest: only the parts of changed files are analysed again
    (the returned project is then those parts alone)."""
    paths = list(paths)
    # Imported here: `parts` reads the engine, and only stored runs keep parts.
    from dara_migrate import parts

    changed = parts.audit_changed(kept, settings, paths, found) if kept and found else None
    if changed is not None:
        project, findings, summaries, files = changed
    else:
        project = load_project(settings, paths, progress, on_total, found=found)
        findings, files = project.findings, len(project.selected)
        summaries = [AppSummary.of(app) for app in project.apps]
        if kept and found:
            parts.store(kept, settings, paths, found, project)
    apps = app_verdicts(summaries, findings)
    target, reason = common_target([(a.name, a.path, a.target, a.target_reason)
                                    for a in apps]) or (settings.target, settings.target_reason)
    result = AuditResult(
        root=str(settings.root), target=target, target_reason=reason,
        mode=settings.mode, files=files, findings=findings, apps=apps, errors=project.errors,
        scope=", ".join(str(p) for p in paths) or str(settings.root),
    )
    return result, project


def failing(result: AuditResult) -> list[Finding]:
    """Findings that make the run fail at the mode's threshold."""
    if result.mode == "warn":
        return [f for f in result.findings if f.rule == "DM001" and f.status == "open"]
    return [f for f in result.findings
            if f.severity == "error" and f.status in ("open", "acknowledged")]
