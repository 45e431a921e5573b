"""The shared shape of every codemod: the project index from --root, fixes from findings."""

from __future__ import annotations

import argparse
from functools import cache
from pathlib import Path
from typing import ClassVar

import libcst as cst
from libcst.codemod import Codemod, CodemodContext, SkipFile

from dara_migrate.edits import Edit, apply_edits, edit_style, quote_style
from dara_migrate.engine import Project, load_project
from dara_migrate.fixes import FixOptions, plan_fix
from dara_migrate.models import Finding
from dara_migrate.settings import load_settings


@cache
def project_for(root: str, target: str) -> Project:
    """The project as audited before any codemod ran: one index per process."""
    settings = load_settings(Path(root), {"target": target, "use_cache": False, "jobs": 1})
    return load_project(settings, [Path(root)])


class ProjectCodemod(Codemod):
    """Applies the fixes of `RULES` that the audit plans for the current file."""

    RULES: ClassVar[tuple[str, ...]] = ()
    UNSAFE: ClassVar[bool] = False

    @staticmethod
    def add_args(arg_parser: argparse.ArgumentParser) -> None:
        arg_parser.add_argument("--root", dest="root", default=None,
                                help="Project root to build the dara-migrate index from.")
        arg_parser.add_argument("--target", dest="target", default="auto",
                                choices=("auto", "v2", "1.x"), help="Target profile.")

    def __init__(self, context: CodemodContext, root: str | None = None,
                 target: str = "auto") -> None:
        super().__init__(context)
        self.root = Path(root).resolve() if root else None
        self.target = target

    def transform_module_impl(self, tree: cst.Module) -> cst.Module:
        if self.root is None or self.context.filename is None:
            raise SkipFile("needs --root: the fix depends on the whole project's index")
        project = project_for(str(self.root), self.target)
        try:
            path = Path(self.context.filename).resolve().relative_to(self.root).as_posix()
        except ValueError as error:
            raise SkipFile(f"{self.context.filename} is outside --root") from error
        findings = [f for f in project.findings
                    if f.path == path and f.rule in self.RULES and f.status == "open"]
        edits = self.plan(project, path, findings, tree.code)
        if not edits:
            return tree
        style = edit_style(self.root / path, (f.module for f in project.index.files.values()))
        return cst.parse_module(apply_edits(tree.code, edits, style))

    def plan(self, project: Project, path: str, findings: list[Finding],
             code: str) -> list[Edit]:
        facts = project.index.files[path]
        quote = quote_style(code)
        options = FixOptions(unsafe=self.UNSAFE)
        edits: list[Edit] = []
        for finding in findings:
            if finding.fix == "unsafe" and not self.UNSAFE:
                continue
            fix = plan_fix(project, facts, finding, quote, options, code)
            if fix is not None:
                edits.extend(fix.edits)
        return edits
