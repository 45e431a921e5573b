"""DM401 (unsafe): `await X.get_current_value()` -> `await X.read()` where X is server-side.

Only where X resolves to a ServerVariable/DataVariable or a BackendStore-backed Variable;
never a DerivedVariable.
"""

from __future__ import annotations

from codemods._base import ProjectCodemod


class ReadInsteadOfBrowser(ProjectCodemod):
    DESCRIPTION = "Read server-side values directly instead of asking the browser (DM401)."
    RULES = ("DM401",)
    UNSAFE = True
