"""The `dara-migrate` commands: options in, a reporter and an exit code out."""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import stat
import sys
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import replace
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from dara_migrate import __version__, result_cache
from dara_migrate.cli.plain_values import PlainValuesGroup
from dara_migrate.docs import rule_markdown
from dara_migrate.engine import audit, failing
from dara_migrate.files import (
    CACHE_FOLDER,
    ROOT_MARKERS,
    find_root,
    linked_cache_folder,
    why_not_an_output,
)
from dara_migrate.models import AuditResult, shown_path, target_lines
from dara_migrate.report.json_report import write_json
from dara_migrate.report.text import counted, render_text, unsafe_hint
from dara_migrate.rules import ALL_RULES, BY_CODE
from dara_migrate.scan import holds_other_files, shared_map
from dara_migrate.settings import Settings, SettingsError, load_settings, parse_rule_list
from dara_migrate.target import AUTO, CHOICES_TEXT, DEFAULT_REASON, TARGET_CHOICES, has_runtime
from dara_migrate.writer import (
    PlannedWrite,
    WriteError,
    WriteInterrupted,
    WritePlan,
    apply_lock,
    colour_diff,
    commit,
    dirty_paths,
    git_root,
    plan_writes,
    recover,
    replace_text,
    unified_diff,
)

try:
    from typer._click import exceptions as _click_exceptions  # typer >= 0.29 bundles click
except ImportError:
    from click import exceptions as _click_exceptions  # type: ignore[no-redef]

if TYPE_CHECKING:
    from typer._click import Context

    from dara_migrate.apply import ApplyResult
    from dara_migrate.engine import Project
    from dara_migrate.proof import ProofReport
    from dara_migrate.verify import VerifyError
    from dara_migrate.verify.targets import AppBuild

_PROGRESS_ABOVE = 200
"""Trees smaller than this finish before a progress bar would be worth drawing."""
MAX_LISTED = 50
"""Remaining errors `apply` prints; a monorepo can have thousands."""
MAX_RUNS = 20
"""Builds `verify --runs` compares at most: each is a whole build of the app."""
MAX_APPS_LISTED = 20
"""Apps `apply` names one by one as kept process-local; a monorepo can have hundreds."""

class CommandGroup(PlainValuesGroup):
    """The command group: a usage error (unknown option or command, bad or missing value) is
    one line on stderr, `error: ...`, exit 2, like every other error of the tool; help, also
    the help a bare `dara-migrate` prints, stays typer's."""

    def make_context(self, info_name: str | None, args: list[str],
                     parent: Context | None = None, **extra: Any) -> Context:
        with _one_line_usage_errors():
            return super().make_context(info_name, args, parent, **extra)

    def invoke(self, ctx: Context) -> Any:
        with _one_line_usage_errors():
            return super().invoke(ctx)


_NO_ARGS_IS_HELP: type[Exception] | tuple[()] = getattr(
    _click_exceptions, "NoArgsIsHelpError", ())
"""A bare `dara-migrate`: click (>= 8.2) raises this to print the help."""


@contextlib.contextmanager
def _one_line_usage_errors() -> Iterator[None]:
    try:
        yield
    except _NO_ARGS_IS_HELP:
        raise
    except _click_exceptions.UsageError as error:
        where = f"; see '{error.ctx.command_path} --help'" if error.ctx is not None else ""
        message = " ".join(error.format_message().split()).rstrip(".")
        # Typer 0.29 checks choices through pydantic, which prefixes its own error class.
        message = message.replace(": Value error, ", ": ")
        raise _fail(_console(False, stderr=True), f"{message}{where}") from error


app = typer.Typer(
    name="dara-migrate",
    help="Audit and migrate Dara apps to the distributed-safe runtime contract.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    cls=CommandGroup,
)


class OutputFormat(str, Enum):
    text = "text"
    json = "json"
    sarif = "sarif"
    github = "github"
    markdown = "markdown"


class TextOrJson(str, Enum):
    text = "text"
    json = "json"


class MarkdownOnly(str, Enum):
    markdown = "markdown"


class ModeOption(str, Enum):
    warn = "warn"
    enforce = "enforce"


class UsageError(Exception):
    """A problem with how the tool was called or configured: exit code 2."""


PathsArg = Annotated[list[Path] | None, typer.Argument(
    help="Files or folders to audit (default: the project around the current folder).",
    show_default=False)]
FormatOpt = Annotated[OutputFormat, typer.Option("--format", help="Report format.")]
OutputOpt = Annotated[Path | None, typer.Option(
    "--output", "-o", help="Write the report to this file instead of stdout.")]
ModeOpt = Annotated[ModeOption | None, typer.Option(
    "--mode", help="enforce: errors fail the run (default); warn: only unreadable files fail.")]
TargetOpt = Annotated[str | None, typer.Option(
    "--target", metavar=f"[{'|'.join(TARGET_CHOICES)}]", show_default=False,
    help=f"Target profile: {CHOICES_TEXT} ({AUTO}: from the dara-core pin).")]
SelectOpt = Annotated[list[str] | None, typer.Option(
    "--select", help="Only these rule codes or prefixes (DM1, DM201).")]
IgnoreOpt = Annotated[list[str] | None, typer.Option(
    "--ignore", help="Skip these rule codes or prefixes.")]
ExcludeOpt = Annotated[list[str] | None, typer.Option(
    "--exclude", help="gitignore-style patterns to leave out (adds to the config's).")]
JobsOpt = Annotated[int | None, typer.Option(
    "--jobs", "-j", min=0, help="Worker processes (0: one per core).")]
NoCacheOpt = Annotated[bool, typer.Option("--no-cache", help="Do not read or write the cache.")]
NoColorOpt = Annotated[bool, typer.Option("--no-color", help="Plain output (also NO_COLOR).")]
BUILD_TIMEOUT = 120.0
"""Seconds each build of `verify` and of `apply`'s build proof may take by default."""


def _console(no_color: bool, stderr: bool = False, file: Any = None) -> Console:
    plain = no_color or bool(os.environ.get("NO_COLOR")) or file is not None
    # Paths and app keys such as `app.main:dash` must not turn into emoji.
    return Console(stderr=stderr, file=file, no_color=plain, highlight=False, emoji=False,
                   color_system=None if plain else "auto", soft_wrap=True)


def _settings(paths: list[Path], err: Console, **flags: Any) -> Settings:
    missing = [p for p in paths if not p.exists()]
    if missing:
        raise UsageError(f"{missing[0]}: no such file or folder")
    root = find_root(paths)
    if root == Path(root.anchor):
        # Walking the whole file system (/proc, /sys, every mount) would not end in useful time.
        given = ", ".join(str(p) for p in paths) or str(Path.cwd())
        raise UsageError(f"{given}: the only folder that holds "
                         f"{'them all' if len(paths) > 1 else 'it'} is the file system root; "
                         "give a project folder (one at a time for separate projects)")
    if (root / "__init__.py").is_file() and not any(
            (root / marker).exists() for marker in ROOT_MARKERS):
        # Nothing marks the project: the folder given is its root, though Python imports
        # its modules as `<folder>.<module>` from the folder above.
        err.print(f"note: {escape(str(root))} is a package with no pyproject.toml or .git "
                  f"above it, taken as the project root: its modules are read as `main`, not "
                  f"`{escape(root.name)}.main`, and imports of `{escape(root.name)}.…` are not "
                  "followed; give the folder above it, or add a pyproject.toml there",
                  style="yellow", highlight=False)
    settings = load_settings(root, flags)
    cores = os.cpu_count() or 1
    if settings.jobs > cores:
        err.print(f"note: --jobs {settings.jobs} is more than the {cores} CPUs here; "
                  f"using {cores}", style="dim", highlight=False)
        settings = replace(settings, jobs=cores)
    if settings.use_cache:
        link = linked_cache_folder(root, settings.cache_dir or root / CACHE_FOLDER)
        if link is not None:
            err.print(f"note: {link} is a symlink, which the cache is never written through; "
                      "running without the cache", style="dim", highlight=False)
            settings = replace(settings, use_cache=False)
        elif settings.cache_dir is not None and holds_other_files(settings.cache_dir):
            err.print(f"note: {escape(str(settings.cache_dir))} (cache-dir) holds files of "
                      "the project; running without the cache (name a folder of its own)",
                      style="dim", highlight=False)
            settings = replace(settings, use_cache=False)
    return settings


def _common_flags(target: str | None, mode: ModeOption | None,
                  select: list[str] | None, ignore: list[str] | None,
                  exclude: list[str] | None, jobs: int | None, no_cache: bool) -> dict[str, Any]:
    """The flags every analysing command shares, as settings overrides (None: not given)."""
    if target is not None and target not in TARGET_CHOICES:
        raise UsageError(f"--target must be {CHOICES_TEXT}, not {target!r}")
    for option, values in (("--select", select), ("--ignore", ignore)):
        for value in values or ():
            if not value.replace(",", "").strip():
                # Empty, `--select ''` would select every rule: the opposite of what it says.
                raise UsageError(f"{option} {value!r}: names no rule code (give codes or "
                                 "prefixes such as DM1, DM201)")
    for pattern in exclude or ():
        if not pattern.strip():
            raise UsageError(f"--exclude {pattern!r}: an empty pattern leaves nothing out")
    return {
        "target": target, "mode": mode.value if mode else None,
        "select": parse_rule_list(select or [], "--select"),
        "ignore": parse_rule_list(ignore or [], "--ignore"),
        "exclude": tuple(exclude or ()), "jobs": jobs, "use_cache": False if no_cache else None,
    }


_FREED_AT_EXIT: list[object] = []
"""What a command is done with but need not free: `main` ends the process without tearing
its objects down one by one."""


def _run_audit(paths: list[Path], settings: Settings, err: Console,
               inputs: result_cache.Snapshot | None) -> AuditResult:
    found = inputs.found if inputs else None
    interactive = err.is_terminal and not os.environ.get("CI")
    if not interactive:
        result, project = audit(settings, paths, found=found,
                                kept=result_cache.parts_path(inputs) if inputs else None)
        _FREED_AT_EXIT.append(project)
        _warn_unmatched_apps(err, project)
        return result
    # Imported here: CI and pre-commit runs draw no progress bar and skip its import time.
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    progress = Progress(TextColumn("auditing"), BarColumn(), MofNCompleteColumn(),
                        console=err, transient=True)
    task = progress.add_task("audit", total=None)

    def on_total(total: int) -> None:
        progress.update(task, total=total)
        if total > _PROGRESS_ABOVE:
            progress.start()

    try:
        result, project = audit(settings, paths, lambda n: progress.advance(task, n), on_total,
                                found)
    finally:
        progress.stop()
    _FREED_AT_EXIT.append(project)
    _warn_unmatched_apps(err, project)
    return result


def _warn_unmatched_apps(err: Console, project: Project) -> None:
    """One line per entry of the `apps` setting that names no app: a typo would otherwise
    leave that app out of the run without a word; and one per import whose code lies in the
    repository around the project, which the run does not read."""
    for source, entry in project.known_apps.unmatched:
        err.print(escape(f"warning: {source}: [tool.dara-migrate] apps lists {entry!r}, which "
                         "names no ConfigurationBuilder of the project (give it as module:name)"),
                  style="yellow", highlight=False, soft_wrap=True)
    from dara_migrate.outside import outside_imports

    root = project.settings.root
    here = Path.cwd()
    shown = shown_path(str(root.relative_to(here) if root.is_relative_to(here) else root))
    for name, importer, there in outside_imports(project.index, root):
        # The project is the nearest folder with a project file above the paths given, not
        # the folder the command runs in: the path to give is the repository's.
        err.print(escape(f"warning: {importer} imports {name}, which is not in the project "
                         f"({shown}) but in the repository around it ({there}): "
                         "its code is not read and its findings are missed; give the "
                         "repository's folder as the path to read both"),
                  style="yellow", highlight=False, soft_wrap=True)


def _render(result: AuditResult, output_format: OutputFormat, console: Console, *,
            show_info: bool, statistics: bool, quiet: bool) -> None:
    if output_format is OutputFormat.text:
        render_text(result, console, show_info=show_info, statistics=statistics, quiet=quiet)
        return
    if output_format is OutputFormat.json:
        write_json(result, console.file)
        return
    if output_format is OutputFormat.sarif:
        from dara_migrate.report.sarif import render_sarif

        text = render_sarif(result, ALL_RULES)
    elif output_format is OutputFormat.github:
        from dara_migrate.report.github import render_github
        from dara_migrate.writer import git_root

        # Annotations name files from the repository's top, as the runner checks them out.
        root = Path(result.root).resolve()
        top = git_root(root)
        top = top.resolve() if top is not None else None
        text = render_github(result, root.relative_to(top).as_posix() if top is not None
                             and root.is_relative_to(top) else ".")
    else:
        from dara_migrate.report.markdown import render_markdown

        text = render_markdown(result)
    console.file.write(text)


def _fail(console: Console, message: str) -> typer.Exit:
    console.print(f"[bold red]error:[/] {escape(message)}", highlight=False)
    return typer.Exit(2)


@app.command("audit")
def audit_command(
    paths: PathsArg = None,
    output_format: FormatOpt = OutputFormat.text,
    output: OutputOpt = None,
    mode: ModeOpt = None,
    target: TargetOpt = None,
    select: SelectOpt = None,
    ignore: IgnoreOpt = None,
    exclude: ExcludeOpt = None,
    statistics: Annotated[bool, typer.Option("--statistics", help="Counts per rule.")] = False,
    show_info: Annotated[bool, typer.Option("--show-info", help="Show info findings.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Findings only.")] = False,
    no_color: NoColorOpt = False,
    jobs: JobsOpt = None,
    no_cache: NoCacheOpt = False,
) -> None:
    """Find every violation of the distributed-safe contract, with a verdict per app."""
    err = _console(no_color, stderr=True)
    paths = paths or []
    try:
        check_output_file(output, "--output")
        overrides = {**_common_flags(target, mode, select, ignore, exclude, jobs, no_cache),
                     "show_info": show_info or None}
        settings = _settings(paths, err, **overrides)
        check_not_an_input(output, "--output", settings.root)
        inputs = None if output is not None else result_cache.snapshot(settings, paths,
                                                                          overrides)
        result = _run_audit(paths, settings, err, inputs)
    except (SettingsError, UsageError) as error:
        raise _fail(err, str(error)) from error
    if output is not None:
        rendered = io.StringIO()
        _render(result, output_format, _console(True, file=rendered),
                show_info=show_info, statistics=statistics, quiet=quiet)
        try:
            replace_text(output, rendered.getvalue())
        except OSError as error:
            raise _fail(err, f"{output}: cannot write the report: {error.strerror or error}"
                        ) from error
    else:
        _render(result, output_format, _console(no_color), show_info=show_info,
                statistics=statistics, quiet=quiet)
    if result.errors:
        raise typer.Exit(2)
    code = 1 if failing(result) else 0
    if inputs is not None:
        result_cache.store(inputs, code)
    raise typer.Exit(code)


@app.command("apply")
def apply_command(
    paths: PathsArg = None,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="Write nothing; print the diff; exit 1 if it is not empty.")] = False,
    diff: Annotated[bool, typer.Option("--diff", help="Write, and print the diff.")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Never prompt.")] = False,
    interactive: Annotated[bool | None, typer.Option(
        "--interactive/--no-interactive", show_default=False,
        help="Decide step by step (default on a terminal without --yes or --dry-run).")
    ] = None,
    unsafe_fixes: Annotated[bool, typer.Option(
        "--unsafe-fixes", help="Also apply fixes that may change behaviour.")] = False,
    no_local: Annotated[bool, typer.Option(
        "--no-local", help="Never write the escape hatch; exit 1 listing what blocks.")] = False,
    set_mode: Annotated[ModeOption | None, typer.Option(
        "--set-mode", help="When no error remains, set config.distributed_mode.")] = None,
    reason: Annotated[str, typer.Option(
        "--reason", help="Reason written with the escape hatch and markers.")] = DEFAULT_REASON,
    report: Annotated[Path | None, typer.Option(
        "--report", help="Write a JSON record of every change to this file.")] = None,
    allow_dirty: Annotated[bool, typer.Option(
        "--allow-dirty", help="Write files that have uncommitted changes.")] = False,
    allow_read_only: Annotated[bool, typer.Option(
        "--allow-read-only", help="Also rewrite read-only files (they stay read-only).")
    ] = False,
    no_build_check: Annotated[bool, typer.Option(
        "--no-build-check",
        help="Do not build the migrated apps (twice, in scratch copies) before writing.")
    ] = False,
    python: Annotated[str | None, typer.Option(
        "--python", help="The app's interpreter for the build proof (default: the project's "
        "virtual environment, else this one).")] = None,
    timeout: Annotated[float, typer.Option(
        "--timeout", help="Seconds per build of the build proof.")] = BUILD_TIMEOUT,
    mode: ModeOpt = None,
    target: TargetOpt = None,
    select: SelectOpt = None,
    ignore: IgnoreOpt = None,
    exclude: ExcludeOpt = None,
    no_color: NoColorOpt = False,
    jobs: JobsOpt = None,
    no_cache: NoCacheOpt = False,
) -> None:
    """Rewrite what can be rewritten; mark and opt out of what cannot."""
    # Imported here: the apply side loads LibCST, ~0.45 s that `audit` never needs.
    from dara_migrate.applied import write_report
    from dara_migrate.apply import ApplyOptions, run_apply
    from dara_migrate.planner import FixOptions
    from dara_migrate.proof import ProofOptions, prove

    err = _console(no_color, stderr=True)
    paths = paths or []
    terminal = sys.stdin.isatty() and sys.stdout.isatty()
    if not reason.strip() or not reason.isprintable():
        # Written into comments of the code: a line break would write the rest as code.
        raise _fail(err, f"--reason must be one line of printable text, not {reason!r}")
    problem = _build_option_problem(timeout, python)
    if problem is not None:
        raise _fail(err, problem)
    if interactive and (yes or dry_run):
        raise _fail(err, "--interactive cannot be combined with --yes or --dry-run")
    if interactive and not terminal:
        raise _fail(err, "--interactive needs a terminal on stdin and stdout; use --yes")
    if interactive is None:
        interactive = terminal and not yes and not dry_run
    with contextlib.ExitStack() as held:
        try:
            check_output_file(report, "--report")
            settings = _settings(paths, err, **_common_flags(target, mode, select, ignore,
                                                             exclude, jobs, no_cache))
            check_not_an_input(report, "--report", settings.root)
            if not dry_run:
                _hold_apply_lock(settings, held, err)
            options = ApplyOptions(FixOptions(unsafe=unsafe_fixes), reason=reason,
                                   local=not no_local,
                                   set_mode=set_mode.value if set_mode else None)
            if interactive:
                from dara_migrate.interactive import run_interactive

                session = run_interactive(
                    settings, paths, options, console=_console(no_color),
                    allow_dirty=allow_dirty,
                    proof=ProofOptions(enabled=not no_build_check, python=python,
                                       timeout=timeout))
                if session is None:
                    err.print("nothing written")
                    raise typer.Exit(1)
                settings, result, proof = session
            else:
                result = run_apply(settings, paths, options)
                if not dry_run and not allow_dirty:
                    # Before the build proof, which takes seconds per app: it would be lost.
                    _refuse_dirty(err, settings, [settings.root / c.path for c in result.changes])
                result, proof = prove(
                    settings, paths, options,
                    ProofOptions(enabled=not no_build_check, python=python, timeout=timeout),
                    result)
        except (SettingsError, UsageError, WriteError) as error:
            raise _fail(err, str(error)) from error
        except (KeyboardInterrupt, EOFError) as error:
            err.print("interrupted, nothing written", highlight=False)
            raise typer.Exit(130) from error
        _warn_unmatched_apps(err, result.project)
        for line in _target_lines(result.project):
            err.print(escape(line), style="dim", highlight=False)
        for line in _shared_app_ids(result.project):
            err.print(escape(line), style="yellow", highlight=False)
        for message in result.errors:
            err.print(f"[bold red]error:[/] {escape(message)}", highlight=False)
        _summarise_proof(err, proof, dry_run)
        plan = plan_writes(settings.root, [PlannedWrite(c.path, c.before, c.after)
                                           for c in result.changes], allow_read_only)
        if dry_run and plan.refused:
            # As `--yes` would: it writes all files or none.
            raise _fail(err, f"apply would write nothing: {'; '.join(plan.refused)} (leave "
                        "such files out with --exclude)")
        if not dry_run:
            _write_planned(err, settings, plan, allow_dirty)
        if dry_run or diff:
            _print_diff(plan, settings.root, no_color, settings.jobs)
        if report is not None:
            try:
                write_report(report, result, settings.root, proof.dropped)
            except OSError as error:
                written = "" if dry_run else "; the files were written"
                raise _fail(err, f"{report}: cannot write the apply report: "
                            f"{error.strerror or error}{written}") from error
    _summarise_apply(err, result, dry_run, no_local, unsafe_fixes)
    unreadable = [shown_path(r.path) for r in result.project.results
                  if r.error is not None and r.path in result.project.selected]
    if unreadable:
        were = "were" if len(unreadable) != 1 else "was"
        err.print(f"{counted(len(unreadable), 'file')} could not be read or parsed and {were} "
                  f"not migrated (DM001): "
                  f"{escape(', '.join(unreadable[:5]))}{' ...' if len(unreadable) > 5 else ''}",
                  style="yellow", highlight=False)
    if result.errors:
        raise typer.Exit(2)
    if dry_run:
        raise typer.Exit(1 if plan.targets or unreadable else 0)
    threshold = [f for f in result.remaining if settings.mode == "enforce"
                 or f.status == "open"]
    raise typer.Exit(1 if threshold or unreadable else 0)


def _hold_apply_lock(settings: Settings, held: contextlib.ExitStack, err: Console) -> None:
    """Take the project's apply lock, then finish the roll-back of an apply that was killed
    outright."""
    held.enter_context(apply_lock(settings.root))
    for note in recover(settings.root):
        err.print(escape(note), style="yellow", highlight=False)


def _print_diff(plan: WritePlan, root: Path, no_color: bool, jobs: int) -> None:
    diff_root = (git_root(root) or root).resolve()
    colour = sys.stdout.isatty() and not no_color and not os.environ.get("NO_COLOR")
    out = sys.stdout.buffer
    files = [((target.real.relative_to(diff_root).as_posix()
               if target.real.is_relative_to(diff_root) else target.path),
              target.before, target.after) for target in plan.targets]
    # difflib is pure Python, and a large project's apply changes hundreds of files.
    for diff in shared_map(_diff_chunk, files, jobs):
        out.write(colour_diff(diff, colour))
    out.flush()


def _diff_chunk(files: Sequence[tuple[str, bytes, bytes]]) -> list[bytes]:
    return [unified_diff(path, before, after) for path, before, after in files]


def _refuse_dirty(err: Console, settings: Settings, files: list[Path],
                  say_untracked: bool = False) -> None:
    """Stop when one of the files apply would write has uncommitted changes (`say_untracked`:
    say so when the project is in no git work tree, where that cannot be checked)."""
    if not files:
        return
    try:
        dirty = dirty_paths(files, settings.root)
    except WriteError as error:
        raise _fail(err, str(error)) from error
    if dirty is None and say_untracked:
        err.print("not in a git work tree: uncommitted changes cannot be checked",
                  style="dim", highlight=False)
    elif dirty:
        raise _fail(err, "uncommitted changes in files apply would write: "
                    f"{', '.join(dirty)} (commit them, or pass --allow-dirty)")


def _write_planned(err: Console, settings: Settings, plan: WritePlan,
                   allow_dirty: bool) -> None:
    """All planned files or none: refused when one cannot be written safely or has
    uncommitted changes; a failure or signal mid-way rolls every file back."""
    if plan.refused:
        raise _fail(err, f"nothing written: {'; '.join(plan.refused)} (leave such files out "
                    "with --exclude)")
    if not plan.targets:
        return
    if not allow_dirty:
        _refuse_dirty(err, settings, [t.real for t in plan.targets], say_untracked=True)

    def say(line: str) -> None:
        err.print(escape(line), style="yellow", highlight=False)

    try:
        commit(settings.root, plan.targets, say)
    except WriteError as error:
        raise _fail(err, f"nothing written: {error}") from error
    except WriteInterrupted as error:
        err.print(f"interrupted ({error}): nothing written", highlight=False)
        raise typer.Exit(128 + error.signum) from error


def check_output_file(path: Path | None, option: str) -> None:
    """Refuse, before anything is written, an output path that is not a regular file or a
    new name in an existing, writable folder: a device, a symlink or a folder stays as is."""
    if path is None:
        return
    try:
        info = path.lstat()
    except FileNotFoundError:
        info = None
    except OSError as error:
        raise UsageError(f"{path}: cannot use for {option}: {error.strerror or error}"
                         ) from error
    if info is not None and not stat.S_ISREG(info.st_mode):
        kind = "a symlink" if stat.S_ISLNK(info.st_mode) else (
            "a folder" if stat.S_ISDIR(info.st_mode) else "not a regular file")
        raise UsageError(f"{path}: cannot use for {option}: it is {kind}")
    folder = path.absolute().parent
    if not folder.is_dir():
        raise UsageError(f"{path}: cannot use for {option}: no folder {folder}")
    if not os.access(folder, os.W_OK | os.X_OK) or (
            info is not None and not os.access(path, os.W_OK)):
        raise UsageError(f"{path}: cannot use for {option}: not writable")


def check_not_an_input(path: Path | None, option: str, root: Path) -> None:
    """Refuse, before any work, an output that would replace a file the run reads (as
    `why_not_an_output` says: no report is Python, and apply may be about to edit it)."""
    reason = None if path is None else why_not_an_output(path, root)
    if reason is not None:
        raise UsageError(f"{path}: cannot use for {option}: {reason}, which the report would "
                         "replace (name a new file)")


def _target_lines(project: Project) -> list[str]:
    """Which profile `apply` used, per app where the apps' profiles differ."""
    return target_lines([(a.name, a.facts.path, a.target, a.target_reason)
                         for a in project.apps],
                        project.settings.target, project.settings.target_reason)


def _shared_app_ids(project: Project) -> list[str]:
    """A warning for each app id that several apps declaring the runtime would share."""
    by_id: dict[str, list[str]] = {}
    for app in project.apps:
        if has_runtime(app.target):
            by_id.setdefault(app.app_id, []).append(app.label)
    return [f"apps {', '.join(keys)} share app_id {app_id!r}: their runtime keys collide "
            "in one Valkey; give each project its own [project].name"
            for app_id, keys in by_id.items() if len(keys) > 1]


def _summarise_proof(err: Console, proof: ProofReport, dry_run: bool) -> None:
    if proof.skipped:
        err.print(escape(proof.skipped), style="yellow", highlight=False)
    for dropped in proof.dropped:
        err.print(escape(dropped.line("would not be made" if dry_run else "not made")),
                  style="yellow", highlight=False, soft_wrap=True)
    for note in proof.notes:
        err.print(escape(note), style="yellow", highlight=False, soft_wrap=True)
    if proof.proven:
        err.print(f"build proof: {counted(len(proof.proven), 'app')} built twice with the "
                  "migration, fixed ids stable", style="dim", highlight=False)


def _summarise_apply(err: Console, result: ApplyResult, dry_run: bool, no_local: bool,
                     unsafe_fixes: bool) -> None:
    verb = "would change" if dry_run else "changed"
    held_back = 0 if unsafe_fixes else sum(
        1 for f in result.project.findings
        if f.fix == "unsafe" and f.status in ("open", "acknowledged"))
    err.print(f"{counted(len(result.applied), 'fix', 'fixes')}; {verb} "
              f"{counted(len(result.changes), 'file')}"
              + (f"; {unsafe_hint(held_back)}" if held_back else ""), highlight=False)
    hatched = result.hatch_apps
    labels = {app.key: app.label for app in result.project.apps}
    for key in hatched[:MAX_APPS_LISTED]:
        err.print(f"app {escape(labels.get(key, key))}: kept process-local "
                  "(unsafe_runtime_mode = 'local')",
                  style="yellow", highlight=False)
    if len(hatched) > MAX_APPS_LISTED:
        err.print(f"... and {len(hatched) - MAX_APPS_LISTED} more apps kept process-local",
                  style="yellow", highlight=False)
    for message in result.refused:
        err.print(escape(message), style="yellow", highlight=False)
    for key in result.without_hatch_site:
        err.print(f"app {escape(labels.get(key, key))}: no escape hatch set, as no name "
                  "holds its ConfigurationBuilder; bind it (`config = build_config()` at "
                  "module level) and run again", style="yellow", highlight=False)
    if result.remaining:
        count = len(result.remaining)
        plural = count != 1
        heading = ("block" if plural else "blocks") + " the migration" if no_local else (
            "remain" if plural else "remains")
        err.print(f"{count} error{'s' if plural else ''} {heading}:", highlight=False)
        # The findings are of the migrated sources: a dry run wrote none, so its lines are
        # the files' as they are.
        from dara_migrate.apply import BeforeMigration

        before = BeforeMigration(result) if dry_run else None
        for finding in result.remaining[:MAX_LISTED]:
            line, message = ((before.line(finding), before.message(finding)) if before
                             else (finding.line, finding.message))
            err.print(f"  {escape(shown_path(finding.path))}:{line}: "
                      f"{finding.rule} {escape(shown_path(message))}", highlight=False,
                      soft_wrap=True)
        if count > MAX_LISTED:
            err.print(f"  ... and {count - MAX_LISTED} more; `dara-migrate audit` lists them all",
                      highlight=False)


@app.command("report")
def report_command(
    paths: PathsArg = None,
    applied: Annotated[Path | None, typer.Option(
        "--applied", help="An `apply --report` file: adds what apply changed.")] = None,
    _output_format: Annotated[MarkdownOnly, typer.Option(
        "--format", help="The guide is Markdown; other formats come from `audit --format`.")
    ] = MarkdownOnly.markdown,
    output: OutputOpt = None,
    target: TargetOpt = None,
    mode: ModeOpt = None,
    exclude: ExcludeOpt = None,
    jobs: JobsOpt = None,
    no_cache: NoCacheOpt = False,
) -> None:
    """The Markdown upgrade guide (audit --format markdown, plus what apply changed)."""
    from dara_migrate.applied import read_applied
    from dara_migrate.report.markdown import render_markdown

    err = _console(False, stderr=True)
    paths = paths or []
    try:
        check_output_file(output, "--output")
    except UsageError as error:
        raise _fail(err, str(error)) from error
    if output is not None and applied is not None and output.resolve() == applied.resolve():
        raise _fail(err, f"{output}: cannot use for --output: it is the --applied file, which "
                    "the guide would replace (name a new file)")
    try:
        record = read_applied(applied) if applied else None
    except (OSError, ValueError) as error:
        raise _fail(err, f"{applied}: cannot read the apply report: {error}") from error
    # Anything else fails as `audit` fails: the applied file is not the cause.
    try:
        settings = _settings(paths, err, **_common_flags(target, mode, None, None, exclude,
                                                         jobs, no_cache))
        check_not_an_input(output, "--output", settings.root)
        result, project = audit(settings, paths)
    except (SettingsError, UsageError) as error:
        raise _fail(err, str(error)) from error
    _warn_unmatched_apps(err, project)
    text = render_markdown(result, record)
    if output is not None:
        try:
            replace_text(output, text)
        except OSError as error:
            raise _fail(err, f"{output}: cannot write the guide: {error.strerror or error}"
                        ) from error
    else:
        sys.stdout.write(text)


@app.command("verify")
def verify_command(
    app_root: Annotated[Path, typer.Argument(
        help="A folder holding one app or several (each is built from its own folder).")
    ] = Path("."),
    config: Annotated[str | None, typer.Option(
        "--config", help="module:attr of the ConfigurationBuilder to build (default: every "
        "app the audit finds under the folder).")
    ] = None,
    python: Annotated[str | None, typer.Option(
        "--python", help="The app's interpreter (default: this one).")] = None,
    runs: Annotated[int, typer.Option("--runs", min=2, help="Builds to compare.")] = 2,
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", help="Where the manifest is written (default: dara-manifest.json "
        "next to each app; dara-manifest.<module>.<name>.json where apps share a folder)."
    )] = None,
    output_format: Annotated[TextOrJson, typer.Option(
        "--format", help="Report format.")] = TextOrJson.text,
    timeout: Annotated[float, typer.Option(
        "--timeout", help="Seconds per build; with --workers also for the servers to start and"
        " for the replay.")] = BUILD_TIMEOUT,
    workers: Annotated[int | None, typer.Option(
        "--workers", min=2, help="Also serve each app on N workers and replay the browser "
        "across them; apps behind BasicAuthConfig/MultiBasicAuthConfig are logged in as the "
        "config's first user, or --login's (credentials read in the served app, never shown).")
    ] = None,
    env: Annotated[list[str] | None, typer.Option(
        "--env", help="KEY=VALUE for the builds and the --workers servers (repeatable).")
    ] = None,
    login: Annotated[str | None, typer.Option(
        "--login", metavar="USER", help="With --workers: the user of the app's BasicAuthConfig/"
        "MultiBasicAuthConfig to log in as (its password comes from the app's config).")
    ] = None,
    no_cache: NoCacheOpt = False,
    no_color: NoColorOpt = False,
) -> None:
    """Build the real app twice and prove which ids are stable; write the manifest."""
    from dara_migrate.predictions import predicted_definitions
    from dara_migrate.verify import VerifyError, render_error, run_verify
    from dara_migrate.verify import render_text as render_verify

    err = _console(no_color, stderr=True)
    if not app_root.is_dir():
        raise _fail(err, f"{app_root}: not a folder")
    problem = _build_option_problem(timeout, python)
    if problem is not None:
        raise _fail(err, problem)
    if runs > MAX_RUNS:
        raise _fail(err, f"--runs must be at most {MAX_RUNS} (each run is a whole build), "
                    f"not {runs}")
    if login is not None and workers is None:
        raise _fail(err, "--login picks the user the --workers replay logs in as; pass "
                    "--workers N too")
    if login is not None and (not login.strip() or not login.isprintable()):
        raise _fail(err, f"--login must name a user of the app's auth config, not {login!r}")
    problem = config_problem(config) if config is not None else None
    if problem is not None:
        raise _fail(err, f"--config must be module:attribute, like app.main:config, not "
                    f"{config!r}: {problem}")
    if workers is not None:
        _verify_on_workers(app_root, config, python, runs, workers, env or [], timeout,
                           output, output_format, no_color, err, login, no_cache)
    from dara_migrate.verify.workers import ReplayError, parse_environment

    try:
        environment = parse_environment(env or [])
        check_output_file(output, "--output")
        check_not_an_input(output, "--output", find_root([app_root]))
        project, builds = _verify_targets(app_root, config, err, no_cache)
        if output is not None and len(builds) > 1:
            raise UsageError(f"--output names one manifest, but {len(builds)} apps were found "
                             f"under {app_root}; pass --config to build one")
    except (SettingsError, UsageError, ReplayError) as error:
        raise _fail(err, str(error)) from error
    documents: list[dict[str, Any]] = []
    code = 0
    homes = _manifest_homes(builds)
    for build, home, manifest in zip(builds, homes, _manifests(builds, homes), strict=True):
        folder = build.folder
        alone = home == folder  # else its own predictions: those of its config's modules
        try:
            result = run_verify(folder, config=build.config, python=python, runs=runs,
                                timeout=timeout, environment=build.environment(environment),
                                output=output or manifest,
                                predicted=predicted_definitions(
                                    project, folder, () if alone else build.files))
        except VerifyError as error:
            _frame_from(error, folder, app_root)
            documents.append(error.to_json())
            render_error(error, err)
            code = max(code, error.exit_code)
            continue
        documents.append(result.to_json())
        if output_format is not TextOrJson.json:
            render_verify(result, _console(no_color))
        code = max(code, result.exit_code)
    if output_format is TextOrJson.json:
        shown: object = documents[0] if len(documents) == 1 else documents
        sys.stdout.write(json.dumps(shown, indent=2) + "\n")
    raise typer.Exit(code)


def _build_option_problem(timeout: float, python: str | None) -> str | None:
    """Why `--timeout` or `--python` cannot drive a build, said before any work starts."""
    if not math.isfinite(timeout) or timeout <= 0:
        return f"--timeout must be a positive number of seconds, not {timeout:g}"
    if python is not None and not python.strip():
        return "--python must name an interpreter, not ''"
    return None


def config_problem(config: str) -> str | None:
    """Why `config` cannot be what `dara start --config` imports (`module:attribute`, the
    module as `importlib` takes it): said before any build runs, in the user's terms."""
    module, colon, attribute = config.rpartition(":")
    if not colon:
        return "no ':' before the attribute"
    if "/" in module or "\\" in module or module.endswith(".py"):
        parts = [part for part in module.removesuffix(".py").replace("\\", "/").split("/")
                 if part]
        if not parts or {".", ".."} & set(parts):
            return "give the module as it is imported from the app's folder, not a path"
        return f"give the module, not its file (e.g. {'.'.join(parts)}:{attribute or 'config'})"
    if not module or any(not part.strip() for part in module.split(".")):
        return "the module name is empty or has an empty part"
    if module.startswith("-"):
        return "the module name starts with '-'"
    if not attribute.isidentifier():
        return f"{attribute!r} is not a Python name"
    return None


def _verify_targets(app_root: Path, config: str | None, err: Console, no_cache: bool
                    ) -> tuple[Project, list[AppBuild]]:
    """The apps `verify` builds under `app_root` (or the one `config` names), and the audit
    they are checked against. That audit reports on every file the apps run: a shared
    library outside `app_root` makes definitions on their behalf, and its findings (and
    `local-only` markers) are theirs too. A usage error when there is no app."""
    from dara_migrate.verify.targets import app_builds, repository_root

    use_cache = False if no_cache else None
    project = audit(_settings([app_root], err, use_cache=use_cache), [app_root])[1]
    wider = repository_root(project, app_root)
    if wider is not None:
        project = audit(_settings([wider], err, use_cache=use_cache), [app_root])[1]
    _warn_unmatched_apps(err, project)
    builds = app_builds(project, app_root, config)
    if not builds:
        raise UsageError(f"no Dara app found under {app_root.resolve()}")
    root = project.settings.root
    unselected = sorted({path for build in builds for path in build.files} - project.selected)
    if unselected:
        project = audit(_settings([root], err, use_cache=use_cache),
                        [app_root, *(root / path for path in unselected)])[1]
    return project, builds


def _verify_on_workers(app_root: Path, config: str | None, python: str | None, runs: int,
                       workers: int, env: list[str], timeout: float, output: Path | None,
                       output_format: TextOrJson, no_color: bool, err: Console,
                       login: str | None, no_cache: bool) -> None:
    """`verify --workers N`: for each app, the builds, then the cross-worker replay; the
    worst exit wins. Several apps (a monorepo) are served one after the other."""
    from dara_migrate.predictions import predicted_definitions, site_findings
    from dara_migrate.verify import VerifyError, render_error, render_text, run_verify
    from dara_migrate.verify.workers import (
        ReplayError,
        ServeError,
        parse_environment,
        render_workers_text,
        verify_on_workers,
    )

    try:
        environment = parse_environment(env)
        check_output_file(output, "--output")
        check_not_an_input(output, "--output", find_root([app_root]))
        project, builds = _verify_targets(app_root, config, err, no_cache)
        if output is not None and len(builds) > 1:
            raise UsageError(f"--output names one manifest, but {len(builds)} apps were found "
                             f"under {app_root}; pass --config to serve one")
    except (SettingsError, UsageError, ReplayError) as error:
        raise _fail(err, str(error)) from error
    documents: list[dict[str, Any]] = []
    code = 0
    homes = _manifest_homes(builds)
    for build, home, manifest in zip(builds, homes, _manifests(builds, homes), strict=True):
        try:
            build_environment = build.environment(environment)
            result = run_verify(build.folder, config=build.config, python=python, runs=runs,
                                timeout=timeout, output=output or manifest,
                                predicted=predicted_definitions(
                                    project, build.folder,
                                    () if home == build.folder else build.files),
                                environment=build_environment)
            replay = verify_on_workers(build.folder, config=build.config, python=python,
                                       count=workers, environment=build_environment,
                                       timeout=timeout,
                                       findings=site_findings(project, build.folder, build.app),
                                       login=login)
        except ReplayError as error:
            raise _fail(err, str(error)) from error
        except VerifyError as error:
            _frame_from(error, build.folder, app_root)
            documents.append(error.to_json())
            if isinstance(error, ServeError):
                err.print(escape(f"serve failed: {error.message}"), style="bold red")
                for line in error.log_tail:
                    err.print(escape(f"  | {line}"), highlight=False)
            else:
                render_error(error, err)
            code = max(code, error.exit_code)
            continue
        documents.append({**result.to_json(), "workers": replay.to_json()})
        if output_format is not TextOrJson.json:
            console = _console(no_color)
            render_text(result, console)
            render_workers_text(replay, console)
        code = max(code, result.exit_code, replay.exit_code)
    if output_format is TextOrJson.json:
        shown: object = documents[0] if len(documents) == 1 else documents
        sys.stdout.write(json.dumps(shown, indent=2) + "\n")
    raise typer.Exit(code)


def _frame_from(error: VerifyError, folder: Path, app_root: Path) -> None:
    """Give the frame of a build's error (a path in the folder the app builds in) from the
    folder `verify` was given, as every other path it prints: in a monorepo,
    `apps/b/ledger/backends.py:5`, not `ledger/backends.py:5`."""
    given = app_root.resolve()
    if error.frame and folder != given and folder.is_relative_to(given):
        error.frame = f"{folder.relative_to(given).as_posix()}/{error.frame}"


def _manifest_homes(builds: list[AppBuild]) -> list[Path]:
    """The folder each app's manifest is written to: its build folder, or the folder of its
    config module where several apps build from one folder (a monorepo whose apps have no
    project file of their own), so that each keeps its own."""
    sharing = Counter(build.folder for build in builds)
    return [build.folder if sharing[build.folder] == 1 or build.home is None else build.home
            for build in builds]


def _manifests(builds: list[AppBuild], homes: list[Path]) -> list[Path]:
    """Each app's manifest: `dara-manifest.json` in its home, or, where apps share a home
    (several configs in one module or folder, apps one factory builds), one named after the
    app's config (`dara-manifest.shop.sales.config.json`), so that none overwrites another."""
    sharing = Counter(homes)
    return [home / ("dara-manifest.json" if sharing[home] == 1 else
                    f"dara-manifest.{build.config.replace(':', '.')}.json")
            for build, home in zip(builds, homes, strict=True)]


@app.command("rules")
def rules_command(
    output_format: Annotated[TextOrJson, typer.Option(
        "--format", help="Catalog format.")] = TextOrJson.text,
    no_color: NoColorOpt = False,
) -> None:
    """List the rule catalog."""
    console = _console(no_color)
    if output_format is TextOrJson.json:
        catalog = [
            {"code": r.code, "name": r.name, "severity": r.severity, "fix": r.fix,
             "summary": r.summary, "url": r.url()}
            for r in ALL_RULES
        ]
        console.file.write(json.dumps(catalog, indent=2) + "\n")
        return
    for rule in ALL_RULES:
        console.print(f"[bold]{rule.code}[/] {rule.name:<32} {rule.severity:<8} "
                      f"{(rule.fix or '-'):<8} {escape(rule.summary)}", highlight=False)


@app.command("explain")
def explain_command(code: Annotated[str, typer.Argument(help="A rule code, e.g. DM101.")]
                    ) -> None:
    """Print one rule's documentation page."""
    rule = BY_CODE.get(code.upper())
    if rule is None:
        raise _fail(_console(False, stderr=True),
                    f"unknown rule {code!r}; `dara-migrate rules` lists them")
    sys.stdout.write(rule_markdown(rule))


def _version(value: bool) -> None:
    if value:
        sys.stdout.write(f"dara-migrate {__version__}\n")
        raise typer.Exit(0)


@app.callback()
def root_options(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Show the version and exit.")] = False,
) -> None:
    """Audit and migrate Dara apps to the distributed-safe runtime contract."""
