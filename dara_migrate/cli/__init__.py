"""The `dara-migrate` entry point: a stored report when nothing changed, else the commands.

The commands (and the framework that parses them) live in `dara_migrate.cli.commands`,
imported only when a run has to do real work.
"""

from __future__ import annotations

import contextlib
import os
import sys
from typing import Any

PROFILE_VARIABLE = "DARA_MIGRATE_PROFILE"
"""Set to a file name: the run writes a cProfile of the main process there (`pstats` reads it)."""


def main() -> None:
    profile = os.environ.get(PROFILE_VARIABLE)
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
            sys.stderr.write(f"{profile}: cannot write the profile: {error.strerror or error}\n")
    # A project's facts and index are millions of objects; freeing them one by one at
    # interpreter exit is a visible share of a warm audit, and the OS reclaims them at once.
    # Everything is written and closed by now: only the standard streams need flushing.
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe (`| head`)
            stream.flush()
    os._exit(code)


def _run(argv: list[str]) -> int:
    from dara_migrate import result_cache

    replayed = result_cache.replay(argv)
    if replayed is not None:
        return replayed
    result_cache.begin(argv)
    from dara_migrate.cli.commands import app

    try:
        app()
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        return 130
    except SystemExit as stop:
        return _exit_code(stop.code)
    except Exception as error:  # a bug of ours: said in one line, and never exit 1 (findings)
        return _internal_error(error)
    return 0


def _internal_error(error: Exception) -> int:
    """Report an error the tool did not expect as a rule that crashes is reported: its type,
    message and innermost frame, on one line; exit code 2."""
    import traceback

    frames = traceback.extract_tb(error.__traceback__)
    where = f" ({os.path.basename(frames[-1].filename)}:{frames[-1].lineno})" if frames else ""
    message = " ".join(str(error).split())
    sys.stderr.write(f"dara-migrate: internal error: {type(error).__name__}: {message}{where}; "
                     "please report it\n")
    return 2


def _exit_code(code: object) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    sys.stderr.write(f"{code}\n")
    return 1


def __getattr__(name: str) -> Any:
    """`app` and the other command-line pieces, from `dara_migrate.cli.commands` on first use."""
    if name.startswith("__"):  # the import system probing (`__path__`): not a command piece
        raise AttributeError(name)
    from importlib import import_module

    return getattr(import_module("dara_migrate.cli.commands"), name)
