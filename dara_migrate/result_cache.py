"""Whole-run results: an `audit` whose inputs are all unchanged prints its stored report.

An entry is keyed by the exact invocation (arguments, working folder, interpreter, and the
environment variables that can change the output) and holds what decided the report: the
tool's own files, the settings the arguments resolved to, and every file the audit read
(path, stat, content digest). Runs to a terminal are never stored nor replayed. A run
that finds its entry and every input unchanged writes the stored report and exits, without
loading the analysis, the rules or the command-line framework.

Entries are signed with the same user-level key as the per-file cache (so an entry planted in
a repository is never loaded) and live in the project's cache folder. The standard output
is stored after the entry, checked by its digest, and read only once the entry holds: a run
that must make its report again does not read the stored one.
"""

from __future__ import annotations

import hashlib
import io
import os
import sys
import time
from collections.abc import Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from dara_migrate.files import (
    CACHE_FOLDER,
    FoundFiles,
    ReadError,
    find_files,
    find_root,
    pin_files,
    read_bytes,
    relative_path,
)
from dara_migrate.settings import Settings, SettingsError, load_settings
from dara_migrate.signed import read_signed_head, read_signed_tail, write_signed_with_tail

RESULTS_FOLDER = "results"
ENTRY_VERSION = "2"
_RACY_SECONDS = 2.0
"""A file modified this close to the snapshot may change again within the same mtime tick:
its stat is not trusted, its digest is checked."""
MAX_REPORTS = 16
"""Reports kept per project (the most recently written): one per distinct command, folder and
environment, so that the folder stays small whatever runs in it."""

FileStamp = tuple[str, tuple[int, ...], bytes]
"""(path relative to the root, stat (size, inode, mtime, ctime; empty when a change could
hide in the same clock tick), sha256 of the content, or `_UNREADABLE` and the sha256 of why
it cannot be read)."""
_UNREADABLE = b"!"
"""Starts the digest of a file that cannot be read: never taken for a content digest."""

_KEYED_VARIABLES = frozenset({
    "NO_COLOR", "FORCE_COLOR", "TERM", "COLORTERM", "COLUMNS", "LINES", "JUPYTER_COLUMNS",
    "JUPYTER_LINES", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "CI", "HOME", "XDG_CACHE_HOME",
    "XDG_CONFIG_HOME", "LANG", "LANGUAGE", "_DARA_MIGRATE_COMPLETE",
})
"""Variables the tool or its output libraries (rich, typer) read, and so part of the key."""
_KEYED_PREFIXES = ("DARA_MIGRATE_", "PYTHON", "LC_")
"""Prefixes of further keyed variables: the tool's own, the interpreter's (`PYTHONPATH`
decides what is imported, `PYTHONIOENCODING` how output is encoded) and the locale's."""
_UNKEYED_VARIABLES = frozenset({"DARA_MIGRATE_PROFILE"})
"""Keyed by prefix but not deciding the report: profiling."""

_invocation: list[str] | None = None
"""The arguments of the command-line run in progress, when its result may be stored."""
_walked: dict[tuple[Path, tuple[str, ...], tuple[str, ...]], FoundFiles] = {}
"""This run's walks of the project: `replay` walks it, and when the report must be made
again, `snapshot` and then the audit need the same walk at the start of the same run."""
_stored_stamps: dict[str, tuple[tuple[int, ...], bytes]] = {}
"""Absolute path -> (stat, digest) of the files of the stored report `replay` found for this
invocation but could not use: `snapshot` takes the digest of a file whose stat is the same
from there, as `replay` would, rather than reading the file again."""


@dataclass(frozen=True, slots=True)
class Snapshot:
    """An audit's inputs, taken before it reads them."""

    key: str
    folder: Path
    paths: tuple[str, ...]
    overrides: tuple[tuple[str, Any], ...]
    settings: str
    files: tuple[FileStamp, ...]
    unwalked: tuple[tuple[str, str], ...]
    found: FoundFiles | None = None
    """The walk the stamps come from, for the audit to read (not stored)."""


def begin(argv: Sequence[str]) -> None:
    """Allow the run with these arguments to store its result (the command line calls this):
    from here on, what an `audit` prints is also kept, to be stored with its inputs."""
    global _invocation
    _invocation = list(argv)
    # A `--no-cache` run stores nothing: what it prints need not be kept in memory.
    if argv and argv[0] == "audit" and "--no-cache" not in argv and not _terminal():
        sys.stdout = _Tee(sys.stdout)
        sys.stderr = _Tee(sys.stderr)


def replay(argv: Sequence[str]) -> int | None:
    """If a stored result for exactly this invocation is still true, write it and return its
    exit code; None otherwise (the caller runs the command)."""
    # A `--no-cache` run stores no report, so none is looked for (nor its settings loaded).
    if not argv or argv[0] != "audit" or "--no-cache" in argv or _terminal():
        return None
    try:
        stored = _stored_report(list(argv))
    except (OSError, ValueError, SettingsError, RuntimeError):
        return None
    if stored is None:
        return None
    stdout, stderr, code = stored
    sys.stderr.write(stderr)
    sys.stdout.write(stdout)
    return code


def _stored_report(argv: list[str]) -> tuple[str, str, int] | None:
    """What the run printed (standard output, standard error) and its exit code, stored for
    this invocation, if still true."""
    root = find_root(guessed_paths(argv))
    folder = _results_folder(load_settings(root, {}))
    key = _key(argv)
    path = folder / f"{key}.report"
    head = read_signed_head(path)
    entry = head.value if head is not None else None
    if (head is None or not isinstance(entry, dict) or entry.get("key") != key
            or entry.get("tool") != tool_stamp()):
        return None
    paths = [Path(p) for p in entry["paths"]]
    if any(not p.exists() for p in paths) or find_root(paths) != root:
        return None
    settings = load_settings(root, dict(entry["overrides"]))
    if repr(settings) != entry["settings"]:
        return None
    _stored_stamps.update((os.path.join(settings.root, relative), (stat_key, digest))
                          for relative, stat_key, digest in entry["files"] if stat_key)
    found, unwalked = _inputs(settings, paths)
    if (not _unchanged(settings.root, found, entry["files"])
            or unwalked != entry["unwalked"]):
        return None
    # Read only now: a run that must make its report again never reads the stored one.
    stdout = read_signed_tail(path, head)
    if stdout is None:
        return None
    return stdout.decode("utf-8", "surrogatepass"), str(entry["stderr"]), int(entry["code"])


def snapshot(settings: Settings, paths: Sequence[Path],
             overrides: Mapping[str, Any]) -> Snapshot | None:
    """The inputs of the audit about to run, when its result may be stored: the run came from
    the command line, uses the cache, writes to no terminal, and is where `replay` looks."""
    try:
        return _snapshot(settings, paths, overrides)
    finally:
        _walked.clear()  # only this snapshot and its audit share `replay`'s walk
        _stored_stamps.clear()


def _snapshot(settings: Settings, paths: Sequence[Path],
              overrides: Mapping[str, Any]) -> Snapshot | None:
    if _invocation is None or not settings.use_cache or _terminal():
        return None
    try:
        root = find_root(guessed_paths(_invocation))
        if root != settings.root:
            return None
        # As `replay` will load them: the command may adjust them after (`jobs` to the cores).
        loaded = repr(load_settings(root, overrides))
        started = time.time_ns() - int(_RACY_SECONDS * 1e9)
        found, unwalked = _inputs(settings, list(paths))
        files = tuple(_stamp(settings.root, path, started, _stored_stamps.get(str(path)))
                      for path in found)
    except (OSError, SettingsError):
        return None
    digests = {str(path): digest for path, (_, _, digest) in zip(found, files, strict=True)
               if not digest.startswith(_UNREADABLE)}
    return Snapshot(_key(_invocation), _results_folder(settings),
                    tuple(str(p) for p in paths), tuple(sorted(overrides.items())),
                    loaded, files, unwalked,
                    _walk(settings, list(paths))._replace(content_digests=digests))


def store(taken: Snapshot, code: int) -> None:
    """Keep what the run whose inputs `taken` holds has printed, and its exit code."""
    if not isinstance(sys.stdout, _Tee) or not isinstance(sys.stderr, _Tee):
        return
    entry = {
        "key": taken.key, "tool": tool_stamp(), "paths": taken.paths,
        "overrides": taken.overrides, "settings": taken.settings, "files": taken.files,
        "unwalked": taken.unwalked, "stderr": "".join(sys.stderr.parts), "code": code,
    }
    stdout = "".join(sys.stdout.parts).encode("utf-8", "surrogatepass")
    if write_signed_with_tail(taken.folder / f"{taken.key}.report", entry, stdout):
        _prune(taken.folder)


def parts_path(taken: Snapshot) -> Path:
    """Where the run whose inputs `taken` holds keeps the project's parts (`parts`)."""
    return taken.folder / f"{taken.key}.parts"


def _prune(folder: Path) -> None:
    dated = []
    for report in folder.glob("*.report"):
        with suppress(OSError):  # removed meanwhile by another run
            dated.append((report.stat().st_mtime_ns, report.name, report))
    for _, _, report in sorted(dated)[:-MAX_REPORTS]:
        with suppress(OSError):
            report.unlink()
    # A run's parts go with its report (one that failed before storing it left them).
    for parts in folder.glob("*.parts"):
        if not parts.with_suffix(".report").exists():
            with suppress(OSError):
                parts.unlink()


class _Tee(io.TextIOBase):
    """A standard stream that also keeps what is written to it."""

    def __init__(self, stream: TextIO) -> None:
        super().__init__()
        self.stream = stream
        self.parts: list[str] = []

    def write(self, text: str) -> int:
        self.parts.append(text)
        return self.stream.write(text)

    def flush(self) -> None:
        self.stream.flush()

    def isatty(self) -> bool:
        return self.stream.isatty()

    def fileno(self) -> int:
        return self.stream.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return self.stream.encoding


def _terminal() -> bool:
    """Output to a terminal depends on its size and colours: such runs are never replayed."""
    return any(stream is None or stream.isatty() for stream in (sys.stdout, sys.stderr))


def guessed_paths(argv: Sequence[str]) -> list[Path]:
    """The first argument naming an existing file or folder: where the command line will look
    for the project root. Options' values may be taken for it; the entry is then looked up in
    the wrong place, and not found."""
    for argument in argv[1:]:
        if not argument.startswith("-") and os.path.exists(argument):
            return [Path(argument)]
    return []


def _results_folder(settings: Settings) -> Path:
    return (settings.cache_dir or settings.root / CACHE_FOLDER) / RESULTS_FOLDER


def _key(argv: Sequence[str]) -> str:
    digest = hashlib.sha256(ENTRY_VERSION.encode())
    for part in (*argv, "\0", os.getcwd(), "\0", sys.executable,
                 *(f"{k}={v}" for k, v in sorted(os.environ.items()) if _keyed(k))):
        digest.update(part.encode("utf-8", "surrogateescape") + b"\0")
    return digest.hexdigest()


def _keyed(variable: str) -> bool:
    """Whether an environment variable can change what an audit prints. Only those are part
    of the key: a CI job's own variables (run ids, commit, temporary folders) differ on every
    run and would make every stored report miss."""
    return variable not in _UNKEYED_VARIABLES and (
        variable in _KEYED_VARIABLES or variable.startswith(_KEYED_PREFIXES))


def tool_stamp(package: Path = Path(__file__).parent) -> str:
    """The Python version and the tool's source files' stats: an edited install (or an
    upgrade) is a different tool."""
    digest = hashlib.sha256(f"{sys.version}|{ENTRY_VERSION}".encode())
    for folder, _, names in sorted(os.walk(package)):
        for name in sorted(names):
            if name.endswith(".py"):
                stat = os.stat(os.path.join(folder, name))
                digest.update(f"{folder}/{name}|{stat.st_size}|{stat.st_mtime_ns}\0".encode())
    return digest.hexdigest()


def _inputs(settings: Settings, paths: list[Path]
            ) -> tuple[list[Path], tuple[tuple[str, str], ...]]:
    """Every file the audit reads (Python files, deployment files, then the requirements
    files of nested projects, `pin_files`), and what else the walk found: the folders it
    could not walk, with the reason (reported as DM001), and the symlinks to project files,
    with the file each links to (a link moved elsewhere changes what the audit reads)."""
    found = _walk(settings, paths)
    unwalked = tuple(sorted([*((folder.relative_to(settings.root).as_posix(), reason)
                               for folder, reason in found.problems.items()),
                             *((link, f"links to {real}")
                               for link, real in (found.aliases or {}).items())]))
    return [*found.python, *found.deployment, *pin_files(settings.root, found.projects)], unwalked


def _walk(settings: Settings, paths: list[Path]) -> FoundFiles:
    key = (settings.root, settings.exclude, tuple(str(p) for p in paths))
    if key not in _walked:
        _walked[key] = find_files(settings, paths)
    return _walked[key]


def _stat_key(stat: os.stat_result) -> tuple[int, ...]:
    return stat.st_size, stat.st_ino, stat.st_mtime_ns, stat.st_ctime_ns


def _stamp(root: Path, path: Path, racy_after: int,
           stored: tuple[tuple[int, ...], bytes] | None) -> FileStamp:
    """The file's stamp; its digest is the `stored` one (stat, digest) if the stat is the
    same, as `replay` trusts it."""
    stat = path.stat()
    key = _stat_key(stat)
    digest = stored[1] if stored is not None and stored[0] == key else _digest(path)
    recent = max(stat.st_mtime_ns, stat.st_ctime_ns) >= racy_after
    return relative_path(path, root), () if recent else key, digest


def _unchanged(root: Path, found: list[Path], files: Sequence[FileStamp]) -> bool:
    if len(found) != len(files):
        return False
    for path, (relative, stat_key, digest) in zip(found, files, strict=True):
        if relative_path(path, root) != relative:
            return False
        if _stat_key(path.stat()) == stat_key:
            continue
        if _digest(path) != digest:
            return False
    return True


def _digest(path: Path) -> bytes:
    """The file's content digest, or its reason for being unreadable, which the audit reports:
    read as the audit reads it, never waiting on a FIFO nor reading a device on and on."""
    try:
        return hashlib.sha256(read_bytes(path)).digest()
    except ReadError as error:
        return _UNREADABLE + hashlib.sha256(str(error).encode()).digest()
