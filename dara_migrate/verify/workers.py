"""`verify --workers N`: serve the app on N workers, replay the browser, report per kind."""

from __future__ import annotations

import os
import re
import secrets
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from dara_migrate.index.dara_api import SECRET_NAME
from dara_migrate.verify.replay import (
    KINDS,
    Failure,
    Replay,
    ReplayError,
    ReplayResult,
    SiteFinding,
)
from dara_migrate.verify.runner import resolve_interpreter
from dara_migrate.verify.serve import ServeError, Workers, worker_environment

_DOTENV_SECRET = re.compile(r"^\s*(?:export\s+)?JWT_SECRET\s*=\s*\S", re.M)


def secret_source(app_root: Path, extra: Mapping[str, str], environment: Mapping[str, str],
                  deployment_names_secret: bool) -> tuple[str, str | None, bool]:
    """Where the workers' JWT_SECRET comes from: (description, value to inject, shared?).

    A value from ``--env``, the environment or the app's ``.env`` (which dara reads itself) is
    used as it is. When only deployment files name it (no DM701 finding), one random value
    stands in for the one the deployment injects into every worker. Else there is none.
    """
    if SECRET_NAME in extra:
        return "shared, from --env", None, True
    if environment.get(SECRET_NAME):
        return "shared, from the environment", None, True
    dotenv = app_root / ".env"
    try:
        named_in_dotenv = bool(_DOTENV_SECRET.search(dotenv.read_text(encoding="utf-8")))
    except (OSError, UnicodeDecodeError):
        named_in_dotenv = False
    if named_in_dotenv:
        return "shared, from .env (read by dara)", None, True
    if deployment_names_secret:
        return ("shared: one random value stands in for the one the deployment files provide",
                secrets.token_hex(32), True)
    return "none: each worker signs sessions with a random secret of its own", None, False


def parse_environment(pairs: Sequence[str]) -> dict[str, str]:
    """``KEY=VALUE`` strings as a dict; ReplayError naming the first malformed one."""
    parsed: dict[str, str] = {}
    for pair in pairs:
        name, separator, value = pair.partition("=")
        if not separator or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise ReplayError(f"--env {pair!r}: expected KEY=VALUE")
        parsed[name] = value
    return parsed


def verify_on_workers(
    app_root: Path,
    *,
    config: str | None,
    python: str | None,
    count: int,
    environment: Mapping[str, str],
    findings: Sequence[SiteFinding],
    timeout: float,
    login: str | None = None,
) -> ReplayResult:
    """`verify --workers`: the config (default: the one app the project's app model finds
    under ``app_root``) and interpreter found as plain verify finds them."""
    root = app_root.resolve()
    if config is None:
        from dara_migrate.verify.targets import find_app_build

        build = find_app_build(root)
        root, config, environment = build.folder, build.config, build.environment(environment)
    return run_workers(
        root,
        config=config,
        python=resolve_interpreter(python or sys.executable),
        count=count,
        extra_environment=environment,
        findings=findings,
        # DM701 is reported exactly when no file of the app names JWT_SECRET.
        deployment_names_secret=not any(f.rule == "DM701" for f in findings),
        timeout=timeout,
        login=login,
    )


def run_workers(
    app_root: Path,
    *,
    config: str,
    python: str,
    count: int,
    extra_environment: Mapping[str, str],
    findings: Sequence[SiteFinding],
    deployment_names_secret: bool,
    timeout: float,
    login: str | None = None,
) -> ReplayResult:
    """Serve the app on ``count`` workers, replay the browser across them, stop them all.

    ``timeout`` bounds the start of the workers and, again, the replay. ``login`` is the
    user of the app's basic auth config to log in as (default: its first). Raises ServeError
    when a worker does not start and ReplayError when the replay cannot begin (a ``login``
    the app's auth config does not have included).
    """
    description, injected, shared = secret_source(app_root, extra_environment, os.environ,
                                                  deployment_names_secret)
    environment = worker_environment(extra_environment, injected)
    with Workers(app_root, config, python, count, environment, timeout) as workers:
        replay = Replay(workers.workers, findings, description, shared,
                        deadline=time.monotonic() + timeout, login=login)
        return replay.run()


def render_workers_text(result: ReplayResult, console: Console) -> None:
    """A table of requests per kind, a table of failures per kind, and the verdict line."""
    console.print(Text(f"cross-worker replay on {result.workers} workers;"
                       f" JWT_SECRET: {result.secret}; auth: {result.auth}"))
    table = Table(box=box.SIMPLE, show_edge=False, pad_edge=False)
    table.add_column("kind", no_wrap=True)
    for column in ("requests", "failures", "local-only", "pending", "app errors", "skipped"):
        table.add_column(column, justify="right")
    for kind in KINDS:
        tally = result.tally(kind)
        if not any(tally.values()):
            continue
        table.add_row(kind, *(str(tally[k]) for k in (
            "requests", "failures", "acknowledged", "pending", "errors", "skipped")),
            style="red" if tally["failures"] else None)
    console.print(table)
    for title, status, style in (
        ("Cross-worker failures", "failing", "bold red"),
        ("Kept process-local on purpose (local-only), not failing", "acknowledged", "yellow"),
        ("Pending a Dara with the distributed runtime (dara-core 1.x decides these),"
         " not failing", "pending", "bold"),
    ):
        failures = result.by_status(status)  # type: ignore[arg-type]
        for kind in KINDS:
            listed = [f for f in failures if f.kind == kind]
            if listed:
                console.print(Text(f"{title}: {kind} ({len(listed)})", style=style))
                console.print(_failure_table(listed))
    if result.errors:
        console.print(Text(f"Failed on the worker that named the id too, so not a cross-worker"
                           f" failure ({len(result.errors)}):", style="bold"))
        for error in result.errors:
            console.print(Text(f"  HTTP {error.http_status} {error.kind} {error.id}:"
                               f" {error.detail[:120]}"))
    if result.truncated:
        console.print(Text("The replay stopped at its request or time bound.", style="yellow"))
    console.print(Text(result.verdict, style="bold red" if result.exit_code else "bold green"))


def _failure_table(failures: Sequence[Failure]) -> Table:
    table = Table(box=box.SIMPLE, show_edge=False, pad_edge=False)
    for column in ("HTTP", "rule", "site", "id", "workers", "n"):
        table.add_column(column, no_wrap=column in ("rule", "site", "workers"))
    # Instances of one definition fail alike: one row per definition and cause.
    rows: dict[tuple[object, ...], list[Failure]] = {}
    for failure in failures:
        key = (failure.http_status, failure.id, failure.cause_id, failure.path, failure.line,
               failure.rule)
        rows.setdefault(key, []).append(failure)
    for same in rows.values():
        failure = same[0]
        site = f"{failure.path}:{failure.line}" if failure.path else "(no app site)"
        cause = ""
        if failure.cause_id is not None and failure.cause_id != failure.id:
            cause = f" (via {failure.cause_kind} {_short(failure.cause_id)})"
        table.add_row(str(failure.http_status), failure.rule or "-", site,
                      _short(failure.id) + cause, f"{failure.origin}->{failure.target}",
                      str(len(same)))
    return table


def _short(identifier: str) -> str:
    """Random ids are told apart by their first characters; the JSON has them whole."""
    return identifier if len(identifier) <= 24 else identifier[:12] + "…"


__all__ = [
    "KINDS",
    "ReplayError",
    "ReplayResult",
    "ServeError",
    "parse_environment",
    "render_workers_text",
    "run_workers",
    "secret_source",
    "verify_on_workers",
]
