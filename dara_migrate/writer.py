"""Writing files back without losing anything: atomic, same encoding, BOM, newlines, mode."""

from __future__ import annotations

import codecs
import difflib
import os
import re
import subprocess
import tempfile
from collections.abc import Iterable
from pathlib import Path

from dara_migrate.files import Source

_LINES = re.compile(r"[^\n]*\n|[^\n]+$")
"""Lines as git sees them: split on LF only (str.splitlines also splits on FF, NEL, ...)."""


class WriteError(Exception):
    """A file could not be written; the message names it and the reason."""


def encode(source: Source, text: str) -> bytes:
    data = text.encode("utf-8" if source.encoding == "utf-8-sig" else source.encoding)
    return codecs.BOM_UTF8 + data if source.bom else data


def write_atomic(path: Path, data: bytes) -> None:
    """Replace `path` by `data` so that a reader (or Ctrl-C) sees the old or the new file."""
    mode = path.stat().st_mode & 0o7777
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.",
                                         suffix=".dara-migrate")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def git_root(folder: Path) -> Path | None:
    try:
        completed = subprocess.run(["git", "rev-parse", "--show-toplevel"], cwd=folder,
                                   capture_output=True, text=True, check=False)
    except OSError:
        return None
    if completed.returncode != 0:
        return None
    return Path(completed.stdout.strip())


def dirty_paths(paths: Iterable[Path], folder: Path) -> list[str]:
    """Of the files about to be written, those with uncommitted changes in their git tree."""
    top = git_root(folder)
    if top is None:
        return []
    wanted = [p.resolve() for p in paths]
    completed = subprocess.run(
        ["git", "status", "--porcelain", "-z", "--", *map(str, wanted)], cwd=top,
        capture_output=True, text=True, check=False)
    entries = [e for e in completed.stdout.split("\0") if e]
    return sorted(entry[3:] for entry in entries if not entry.startswith("??"))


def unified_diff(relative: str, before: bytes, after: bytes) -> bytes:
    """A `git apply`-compatible diff of one file's bytes: any encoding, CRLF and a missing
    final newline kept (latin-1 maps every byte to one character and back)."""
    old = _LINES.findall(before.decode("latin-1"))
    new = _LINES.findall(after.decode("latin-1"))
    lines = []
    for line in difflib.unified_diff(old, new, f"a/{relative}", f"b/{relative}", n=3):
        if line.startswith(("---", "+++")):
            lines.append(line.rstrip("\n") + "\n")
        elif line.endswith("\n"):
            lines.append(line)
        else:
            lines.append(line + "\n\\ No newline at end of file\n")
    return "".join(lines).encode("latin-1")


def colour_diff(diff: bytes, colour: bool) -> bytes:
    """ANSI colours for a terminal; the bytes are unchanged otherwise."""
    if not colour:
        return diff
    out = []
    for line in diff.splitlines(keepends=True):
        if line.startswith((b"+++", b"---")):
            out.append(b"\x1b[1m" + line.rstrip(b"\n") + b"\x1b[0m\n")
        elif line.startswith(b"+"):
            out.append(b"\x1b[32m" + line.rstrip(b"\n") + b"\x1b[0m\n")
        elif line.startswith(b"-"):
            out.append(b"\x1b[31m" + line.rstrip(b"\n") + b"\x1b[0m\n")
        elif line.startswith(b"@@"):
            out.append(b"\x1b[36m" + line.rstrip(b"\n") + b"\x1b[0m\n")
        else:
            out.append(line)
    return b"".join(out)
