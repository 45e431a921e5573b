"""DM201 (target v2): declare the shared runtime right after `ConfigurationBuilder()`.

Imports go into their isort section of the import block, reusing an existing `import os`.
"""

from __future__ import annotations

from codemods._base import ProjectCodemod


class DeclareRuntime(ProjectCodemod):
    DESCRIPTION = "Declare the shared distributed runtime after the config binding (DM201)."
    RULES = ("DM201",)
