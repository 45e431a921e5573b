"""`apply --interactive`: the migration that `apply --yes` makes, decided step by step.

The steps follow SPEC.md: (1) verdict and counts, (2) target profile and runtime details,
(3) fix groups by rule, (4) a one-by-one review of the chosen unsafe fixes (and of the safe
ones on request) with uid editing, (5) what happens to the errors that remain, (6) a summary
and a final confirm. Every prompt has a default, and taking every default completes the
migration. Nothing is written here: the caller writes the result the way it does for `--yes`.
"""

from __future__ import annotations

import re
import signal
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from types import FrameType
from typing import Any

import questionary
from prompt_toolkit.input import Input
from prompt_toolkit.output import Output
from questionary import Choice
from rich.console import Console
from rich.markup import escape
from rich.text import Text

from dara_migrate.apply import ApplyOptions, ApplyResult, BeforeMigration, run_apply
from dara_migrate.edits import EditError, QuoteStyles, apply_edits, edit_style
from dara_migrate.engine import Project, audit
from dara_migrate.files import ReadError, Source, read_source
from dara_migrate.index.apps import App
from dara_migrate.index.definitions import literal_uids
from dara_migrate.index.queries import route_calls
from dara_migrate.models import Finding, shown_path
from dara_migrate.planner import (
    DEFAULT_REASON,
    FixOptions,
    PlannedFix,
    plan_code_fixes,
    plan_fix,
    remaining_by_app,
    written_reason,
)
from dara_migrate.proof import ProofOptions, ProofReport, prove
from dara_migrate.report.text import app_line, counted, summary_line, visible
from dara_migrate.settings import Settings
from dara_migrate.target import (
    ESCAPE_HATCH_ATTRIBUTE,
    MODE_ATTRIBUTE,
    PROFILES,
    RuntimeEnv,
    as_target,
    has_runtime,
)
from dara_migrate.writer import WriteError, colour_diff, dirty_paths, encode, unified_diff

UID_PATTERN = re.compile(r"^[A-Za-z0-9_.:-]+$")
_AS_DETECTED = "detected"
"""The target answer that keeps each app's own profile."""
ROUTE_ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]+$")
"""Dara's own check for route ids (`^[a-zA-Z0-9-_]+$`), stricter than the uid pattern."""
_ALLOWED = {UID_PATTERN: "letters, digits and _ . : -",
            ROUTE_ID_PATTERN: "letters, digits, _ and -"}
_LISTED = 12
"""Remaining errors listed one per line before the rest are only counted."""


class Prompts:
    """questionary questions on one input and output: the terminal by default, a pipe and
    prompt_toolkit's `DummyOutput` in tests."""

    def __init__(self, input: Input | None = None, output: Output | None = None) -> None:
        self._io: dict[str, Any] = {}
        if input is not None:
            self._io["input"] = input
        if output is not None:
            self._io["output"] = output
        self.interrupted = False

    def on_sigint(self, signum: int, frame: FrameType | None) -> None:
        # Python drops a KeyboardInterrupt raised inside a weakref callback or __del__, which
        # the garbage collector runs anywhere, so the next question raises it again.
        self.interrupted = True
        raise KeyboardInterrupt

    def check_interrupt(self) -> None:
        if self.interrupted:
            raise KeyboardInterrupt

    def select(self, message: str, choices: Sequence[Choice], default: str, *,
               shortcuts: bool = False) -> str:
        return str(self._ask(questionary.select(message, choices=list(choices),
                                                default=default, use_shortcuts=shortcuts,
                                                **self._io)))

    def checkbox(self, message: str, choices: Sequence[Choice]) -> list[Any]:
        return list(self._ask(questionary.checkbox(message, choices=list(choices),
                                                   **self._io)))

    def confirm(self, message: str, default: bool) -> bool:
        return bool(self._ask(questionary.confirm(message, default=default, **self._io)))

    def text(self, message: str, default: str, validate: Callable[[str], bool | str]) -> str:
        return str(self._ask(questionary.text(message, default=default, validate=validate,
                                              **self._io))).strip()

    def _ask(self, question: questionary.Question) -> Any:
        self.check_interrupt()
        # unsafe_ask lets Ctrl-C through as KeyboardInterrupt, so the caller writes nothing.
        answer = question.unsafe_ask()
        if answer is None:
            raise KeyboardInterrupt
        return answer


def run_interactive(settings: Settings, paths: list[Path], options: ApplyOptions, *,
                    console: Console, prompts: Prompts | None = None,
                    allow_dirty: bool = False, proof: ProofOptions | None = None,
                    ) -> tuple[Settings, ApplyResult, ProofReport] | None:
    """Ask, then plan the migration in memory and prove it builds (`proof`, when given)
    before the final confirm. Returns the (possibly re-targeted) settings, the result to
    write and the proof's report, or None when the user declines at the final confirm.
    Ctrl-C raises KeyboardInterrupt before anything is written."""
    prompts = prompts or Prompts()
    previous = signal.signal(signal.SIGINT, prompts.on_sigint)
    try:
        outcome = _Session(settings, paths, options, console, prompts, allow_dirty,
                           proof).run()
        prompts.check_interrupt()
        return outcome
    finally:
        signal.signal(signal.SIGINT, previous)


class _Session:
    """One run of the flow: the answers so far and the settings they apply to."""

    def __init__(self, settings: Settings, paths: list[Path], options: ApplyOptions,
                 console: Console, prompts: Prompts, allow_dirty: bool,
                 proof: ProofOptions | None) -> None:
        self.settings = settings
        self.proof = proof
        self.paths = paths
        self.options = options
        self.console = console
        self.prompts = prompts
        self.allow_dirty = allow_dirty
        self.runtime_app_id: str | None = options.fixes.runtime_app_id
        self.runtime_env = options.fixes.runtime_env
        self.uid_overrides: dict[str, str] = dict(options.fixes.uid_overrides)
        self.accepted: set[str] = set()
        self.mode_line = ""
        self.sources: dict[str, Source] = {}

    def run(self) -> tuple[Settings, ApplyResult, ProofReport] | None:
        project = self.show_verdicts()
        project = self.choose_target(project)
        fixes = self.choose_fixes(project)
        self.review(project, fixes)
        options, final = self.decide_remaining()
        report = ProofReport()
        if self.proof is not None and self.proof.enabled:
            # Before the confirm: what is confirmed is what builds.
            self.say("building the migrated apps twice...", style="dim")
            final, report = prove(self.settings, self.paths, options, self.proof, final)
            for dropped in report.dropped:
                self.say(escape(dropped.line("dropped")), style="yellow")
        if not self.confirm(final):
            return None
        return self.settings, final, report

    def say(self, markup: str, style: str | None = None) -> None:
        self.console.print(markup, style=style, highlight=False, soft_wrap=True)

    def fix_options(self) -> FixOptions:
        accepted = self.accepted
        return FixOptions(unsafe=False, accept=lambda fix: fix.finding.fingerprint in accepted,
                          uid_overrides=self.uid_overrides, runtime_app_id=self.runtime_app_id,
                          runtime_env=self.runtime_env)

    # (1) verdict and counts

    def show_verdicts(self) -> Project:
        result, project = audit(self.settings, self.paths)
        live = visible(result, self.settings.show_info)
        by_fix = Counter(f.fix or "none" for f in live if f.severity == "error"
                         and f.status == "open")
        self.say(f"[bold]{escape(summary_line(result, live, self.settings.show_info))}[/]")
        if by_fix:
            self.say("open errors by fix: " + ", ".join(
                f"{kind} {by_fix[kind]}" for kind in ("safe", "unsafe", "manual", "blocker",
                                                      "none") if by_fix[kind]))
        for app in result.apps:
            self.say(app_line(app))
        if not result.apps:
            self.say("no ConfigurationBuilder() found: no app verdict", style="yellow")
        return project

    # (2) target profile and runtime details

    def choose_target(self, project: Project) -> Project:
        """A profile chosen here applies to every app, as `--target` does (over every
        `[tool.dara-migrate]` table); where the apps' projects detect different profiles, the
        default keeps each app's own."""
        current = self.settings.target
        choices = [Choice(f"{profile.name}: {profile.offer}", profile.name)
                   for profile in PROFILES.values()]
        detected = sorted({(app.target, app.label) for app in project.apps})
        if len({target for target, _ in detected}) > 1:
            each = ", ".join(f"{label} {target}" for target, label in detected)
            choices.insert(0, Choice(f"as detected for each app: {each}", _AS_DETECTED))
            question, default = "Target profile (the apps' projects differ)", _AS_DETECTED
        else:
            question = f"Target profile (detected {current}: {self.settings.target_reason})"
            default = current
        answer = self.prompts.select(question, choices, default)
        if answer != default:
            target = as_target(answer)
            flags = {**self.settings.flags, "target": target}
            # Nested projects' tables are read again with the choice among the flags.
            self.settings = replace(self.settings, target=target, target_choice=target,
                                    target_reason="chosen in the interactive session",
                                    flags=flags, nested={}, _governing={})
            project = audit(self.settings, self.paths)[1]
        if not any(has_runtime(app.target) for app in project.apps):
            return project
        needing = [app for app in project.apps if any(
            f.rule == "DM201" and f.status == "open" and app.key in f.apps
            for f in project.findings)]
        if needing:
            self.ask_runtime(project, needing)
        return project

    def ask_runtime(self, project: Project, apps: list[App]) -> None:
        default = self.runtime_app_id or apps[0].app_id
        names = ", ".join(app.name for app in apps)
        self.runtime_app_id = self.prompts.text(
            f"App id for the shared runtime (app {names})", default, _valid_app_id)
        env = self.runtime_env
        self.runtime_env = RuntimeEnv(
            valkey_url=self.prompts.text(
                "Environment variable with the Valkey URL (unset: the app keeps single-process "
                "behaviour)", env.valkey_url, _valid_env_name),
            namespace=self.prompts.text(
                "Environment variable with the namespace (one per environment; no default)",
                env.namespace, _valid_env_name),
            deployment_id=self.prompts.text(
                "Environment variable with the deployment id (one per release)",
                env.deployment_id, _valid_env_name),
        )
        env = self.runtime_env
        self.say(f"The runtime reads, on every worker: {env.valkey_url} (unset: the app keeps "
                 f"single-process behaviour), {env.namespace} (one per environment; no "
                 f"default) and {env.deployment_id} (one per release).", style="dim")

    # (3) fix groups by rule

    def choose_fixes(self, project: Project) -> list[PlannedFix]:
        planned = plan_code_fixes(project, FixOptions(
            unsafe=True, uid_overrides=self.uid_overrides, runtime_app_id=self.runtime_app_id,
            runtime_env=self.runtime_env),
            self.text_of)
        groups: dict[tuple[str, str], list[PlannedFix]] = {}
        for fix in sorted(planned, key=lambda f: (f.finding.rule, f.finding.fix != "safe")):
            groups.setdefault((fix.finding.rule, fix.finding.fix or ""), []).append(fix)
        if not groups:
            self.say("no automatic fixes to make")
            return []
        choices = [
            Choice(f"{rule} {members[0].finding.name}: "
                   f"{counted(len(members), f'{kind} fix', f'{kind} fixes')}"
                   f" (e.g. {members[0].description})", (rule, kind),
                   checked=kind == "safe" or self.options.fixes.unsafe)
            for (rule, kind), members in groups.items()
        ]
        chosen = set(self.prompts.checkbox(
            "Fixes to make (unsafe ones may change behaviour; space toggles)", choices))
        return [fix for key, members in groups.items() if key in chosen for fix in members]

    # (4) one-by-one review

    def review(self, project: Project, fixes: list[PlannedFix]) -> None:
        safe = [f for f in fixes if f.finding.fix == "safe"]
        unsafe = [f for f in fixes if f.finding.fix != "safe"]
        if safe and self.prompts.confirm(
                f"Review the {counted(len(safe), 'safe fix', 'safe fixes')} one by one?",
                default=False):
            queue = fixes
        else:
            self.accepted.update(f.finding.fingerprint for f in safe)
            queue = unsafe
        queue = sorted(queue, key=lambda f: f.finding.sort_key())
        for number, fix in enumerate(queue, 1):
            answer = self.review_one(project, fix, f"{number}/{len(queue)}")
            if answer == "yes":
                self.accepted.add(fix.finding.fingerprint)
            elif answer == "all":
                self.accepted.update(f.finding.fingerprint for f in queue[number - 1:])
                return
            elif answer == "quit":
                return

    def review_one(self, project: Project, fix: PlannedFix, position: str) -> str:
        finding = fix.finding
        while True:
            self.say(f"\n[bold][{position}] {finding.rule}[/] ({finding.fix}) "
                     f"{escape(finding.path)}:{finding.line}: {escape(fix.description)}")
            self.say(escape(shown_path(finding.message)), style="dim")
            self.show_diff(project, fix)
            choices = [
                Choice("yes: make this fix", "yes", shortcut_key="y"),
                Choice("no: skip it", "no", shortcut_key="n"),
                Choice("all: make this and every remaining fix in this review", "all",
                       shortcut_key="a"),
                Choice("quit: skip this and every remaining fix in this review", "quit",
                       shortcut_key="q"),
            ]
            if finding.suggested_uid is not None:
                choices.append(Choice(f"edit: type another {_keyword(finding)}", "edit",
                                      shortcut_key="e"))
            answer = self.prompts.select("Make this fix?", choices, "yes", shortcuts=True)
            if answer != "edit":
                return answer
            fix = self.edit_uid(project, fix)

    def edit_uid(self, project: Project, fix: PlannedFix) -> PlannedFix:
        finding = fix.finding
        route = finding.rule == "DM108"
        current = self.uid_overrides.get(finding.fingerprint, finding.suggested_uid or "")
        taken = self.taken_ids(project, fix, route)
        pattern = ROUTE_ID_PATTERN if route else UID_PATTERN

        def valid(value: str) -> bool | str:
            value = value.strip()
            if not pattern.fullmatch(value):
                return f"use only {_ALLOWED[pattern]}"
            if value in taken:
                return f"{value!r} is already used in this project"
            return True

        self.uid_overrides[finding.fingerprint] = self.prompts.text(
            f"New {_keyword(finding)}", current, valid)
        facts = project.index.files[finding.path]
        quote = QuoteStyles(project.index.files, self.text_of)(finding.path)
        replanned = plan_fix(project, facts, finding, quote,
                             FixOptions(uid_overrides=self.uid_overrides))
        return replanned or fix

    def taken_ids(self, project: Project, fix: PlannedFix, route: bool) -> set[str]:
        """Ids the edited one must not repeat: literals in the project, and the ids every
        other planned fix of the same kind writes."""
        if route:
            values = [call.kwarg("id") for _, call, _ in route_calls(project.index)]
            taken = {v.const for v in values if v is not None and isinstance(v.const, str)}
        else:
            # The uids `apply` refuses to write: literals anywhere in the project.
            taken = set(literal_uids(project.index))
        for other in project.findings:
            if (other.suggested_uid is not None and other is not fix.finding
                    and (other.rule == "DM108") == route):
                taken.add(self.uid_overrides.get(other.fingerprint, other.suggested_uid))
        return taken

    def show_diff(self, project: Project, fix: PlannedFix) -> None:
        """The fix's change to its file, and to the other files it edits (call sites)."""
        modules = [facts.module for facts in project.index.files.values()]
        for path, edits in [(fix.finding.path, fix.edits), *sorted(fix.elsewhere.items())]:
            style = edit_style(self.settings.root / path, modules)
            try:
                source = self.source(path)
                after = apply_edits(source.text, edits, style)
            except (EditError, ReadError) as error:
                self.say(f"(no preview of {escape(path)}: {escape(str(error))})",
                         style="yellow")
                continue
            diff = unified_diff(path, encode(source, source.text), encode(source, after))
            self.show_coloured(diff, source.encoding)

    def show_coloured(self, diff: bytes, encoding: str) -> None:
        shown = colour_diff(diff, True).decode(encoding, errors="replace")
        self.console.print(Text.from_ansi(shown.rstrip("\n")), highlight=False, soft_wrap=True)

    # (5) the errors that remain, and the positive end state

    def decide_remaining(self) -> tuple[ApplyOptions, ApplyResult]:
        self.say("planning the migration...", style="dim")
        preview = run_apply(self.settings, self.paths,
                            ApplyOptions(self.fix_options(), reason=self.options.reason,
                                         local=False))
        remaining = preview.remaining
        options = replace(self.options, fixes=self.fix_options())
        if remaining:
            # Nothing is written yet: the lines are those of the files as they are.
            self.list_remaining(remaining, BeforeMigration(preview))
            if options.local:
                options = self.ask_local(options, preview.project)
            else:
                self.say("--no-local: they stay open and block the migration", style="yellow")
        if options.set_mode is None:
            options = replace(options, set_mode=self.ask_mode(preview.project))
        return options, run_apply(self.settings, self.paths, options)

    def list_remaining(self, remaining: list[Finding], before: BeforeMigration) -> None:
        counts = Counter(f.rule for f in remaining)
        verb = "needs" if len(remaining) == 1 else "need"
        self.say(f"\n[bold]{counted(len(remaining), 'error')} {verb} a person[/] ("
                 + ", ".join(f"{code} x{n}" for code, n in sorted(counts.items())) + "):")
        for finding in remaining[:_LISTED]:
            self.say(f"  {escape(shown_path(finding.path))}:{before.line(finding)}: "
                     f"{finding.rule} {escape(shown_path(before.message(finding)))}")
        if len(remaining) > _LISTED:
            self.say(f"  ... and {len(remaining) - _LISTED} more")

    def ask_local(self, options: ApplyOptions, project: Project) -> ApplyOptions:
        keep = self.prompts.select("What should happen to them?", [
            Choice(f"keep local: set config.{ESCAPE_HATCH_ATTRIBUTE} = 'local' (sticky "
                   "sessions only) and mark each site", "local"),
            Choice("leave open: mark each site; the app stays blocked", "open"),
        ], "local") == "local"
        what = "escape hatch and the markers" if keep else "markers"
        reason = self.prompts.text(f"Reason, one line (written in the {what})",
                                   self.default_reason(project), _valid_reason)
        return replace(options, reason=reason, hatch=keep)

    def default_reason(self, project: Project) -> str:
        """`--reason` when given, else the reason an earlier run wrote in the markers."""
        if self.options.reason != DEFAULT_REASON:
            return self.options.reason
        return written_reason(project) or DEFAULT_REASON

    def ask_mode(self, project: Project) -> str | None:
        by_app = remaining_by_app(project)
        clear = [app for app in project.apps
                 if app.bound_name is not None and app.declares(MODE_ATTRIBUTE) is None
                 and not by_app[app.key]]
        if not clear:
            return None
        names = ", ".join(app.name for app in clear)
        # The default is what `--yes` does; setting a mode is a choice the user makes.
        answer = self.prompts.select(
            f"No error left in app {names}: set config.{MODE_ATTRIBUTE} so the runtime keeps "
            "checking what static analysis cannot?", [
                Choice("leave it unset (as --yes does)", "unset"),
                Choice("warn: report violations at run time (recommended)", "warn"),
                Choice("enforce: refuse to start on a violation", "enforce"),
            ], "unset")
        if answer == "unset":
            return None
        self.mode_line = f"app {escape(names)}: config.{MODE_ATTRIBUTE} = '{answer}'"
        return answer

    # (6) summary and final confirm

    def confirm(self, result: ApplyResult) -> bool:
        self.say("\n[bold]Summary[/]")
        counts = Counter(f.finding.rule for f in result.applied)
        self.say(f"  {counted(len(result.applied), 'fix', 'fixes')}"
                 + (": " + ", ".join(f"{c} x{n}" for c, n in sorted(counts.items()))
                    if counts else ""))
        labels = {app.key: app.label for app in result.project.apps}
        for key in result.hatch_apps:
            self.say(f"  app {escape(labels.get(key, key))}: kept process-local "
                     f"({ESCAPE_HATCH_ATTRIBUTE} = 'local')")
        if self.mode_line:
            self.say(f"  {self.mode_line}")
        open_ = [f for f in result.remaining if f.status == "open"]
        if open_:
            self.say(f"  {counted(len(open_), 'error')} stay open")
        for message in result.errors:
            self.say(f"  error: {escape(message)}", style="bold red")
        if not result.changes:
            self.say("  nothing to write")
            return True
        self.say(f"  {counted(len(result.changes), 'file')} to write:")
        for change in result.changes:
            self.say(f"    {escape(change.path)}")
        if not self.allow_dirty:
            try:
                dirty = dirty_paths([self.settings.root / c.path for c in result.changes],
                                    self.settings.root)
            except WriteError:
                dirty = ["?"]
            if dirty:
                # The writer refuses these files anyway; asking first would promise a write.
                return True
        if self.prompts.confirm("Show the full diff?", default=False):
            for change in result.changes:
                self.show_coloured(unified_diff(change.path, change.before, change.after),
                                   change.encoding)
        return self.prompts.confirm(f"Write {counted(len(result.changes), 'file')}?",
                                    default=True)

    def source(self, path: str) -> Source:
        if path not in self.sources:
            self.sources[path] = read_source(self.settings.root / path)
        return self.sources[path]

    def text_of(self, path: str) -> str:
        try:
            return self.source(path).text
        except ReadError:
            return ""


def _keyword(finding: Finding) -> str:
    return "route id" if finding.rule == "DM108" else "uid"


def _valid_env_name(value: str) -> bool | str:
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", value):
        return True
    return "letters, digits and _, not starting with a digit"


def _valid_app_id(value: str) -> bool | str:
    if re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", value.strip()):
        return True
    return "letters, digits, '-', '_' and '.', starting with a letter or digit"


def _valid_reason(value: str) -> bool | str:
    return True if value.strip() else "a reason is required (one line)"
