"""The escape hatch: `config.unsafe_runtime_mode = 'local'` and a `local-only` marker at each
remaining blocking site; both removed again once those errors are gone."""

from __future__ import annotations

from typing import ClassVar

from codemods._base import ProjectCodemod
from dara_migrate.edits import Edit
from dara_migrate.engine import Project
from dara_migrate.fixes import DEFAULT_REASON, plan_escape_hatch
from dara_migrate.models import Finding


class EscapeHatch(ProjectCodemod):
    DESCRIPTION = "Opt apps with remaining blockers into process-local mode, with markers."
    RULES: ClassVar[tuple[str, ...]] = ()

    def plan(self, project: Project, path: str, findings: list[Finding],
             code: str) -> list[Edit]:
        return plan_escape_hatch(project, DEFAULT_REASON, lambda _: code).get(
            path, [])
