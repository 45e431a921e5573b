"""DM108: an `id=` slug on every router route, from its full path, unique per router."""

from __future__ import annotations

from codemods._base import ProjectCodemod


class AddRouteIds(ProjectCodemod):
    DESCRIPTION = "Add id= to Dara router routes (DM108)."
    RULES = ("DM108",)
