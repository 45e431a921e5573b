"""The `dara-migrate` entry point: a stored report when nothing changed, else the commands.

The commands (and the framework that parses them) live in `dara_migrate.cli.commands`,
imported only when a run has to do real work.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sys
from typing import Any

PROFILE_VARIABLE = "DARA_MIGRATE_PROFILE"
"""Set to a file name: the run writes a cProfile of the main process there (`pstats` reads it)."""


_FULL_OUTPUT = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO})
"""Why a write to standard output or error fails when the stream itself is at fault (a full
disk or device, a dead terminal): the run's result cannot be shown, which is not a bug."""


def main() -> None:
    _open_closed_standard_streams()
    profile = os.environ.get(PROFILE_VARIABLE)
    refused = _refused_profile(profile, sys.argv[1:]) if profile else None
    if refused is not None:
        _say(f"{refused}\n")
        os._exit(2)
    profiler = None
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    code = _run(sys.argv[1:])
    if profile and profiler is not None:
        profiler.disable()
        try:
            profiler.dump_stats(profile)
        except OSError as error:
            _say(f"{profile}: cannot write the profile: {error.strerror or error}\n")
    # A project's facts and index are millions of objects; freeing them one by one at
    # interpreter exit is a visible share of a warm audit, and the OS reclaims them at once.
    # Everything is written and closed by now: only the standard streams need flushing.
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe (`| head`)
            stream.flush()
    os._exit(code)


def _refused_profile(profile: str, argv: list[str]) -> str | None:
    """Why the profile must not be written to `profile` (None when it may), as `--output`
    is refused: it would replace a Python source or a file of the project the run reads."""
    from pathlib import Path

    from dara_migrate.files import find_root, why_not_an_output
    from dara_migrate.result_cache import guessed_paths

    path = Path(profile)
    if path.is_dir():
        return f"{PROFILE_VARIABLE}={profile}: cannot write the profile there: it is a folder"
    try:
        reason = why_not_an_output(path, find_root(guessed_paths(argv)))
    except OSError:  # the folder cannot be read: the run says so itself
        return None
    if reason is None:
        return None
    return (f"{PROFILE_VARIABLE}={profile}: cannot write the profile there: {reason}, which "
            "the profile would replace (name a new file)")


def _run(argv: list[str]) -> int:
    try:
        os.getcwd()
    except OSError as error:  # relative paths, the cache key and the default "." all need it
        _say(f"dara-migrate: cannot use the current folder: {error.strerror or error} "
             "(was it removed? cd into the project)\n")
        return 2
    from dara_migrate import result_cache

    try:
        replayed = result_cache.replay(argv)
        if replayed is not None:
            # Flushed here: a full disk or device must be said, as a run that made the
            # report says it, not lost in the flush at exit.
            sys.stdout.flush()
            return replayed
    except OSError as error:
        return _output_failed(error)
    result_cache.begin(argv)
    from dara_migrate.cli.commands import app

    try:
        app()
    except KeyboardInterrupt:
        _say("interrupted\n")
        return 130
    except SystemExit as stop:
        return _exit_code(stop.code)
    except UnicodeEncodeError as error:
        encoding = _output_encoding(error)
        if encoding is None:
            return _internal_error(error)
        _say(f"dara-migrate: cannot write {error.object[error.start:error.end]!r} in the output's "
             f"encoding ({encoding}); set PYTHONIOENCODING=utf-8\n")
        return 2
    except OSError as error:
        return _output_failed(error)
    except Exception as error:  # a bug of ours: said in one line, and never exit 1 (findings)
        return _internal_error(error)
    return 0


def _output_failed(error: OSError) -> int:
    if error.filename is not None or error.errno not in _FULL_OUTPUT:
        return _internal_error(error)
    # Only writes to a standard stream fail this way unhandled: files the tool writes (the
    # apply, the reports, the cache) say which file and why, or go without.
    _say(f"dara-migrate: cannot write the output: {error.strerror or error}\n")
    return 2


def _output_encoding(error: UnicodeEncodeError) -> str | None:
    """The encoding of the standard stream `error` came from (one that cannot hold every
    character, as PYTHONIOENCODING=ascii asks); None when it came from elsewhere."""
    import codecs

    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(LookupError, TypeError, AttributeError):
            if codecs.lookup(stream.encoding).name == codecs.lookup(error.encoding).name:
                return stream.encoding
    return None


def _open_closed_standard_streams() -> None:
    """Give a standard stream the caller closed (`<&-`, `>&-`) /dev/null: what would be read
    from it is nothing, what would be written to it goes nowhere, and its descriptor is never
    handed to a file the run opens, where a child process or a stray print would write."""
    for descriptor, name in enumerate(("stdin", "stdout", "stderr")):
        try:
            os.fstat(descriptor)
        except OSError:
            null = os.open(os.devnull, os.O_RDWR)
            if null != descriptor:
                os.dup2(null, descriptor)
                os.close(null)
        if getattr(sys, name) is None:
            setattr(sys, name, open(descriptor, "r" if descriptor == 0 else "w",  # noqa: SIM115
                                    encoding="utf-8", closefd=False))


def _say(line: str) -> None:
    """Write an error line to standard error, unless standard error cannot take it either."""
    with contextlib.suppress(OSError, ValueError):
        sys.stderr.write(line)


def _internal_error(error: Exception) -> int:
    """Report an error the tool did not expect as a rule that crashes is reported: its type,
    message and innermost frame, on one line; exit code 2."""
    import traceback

    frames = traceback.extract_tb(error.__traceback__)
    where = f" ({os.path.basename(frames[-1].filename)}:{frames[-1].lineno})" if frames else ""
    message = " ".join(str(error).split())
    _say(f"dara-migrate: internal error: {type(error).__name__}: {message}{where}; "
         "please report it\n")
    return 2


def _exit_code(code: object) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    _say(f"{code}\n")
    return 1


def __getattr__(name: str) -> Any:
    """`app` and the other command-line pieces, from `dara_migrate.cli.commands` on first use."""
    if name.startswith("__"):  # the import system probing (`__path__`): not a command piece
        raise AttributeError(name)
    from importlib import import_module

    return getattr(import_module("dara_migrate.cli.commands"), name)
