"""The rule catalog: every rule class, in code order."""

from __future__ import annotations

from dara_migrate.rules import (
    browser,
    custom_backends,
    deploy,
    file_state,
    identity,
    runtime,
    runtime_defs,
    shared_state,
    static_kwargs,
    tasks,
    tool,
)
from dara_migrate.rules.base import Rule

ALL_RULES: list[type[Rule]] = sorted(
    [
        *tool.RULES, *identity.RULES, *runtime.RULES, *shared_state.RULES,
        *custom_backends.RULES, *file_state.RULES, *runtime_defs.RULES, *browser.RULES,
        *static_kwargs.RULES, *tasks.RULES, *deploy.RULES,
    ],
    key=lambda rule: rule.code,
)
BY_CODE: dict[str, type[Rule]] = {rule.code: rule for rule in ALL_RULES}


def matches(code: str, prefixes: tuple[str, ...]) -> bool:
    """`DM1` selects DM101..DM199; `ALL` selects everything."""
    return any(prefix == "ALL" or code.startswith(prefix) for prefix in prefixes)
