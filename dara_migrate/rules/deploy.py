"""DM7xx: deployment settings every worker must share."""

from __future__ import annotations

from dara_migrate.rules.base import Rule

RULES: list[type[Rule]] = []
