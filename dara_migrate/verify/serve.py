"""Start an app as N real server processes on loopback ports, and always stop them again.

Each worker is ``serve_launcher.py`` run by the app's interpreter with cwd = app root, in deploy
mode (``DARA_DOCKER_MODE=TRUE``: no JS build, sessions signed with ``JWT_SECRET`` or a random
secret of its own), ``DARA_DISABLE_METRICS=TRUE`` (workers would fight over the metrics port),
its own ``PYTHONHASHSEED``, ``HOSTNAME``, scratch ``static_files_dir`` (with a stub Vite manifest
so the HTML page renders) and a port found free, in a process group of its own. Each worker
hands its login (the app's auth config and, for basic auth, its users' credentials) back over a
pipe, so no password is ever written to a file. ``Workers`` is a context manager: leaving it,
by return, exception, Ctrl-C, SIGTERM or interpreter exit, kills every process group it
started.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any

from dara_migrate.verify import serve_launcher
from dara_migrate.verify.model import MANIFEST_VERSION, VerifyError
from dara_migrate.verify.reaper import supervised

# Without a JS build the HTML page still needs a Vite manifest that names the entry point.
VITE_MANIFEST = {"_entry.tsx": {"file": "assets/entry.js", "src": "_entry.tsx", "isEntry": True}}
LOG_LINES_SHOWN = 15
_POLL_SECONDS = 0.25
_STOP_GRACE_SECONDS = 1.0
"""Time a worker gets to shut down on SIGTERM before its group is killed."""


class ServeError(VerifyError):
    """A worker did not start: which one, why, and the last lines of its log."""

    def __init__(self, message: str, log_tail: list[str]) -> None:
        super().__init__(message)
        self.log_tail = log_tail

    def to_json(self) -> dict[str, Any]:
        return {
            "version": MANIFEST_VERSION,
            "serve": "failed",
            "error": {"cause": self.message, "frame": None, "log": self.log_tail},
        }


@dataclass(frozen=True)
class ServedAuth:
    """How a served app can be logged in to, as its worker read it from the app's config."""

    auth_config: str
    """The class name of the app's auth config."""
    login: str
    """``none`` (dara's default auth), ``basic`` (``users`` set) or ``unsupported``."""
    users: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    """(username, password) pairs of a basic auth config, in the config's order."""

    @classmethod
    def from_line(cls, line: bytes) -> ServedAuth | None:
        """The login a worker sent, or None when it sent none (it ended first) or garbage."""
        try:
            entry = json.loads(line)
            users = tuple((str(name), str(password)) for name, password in entry.get("users", ()))
            return cls(str(entry["auth_config"]), str(entry["login"]), users)
        except (ValueError, TypeError, KeyError, AttributeError):
            return None


@dataclass
class Worker:
    """One server process: its number (1-based), port, pid, scratch folder and, once it
    serves, how to log in to it."""

    number: int
    port: int
    scratch: Path
    process: subprocess.Popen[bytes] | None = None
    auth: ServedAuth | None = None
    auth_pipe: int | None = field(default=None, repr=False)
    """Read end of the pipe the worker sends its login on, until it is read."""

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        return self.scratch / "server.log"

    @property
    def journal(self) -> Path:
        return self.scratch / "definitions.jsonl"

    def log_tail(self, lines: int = LOG_LINES_SHOWN) -> list[str]:
        try:
            text = self.log.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return []
        return [line for line in text.splitlines() if line.strip()][-lines:]

    def read_journal(self) -> list[dict[str, Any]]:
        """Every line the worker journaled; request-time entries come after ``serving``."""
        entries = []
        with contextlib.suppress(OSError), self.journal.open(encoding="utf-8") as handle:
            for line in handle:
                with contextlib.suppress(ValueError):
                    entries.append(json.loads(line))
        return entries

    def receive_auth(self, timeout: float) -> None:
        """Read the login the worker sent (it does before it serves) and close the pipe."""
        if self.auth_pipe is None:
            return
        line = b""
        deadline = time.monotonic() + timeout
        try:
            while not line.endswith(b"\n"):
                ready, _, _ = select.select([self.auth_pipe], [], [],
                                            max(0.0, deadline - time.monotonic()))
                chunk = os.read(self.auth_pipe, 65536) if ready else b""
                if not chunk:
                    break
                line += chunk
        finally:
            self.close_auth_pipe()
        self.auth = ServedAuth.from_line(line)

    def close_auth_pipe(self) -> None:
        if self.auth_pipe is not None:
            with contextlib.suppress(OSError):
                os.close(self.auth_pipe)
            self.auth_pipe = None


def free_port() -> int:
    """A loopback port nothing listens on now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Workers:
    """N server processes of one app; use as a context manager so they are always stopped."""

    def __init__(
        self,
        app_root: Path,
        config: str,
        python: str,
        count: int,
        environment: Mapping[str, str],
        timeout: float,
    ) -> None:
        self.app_root = app_root
        self.config = config
        self.python = python
        self.timeout = timeout
        self._environment = dict(environment)
        self._scratch = Path(tempfile.mkdtemp(prefix="dara-migrate-serve-"))
        self.workers = [
            Worker(number, free_port(), self._scratch / f"worker-{number}")
            for number in range(1, count + 1)
        ]
        self._previous_handlers: dict[int, Any] = {}
        self._supervision: contextlib.ExitStack | None = None

    def __enter__(self) -> Workers:
        atexit.register(self.stop)
        self._supervision = contextlib.ExitStack()
        self._environment = self._supervision.enter_context(supervised()).environment(
            self._environment)
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            with contextlib.suppress(ValueError):  # only the main thread may set handlers
                self._previous_handlers[signum] = signal.signal(signum, self._on_signal)
        try:
            for worker in self.workers:
                self._start(worker)
            self._wait_until_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.stop()
        if signum == signal.SIGINT:
            raise KeyboardInterrupt
        raise SystemExit(128 + signum)

    def _start(self, worker: Worker) -> None:
        static = worker.scratch / "static"
        static.mkdir(parents=True)
        (static / "manifest.json").write_text(json.dumps(VITE_MANIFEST), encoding="utf-8")
        worker.auth_pipe, sending_end = os.pipe()
        command = [
            self.python,
            serve_launcher.__file__,
            self.config,
            "--app-root", str(self.app_root),
            "--port", str(worker.port),
            "--static-dir", str(static),
            "--journal", str(worker.journal),
            "--auth-fd", str(sending_end),
            "--hostname", _hostname(worker.number),
            "--parent", str(os.getpid()),
        ]
        environment = {
            **self._environment,
            "PYTHONHASHSEED": str(worker.number),
            "HOSTNAME": _hostname(worker.number),
        }
        try:
            with worker.log.open("wb") as log:
                try:
                    worker.process = subprocess.Popen(
                        command,
                        cwd=self.app_root,
                        env=environment,
                        stdin=subprocess.DEVNULL,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,
                        pass_fds=(sending_end,),
                    )
                except OSError as error:
                    raise VerifyError(
                        f"cannot run {self.python}: {error.strerror or error}") from None
        finally:
            # Only the worker holds the sending end: its exit is the end of the pipe.
            os.close(sending_end)

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + self.timeout
        waiting = list(self.workers)
        while waiting:
            for worker in list(waiting):
                assert worker.process is not None
                if worker.process.poll() is not None:
                    raise ServeError(
                        f"worker {worker.number} exited with code {worker.process.returncode}"
                        " before serving", worker.log_tail())
                if _answers(worker):
                    worker.receive_auth(max(_POLL_SECONDS, deadline - time.monotonic()))
                    waiting.remove(worker)
            if waiting and time.monotonic() > deadline:
                worker = waiting[0]
                raise ServeError(
                    f"worker {worker.number} did not answer on port {worker.port} within"
                    f" {self.timeout:g} s", worker.log_tail())
            if waiting:
                time.sleep(_POLL_SECONDS)

    @property
    def pids(self) -> list[int]:
        return [w.pid for w in self.workers if w.pid is not None]

    def stop(self) -> None:
        """Kill every process group started here, then remove the scratch folder. Idempotent."""
        for worker in self.workers:
            if worker.process is not None and worker.process.poll() is None:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(worker.process.pid, signal.SIGTERM)
        deadline = time.monotonic() + _STOP_GRACE_SECONDS
        for worker in self.workers:
            worker.close_auth_pipe()
            if worker.process is None:
                continue
            with contextlib.suppress(subprocess.TimeoutExpired):
                worker.process.wait(timeout=max(0.0, deadline - time.monotonic()))
            # Children the app started (task pools) share the group: kill what is left of it.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(worker.process.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                worker.process.wait(timeout=_STOP_GRACE_SECONDS)
        for signum, handler in self._previous_handlers.items():
            with contextlib.suppress(ValueError, TypeError):
                signal.signal(signum, handler)
        self._previous_handlers.clear()
        if self._supervision is not None:  # what the servers started outside their groups
            self._supervision.close()
            self._supervision = None
        atexit.unregister(self.stop)
        shutil.rmtree(self._scratch, ignore_errors=True)


def _hostname(number: int) -> str:
    return f"dara-migrate-worker-{number}"


def _answers(worker: Worker) -> bool:
    try:
        with urllib.request.urlopen(f"{worker.base_url}/status", timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError, ValueError):
        return False


def worker_environment(extra: Mapping[str, str], shared_secret: str | None) -> dict[str, str]:
    """The environment of every worker: the user's, deploy mode, ``--env`` values, the secret."""
    environment = dict(os.environ)
    # dara-migrate's own test and build switches must not leak into a production-like server.
    for name in ("DARA_TEST_FLAG", "DARA_LIVE_RELOAD", "DARA_HMR_MODE"):
        environment.pop(name, None)
    environment.update(
        {
            "DARA_DOCKER_MODE": "TRUE",
            "SKIP_JSBUILD": "TRUE",
            "DARA_DISABLE_METRICS": "TRUE",
            "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONUNBUFFERED": "1",
        }
    )
    if shared_secret is not None:
        environment["JWT_SECRET"] = shared_secret
    environment.update(extra)
    return environment
