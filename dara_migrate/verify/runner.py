"""Build the app several times in fresh processes and pair what each build defined.

Each build runs ``build_script.py`` in the app's interpreter with cwd = app root and its own
``PYTHONHASHSEED``, ``HOSTNAME`` and temp dir, so ids built from ``hash()``, the host name or a
temp path differ between builds. A definition is paired across builds by (kind, construction
site, ordinal within that site) and is stable when every build gave it the same id.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import contextmanager, suppress
from dataclasses import dataclass, replace
from pathlib import Path
from types import FrameType
from typing import Any

from dara_migrate.target import (
    CONFIGURE_RUNTIME,
    RUNTIME_BACKEND,
    RUNTIME_ENV_VARS,
    RUNTIME_MODULE,
    RUNTIME_SCOPE,
)
from dara_migrate.verify import build_script
from dara_migrate.verify.model import (
    BuildTimeout,
    PredictedDefinition,
    VerifiedDefinition,
    VerifyError,
    VerifyResult,
)
from dara_migrate.verify.reaper import supervised
from dara_migrate.writer import replace_text

SiteKey = tuple[str, str | None, int | None, int]

_SHOWN_CHARS = 300
"""Characters of the app's own output or message that an error line shows."""
_STOPPING_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
_SIGNAL_POLL_SECONDS = 0.1
"""How often the main thread wakes while builds run, to run a signal's handler."""
_running_groups: set[int] = set()
"""Process groups of the builds running now, for a signal to kill."""
_groups_lock = threading.Lock()
_stopped = threading.Event()
"""Set by a stopping signal: builds still queued are not started."""


@dataclass(frozen=True, slots=True)
class _Build:
    """What one build process reported."""

    dara_core: str
    python: str
    definitions: list[dict[str, Any]]
    stand_ins: list[str]
    runtime: dict[str, Any] | None


def run_verify(
    app_root: Path,
    *,
    config: str | None = None,
    python: str | None = None,
    runs: int = 2,
    timeout: float = 120.0,
    output: Path | None = None,
    predicted: Sequence[PredictedDefinition] | None = None,
    environment: Mapping[str, str] | None = None,
) -> VerifyResult:
    """Build the app at ``app_root`` ``runs`` times and report which ids are stable.

    ``config`` is ``module:attribute`` (default: the one app the project's app model finds
    under ``app_root``, built in its project folder as ``dara-migrate verify`` builds it);
    ``python`` is the app's interpreter (default: this one); ``timeout`` applies to each build.
    With ``output`` the manifest is written there atomically. With ``predicted`` (the audit's
    view, paths relative to ``app_root``) the result carries the cross-check; ``environment``
    adds variables to each build's. Raises VerifyError when a build fails or no single app is
    found.
    """
    if runs < 2:
        raise VerifyError(f"verify needs at least 2 builds to compare, got runs={runs}")
    root = app_root.resolve()
    if not root.is_dir():
        raise VerifyError(f"app root {app_root} is not a folder")
    if config is None:
        from dara_migrate.verify.targets import find_app_build

        build = find_app_build(root)
        root, config, environment = build.folder, build.config, build.environment(
            environment or {})
    config_path = config
    interpreter = resolve_interpreter(python or sys.executable)

    with _builds_killed_on_signal(), supervised() as supervision, \
            ThreadPoolExecutor(max_workers=min(runs, os.cpu_count() or 1)) as pool:
        build_environment = supervision.environment(dict(environment or {}))
        builds = _results([
            pool.submit(_run_build, root, config_path, interpreter, index, timeout,
                        build_environment)
            for index in range(runs)
        ])

    definitions = _pair_definitions([b.definitions for b in builds])
    if predicted is not None:
        definitions = _attach_rules(definitions, predicted)
    first = builds[0]
    result = VerifyResult(
        config=config_path,
        python=first.python,
        dara_core=first.dara_core,
        runs=runs,
        definitions=definitions,
        stand_ins=tuple(dict.fromkeys(name for b in builds for name in b.stand_ins)),
        runtime=first.runtime,
        unseen_by_audit=_unseen_by_audit(definitions, predicted) if predicted is not None else (),
        not_built=_not_built(definitions, predicted) if predicted is not None else (),
        library_owned=tuple(d for d in definitions if d.owner == "app" and d.library_owned),
        manifest=output.as_posix() if output is not None else None,
    )
    if output is not None:
        write_manifest(output, result)
    return result


def _results(futures: list[Future[_Build]]) -> list[_Build]:
    """The builds' results in order; on the first error the builds not yet started are
    cancelled. The wait wakes every `_SIGNAL_POLL_SECONDS`: Python runs a signal's handler in
    the main thread only, so a signal the kernel delivers to a build's thread waits for the main
    thread to run again, which a wait without a timeout would put off until a build ends (its
    timeout, for an app that hangs)."""
    try:
        return [_result(future) for future in futures]
    except BaseException:
        for future in futures:
            future.cancel()
        raise


def _result(future: Future[_Build]) -> _Build:
    while True:
        try:
            return future.result(timeout=_SIGNAL_POLL_SECONDS)
        except FutureTimeout:  # not the builtin TimeoutError before Python 3.11
            continue


@contextmanager
def _builds_killed_on_signal() -> Iterator[None]:
    """While builds run in threads, Ctrl-C, SIGTERM or SIGHUP kills their process groups at
    once (the threads then remove their temporary folders) and stops the run as the signal
    asks; otherwise the pool would wait for each build up to its timeout, or the builds would
    outlive a run that SIGTERM ended."""
    received: list[int] = []

    def stop(signum: int, frame: FrameType | None) -> None:
        # No exception from here: raised inside the pool's own locking, it could leave a
        # lock held and the pool waiting forever. The killed builds end the pool's wait.
        received.append(signum)
        with _groups_lock:
            _stopped.set()
            for group in _running_groups:
                with suppress(ProcessLookupError, PermissionError):
                    os.killpg(group, signal.SIGKILL)

    _stopped.clear()
    previous: dict[signal.Signals, Any] = {}
    for stopping in _STOPPING_SIGNALS:
        with suppress(ValueError):  # only the main thread may set handlers
            previous[stopping] = signal.signal(stopping, stop)
    try:
        yield
    finally:
        for stopping, handler in previous.items():
            signal.signal(stopping, handler)
        if received:  # stops the run as the signal asks, whatever the killed builds raised
            if received[0] == signal.SIGINT:
                raise KeyboardInterrupt
            raise SystemExit(128 + received[0])


def resolve_interpreter(python: str) -> str:
    """The full path of ``python``; VerifyError when there is none."""
    found = shutil.which(python)
    if found is None:
        raise VerifyError(f"no Python interpreter at {python}")
    return found


def _placeholder(name: str) -> str:
    """A value for an env var the target profile reads; URL-shaped where a URL is expected."""
    if name.endswith("_URL"):
        return "redis://dara-migrate-placeholder.invalid:6379/0"
    return "dara-migrate-placeholder-" + name.lower().replace("_", "-")


def _build_environment(run_index: int, temp_dir: str,
                       extra: Mapping[str, str]) -> dict[str, str]:
    environment = {**os.environ, **extra}
    environment.update(
        {
            "SKIP_JSBUILD": "TRUE",
            "DARA_TEST_FLAG": "TRUE",
            "PYTHONDONTWRITEBYTECODE": "1",
            # Seed 0 would turn hash randomisation off; each build gets its own non-zero seed.
            "PYTHONHASHSEED": str(run_index + 1),
            "HOSTNAME": _hostname(run_index),
            "TMPDIR": temp_dir,
            "TEMP": temp_dir,
            "TMP": temp_dir,
        }
    )
    environment.update({name: _placeholder(name) for name in RUNTIME_ENV_VARS})
    return environment


def _hostname(run_index: int) -> str:
    return f"dara-migrate-build-{run_index + 1}"


def _run_build(root: Path, config: str, python: str, run_index: int, timeout: float,
               extra_environment: Mapping[str, str]) -> _Build:
    temp_dir = tempfile.mkdtemp(prefix=f"dara-migrate-verify-{run_index + 1}-")
    try:
        output = Path(temp_dir, "build.json")
        command = [
            python,
            build_script.__file__,
            config,
            "--app-root",
            str(root),
            "--output",
            str(output),
            "--hostname",
            _hostname(run_index),
            "--stand-in-module",
            RUNTIME_MODULE,
            "--stand-in-names",
            f"{RUNTIME_SCOPE},{RUNTIME_BACKEND}",
            "--stand-in-method",
            CONFIGURE_RUNTIME,
        ]
        log = Path(temp_dir, "build.log")
        try:
            completed = _run_in_own_group(
                command, root, _build_environment(run_index, temp_dir, extra_environment),
                log, timeout)
        except subprocess.TimeoutExpired:
            raise BuildTimeout(f"the build did not finish within {timeout:g} s") from None
        except OSError as error:
            raise VerifyError(f"cannot run {python}: {error.strerror or error}") from None
        try:
            return _read_build(output, completed)
        except VerifyError as error:
            missing = _MISSING_MODULE.search(error.message)
            if missing is None:
                raise
            module = config.partition(":")[0]
            if module == missing[1] or module.startswith(f"{missing[1]}."):
                # The config's own module: a name mistyped, not a dependency missing.
                raise VerifyError(f"{config}: no module {module!r} under {root} (nor "
                                  "installed); name it as the app imports it "
                                  "(`package.module:config`)") from None
            raise VerifyError(error.message + _interpreter_hint(root, python),
                              error.frame) from None
    finally:
        shutil.rmtree(temp_dir, ignore_errors=True)


_MISSING_MODULE = re.compile(r"No module named '([^']+)'")


def _interpreter_hint(root: Path, python: str) -> str:
    """For a build that misses a module: the interpreter to pass instead, when the app has a
    virtual environment next to it, else what to look for."""
    for folder in (root, *root.resolve().parents):
        for name in (".venv", "venv", "env"):
            for candidate in (folder / name / "bin" / "python",
                              folder / name / "Scripts" / "python.exe"):
                if candidate.is_file() and candidate.resolve() != Path(python).resolve():
                    return (f"; {python} lacks the app's dependencies: "
                            f"try --python {candidate}")
    return ("; the build ran with " + python + ", which lacks the app's dependencies: pass "
            "--python with the interpreter of the app's environment")
def _run_in_own_group(command: list[str], cwd: Path, env: dict[str, str], log: Path,
                      timeout: float) -> subprocess.CompletedProcess[str]:
    """Run a build in a process group of its own and kill the whole group when it ends, times
    out or verify itself stops, so that a process the app started cannot outlive it. Output
    goes to a file: a pipe would stay open, and be waited on, as long as such a process
    lives."""
    with log.open("w+b") as sink:
        with _groups_lock:
            if _stopped.is_set():
                raise VerifyError("the run was stopped before this build started")
            process = subprocess.Popen(command, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                                       stdout=sink, stderr=subprocess.STDOUT,
                                       start_new_session=True)
            _running_groups.add(process.pid)
        try:
            returncode = process.wait(timeout=timeout)
        finally:
            with _groups_lock:
                _running_groups.discard(process.pid)
            with suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        sink.seek(0)
        output = sink.read().decode("utf-8", errors="replace")
    return subprocess.CompletedProcess(command, returncode, output, output)


_BUILD_FIELDS: dict[str, type | tuple[type, ...]] = {
    "dara_core": str, "python": str, "definitions": list, "stand_ins": list,
    "runtime": (dict, type(None)),
}
_DEFINITION_FIELDS = ("kind", "id", "owner", "qualname", "path", "line", "end_line",
                      "library_owned")


def _read_build(output: Path, completed: subprocess.CompletedProcess[str]) -> _Build:
    try:
        document = json.loads(output.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        last_line = next(
            (line for line in reversed(completed.stderr.splitlines()) if line.strip()), ""
        )
        said = f": {_shortened(last_line)}" if last_line else (
            " and printed nothing (does the app end the process itself, as os._exit does?)")
        raise VerifyError(
            f"the build process exited with code {completed.returncode} without a report{said}"
        ) from None
    if not isinstance(document, dict):
        raise VerifyError("the build report is not a JSON object")
    if not document.get("ok"):
        error = document.get("error")
        error = error if isinstance(error, dict) else {}
        frame = error.get("frame")
        raise VerifyError(_shortened(str(error.get("cause", "the build failed"))),
                          frame if isinstance(frame, str) else None)
    for key, kind in _BUILD_FIELDS.items():
        if not isinstance(document.get(key), kind):
            raise VerifyError(f"the build report lacks a valid {key!r}")
    for definition in document["definitions"]:
        missing = [key for key in _DEFINITION_FIELDS
                   if not isinstance(definition, dict) or key not in definition]
        if missing:
            raise VerifyError(f"the build report has a definition without {missing[0]!r}")
    return _Build(
        dara_core=document["dara_core"],
        python=document["python"],
        definitions=document["definitions"],
        stand_ins=document["stand_ins"],
        runtime=document["runtime"],
    )


def _shortened(line: str) -> str:
    """A line of the app's output, or its exception's message, cut to fit in a one-line error:
    an app may print megabytes on one line."""
    line = line.strip()
    if len(line) <= _SHOWN_CHARS:
        return line
    return f"{line[:_SHOWN_CHARS]}... ({len(line)} characters)"


def _site_keys(definitions: list[dict[str, Any]]) -> dict[SiteKey, dict[str, Any]]:
    """Key each definition by (kind, path, line, ordinal among those built at that site)."""
    seen: Counter[tuple[str, str | None, int | None]] = Counter()
    keyed = {}
    for definition in definitions:
        kind, path, line = definition["kind"], definition["path"], definition["line"]
        keyed[(kind, path, line, seen[kind, path, line])] = definition
        seen[kind, path, line] += 1
    return keyed


def _pair_definitions(builds: list[list[dict[str, Any]]]) -> tuple[VerifiedDefinition, ...]:
    keyed_builds = [_site_keys(b) for b in builds]
    keys = list(dict.fromkeys(key for keyed in keyed_builds for key in keyed))
    paired = []
    for key in keys:
        found = [keyed.get(key) for keyed in keyed_builds]
        first = next(d for d in found if d is not None)
        # A definition missing from one build is as unusable there as one with another id.
        stable = all(d is not None and d["id"] == first["id"] for d in found)
        paired.append((key, _verified(first, stable)))
    paired.sort(
        key=lambda item: (
            item[0][1] is None,
            item[0][1] or "",
            item[0][2] or 0,
            item[0][0],
            item[0][3],
        )
    )
    return tuple(definition for _, definition in paired)


def _verified(definition: dict[str, Any], stable: bool) -> VerifiedDefinition:
    return VerifiedDefinition(
        kind=definition["kind"],
        id=definition["id"],
        owner="app" if definition["owner"] == "app" else "framework",
        stable=stable,
        qualname=definition["qualname"],
        path=definition["path"],
        line=definition["line"],
        end_line=definition["end_line"],
        library_owned=definition["library_owned"],
    )


def _attach_rules(
    definitions: tuple[VerifiedDefinition, ...], predicted: Sequence[PredictedDefinition]
) -> tuple[VerifiedDefinition, ...]:
    """Give each built definition the rule of the audit finding on its construction site."""
    attached = []
    for definition in definitions:
        matches = [p for p in predicted if p.rule is not None and any(
            definition.covers(*site) for site in p.sites())]
        # Prefer a prediction of the same kind when several findings sit on one site.
        matches.sort(key=lambda p: p.kind != definition.kind)
        acknowledged = any(p.acknowledged for p in matches)
        attached.append(replace(definition, rule=matches[0].rule, acknowledged=acknowledged)
                        if matches else definition)
    return tuple(attached)


def _unseen_by_audit(
    definitions: tuple[VerifiedDefinition, ...], predicted: Sequence[PredictedDefinition]
) -> tuple[VerifiedDefinition, ...]:
    return tuple(
        d
        for d in definitions
        # ws_handler ids are the app's own strings: there is nothing for the audit to predict.
        if d.owner == "app"
        and d.kind != "ws_handler"
        and not any(d.covers(*site) for p in predicted for site in p.sites())
    )


def _not_built(
    definitions: tuple[VerifiedDefinition, ...], predicted: Sequence[PredictedDefinition]
) -> tuple[PredictedDefinition, ...]:
    return tuple(p for p in predicted
                 if not any(d.covers(*site) for d in definitions for site in p.sites()))


def write_manifest(output: Path, result: VerifyResult) -> None:
    """Write the manifest atomically: a temp file in the same folder, then os.replace."""
    replace_text(output, json.dumps(result.to_json(), indent=2) + "\n")
