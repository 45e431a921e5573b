"""`apply --report FILE`: a JSON record of every change, for `report --applied`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from dara_migrate import __version__
from dara_migrate.apply import ApplyResult


def applied_json(result: ApplyResult) -> dict[str, Any]:
    changes = []
    for fix in result.applied:
        finding = fix.finding
        changes.append({
            "rule": finding.rule, "path": finding.path, "line": finding.line,
            "before": finding.message, "after": fix.description,
        })
    return {
        "version": 1, "tool": "dara-migrate", "tool_version": __version__,
        "changes": changes,
        "files": [change.path for change in result.changes],
        "escape_hatch": result.hatch_apps,
        "remaining": [
            {"rule": f.rule, "path": f.path, "line": f.line, "message": f.message}
            for f in result.remaining
        ],
    }


def write_report(path: Path, result: ApplyResult, root: Path) -> None:
    path.write_text(json.dumps(applied_json(result), indent=2) + "\n", encoding="utf-8")
