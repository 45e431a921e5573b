"""DM301/DM302 (unsafe): move a definition made inside a function to module level.

Only when it uses no local name of the function, after the last module-level binding it
references; a module-level definition is created once per process and can get a stable id.
"""

from __future__ import annotations

from codemods._base import ProjectCodemod


class HoistDefinitions(ProjectCodemod):
    DESCRIPTION = "Move request-time and nested definitions to module level (DM301, DM302)."
    RULES = ("DM301", "DM302")
    UNSAFE = True
