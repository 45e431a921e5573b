"""Proof before writing: `apply` builds every app its code fixes touch in a scratch copy,
twice with different hash seeds (`verify`'s runner and build script), before anything is
written.

A fix whose build fails, or whose id still changes between the two builds, is dropped and
reported with the build error, and the migration is planned again without it; the rest is
written. The proof needs an interpreter that can import dara-core: `--python`, else the
project's own virtual environment (`.venv`, `venv` or `env` in its root or its repository's
root), else the one running dara-migrate.
"""

from __future__ import annotations

import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath

from dara_migrate.apply import (
    ApplyOptions,
    ApplyResult,
    FileChange,
    FixKey,
    fix_key,
    run_apply,
)
from dara_migrate.engine import Project
from dara_migrate.index.apps import App, importable_as
from dara_migrate.index.project import source_root
from dara_migrate.models import shown_path
from dara_migrate.outside import outside_imports, repository_top
from dara_migrate.planner import PlannedFix
from dara_migrate.settings import Settings
from dara_migrate.verify import VerifyError, VerifyResult, run_verify
from dara_migrate.verify.model import BuildTimeout
from dara_migrate.verify.reaper import supervised
from dara_migrate.verify.targets import module_under, with_search_path
from dara_migrate.writer import git_root

_VENVS = (".venv", "venv", "env")
_NOT_COPIED = shutil.ignore_patterns(
    ".git", ".hg", ".venv", "venv", "node_modules", "__pycache__", ".dara-migrate-cache",
    ".mypy_cache", ".pytest_cache", ".ruff_cache", ".tox", ".nox")
_PROBE_TIMEOUT = 30.0
_PROOF_PREFIX = "dara-migrate-proof-"


@dataclass(frozen=True)
class ProofOptions:
    enabled: bool = True
    python: str | None = None
    """The app's interpreter; None: the project's virtual environment, else this one."""
    timeout: float = 120.0
    """Seconds per build."""


@dataclass(frozen=True)
class BuildTarget:
    """One app as `verify` builds it: cwd and import root, and `module:attribute`."""

    key: str
    root: str
    """The folder its config module is imported from, relative to the project root ('' for
    the root itself): the build runs there."""
    config: str
    files: frozenset[str]
    label: str
    """How notes name the app, as the audit's verdict line does."""
    search_path: tuple[str, ...]
    """Other folders (relative to the project root) the app's modules import from."""
    around: tuple[Path, ...] = ()
    """Folders of the repository around the project that the app imports from (a monorepo's
    shared library, which a project of one app does not hold), as they are: never copied."""


Builder = Callable[[Path, BuildTarget, str, float], VerifyResult]
"""Builds the app at (folder, target) with an interpreter twice; raises VerifyError."""


def build_twice(folder: Path, target: BuildTarget, python: str, timeout: float) -> VerifyResult:
    return run_verify(folder / target.root, config=target.config, python=python, runs=2,
                      timeout=timeout, environment=with_search_path(
                          {}, [*(folder / other for other in target.search_path),
                               *target.around]))


@dataclass
class DroppedFix:
    fix: PlannedFix
    reason: str

    def line(self, verb: str) -> str:
        """`path:line: CODE fix <verb> (what it does): why`, one line."""
        finding = self.fix.finding
        return (f"{shown_path(finding.path)}:{finding.line}: {finding.rule} fix {verb} "
                f"({self.fix.description}): {self.reason}")


@dataclass
class ProofReport:
    skipped: str | None = None
    """Why no build proof ran, in one line (None: it ran, or nothing was to be written)."""
    proven: list[str] = field(default_factory=list)
    """Apps built twice with the migration, with every fixed id stable."""
    dropped: list[DroppedFix] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    """Apps whose proof could not run, one line each."""


def find_python(root: Path, explicit: str | None) -> tuple[str | None, str]:
    """An interpreter that can import dara-core, else None and why not."""
    candidates: list[str] = []
    if explicit is not None:
        candidates.append(explicit)
    else:
        # The project's own environment: in its root, or in the root of its repository.
        top = git_root(root)
        for folder in dict.fromkeys([root, *([top] if top is not None else [])]):
            for venv in _VENVS:
                for name in ("bin/python", "Scripts/python.exe"):
                    if (folder / venv / name).is_file():
                        candidates.append(str(folder / venv / name))
        candidates.append(sys.executable)
    tried: list[str] = []
    for python in candidates:
        found = shutil.which(python)
        if found is None:
            tried.append(f"{python}: no such interpreter")
            continue
        try:
            returncode = _probe(found)
        except OSError as error:
            tried.append(f"{python}: {error.strerror or error}")
            continue
        except subprocess.TimeoutExpired:
            tried.append(f"{python}: did not answer within {_PROBE_TIMEOUT:g} s")
            continue
        if returncode == 0:
            return found, ""
        tried.append(f"{python} cannot import dara.core")
    return None, "; ".join(tried)


def _probe(python: str) -> int:
    """Whether `python` can import dara-core, as its exit code. No pipe to wait on (a daemon
    its start-up spawns may hold one open for ever), its own process group, and whatever it
    left running is killed."""
    with supervised() as supervision:
        process = subprocess.Popen(
            [python, "-c", "import importlib.util, sys; "
             "sys.exit(importlib.util.find_spec('dara.core') is None)"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True, env=supervision.environment(dict(os.environ)))
        try:
            return process.wait(timeout=_PROBE_TIMEOUT)
        finally:
            with suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def build_target(project: Project, app: App) -> BuildTarget | None:
    """How `verify` builds an app; None when no module-level name holds its builder."""
    bound = importable_as(project.index, app)
    if bound is None:
        return None
    facts, name = bound.facts, bound.name
    index = project.index
    root = index.import_root(facts)
    if root is None:
        root = source_root(facts)
    module = module_under(PurePosixPath(facts.path), PurePosixPath(root))
    # A factory-built config (`config = build_config()`): the app is what its module imports.
    files = frozenset(app.files | index.files_reachable(facts))
    search_path = tuple(folder for folder in index.search_path(files) if folder != root)
    project_root = project.settings.root
    top = repository_top(project_root)
    # The folder a library's package or module is imported from: the one holding it.
    around = tuple(dict.fromkeys(
        (top / there).parent for _, importer, there in outside_imports(index, project_root)
        if top is not None and importer in files))
    return BuildTarget(app.key, root, f"{module}:{name}", files, app.label, search_path,
                       around)


@contextmanager
def scratch_copy(root: Path, changes: list[FileChange]) -> Iterator[Path]:
    """A throwaway copy of the project with the migrated files in it. Its folder names this
    process, so that the next proof removes the copies of one killed outright."""
    _remove_stale_copies()
    with tempfile.TemporaryDirectory(prefix=f"{_PROOF_PREFIX}{os.getpid()}-") as temp:
        copy = Path(temp) / root.name
        shutil.copytree(root, copy, ignore=_not_copied, symlinks=True)
        _relink(root, copy)
        for change in changes:
            _place(copy, change.path, change.after)
        yield copy


def _relink(root: Path, copy: Path) -> None:
    """Point the copy's links where the project's point: into the copy for a target in the
    project, so that the copy is the same program (a folder linked under a second package
    name imports the migrated files there too), else to the target itself. As copied, a link
    written as an absolute path would read the unmigrated project, and a relative one that
    leaves the project would lead nowhere."""
    real_root = root.resolve()
    for folder, folders, files in os.walk(copy):
        for name in (*folders, *files):
            link = os.path.join(folder, name)
            if not os.path.islink(link):
                continue
            original = root / os.path.relpath(link, copy)
            target = Path(os.path.realpath(original))
            if target.is_relative_to(real_root):
                wanted = os.path.relpath(copy / target.relative_to(real_root), folder)
            else:
                wanted = str(target)
            if os.readlink(link) != wanted:
                os.unlink(link)
                os.symlink(wanted, link)


def _not_copied(folder: str, names: list[str]) -> set[str]:
    """Tool and version-control folders, and what is neither a file, a folder nor a link (a
    named pipe or a socket in the project is no part of a build, and cannot be copied)."""
    ignored = set(_NOT_COPIED(folder, names))
    for name in names:
        if name in ignored:
            continue
        try:
            mode = os.lstat(os.path.join(folder, name)).st_mode
        except OSError:
            continue  # gone since listed: copytree says so, as for any file it cannot read
        if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode) or stat.S_ISLNK(mode)):
            ignored.add(name)
    return ignored


def _remove_stale_copies() -> None:
    """Remove the scratch copies of proofs whose process is gone."""
    for entry in Path(tempfile.gettempdir()).glob(f"{_PROOF_PREFIX}*"):
        pid = entry.name.removeprefix(_PROOF_PREFIX).split("-", 1)[0]
        if not pid.isdigit() or _running(int(pid)):
            continue
        with suppress(OSError):
            if entry.stat().st_uid == os.getuid():
                shutil.rmtree(entry, ignore_errors=True)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # another user's
    return True


def _place(copy: Path, relative: str, data: bytes) -> None:
    """Write `data` at `relative` in the copy as a file of the copy's own. Links are copied
    as links, and one may point into the project or out of it: a linked file on the way is
    replaced, and a linked folder becomes a real one holding links to what it held, so that
    no write goes through a link to the file it names."""
    current = copy
    *folders, name = PurePosixPath(relative).parts
    for part in folders:
        current = current / part
        if current.is_symlink():
            target = current.resolve()
            current.unlink()
            current.mkdir()
            if target.is_dir():
                for entry in target.iterdir():
                    (current / entry.name).symlink_to(entry)
        elif not current.is_dir():
            current.mkdir()
    destination = current / name
    if destination.is_symlink():
        destination.unlink()
    destination.write_bytes(data)


def _build(root: Path, changes: list[FileChange], target: BuildTarget, python: str,
           timeout: float, builder: Builder) -> VerifyResult | VerifyError:
    with scratch_copy(root, changes) as copy:
        try:
            return builder(copy, target, python, timeout)
        except VerifyError as error:
            return error


def _describe(error: VerifyError) -> str:
    return f"the build fails: {error.message}" + (f" ({error.frame})" if error.frame else "")


def _unstable_fixes(result: ApplyResult, target: BuildTarget,
                    built: VerifyResult) -> list[DroppedFix]:
    """Uid fixes of this app whose ids still differ between the two builds."""
    moving = [d for d in built.definitions if d.owner == "app" and not d.stable]
    dropped: list[DroppedFix] = []
    for fix in result.applied:
        if not fix.ids or fix.finding.path not in target.files:
            continue
        still = next((d for d in moving for fixed in fix.ids
                      if (d.id.startswith(fixed) if fix.keyed else d.id == fixed)), None)
        if still is not None:
            dropped.append(DroppedFix(fix, f"its id still changes between builds ({still.id})"))
    return dropped


def prove(settings: Settings, paths: list[Path], options: ApplyOptions, proof: ProofOptions,
          result: ApplyResult, builder: Builder = build_twice,
          ) -> tuple[ApplyResult, ProofReport]:
    """The build proof of every app `result` (planned with `options`) changes; fixes that
    break a build or leave their id unstable are dropped and the migration is planned again
    without them."""
    report = ProofReport()
    if not proof.enabled or not result.changes:
        return result, report
    python, why = find_python(settings.root, proof.python)
    if python is None:
        report.skipped = f"build proof skipped: no interpreter can import dara-core ({why})"
        return result, report
    # The escape hatch, markers and mode are fixed statements; only code fixes need a build.
    fixed = {path for fix in result.applied for path in (fix.finding.path, *fix.elsewhere)}
    excluded = set(options.excluded)
    for app in result.project.apps:
        target = build_target(result.project, app)
        if not fixed & (target.files if target else app.files):
            continue
        if target is None:
            report.notes.append(f"app {app.label}: not proven, no module-level name holds its "
                                "ConfigurationBuilder for a build to import")
            continue
        result = _prove_app(settings, paths, options, proof, builder, python, target,
                            result, excluded, report)
    return result, report


def _prove_app(settings: Settings, paths: list[Path], options: ApplyOptions,
               proof: ProofOptions, builder: Builder, python: str, target: BuildTarget,
               result: ApplyResult, excluded: set[FixKey],
               report: ProofReport) -> ApplyResult:
    """Build one app until its migration builds with stable fixed ids; returns the apply
    result without the fixes that had to be dropped."""
    root = settings.root

    def replan() -> ApplyResult:
        return run_apply(settings, paths, replace(options, excluded=frozenset(excluded)))

    for _ in range(len(result.applied) + 2):
        built = _build(root, result.changes, target, python, proof.timeout, builder)
        if isinstance(built, VerifyResult):
            unstable = _unstable_fixes(result, target, built)
            if not unstable:
                report.proven.append(target.key)
                return result
            for dropped in unstable:
                excluded.add(fix_key(dropped.fix))
                report.dropped.append(dropped)
            result = replan()
            continue
        # A build that hangs without the migration too would make every build of the search
        # for the fix to blame wait out its time limit: the unmigrated build goes first.
        baseline = _build(root, [], target, python, proof.timeout, builder) if isinstance(
            built, BuildTimeout) else None
        culprit = None if isinstance(baseline, VerifyError) else _culprit(
            result, target, built, excluded, replan,
            lambda candidate: _build(root, candidate.changes, target, python, proof.timeout,
                                     builder))
        if culprit is None:
            baseline = baseline or _build(root, [], target, python, proof.timeout, builder)
            if isinstance(baseline, VerifyError):
                report.notes.append(f"app {target.label}: not proven, it does not build before "
                                    f"the migration either ({baseline.message})")
            else:
                report.notes.append(f"app {target.label}: {_describe(built)}; no single fix is "
                                    "the cause, nothing of this app was proven")
            return result
        excluded.add(fix_key(culprit))
        report.dropped.append(DroppedFix(culprit, _describe(built)))
        result = replan()
    report.notes.append(f"app {target.label}: the build proof did not settle")
    return result


def _culprit(result: ApplyResult, target: BuildTarget, failure: VerifyError,
             excluded: set[FixKey], replan: Callable[[], ApplyResult],
             build: Callable[[ApplyResult], VerifyResult | VerifyError]) -> PlannedFix | None:
    """The first applied fix of this app without which its build no longer fails: a binary
    search over the fixes in the order they were planned; first among those whose id the
    error names (`uid ... is already taken`), then those in the failing frame's file, then
    all of the app's fixes."""
    mine = [f for f in result.applied if f.finding.path in target.files]
    named = [f for f in mine if any(i in failure.message for i in f.ids)]
    frame_path = failure.frame.rsplit(":", 1)[0] if failure.frame else None
    prefix = f"{target.root}/" if target.root else ""
    in_frame = [f for f in mine if frame_path is not None
                and f.finding.path == f"{prefix}{frame_path}"]
    for candidates in (named, in_frame, mine):
        if not candidates:
            continue
        keys = [fix_key(f) for f in candidates]

        def fails(kept: int, keys: list[FixKey] = keys) -> bool:
            """Whether the build fails with only the first `kept` candidates applied."""
            excluded.update(keys[kept:])
            try:
                return isinstance(build(replan()), VerifyError)
            finally:
                excluded.difference_update(keys[kept:])

        if fails(0):
            continue
        low, high = 0, len(candidates)  # fails(high) holds: it is `result`
        while high - low > 1:
            middle = (low + high) // 2
            if fails(middle):
                high = middle
            else:
                low = middle
        return candidates[high - 1]
    return None
