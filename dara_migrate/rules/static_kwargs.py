"""DM5xx: static kwargs kept server-side between render and call."""

from __future__ import annotations

from dara_migrate.rules.base import Rule

RULES: list[type[Rule]] = []
