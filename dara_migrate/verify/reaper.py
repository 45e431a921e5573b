"""Processes a build or server left behind outside its process group, found and killed.

A build or server runs in a process group of its own, killed as a whole when it ends; a
process the app started with `os.setsid()` (a daemon) leaves that group and would outlive the
command. While builds or servers run, this process is a child subreaper (Linux
`PR_SET_CHILD_SUBREAPER`), so such a process becomes its child when its parent ends instead of
init's, and each child process carries a token of the run in its environment. At the end,
every process that is ours is killed: one whose environment carries the token, one that
became our child while the builds ran (an orphan of a build, whatever its environment), and
their descendants. Nothing else is touched: not the processes this one had before, nor those
of other runs.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import secrets
import signal
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

TOKEN_VARIABLE = "DARA_MIGRATE_SUPERVISOR"
"""Set in every build's and server's environment to the supervising run's token."""

_PR_SET_CHILD_SUBREAPER = 36
_PR_GET_CHILD_SUBREAPER = 37
_REAP_SECONDS = 5.0
"""How long the end of a run waits for the killed processes to be gone."""
_lock = threading.Lock()
_active: set[str] = set()
"""Tokens of the supervised sections open now: another section's processes are never killed."""
_was_subreaper = False


class Supervision:
    """One supervised section: its token and the children this process had before it."""

    def __init__(self) -> None:
        self.token = secrets.token_hex(16)
        me = os.getpid()
        live, zombies = _process_table()
        self.earlier_children = frozenset(pid for pid, parent in (*live.items(),
                                                                  *zombies.items())
                                          if parent == me)

    def environment(self, environment: dict[str, str]) -> dict[str, str]:
        """`environment` with this section's token, for a build or server it starts."""
        return {**environment, TOKEN_VARIABLE: self.token}


@contextlib.contextmanager
def supervised() -> Iterator[Supervision]:
    """A section whose builds and servers leave no process behind: on the way out (also on an
    error or signal), every process that is the section's own is killed and reaped."""
    supervision = Supervision()
    _become_subreaper(supervision.token)
    try:
        yield supervision
    finally:
        try:
            kill_strays(supervision)
        finally:
            _end_subreaper(supervision.token)


def kill_strays(supervision: Supervision) -> list[int]:
    """Kill (SIGKILL) and reap every live process of `supervision`; the ids killed."""
    if not sys.platform.startswith("linux"):
        return []
    me = os.getpid()
    table, zombies = _process_table()
    with _lock:
        others = _active - {supervision.token}
    ours = set()
    for pid, parent in table.items():
        token = _token(pid)
        if token == supervision.token or (parent == me and token not in others
                                           and pid not in supervision.earlier_children):
            ours.add(pid)
    # Their descendants too: a child started with a cleared environment is still theirs.
    grown = True
    while grown:
        more = {pid for pid, parent in table.items() if parent in ours} - ours
        ours |= more
        grown = bool(more)
    for pid in ours:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
    if not others:
        # Orphans that ended by themselves were reparented here: collect them too.
        ours |= {pid for pid, parent in zombies.items()
                 if parent == me and pid not in supervision.earlier_children}
    _reap(ours)
    return sorted(ours)


def _reap(killed: set[int]) -> None:
    """Wait for the killed processes to be gone, collecting those that are our children (an
    orphan reparented here would otherwise stay a zombie until this process ends)."""
    deadline = time.monotonic() + _REAP_SECONDS
    waiting = set(killed)
    while waiting and time.monotonic() < deadline:
        for pid in list(waiting):
            try:
                done, _ = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:  # not (yet) our child: done once it no longer exists
                done = 0 if os.path.exists(f"/proc/{pid}") else pid
            if done:
                waiting.discard(pid)
        if waiting:
            time.sleep(0.02)


def _process_table() -> tuple[dict[int, int], dict[int, int]]:
    """Every live process and its parent, then every zombie and its parent, from /proc;
    empty without /proc."""
    live: dict[int, int] = {}
    zombies: dict[int, int] = {}
    with contextlib.suppress(OSError):
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            with contextlib.suppress(OSError, IndexError, ValueError):
                fields = Path(entry.path, "stat").read_text().rsplit(")", 1)[1].split()
                table = zombies if fields[0] in ("Z", "X") else live
                table[int(entry.name)] = int(fields[1])
    return live, zombies


def _token(pid: int) -> str | None:
    """The supervising token the process was started with; None without one, or when the
    process is not ours to read (another user's)."""
    try:
        environment = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return None
    prefix = f"{TOKEN_VARIABLE}=".encode()
    for entry in environment.split(b"\0"):
        if entry.startswith(prefix):
            return entry[len(prefix):].decode("ascii", "replace")
    return None


def _become_subreaper(token: str) -> None:
    global _was_subreaper
    with _lock:
        if not _active and sys.platform.startswith("linux"):
            with contextlib.suppress(OSError, AttributeError):
                libc = ctypes.CDLL(None, use_errno=True)
                current = ctypes.c_int(0)
                libc.prctl(_PR_GET_CHILD_SUBREAPER, ctypes.byref(current), 0, 0, 0)
                _was_subreaper = bool(current.value)
                if not _was_subreaper:
                    libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
        _active.add(token)


def _end_subreaper(token: str) -> None:
    with _lock:
        _active.discard(token)
        if not _active and not _was_subreaper and sys.platform.startswith("linux"):
            with contextlib.suppress(OSError, AttributeError):
                ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)
