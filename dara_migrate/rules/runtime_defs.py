"""DM3xx: definitions and registration at the wrong time."""

from __future__ import annotations

from dara_migrate.rules.base import Rule

RULES: list[type[Rule]] = []
