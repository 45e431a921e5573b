"""One codemod for every fix: the rules' fixes as `dara-migrate apply` makes them.

    python -m libcst.tool codemod rules.RuleFixes --root APP --rule DM101 APP --no-format

`--rule` takes codes or prefixes from the rule registry (repeatable; default: every rule),
`--unsafe-fixes` adds the fixes that may change behaviour, `--escape-hatch` opts apps with
remaining errors into process-local mode with markers. The result for each file is what
`dara-migrate apply --select RULES --no-build-check` (with `--no-local` unless
`--escape-hatch`) would write: the whole project is planned once per process from `--root`,
to a fixpoint, and each file gets its part of that plan.
"""

from __future__ import annotations

import argparse
from functools import cache
from pathlib import Path

import libcst as cst
from libcst.codemod import Codemod, CodemodContext, SkipFile

from dara_migrate.apply import ApplyOptions, run_apply
from dara_migrate.planner import DEFAULT_REASON, FixOptions
from dara_migrate.settings import SettingsError, check_rule_codes, load_settings
from dara_migrate.target import AUTO, TARGET_CHOICES


def rule_code(value: str) -> str:
    """A `--rule` value checked against the registry (a code or a prefix of one)."""
    try:
        return check_rule_codes([value], "--rule")[0]
    except SettingsError as error:
        raise argparse.ArgumentTypeError(str(error)) from error


@cache
def planned_files(root: str, target: str, rules: tuple[str, ...], unsafe: bool,
                  escape_hatch: bool, reason: str) -> dict[str, tuple[bytes, bytes]]:
    """Relative path -> (bytes before, bytes after) for every file the plan changes, from
    the project as it was before any file was rewritten: one plan per process."""
    overrides: dict[str, object] = {"target": target, "use_cache": False, "jobs": 1}
    if rules:
        overrides["select"] = rules
    settings = load_settings(Path(root), overrides)
    options = ApplyOptions(FixOptions(unsafe=unsafe), reason=reason, local=escape_hatch)
    result = run_apply(settings, [Path(root)], options)
    return {change.path: (change.before, change.after) for change in result.changes}


class RuleFixes(Codemod):
    """Rewrites each file as `apply` would, for the rules chosen on the command line."""

    DESCRIPTION = "Make dara-migrate's fixes for the chosen rules (default: every rule)."

    @staticmethod
    def add_args(arg_parser: argparse.ArgumentParser) -> None:
        arg_parser.add_argument("--root", dest="root", default=None,
                                help="Project root to build the dara-migrate index from.")
        arg_parser.add_argument("--target", dest="target", default=AUTO,
                                choices=TARGET_CHOICES, help="Target profile.")
        arg_parser.add_argument("--rule", dest="rules", action="append", type=rule_code,
                                default=[], metavar="CODE",
                                help="Fix only this rule or prefix (DM101, DM1); repeatable.")
        arg_parser.add_argument("--unsafe-fixes", dest="unsafe", action="store_true",
                                help="Also make fixes that may change behaviour.")
        arg_parser.add_argument("--escape-hatch", dest="escape_hatch", action="store_true",
                                help="Opt apps with remaining errors into process-local "
                                "mode, with a marker at each remaining site.")
        arg_parser.add_argument("--reason", dest="reason", default=DEFAULT_REASON,
                                help="Reason written with the escape hatch and markers.")

    def __init__(self, context: CodemodContext, root: str | None = None,
                 target: str = "auto", rules: list[str] | None = None, unsafe: bool = False,
                 escape_hatch: bool = False, reason: str = DEFAULT_REASON) -> None:
        super().__init__(context)
        self.root = Path(root).resolve() if root else None
        self.target = target
        self.rules = tuple(sorted(set(rules or ())))
        self.unsafe = unsafe
        self.escape_hatch = escape_hatch
        self.reason = reason

    def transform_module_impl(self, tree: cst.Module) -> cst.Module:
        if self.root is None or self.context.filename is None:
            raise SkipFile("needs --root: the fix depends on the whole project's index")
        try:
            path = Path(self.context.filename).resolve().relative_to(self.root).as_posix()
        except ValueError as error:
            raise SkipFile(f"{self.context.filename} is outside --root") from error
        try:
            planned = planned_files(str(self.root), self.target, self.rules, self.unsafe,
                                    self.escape_hatch, self.reason)
        except SettingsError as error:
            raise SkipFile(str(error)) from error
        if path not in planned:
            return tree
        before, after = planned[path]
        if tree.bytes != before:
            raise SkipFile(f"{path} changed after the migration was planned; run again")
        return cst.parse_module(after)
