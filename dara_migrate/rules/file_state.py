"""DM207: local files written at request time and read by other requests."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator
from typing import ClassVar

from dara_migrate.facts import Call, FileFacts, Value
from dara_migrate.index.project import ProjectIndex, per_index
from dara_migrate.models import Finding
from dara_migrate.rules._helpers import (
    IMPORT_KINDS,
    receiver_of,
    related_lines,
)
from dara_migrate.rules.base import Context, Example, Rule, RuleDocs

# ---------------------------------------------------------------- DM207

_FILE_WRITERS = frozenset({"to_csv", "to_parquet", "to_json", "to_excel", "to_pickle",
                           "to_feather", "to_hdf", "to_stata"})
_PATH_WRITERS = frozenset({"write_text", "write_bytes"})
_PATH_READERS = frozenset({"read_text", "read_bytes", "open", "exists", "is_file", "stat"})
_WRITE_MODE = re.compile(r"[wax+]")
_FILE_METHODS = _FILE_WRITERS | _PATH_WRITERS | _PATH_READERS | {
    "load", "exists", "isfile", "getmtime"}
"""Methods `_file_write` and `_file_reads` look at (with any `read*`): other calls skip both."""


_JOINS = frozenset({"os.path.join", "posixpath.join"})


def _path_key(index: ProjectIndex, facts: FileFacts, scope_id: int,
              value: Value | None) -> str | None:
    """A name for a path that other code can share: a literal, a name bound in the project
    (not a parameter, not a library module like `os.path`), or text joined of those
    (`f'{DATA}/notes.csv'`, `os.path.join(DATA, 'notes.csv')` and `DATA / 'notes.csv'`
    alike)."""
    if value is None:
        return None
    if value.kind == "str" and isinstance(value.const, str) and value.const:
        return repr(value.const)
    if value.kind == "fstring" and value.items:
        return _joined_key(index, facts, scope_id, value.items, "")
    if value.kind == "binop" and value.text == "/" and value.items:
        return _joined_key(index, facts, scope_id, value.items, "/")
    if value.kind == "call" and value.text and (
            index.resolve(facts, scope_id, value.text).qualified in _JOINS):
        call = facts.calls[value.call]
        return None if call.kwargs or call.starred >= 0 else _joined_key(
            index, facts, scope_id, call.args, "/")
    if value.kind not in ("name", "attr"):
        return None
    found = index.lookup(facts, scope_id, value.text.split(".")[0])
    if found is None or found[0].kind not in ("assign", *IMPORT_KINDS):
        return None
    if found[0].kind in IMPORT_KINDS:
        rest = value.text.partition(".")[2]
        module, remainder = index.split_module(
            f"{found[0].target}.{rest}" if rest else found[0].target, facts)
        if module is None or not remainder:
            return None
    return index.resolve(facts, scope_id, value.text).qualified


def _joined_key(index: ProjectIndex, facts: FileFacts, scope_id: int,
                parts: tuple[Value, ...], separator: str) -> str | None:
    """`f'{qualified.NAME}/text'` for text joined of literals and bound names; the literal's
    key when no name is among them."""
    texts = []
    named = False
    for part in parts:
        if part.kind == "str" and isinstance(part.const, str):
            texts.append(part.const)
            continue
        key = _path_key(index, facts, scope_id, part) if part.kind in ("name", "attr") else None
        if key is None:
            return None
        texts.append(f"{{{key}}}")
        named = True
    joined = separator.join(texts)
    return f"f{joined!r}" if named else repr(joined)


_QUALIFIED_PART = re.compile(r"\{[\w.]*?(\w+)\}")


def _path_label(key: str) -> str:
    if key.startswith("f'"):
        return _QUALIFIED_PART.sub(r"{\1}", key)
    return key if key.startswith(("'", '"')) else key.rsplit(".", 1)[-1]


def _receiver_key(index: ProjectIndex, facts: FileFacts, call: Call) -> str | None:
    return _path_key(index, facts, call.scope, Value("attr", text=receiver_of(call.callee)))


def _file_write(index: ProjectIndex, facts: FileFacts, call: Call) -> str | None:
    """The path key a call writes to, if it writes a local file."""
    method = call.callee.rsplit(".", 1)[-1]
    if method == "open":
        dotted = "." in call.callee
        if dotted and index.resolve_call(facts, call).qualified != "io.open":
            mode = call.argument(0, "mode")
            path = _receiver_key(index, facts, call)
        elif index.resolve_call(facts, call).qualified in ("open", "io.open"):
            mode = call.argument(1, "mode")
            path = _path_key(index, facts, call.scope, call.argument(0, "file"))
        else:
            return None
        writes = mode is not None and isinstance(mode.const, str) and bool(
            _WRITE_MODE.search(mode.const))
        return path if writes else None
    if "." not in call.callee:
        return None
    if method in _FILE_WRITERS:
        target = call.args[0] if call.args else call.kwarg("path_or_buf") or call.kwarg("path")
        return _path_key(index, facts, call.scope, target)
    if method in _PATH_WRITERS:
        return _receiver_key(index, facts, call)
    return None


def _file_reads(index: ProjectIndex, facts: FileFacts, call: Call) -> Iterator[str]:
    """Path keys a call reads or checks."""
    method = call.callee.rsplit(".", 1)[-1]
    if "." in call.callee and method in _PATH_READERS:
        key = _receiver_key(index, facts, call)
        if key:
            yield key
    if call.args and (method.startswith("read") or method in ("open", "load", "exists",
                                                               "isfile", "getmtime")):
        key = _path_key(index, facts, call.scope, call.args[0])
        if key:
            yield key


class LocalFileState(Rule):
    code = "DM207"
    name = "local-file-state"
    severity = "info"
    fix = "manual"
    summary = "request-time write to a local file that other requests read"
    docs = RuleDocs(
        what="A write to a local path while serving a request (`open(..., 'w')`, `to_csv`, "
        "`to_parquet` and the other pandas writers, `Path.write_text/write_bytes`) when other "
        "request-time code reads the same path (the same literal or the same bound name, or "
        "text joined of those: `f'{UPLOAD_DIR}/latest.csv'`, "
        "`os.path.join(UPLOAD_DIR, 'latest.csv')` and `UPLOAD_DIR / 'latest.csv'` are one "
        "path).",
        why="Each worker, and usually each box, has its own disk. A file written by one "
        "worker's request is missing or stale for requests that land on another.",
        use_instead="Keep the data in shared storage: a ServerVariable or BackendStore on the "
        "shared backend, object storage, or a database.",
        fix_safety="Manual.",
        confidence="Medium: paths are matched by literal or by the name they are bound to; "
        "paths with a parameter in them, or computed in steps inside a function, are not "
        "matched.",
    )
    VALID: ClassVar[list[Example]] = [
        Example.module(
            "import pandas as pd\n"
            "from dara.core import action\n\n"
            "@action\n"
            "async def export(ctx: action.Ctx, rows: list):\n"
            "    frame = pd.DataFrame(rows)\n"
            "    frame.to_csv('/tmp/export.csv')\n"
            "    await ctx.download_file('/tmp/export.csv')\n",
            note="written and read in the same request",
        ),
    ]
    INVALID: ClassVar[list[Example]] = [
        Example({
            "app/__init__.py": "",
            "app/settings.py": "from pathlib import Path\n\n"
            "TARGETS = Path('data') / 'targets.csv'\n",
            "app/pages.py": "import pandas as pd\n"
            "from dara.core import DerivedVariable, Variable, action\n\n"
            "from app import settings\n"
            "from app.settings import TARGETS\n\n"
            "@action\n"
            "async def save(ctx: action.Ctx, rows: list):\n"
            "    frame = pd.DataFrame(rows)\n"
            "    frame.to_csv(TARGETS, index=False)  # expect: DM207\n"
            "    with open('notes.txt', 'a') as handle:  # expect: DM207\n"
            "        handle.write('saved')\n\n"
            "def load(_tick):\n"
            "    notes = open('notes.txt').read()\n"
            "    return pd.read_csv(settings.TARGETS) if TARGETS.exists() else notes\n\n"
            "tick = Variable(0)\n"
            "targets = DerivedVariable(load, variables=[tick], uid='app.pages:targets')\n",
        }),
    ]

    def check(self, ctx: Context) -> Iterator[Finding]:
        writes, reads = file_accesses(ctx.index)
        for facts, call, key in writes:
            if not ctx.is_selected(facts):
                continue
            readers = [(f, c) for f, c in reads.get(key, ())
                       if (f.path, c.scope) != (facts.path, call.scope)]
            if not readers:
                continue
            yield ctx.at_call(
                self, facts, call,
                f"request-time write to the local file {_path_label(key)}, which other "
                "requests read: another worker has its own disk; keep the data in shared "
                "storage",
                related=related_lines((f, c, "read here") for f, c in readers))


@per_index
def file_accesses(index: ProjectIndex) -> tuple[list[tuple[FileFacts, Call, str]],
                                                dict[str, list[tuple[FileFacts, Call]]]]:
    """The local files request-time code writes (each call with the file's key) and reads
    (by key): a write is a finding where another request reads the same file."""
    writes: list[tuple[FileFacts, Call, str]] = []
    reads: dict[str, list[tuple[FileFacts, Call]]] = defaultdict(list)
    for facts in index.files.values():
        request = index.scopes_running(facts, "request")
        if not request:
            continue
        for call in facts.calls:
            if call.scope not in request:
                continue
            method = call.callee.rsplit(".", 1)[-1]
            if method not in _FILE_METHODS and not method.startswith("read"):
                continue
            key = _file_write(index, facts, call)
            if key is not None:
                writes.append((facts, call, key))
                continue
            for read in _file_reads(index, facts, call):
                reads[read].append((facts, call))
    return writes, reads


RULES: list[type[Rule]] = [LocalFileState]
