"""Scanning the project: every Python file read and parsed once into facts, in parallel
worker processes, with a per-file cache."""

from __future__ import annotations

import ast
import gc
import hashlib
import os
import re
import signal
import sys
import threading
import time
import warnings
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from dara_migrate import __version__
from dara_migrate.facts import FileFacts, extract_facts
from dara_migrate.files import ReadError, SourceRoots, decode_source, read_bytes, relative_path
from dara_migrate.signed import read_signed, write_signed

_Item = TypeVar("_Item")
_Outcome = TypeVar("_Outcome")

FACTS_VERSION = "32"

_IN_PROCESS_BELOW = 48
"""Below this many files a process pool costs more than it saves."""
_PR_SET_PDEATHSIG = 1
_LOADAVG = "/proc/loadavg"
"""Linux: load averages, then "running/total" tasks at this moment."""
_PARENT_POLL_SECONDS = 0.5
_IDLE_MARGIN = 0.5
"""Load below which a core counts as idle: a core is a worker's only if at most half of it is
taken by other processes (1-minute load average)."""
_CACHE_NAMES = frozenset({".gitignore", "results"})
"""What a cache folder holds besides its two-character shards of entries."""
CACHE_ENTRIES_FLOOR = 2000
CACHE_ENTRIES_PER_FILE = 4
"""The facts cache keeps at most max(floor, per file x the files of the run) entries: room for
a few versions of each file (branches, targets, settings) without growing with every edit."""
_entries_written = 0
"""Facts cache entries this process wrote or had its workers write (a pruning trigger)."""


@dataclass(frozen=True, slots=True)
class FileJob:
    path: str
    absolute: str
    module: str
    is_package: bool
    cache_dir: str | None
    cache_salt: str
    data: bytes | None = None
    """Content to analyse instead of the file on disk (apply's in-memory rounds)."""
    content_digest: bytes | None = None
    """The sha256 of the file's content, when the caller knows it is unchanged since it was
    digested: its cached facts are then found without reading it."""


@dataclass(slots=True)
class FileResult:
    path: str
    facts: FileFacts | None
    error: str | None
    error_line: int = 1
    error_column: int = 1
    digest: str = ""


@contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic garbage collection while facts are built: they hold no cycles, and a
    collection pass over millions of young AST and fact objects costs more than parsing."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def cache_salt(settings_key: str) -> str:
    """What besides file bytes decides the facts: tool, Python and relevant settings."""
    return f"{__version__}|{FACTS_VERSION}|{_python()}|{settings_key}"


def _python() -> str:
    """The interpreter's version: the grammar files are read with (a syntax error says so)."""
    return ".".join(map(str, sys.version_info[:2]))


def _cache_path(job: FileJob, digest: str) -> str | None:
    if job.cache_dir is None:
        return None
    # Joined as text: pathlib costs more than reading the entry on a warm run.
    return os.path.join(job.cache_dir, digest[:2], f"{digest}.pickle")


def _load_cached(path: str | None, digest: str) -> FileResult | None:
    # Signed together with the digest (path, module, content, tool version, settings): an
    # entry copied over another's is refused.
    result = read_signed(path, digest.encode()) if path is not None else None
    return result if isinstance(result, FileResult) and result.digest == digest else None


def _store_cached(path: str | None, result: FileResult) -> None:
    global _entries_written
    if path is not None and write_signed(path, result, result.digest.encode()):
        _entries_written += 1


def take_entries_written() -> int:
    """How many facts cache entries were written since the last call."""
    global _entries_written
    written, _entries_written = _entries_written, 0
    return written


def prune_cache(folder: Path, used: Collection[str]) -> None:
    """Bound the facts cache: past its limit, remove the oldest entries that the run which
    used the `used` digests did not use."""
    limit = max(CACHE_ENTRIES_FLOOR, CACHE_ENTRIES_PER_FILE * len(used))
    count, unused = 0, []
    with suppress(OSError), os.scandir(folder) as shards:
        for shard in shards:
            if len(shard.name) != 2 or not shard.is_dir(follow_symlinks=False):
                continue
            with suppress(OSError), os.scandir(shard.path) as entries:
                for entry in entries:
                    if entry.name.endswith(".pickle"):
                        count += 1
                        if entry.name.removesuffix(".pickle") not in used:
                            unused.append(entry)
    if count <= limit:
        return
    dated = []
    for entry in unused:
        with suppress(OSError):  # removed meanwhile by another run
            dated.append((entry.stat(follow_symlinks=False).st_mtime_ns, entry.path))
    for _, path in sorted(dated)[:count - limit]:
        with suppress(OSError):
            os.unlink(path)


def _bytes(job: FileJob) -> bytes | FileResult:
    """The file's bytes, or the result for a file that cannot be read."""
    try:
        return job.data if job.data is not None else read_bytes(Path(job.absolute))
    except ReadError as error:
        return FileResult(job.path, None, str(error))


def _read(job: FileJob) -> tuple[bytes, str] | FileResult:
    """The file's bytes and cache digest, or the result for a file that cannot be read."""
    data = _bytes(job)
    if isinstance(data, FileResult):
        return data
    return data, _facts_digest(job, hashlib.sha256(data).digest())


def _facts_digest(job: FileJob, content_digest: bytes) -> str:
    """The cache key of a file's facts: of its content's digest rather than of its content, so
    that a file known to be unchanged is looked up without being read."""
    return hashlib.sha256(
        b"%s\0%s\0%s\0%d\0%s" % (job.cache_salt.encode(), job.path.encode(),
                                  job.module.encode(), job.is_package, content_digest)
    ).hexdigest()


def _known_digest(job: FileJob) -> str | None:
    """The cache key of a file whose content digest the job carries (no need to read it)."""
    if job.content_digest is None or job.cache_dir is None:
        return None
    return _facts_digest(job, job.content_digest)


def cached_result(job: FileJob) -> FileResult | None:
    """The cached facts of a file whose content is unchanged, if the cache has them."""
    if job.cache_dir is None:
        return None
    known = _known_digest(job)
    if known is not None:
        cached = _load_cached(_cache_path(job, known), known)
        if cached is not None:
            return cached
    read = _read(job)
    if isinstance(read, FileResult) or read[1] == known:
        return None
    return _load_cached(_cache_path(job, read[1]), read[1])


def analyze_file(job: FileJob) -> FileResult:
    """Read, parse and summarise one file; never raises for bad input."""
    if job.cache_dir is None:
        # No cache to look up or fill: the digests that key it would go unused.
        data = _bytes(job)
        return data if isinstance(data, FileResult) else _analyze_bytes(job, data)
    known = _known_digest(job)
    if known is not None:
        cached = _load_cached(_cache_path(job, known), known)
        if cached is not None:
            return cached
    # The digest of the bytes read, which may be newer than the known one, keys what is stored.
    read = _read(job)
    if isinstance(read, FileResult):
        return read
    data, digest = read
    cache_path = _cache_path(job, digest)
    cached = _load_cached(cache_path, digest) if digest != known else None
    if cached is not None:
        return cached
    result = _analyze_bytes(job, data)
    result.digest = digest
    _store_cached(cache_path, result)
    return result


def _analyze_bytes(job: FileJob, data: bytes) -> FileResult:
    try:
        source = decode_source(data)
    except ReadError as error:
        return FileResult(job.path, None, str(error))
    try:
        tree = ast.parse(source.text, filename=job.path)
    except SyntaxError as error:
        message = error.msg
        if "print" in message and "parentheses" in message:
            message += " (Python 2 code?)"
        else:
            message += _newer_syntax(message, error.text or "")
        return FileResult(job.path, None, f"syntax error (read as Python {_python()}): {message}",
                          error.lineno or 1, error.offset or 1)
    except (ValueError, RecursionError, MemoryError) as error:
        return FileResult(job.path, None, f"cannot parse: {type(error).__name__}: {error}")
    try:
        facts = extract_facts(tree, source.text, job.path, job.module, job.is_package)
    except RecursionError:
        # Python parses deeper expressions (`a + b + ...` of a thousand terms) than a
        # recursive walk of their tree can follow.
        return FileResult(job.path, None, "cannot analyse: an expression nested too deeply")
    except Exception as error:  # a bug of the analysis must cost this file only, not the run
        return FileResult(job.path, None, f"cannot analyse (a dara-migrate bug, please report "
                          f"it): {type(error).__name__}: {error}")
    return FileResult(job.path, facts, None)


_NEWER_SYNTAX = (
    ((3, 12), re.compile(r"\s*(type\s+\w+\s*(\[.*\])?\s*=|(async\s+)?def\s+\w+\s*\[|"
                         r"class\s+\w+\s*\[)"), "type parameters and `type` statements"),
    ((3, 14), re.compile(r"\s*except\s*\*?\s*[\w.]+\s*,"), "`except` of several types "
     "without brackets"),
)
"""Statements a newer Python added, by the line they start: a file of a project on that
Python, read by an older one."""


def _newer_syntax(message: str, line: str) -> str:
    """What to add to a syntax error a newer Python would not raise: which Python it needs."""
    if message.startswith("f-string") and sys.version_info < (3, 12):
        return (" (f-strings with nested quotes need Python 3.12: run dara-migrate with the "
                "project's Python)")
    for version, pattern, what in _NEWER_SYNTAX:
        if sys.version_info < version and pattern.match(line):
            return (f" ({what} need Python {version[0]}.{version[1]}: run dara-migrate with "
                    "the project's Python)")
    return ""


def die_with_parent(parent: int) -> None:
    """Worker initializer: a worker ends when its parent does, even when the parent is killed
    outright, instead of lingering (and holding the pipe a reader of the parent waits on)."""
    if sys.platform.startswith("linux"):
        import ctypes

        with suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before the request above took effect
        os._exit(1)

    def watch() -> None:  # where prctl does not exist
        while os.getppid() == parent:
            time.sleep(_PARENT_POLL_SECONDS)
        os._exit(1)

    threading.Thread(target=watch, name="parent-watchdog", daemon=True).start()


def holds_other_files(folder: Path) -> bool:
    """Whether `folder` holds anything a cache folder does not (a `cache-dir` naming a source
    folder): the cache would drop its `*` `.gitignore` there and hide the folder from git
    and from the next audit."""
    try:
        with os.scandir(folder) as entries:
            return any(not (entry.name in _CACHE_NAMES or (
                len(entry.name) == 2 and entry.is_dir(follow_symlinks=False)))
                for entry in entries)
    except OSError:
        return False


def prepare_cache_folder(root: Path, folder: Path) -> Path | None:
    """The cache folder, created with a `.gitignore` so that it never shows up in `git status`;
    None where using it could write where it must not: the root itself or a folder above it,
    or a folder reached through a symlink inside the project. The `.gitignore` is never
    written through a symlink. (A folder outside the project can only come from the Python
    API: the `cache-dir` setting is refused unless it lies inside the project.)"""
    top, wanted = root.resolve(), Path(os.path.abspath(folder))
    if top.is_relative_to(wanted) or root.absolute().is_relative_to(wanted):
        return None
    try:
        relative = wanted.relative_to(root.absolute())
    except ValueError:
        steps = [wanted]
    else:
        steps = [top.joinpath(*relative.parts[:n]) for n in range(1, len(relative.parts) + 1)]
    try:
        if len(steps) == 1:
            os.makedirs(wanted.parent, exist_ok=True)
        for step in steps:
            with suppress(FileExistsError):
                os.mkdir(step)
            if os.path.islink(step) or not step.is_dir():
                return None
        if holds_other_files(steps[-1]):
            return None
        with suppress(FileExistsError):
            handle = os.open(steps[-1] / ".gitignore",
                             os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                stream.write("# Created by dara-migrate.\n*\n")
    except OSError:
        return None
    return steps[-1]


def make_jobs(roots: SourceRoots, files: Iterable[Path], cache_dir: Path | None, salt: str,
              overlay: Mapping[str, bytes] | None = None,
              content_digests: Mapping[str, bytes] | None = None) -> list[FileJob]:
    """A job per file; `content_digests` (by absolute path) are those of files known to be
    unchanged since they were digested (an overlaid file's content is the overlay's)."""
    jobs = []
    overlay, known = overlay or {}, content_digests or {}
    for path in files:
        relative = relative_path(path, roots.root)
        module, is_package = roots.module_name(relative)
        absolute = str(path)
        data = overlay.get(relative)
        jobs.append(FileJob(relative, absolute, module, is_package,
                            str(cache_dir) if cache_dir else None, salt, data,
                            known.get(absolute) if data is None else None))
    return jobs


def _analyze_chunk(jobs: Sequence[FileJob]) -> list[FileResult]:
    with _quiet():
        return [analyze_file(job) for job in jobs]


@contextmanager
def _quiet() -> Iterator[None]:
    """No warning of the parser's (an invalid escape such as `"\\d"` in a plain string)
    printed while files are parsed: the project's code is read, not run. Once around many
    files: setting filters per file costs more than a small file's facts."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def default_workers() -> int:
    """`--jobs 0` (the default): one process per core that nothing else is busy with. A pool
    only pays with idle cores: on a busy machine its workers wait for the CPU while their
    results still cost pickling, and a run with them is slower than one without."""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (
        os.cpu_count() or 1)
    try:
        busy = _busy_cores()
    except OSError:  # no load average on this system: trust the core count
        return usable
    return max(1, min(usable, int(usable - busy + _IDLE_MARGIN)))


def _busy_cores() -> float:
    """How many cores other work takes: the smaller of the 1-minute load average and the
    number of other tasks running right now. The average alone still counts work that ended
    up to a minute ago (the previous run of this tool, in a loop or a CI job), and the count
    alone is one moment's sample; a core is busy only if both say so."""
    average = os.getloadavg()[0]
    try:
        with open(_LOADAVG, "rb") as stream:
            running = int(stream.read().split()[3].split(b"/")[0])
    except (OSError, ValueError, IndexError):  # not Linux, or no /proc
        return average
    return min(average, running - 1)  # this process is one of them


def analyze_all(jobs: Sequence[FileJob], workers: int,
                progress: Callable[[int], None] | None = None) -> list[FileResult]:
    """Analyse every file; results come back in job order whatever the worker count."""
    global _entries_written
    workers = workers or default_workers()
    if workers <= 1:
        return _analyze(jobs, workers, progress)
    # Cache hits load here: through a worker they would be unpickled and pickled again.
    hits = [cached_result(job) for job in jobs]
    misses = [job for job, hit in zip(jobs, hits, strict=True) if hit is None]
    _entries_written += sum(1 for job in misses if job.cache_dir is not None)  # by workers
    if progress and len(misses) < len(jobs):
        progress(len(jobs) - len(misses))
    fresh = iter(_analyze(misses, workers, progress))
    return [hit if hit is not None else next(fresh) for hit in hits]


def _analyze(jobs: Sequence[FileJob], workers: int,
             progress: Callable[[int], None] | None) -> list[FileResult]:
    """With N jobs, N - 1 worker processes and this process share the chunks: whatever the
    workers have not started when this process gets to it, it does itself, so nothing it
    does is pickled, and a slow core costs only its own share."""
    if workers <= 1 or len(jobs) < _IN_PROCESS_BELOW:
        results = []
        with _quiet():
            for job in jobs:
                results.append(analyze_file(job))
                if progress:
                    progress(1)
        return results
    # Small chunks: at the end this process waits for the chunks a worker holds, and a worker
    # that shares its core with other work finishes a large one late.
    size = max(8, len(jobs) // (workers * 32))
    chunks = [jobs[start:start + size] for start in range(0, len(jobs), size)]
    return share_chunks(_analyze_chunk, chunks, workers,
                        (lambda chunk: progress(len(chunk))) if progress else None)


SHARED_BELOW = 64
"""Fewer items than this (files to edit or diff) are handled in this process: a pool costs
more than it saves."""


def shared_map(work: Callable[[Sequence[_Item]], list[_Outcome]], items: Sequence[_Item],
               workers: int) -> list[_Outcome]:
    """`work` of every item, in order: in this process, or with more than one worker (0: as
    many as there are idle cores) in small chunks that forked processes and this one share.
    `work` must be a pure function of the items, so the results are the same either way."""
    workers = workers or default_workers()
    if workers <= 1 or len(items) < SHARED_BELOW:
        return work(items)
    size = max(4, len(items) // (workers * 16))
    return share_chunks(work, [items[start:start + size]
                               for start in range(0, len(items), size)], workers)


def share_chunks(work: Callable[[Sequence[_Item]], list[_Outcome]],
                 chunks: Sequence[Sequence[_Item]], workers: int,
                 on_done: Callable[[Sequence[_Item]], None] | None = None) -> list[_Outcome]:
    """`work` of every chunk, outcomes in chunk order: `workers - 1` forked processes and this
    one share the chunks. Whatever the workers have not started when this process gets to it
    (from the end), it does itself, so nothing it does is pickled."""
    done: list[list[_Outcome] | None] = [None] * len(chunks)
    # Imported here: a run too small for a pool does not load them.
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    context = multiprocessing.get_context("fork" if "fork" in
                                          multiprocessing.get_all_start_methods() else None)
    with ProcessPoolExecutor(max_workers=workers - 1, mp_context=context,
                             initializer=die_with_parent, initargs=(os.getpid(),)) as pool:
        futures = [pool.submit(work, chunk) for chunk in chunks]
        for number in reversed(range(len(chunks))):
            if futures[number].cancel():
                done[number] = work(chunks[number])
                if on_done:
                    on_done(chunks[number])
        for number, future in enumerate(futures):
            if done[number] is None:
                done[number] = future.result()
                if on_done:
                    on_done(chunks[number])
    return [outcome for outcomes in done if outcomes is not None for outcome in outcomes]
