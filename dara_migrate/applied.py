"""`apply --report FILE`: a JSON record of every change, for `report --applied`."""

from __future__ import annotations

import ast
import difflib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dara_migrate import __version__
from dara_migrate.files import ReadError, read_bytes
from dara_migrate.writer import replace_text

if TYPE_CHECKING:
    from dara_migrate.apply import ApplyResult, FileChange
    from dara_migrate.proof import DroppedFix

_CHANGE_FIELDS = {"rule": str, "path": str, "line": int, "after": str}


def applied_json(result: ApplyResult, dropped: Sequence[DroppedFix] = ()) -> dict[str, Any]:
    """Each change with the code before and after it: its statement's lines, as the
    migration left them (several fixes of one statement share them)."""
    files = {change.path: change for change in result.changes}
    sites: dict[str, _Site] = {}
    changes = []
    for fix in result.applied:
        finding = fix.finding
        change = files.get(finding.path)
        before = after = ""
        if change is not None:
            if finding.path not in sites:
                sites[finding.path] = _Site(change)
            before, after = sites[finding.path].code(
                min(finding.anchor_line, finding.line), max(finding.end_line, finding.line))
        changes.append({
            "rule": finding.rule, "path": finding.path, "line": finding.line,
            "fix": fix.description, "before": before, "after": after,
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


class _Site:
    """A file's text before and after the migration, to show a statement in both."""

    def __init__(self, change: FileChange) -> None:
        from dara_migrate.apply import LineMap

        text_before = change.before.decode(change.encoding, "surrogateescape")
        text_after = change.after.decode(change.encoding, "surrogateescape")
        self.before = text_before.splitlines(True)
        self.after = text_after.splitlines(True)
        self.forward = LineMap(text_before, text_after)
        self.ends_before = _statement_ends(text_before)
        self.ends_after = _statement_ends(text_after)
        self.hunks = [h for h in difflib.SequenceMatcher(
            None, self.before, self.after, autojunk=False).get_opcodes() if h[0] != "equal"]

    def code(self, first: int, last: int) -> tuple[str, str]:
        """The statement at line `first` (through line `last` at least) before, and where
        the migration left it; where that is not certain, with the changed lines at or next
        to it."""
        last = max(last, self.ends_before.get(first, last))
        start = self.forward.line(first, unique=False, ranked=True)
        end = self.ends_after.get(start) if start is not None else None
        if start is not None and end is not None:
            return "".join(self.before[first - 1:last]), "".join(self.after[start - 1:end])
        touching = [h for h in self.hunks if h[1] <= last and h[2] >= first - 1]
        if not touching:  # the fix changed lines away from its site (an import)
            return "".join(self.before[first - 1:last]), "".join(self.before[first - 1:last])
        begin, stop = min(first - 1, touching[0][1]), max(last, touching[-1][2])
        # Unchanged lines keep the shift of the change next to them.
        return ("".join(self.before[begin:stop]),
                "".join(self.after[begin + touching[0][3] - touching[0][1]:
                                   stop + touching[-1][4] - touching[-1][2]]))


def _statement_ends(text: str) -> dict[int, int]:
    """First line -> last line of each statement (the outermost of those starting on a
    line; a decorated definition from its first decorator)."""
    ends: dict[int, int] = {}
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return ends
    for node in ast.walk(tree):
        if isinstance(node, ast.stmt) and node.end_lineno is not None:
            decorators = getattr(node, "decorator_list", None)
            first = decorators[0].lineno if decorators else node.lineno
            ends.setdefault(first, node.end_lineno)
    return ends


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
