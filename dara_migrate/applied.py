"""`apply --report FILE`: a JSON record of every change, for `report --applied`."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dara_migrate import __version__
from dara_migrate.files import ReadError, read_bytes
from dara_migrate.writer import replace_text

if TYPE_CHECKING:
    from dara_migrate.apply import ApplyResult
    from dara_migrate.proof import DroppedFix

_CHANGE_FIELDS = {"rule": str, "path": str, "line": int, "after": str}


def applied_json(result: ApplyResult, dropped: Sequence[DroppedFix] = ()) -> dict[str, Any]:
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
        "dropped": [
            {"rule": d.fix.finding.rule, "path": d.fix.finding.path,
             "line": d.fix.finding.line, "fix": d.fix.description, "reason": d.reason}
            for d in dropped
        ],
        "remaining": [
            {"rule": f.rule, "path": f.path, "line": f.line, "message": f.message}
            for f in result.remaining
        ],
    }


def write_report(path: Path, result: ApplyResult, root: Path,
                 dropped: Sequence[DroppedFix] = ()) -> None:
    replace_text(path, json.dumps(applied_json(result, dropped), indent=2) + "\n")


def read_applied(path: Path) -> dict[str, Any]:
    """An `apply --report` file, checked to have the shape `report --applied` reads; a
    ValueError (one line) says what is wrong."""
    try:
        record = json.loads(read_bytes(path).decode("utf-8"))
    except ReadError as error:
        raise ValueError(str(error)) from error
    if not isinstance(record, dict):
        raise ValueError("not a JSON object written by `apply --report`")
    changes = record.get("changes", [])
    if not isinstance(changes, list):
        raise ValueError("'changes' is not a list")
    for number, change in enumerate(changes):
        if not isinstance(change, dict):
            raise ValueError(f"changes[{number}] is not an object")
        for key, kind in _CHANGE_FIELDS.items():
            if not isinstance(change.get(key), kind) or isinstance(change.get(key), bool):
                raise ValueError(f"changes[{number}].{key} is missing or not a {kind.__name__}")
    hatch = record.get("escape_hatch", [])
    if not (isinstance(hatch, list) and all(isinstance(name, str) for name in hatch)):
        raise ValueError("'escape_hatch' is not a list of strings")
    return record
