"""DM4xx: browser round trips, websockets and downloads."""

from __future__ import annotations

from dara_migrate.rules.base import Rule

RULES: list[type[Rule]] = []
