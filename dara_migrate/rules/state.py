"""DM2xx: process-local state and backends."""

from __future__ import annotations

from dara_migrate.rules.base import Rule

RULES: list[type[Rule]] = []
