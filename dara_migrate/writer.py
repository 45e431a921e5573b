"""Writing files back without losing anything: confined to the project, all files or none,
encoding, BOM, newlines and mode kept."""

from __future__ import annotations

import codecs
import difflib
import fcntl
import hashlib
import json
import os
import re
import secrets
import shutil
import signal
import stat
import subprocess
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

from dara_migrate.files import Source
from dara_migrate.signed import user_cache_folder

_LINES = re.compile(r"[^\n]*\n|[^\n]+$")
"""Lines as git sees them: split on LF only (str.splitlines also splits on FF, NEL, ...)."""
TEMP_SUFFIX = ".dara-migrate"
BACKUP_SUFFIX = ".dara-migrate-backup"
_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class WriteError(Exception):
    """A file could not be written; the message names it and the reason."""


class WriteInterrupted(Exception):
    """A signal arrived while files were written; everything written was rolled back."""

    def __init__(self, signum: int, message: str) -> None:
        super().__init__(message)
        self.signum = signum


def encode(source: Source, text: str) -> bytes:
    data = text.encode("utf-8" if source.encoding == "utf-8-sig" else source.encoding)
    return codecs.BOM_UTF8 + data if source.bom else data


@dataclass(frozen=True, slots=True)
class PlannedWrite:
    """One file `apply` means to rewrite: its path relative to the project root, the bytes it
    had when it was planned and the bytes it gets."""

    path: str
    before: bytes
    after: bytes


@dataclass(frozen=True, slots=True)
class Target:
    """Where a planned write lands: the real file inside the project (a symlink's target)."""

    path: str
    """Relative to the resolved project root: the file that is written and diffed."""
    real: Path
    before: bytes
    after: bytes


@dataclass(slots=True)
class WritePlan:
    targets: list[Target] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    """One line per file that cannot be written safely: `path: reason`."""


def plan_writes(root: Path, writes: Iterable[PlannedWrite],
                allow_read_only: bool = False) -> WritePlan:
    """Where each write lands, and which cannot be made safely. A symlink inside the project is
    written at its target, once (the target's own edits win when both were planned, as the
    two paths may name different modules); a file outside the project (through a symlinked
    file or folder), a read-only file (unless `allow_read_only`: it is rewritten and stays
    read-only), a hard-linked file (a rewrite would split its links) or anything but a
    regular file is refused."""
    plan = WritePlan()
    top = root.resolve()
    by_real: dict[Path, Target] = {}
    resolved: list[tuple[PlannedWrite, Path]] = []
    for write in writes:
        try:
            resolved.append((write, (root / write.path).resolve(strict=True)))
        except (OSError, RuntimeError) as error:
            plan.refused.append(f"{write.path}: cannot resolve: {_reason(error)}")
    # A file's own plan first: a symlink to it is the same file, already edited.
    resolved.sort(key=lambda item: item[1] != top / item[0].path)
    for write, real in resolved:
        try:
            info = real.stat()
        except OSError as error:
            plan.refused.append(f"{write.path}: {_reason(error)}")
            continue
        if not real.is_relative_to(top):
            plan.refused.append(f"{write.path}: links to {real}, outside the project")
        elif not stat.S_ISREG(info.st_mode):
            plan.refused.append(f"{write.path}: not a regular file")
        elif not info.st_mode & stat.S_IWUSR and not allow_read_only:
            plan.refused.append(f"{write.path}: read-only (mode {info.st_mode & 0o7777:04o}; "
                                "--allow-read-only rewrites it)")
        elif info.st_nlink > 1:
            plan.refused.append(f"{write.path}: has {info.st_nlink} hard links, which a "
                                "rewrite would split")
        elif real not in by_real:
            target = Target(real.relative_to(top).as_posix(), real, write.before, write.after)
            by_real[real] = target
            plan.targets.append(target)
    plan.targets.sort(key=lambda t: t.path)
    return plan


def _reason(error: BaseException) -> str:
    if isinstance(error, OSError):
        return error.strerror or str(error)
    return "symlink loop" if isinstance(error, RuntimeError) else str(error)


@contextmanager
def apply_lock(root: Path) -> Iterator[None]:
    """Hold the project's apply lock or refuse at once: a second `apply` would plan on files
    the first is rewriting. The lock is on the project folder itself, so that taking it
    creates no file (`--no-cache` leaves the project as it was)."""
    try:
        handle = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    except OSError as error:
        raise WriteError(f"{root}: cannot take the apply lock: {_reason(error)}") from error
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as error:
            raise WriteError(f"{root}: another dara-migrate apply is writing this project; "
                             "run again when it has finished") from error
        yield
    finally:
        os.close(handle)


def journal_path(root: Path) -> Path | None:
    """Where the write journal of this project lives while files are replaced: in the user's
    cache folder, outside every project. None: no such folder (no journal is kept)."""
    try:
        user = user_cache_folder()
        if user is None:
            return None
        folder = user / "journals"
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    except (OSError, RuntimeError):  # RuntimeError: no home folder
        return None
    key = hashlib.sha256(os.fsencode(root.resolve())).hexdigest()[:32]
    return folder / f"{key}.json"


class _DeferredSignals:
    """Signals that arrive while files are renamed are held until the next safe point, where
    they roll the write back instead of stopping it half-way."""

    def __init__(self) -> None:
        self.received: int | None = None
        self.previous: dict[int, object] = {}

    def __enter__(self) -> _DeferredSignals:
        if threading.current_thread() is threading.main_thread():
            for number in _SIGNALS:
                self.previous[number] = signal.signal(number, self._hold)
        return self

    def _hold(self, number: int, frame: FrameType | None) -> None:
        self.received = self.received or number

    def check(self) -> None:
        if self.received is not None:
            raise WriteInterrupted(self.received, signal.Signals(self.received).name)

    def __exit__(self, *exc: object) -> None:
        for number, handler in self.previous.items():
            signal.signal(number, handler)  # type: ignore[arg-type]


def _write_temp(path: Path, data: bytes, mode: int, owner: tuple[int, int]) -> None:
    handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(path, mode)
        if os.geteuid() == 0:
            with suppress(OSError):
                os.chown(path, *owner)
    except BaseException:
        with suppress(OSError):
            os.unlink(path)
        raise


def replace_text(path: Path, text: str) -> None:
    """Write a report file whole or not at all: a temp file in the same folder, then a rename
    over `path` (whose mode is kept). On any error the temp file is removed and `path` is as
    it was."""
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    # os.open applies the umask, as a plain open() of the file would.
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        if path.exists():
            shutil.copymode(path, temporary)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def _read_current(path: Path) -> bytes:
    handle = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    with os.fdopen(handle, "rb") as stream:
        return stream.read()


def _sibling(path: Path, token: str, suffix: str) -> Path:
    return path.with_name(f".{path.name}.{token}{suffix}")


def _save_journal(path: Path | None, document: dict[str, object]) -> None:
    if path is None:
        return
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(handle, "w", encoding="utf-8") as stream:
        json.dump(document, stream)
        stream.flush()
        os.fsync(stream.fileno())
    os.replace(temporary, path)


def commit(root: Path, targets: Sequence[Target], say: Callable[[str], None]) -> list[str]:
    """Write every target or none. Each new file goes to a temp file beside it; then each
    original is checked unchanged since planning, kept as a hard-linked backup and replaced
    by a rename. An error or a signal (SIGINT, SIGTERM, SIGHUP) rolls back what was renamed
    and removes every temp file; `say` is told what happened, and WriteError or
    WriteInterrupted raised. A journal (`journal_path`) lets the next `apply` finish the
    roll-back when the process was killed outright. Returns the paths written."""
    state = journal_path(root)
    token = secrets.token_hex(4)
    entries = [(t, _sibling(t.real, token, TEMP_SUFFIX), _sibling(t.real, token, BACKUP_SUFFIX))
               for t in targets]
    journal = {"version": 2, "root": str(root.resolve()), "state": "writing",
               "files": [{"path": str(t.real), "temp": str(temp), "backup": str(backup),
                          "written": hashlib.sha256(t.after).hexdigest()}
                         for t, temp, backup in entries]}
    renamed: list[tuple[Target, Path, Path]] = []
    current = ""
    """The file being worked on, for the message of an error."""
    with _DeferredSignals() as signals:
        if state is None:
            say("note: no write journal (no user cache folder could be made for it): were "
                "apply killed outright, the next apply could not roll its writes back")
        try:
            _save_journal(state, journal)
        except OSError as error:
            say(f"note: no write journal ({state}: {_reason(error)}): were apply killed "
                "outright, the next apply could not roll its writes back")
            state = None
        try:
            for target, temp, _ in entries:
                current = target.path
                info = target.real.stat()
                _write_temp(temp, target.after, info.st_mode & 0o7777, (info.st_uid, info.st_gid))
                signals.check()
            for target, _, backup in entries:
                current = target.path
                if _read_current(target.real) != target.before:
                    raise WriteError(f"{target.path}: changed by another program since apply "
                                     "read it; run apply again")
                os.link(target.real, backup)
                signals.check()
            for entry in entries:
                current = entry[0].path
                os.replace(entry[1], entry[0].real)
                renamed.append(entry)
                signals.check()
            current = "the write journal"
            journal["state"] = "written"
            _save_journal(state, journal)
        except BaseException as error:
            _roll_back(state, entries, renamed, say)
            if isinstance(error, OSError):
                raise WriteError(f"{current}: {_reason(error)}") from error
            raise
        for _, _, backup in entries:
            with suppress(OSError):
                os.unlink(backup)
        if state is not None:
            with suppress(OSError):
                os.unlink(state)
    return [target.path for target, _, _ in entries]


def _roll_back(state: Path | None, entries: Sequence[tuple[Target, Path, Path]],
               renamed: Sequence[tuple[Target, Path, Path]], say: Callable[[str], None]) -> None:
    kept: list[str] = []
    stranded: set[Path] = set()
    for target, _, backup in renamed:
        try:
            os.replace(backup, target.real)
        except OSError as error:
            kept.append(f"{target.path} (its original is {backup}: {_reason(error)})")
            stranded.add(backup)
    for _, temp, backup in entries:
        for leftover in (temp, backup):
            if leftover not in stranded:
                with suppress(OSError):
                    os.unlink(leftover)
    if not kept and state is not None:
        with suppress(OSError):
            os.unlink(state)
    restored = len(renamed) - len(kept)
    say(f"rolled back: {restored} of {len(entries)} files had been replaced and are restored; "
        "nothing is changed" if not kept else
        f"rolled back {restored} files; could not restore {', '.join(kept)}")


def recover(root: Path) -> list[str]:
    """Finish what an `apply` killed outright left: restore the originals it had replaced (or
    drop its backups when it had written everything), remove its temp files. One line per
    file touched. A file changed since that apply wrote it (someone went on editing) is left
    as it is, and its original kept beside it: nothing anyone wrote is lost."""
    path = journal_path(root)
    if path is None:
        return []
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        files = document["files"]
        written = document["state"] == "written"
        entries = [(Path(f["path"]), Path(f["temp"]), Path(f["backup"]), f.get("written"))
                   for f in files]
    except FileNotFoundError:
        return []
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise WriteError(f"{path}: unreadable journal of an interrupted apply ({error}); "
                         "check the files it names, then delete it") from error
    top = root.resolve()
    notes = []
    for real, temp, backup, digest in entries:
        if not (real.is_relative_to(top) and temp.parent == real.parent == backup.parent
                and temp.name.endswith(TEMP_SUFFIX) and backup.name.endswith(BACKUP_SUFFIX)):
            raise WriteError(f"{path}: names {real}, which this project does not hold; "
                             "delete the journal")
        relative = real.relative_to(top).as_posix()
        try:
            leftovers = [temp, backup]
            if backup.exists() and not written and not os.path.samefile(backup, real):
                # A journal of an older apply has no digest: it restores as it always did.
                if digest is None or _digest_of(real) == digest:
                    os.replace(backup, real)
                    notes.append(f"{relative}: restored from an interrupted apply")
                else:
                    leftovers.remove(backup)
                    notes.append(f"{relative}: changed since an interrupted apply wrote it, so "
                                 f"left as it is; its version from before that apply is "
                                 f"{backup.name}, beside it")
            for leftover in leftovers:
                if leftover.exists():
                    os.unlink(leftover)
                    notes.append(f"{relative}: removed {leftover.name}, left by an "
                                 "interrupted apply")
        except OSError as error:
            raise WriteError(f"{relative}: cannot finish the roll-back of an interrupted "
                             f"apply ({_reason(error)}); its journal is {path}") from error
    os.unlink(path)
    return notes


def _digest_of(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


_GIT_TIMEOUT = 60.0
"""Seconds git may take to answer (a hook such as `core.fsmonitor` can hang it)."""


def _git(arguments: list[str], folder: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *arguments], cwd=folder, capture_output=True, text=True,
                          check=False, timeout=_GIT_TIMEOUT)


def git_root(folder: Path) -> Path | None:
    try:
        completed = _git(["rev-parse", "--show-toplevel"], folder)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if completed.returncode != 0:
        return None
    return Path(completed.stdout.strip())


def dirty_paths(paths: Iterable[Path], folder: Path) -> list[str] | None:
    """Of the files about to be written, those modified, staged or untracked in their git work
    tree (relative to its top); None outside any work tree. Raises WriteError when git cannot
    answer: not installed, or it refuses the repository (e.g. dubious ownership)."""
    try:
        found = _git(["rev-parse", "--show-toplevel"], folder)
    except subprocess.TimeoutExpired as error:
        raise _no_answer(folder) from error
    except OSError as error:
        if any((parent / ".git").exists() for parent in (folder, *folder.parents)):
            raise WriteError(f"{folder}: cannot check for uncommitted changes: git cannot run "
                             f"({_reason(error)}); pass --allow-dirty to write anyway") from error
        return None
    if found.returncode != 0:
        if "not a git repository" in found.stderr:
            return None
        raise WriteError(f"{folder}: cannot check for uncommitted changes: "
                         f"{_git_says(found.stderr)}; pass --allow-dirty to write anyway")
    top = Path(found.stdout.strip())
    try:
        status = _git(["status", "--porcelain", "-z", "--untracked-files=all", "--",
                       *(str(p.resolve()) for p in paths)], top)
    except subprocess.TimeoutExpired as error:
        raise _no_answer(top) from error
    if status.returncode != 0:
        raise WriteError(f"{top}: cannot check for uncommitted changes: "
                         f"{_git_says(status.stderr)}; pass --allow-dirty to write anyway")
    return sorted(entry[3:] for entry in status.stdout.split("\0") if entry[2:3] == " ")


def _no_answer(folder: Path) -> WriteError:
    return WriteError(f"{folder}: cannot check for uncommitted changes: git did not answer "
                      f"within {_GIT_TIMEOUT:g} s (a hook that hangs?); pass --allow-dirty to "
                      "write anyway")


def _git_says(text: str) -> str:
    """git's one-line reason: its `fatal:` line, else its last line."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return next((line for line in lines if line.startswith("fatal:")),
                lines[-1] if lines else "git failed")


_C_ESCAPES = {7: "\\a", 8: "\\b", 9: "\\t", 10: "\\n", 11: "\\v", 12: "\\f", 13: "\\r",
              34: '\\"', 92: "\\\\"}


def git_quoted(name: str) -> str:
    """A path as git writes it in a diff header: C-quoted when it holds control characters,
    quotes, backslashes or non-ASCII bytes (as UTF-8 octal escapes), so `git apply` reads it."""
    raw = os.fsencode(name)
    if not any(byte < 0x20 or byte >= 0x7F or byte in (34, 92) for byte in raw):
        return name
    quoted = "".join(_C_ESCAPES.get(byte) or (f"\\{byte:03o}" if byte < 0x20 or byte >= 0x7F
                                              else chr(byte)) for byte in raw)
    return f'"{quoted}"'


def unified_diff(relative: str, before: bytes, after: bytes) -> bytes:
    """A `git apply`-compatible diff of one file's bytes: any encoding, CRLF and a missing
    final newline kept (latin-1 maps every byte to one character and back)."""
    old = _LINES.findall(before.decode("latin-1"))
    new = _LINES.findall(after.decode("latin-1"))
    lines = []
    for line in difflib.unified_diff(old, new, git_quoted(f"a/{relative}"),
                                     git_quoted(f"b/{relative}"), n=3):
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
