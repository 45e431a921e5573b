"""DM0xx: the tool's own findings. The engine raises them; these classes document them."""

from __future__ import annotations

from collections.abc import Iterator

from dara_migrate.models import Finding
from dara_migrate.rules.base import Context, Example, Rule, RuleDocs


class ParseError(Rule):
    code = "DM001"
    name = "parse-error"
    severity = "error"
    fix = None
    summary = "file could not be read or parsed"
    docs = RuleDocs(
        what="A Python file that could not be read or parsed: a syntax error (Python 2 code "
        "included), undecodable bytes, a binary or oversized file, an unreadable file.",
        why="What dara-migrate cannot read, it cannot check: the file may hold definitions "
        "that break on many workers. The run goes on with every other file; the file is "
        "never written.",
        use_instead="Fix the file, or exclude it with `--exclude` / `[tool.dara-migrate] "
        "extend-exclude` when it is not part of the app.",
        fix_safety="No fix.",
        confidence="Certain.",
    )
    VALID = [Example.module("x = 1\n")]
    INVALID = [Example.module("def broken(:  # expect: DM001\n    pass\n")]

    def check(self, ctx: Context) -> Iterator[Finding]:
        return iter(())


class UnusedMarker(Rule):
    code = "DM002"
    name = "unused-marker"
    severity = "warning"
    fix = None
    summary = "marker that matches no finding"
    docs = RuleDocs(
        what="A `# dara-migrate: ignore[...]` or `# dara-migrate: local-only[...]` comment "
        "that matches no finding on the statement below it, or an `ignore` without a reason "
        "(it then suppresses nothing).",
        why="Stale markers hide nothing today but will hide a real problem tomorrow; a "
        "suppression without a reason cannot be reviewed.",
        use_instead="Remove the marker, or give `ignore` a reason after the brackets.",
        fix_safety="`apply` removes stale `local-only` markers it wrote; `ignore` markers are "
        "yours to remove.",
        confidence="Certain.",
    )
    VALID = [
        Example.module(
            "from dara.core import ServerVariable\n\n"
            "# dara-migrate: ignore[DM101] registered by the plugin loader with its own id\n"
            "rows = ServerVariable(default=[])\n"
        ),
    ]
    INVALID = [
        Example.module(
            "from dara.core import ServerVariable\n\n"
            "# dara-migrate: ignore[DM401] stale  # expect: DM002\n"
            "rows = ServerVariable(default=[], uid='rows')\n"
        ),
    ]

    def check(self, ctx: Context) -> Iterator[Finding]:
        return iter(())


RULES: list[type[Rule]] = [ParseError, UnusedMarker]
