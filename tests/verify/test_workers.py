"""verify --workers: real dara-core servers, the browser's requests replayed across them.

Every scenario serves a copy of an app on two real uvicorn workers once (module-scoped) and the
tests read the shared result. No server process may survive: each test that serves checks the
process table for the copy's path afterwards.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import NamedTuple, cast

import pytest
from rich.console import Console
from typer.testing import CliRunner

from dara_migrate.cli import app
from dara_migrate.engine import audit
from dara_migrate.files import find_root
from dara_migrate.predictions import site_findings
from dara_migrate.settings import load_settings
from dara_migrate.verify import workers as workers_module
from dara_migrate.verify.replay import Replay, ReplayError, ReplayResult
from dara_migrate.verify.serve import ServeError
from dara_migrate.verify.workers import render_workers_text, verify_on_workers

REPO = Path(__file__).parents[2]
APPS = {
    "sales_dashboard": REPO / "examples" / "sales_dashboard",
    "identity_app": REPO / "tests" / "fixtures" / "apps" / "identity_app",
    "runtime_defs_app": REPO / "tests" / "fixtures" / "apps" / "runtime_defs_app",
}
# Serves real apps with dara-core: left out of `make test-fast`.
pytestmark = pytest.mark.slow

SHARED_SESSIONS = Path(__file__).parent / "apps" / "shared-sessions"
BROKEN = Path(__file__).parent / "apps" / "broken-import"
BASIC_AUTH = Path(__file__).parent / "apps" / "basic-auth"
COMPOSE_WITH_SECRET = """\
services:
  app:
    image: sales-dashboard
    environment:
      JWT_SECRET: ${JWT_SECRET}
"""


def server_pids(app_root: Path) -> list[int]:
    """Live processes whose command line names ``app_root`` (the workers serving it)."""
    found = []
    needle = str(app_root).encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            command = (entry / "cmdline").read_bytes()
            state = (entry / "stat").read_text().split(") ", 1)[1][0]
        except OSError:
            continue
        if needle in command and b"serve_launcher" in command and state != "Z":
            found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def copy_app(name: str, destination: Path) -> Path:
    root = destination / APPS[name].name
    shutil.copytree(APPS[name], root, ignore=shutil.ignore_patterns(".dara-migrate-cache"))
    return root


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()}


def replay(root: Path, env: tuple[str, ...] = (), timeout: float = 150.0) -> ReplayResult:
    """Audit ``root`` as verify does, then serve it on two workers and replay the browser."""
    settings = load_settings(find_root([root]), {"use_cache": False})
    project = audit(settings, [root])[1]
    before = tree(root)
    result = verify_on_workers(root, config=None, python=sys.executable, count=2,
                               environment=dict(pair.split("=", 1) for pair in env),
                               findings=site_findings(project, root), timeout=timeout)
    assert tree(root) == before, "the replay changed the app tree"
    assert len(result.pids) == 2 and not any(alive(pid) for pid in result.pids)
    assert server_pids(root) == []
    return result


def apply_migration(root: Path) -> None:
    # No build proof: serving the app is a stronger one (tests/apply covers the proof).
    applied = CliRunner().invoke(app, ["apply", str(root), "--yes", "--target", "1.x",
                                       "--no-cache", "--no-build-check"])
    assert applied.exit_code in (0, 1), applied.output


@pytest.fixture(scope="module")
def before(tmp_path_factory: pytest.TempPathFactory) -> dict[str, ReplayResult]:
    base = tmp_path_factory.mktemp("before")
    return {name: replay(copy_app(name, base)) for name in APPS}


@pytest.fixture(scope="module")
def after(tmp_path_factory: pytest.TempPathFactory) -> dict[str, ReplayResult]:
    base = tmp_path_factory.mktemp("after")
    results = {}
    for name in APPS:
        root = copy_app(name, base)
        apply_migration(root)
        if name == "sales_dashboard":
            # The upgrade guide: the deployment gives every worker one JWT_SECRET.
            (root / "deploy").mkdir()
            (root / "deploy" / "compose.yaml").write_text(COMPOSE_WITH_SECRET, encoding="utf-8")
        results[name] = replay(root)
    return results


@pytest.mark.parametrize("name", sorted(APPS))
def test_before_apply_requests_fail_across_workers_each_with_its_rule(
        before: dict[str, ReplayResult], name: str) -> None:
    result = before[name]
    failing = result.by_status("failing")
    assert failing, result.to_json()
    assert all(f.rule is not None for f in failing), [f.to_json() for f in failing]
    assert result.exit_code == 1
    # The page, its content and its definitions were all asked, not just the session.
    assert result.requests["route"] > 0 and result.requests["derived_variable"] > 0


def test_before_apply_the_rules_name_what_the_audit_found(
        before: dict[str, ReplayResult]) -> None:
    rules = {name: {f.rule for f in result.by_status("failing")}
             for name, result in before.items()}
    assert {"DM701", "DM108", "DM101", "DM104", "DM105", "DM301"} <= rules["sales_dashboard"]
    assert {"DM101", "DM104", "DM108"} <= rules["identity_app"]
    assert {"DM105"} <= rules["runtime_defs_app"]


def test_failures_carry_their_definition_site(before: dict[str, ReplayResult]) -> None:
    result = before["sales_dashboard"]
    by_site = {(f.kind, f.path, f.rule) for f in result.by_status("failing")}
    assert ("derived_variable", "sales_dashboard/pages/overview.py", "DM101") in by_site
    assert ("route", "sales_dashboard/main.py", "DM108") in by_site
    assert ("derived_variable", "sales_dashboard/pages/regions.py", "DM301") in by_site
    routes = [f for f in result.failures if f.kind == "route"]
    assert routes and all(f.http_status == 404 for f in routes)


def test_a_session_without_a_shared_secret_is_rejected_as_dm701(
        before: dict[str, ReplayResult]) -> None:
    sessions = [f for f in before["sales_dashboard"].failures if f.kind == "session"]
    assert [(f.rule, f.status, f.http_status) for f in sessions] == [("DM701", "failing", 401)]


@pytest.mark.parametrize("name", sorted(APPS))
def test_after_apply_no_unacknowledged_failure(after: dict[str, ReplayResult],
                                               name: str) -> None:
    result = after[name]
    assert result.by_status("failing") == [], result.to_json()["failures"]
    assert result.exit_code == 0
    assert result.requests["route"] > 0


def test_after_apply_kept_sites_are_listed_apart(after: dict[str, ReplayResult]) -> None:
    kept = {(f.rule, f.path) for f in after["sales_dashboard"].by_status("acknowledged")}
    assert ("DM301", "sales_dashboard/pages/regions.py") in kept
    # The deprecated action helpers are rewritten to module-level actions, none is kept.
    assert not any(rule == "DM105" for rule, _ in kept)
    # With the secret shared, what still rejects the session is the per-process session store.
    sessions = [f for f in after["sales_dashboard"].failures if f.kind == "session"]
    assert [(f.rule, f.status) for f in sessions] == [("DM201", "pending")]


def test_a_session_is_accepted_on_another_worker_only_with_a_shared_secret(
        tmp_path: Path) -> None:
    root = tmp_path / "shared-sessions"
    shutil.copytree(SHARED_SESSIONS, root)
    store = tmp_path / "sessions"
    store.mkdir()
    store_env = f"SHARED_SESSIONS_DIR={store}"

    # Without a secret, through the command line: the JSON carries the replay, exit 1.
    cli = CliRunner().invoke(app, ["verify", str(root), "--workers", "2", "--format", "json",
                                   "--output", str(tmp_path / "manifest.json"),
                                   "--env", store_env])
    assert server_pids(root) == []
    without = json.loads(cli.stdout)["workers"]
    with_secret = replay(root, env=(store_env, "JWT_SECRET=" + "ab" * 32))

    assert [(f["kind"], f["rule"], f["http_status"]) for f in without["failures"]] == [
        ("session", "DM701", 401)]
    assert without["kinds"]["session"] == {"requests": 1, "failures": 1, "acknowledged": 0,
                                           "pending": 0, "errors": 0, "skipped": 0}
    assert without["jwt_secret"].startswith("none")
    assert cli.exit_code == 1
    assert with_secret.failures == [] and with_secret.requests["session"] == 1
    assert with_secret.requests["derived_variable"] == 1
    assert with_secret.secret == "shared, from --env"
    assert with_secret.exit_code == 0


class Ledger(NamedTuple):
    """What one `verify --workers 2 --login auditor` of the basic-auth ledger showed and left."""

    passwords: dict[str, str]
    exit_code: int
    shown: str
    """The command's output, the replay's JSON and its text report."""
    result: ReplayResult
    other_logins: dict[str | None, ReplayResult | str]
    """Replays with other logins against the same workers: the result or the error."""
    files: dict[str, bytes]
    """Every file of the app tree, the manifest and the workers' scratch folder, read while
    the workers served and again after the command."""


@pytest.fixture(scope="module")
def ledger(tmp_path_factory: pytest.TempPathFactory) -> Ledger:
    """The ledger behind MultiBasicAuthConfig, verified once through the command line. Its
    passwords exist only in the served processes (read from their environment there). While
    its workers serve, the replay also logs in as the first user and as one it does not have,
    and every file on disk is read."""
    base = tmp_path_factory.mktemp("ledger")
    root = base / "basic-auth"
    shutil.copytree(BASIC_AUTH, root)
    passwords = {"analyst": "s3cret-" + os.urandom(6).hex(),
                 "auditor": "other-" + os.urandom(6).hex()}
    seen: dict[str, object] = {}

    class WatchedReplay(Replay):
        def run(self) -> ReplayResult:
            result = super().run()
            seen["result"] = result
            seen["scratch"] = self.workers[0].scratch.parent
            seen["during"] = tree(self.workers[0].scratch.parent)
            others: dict[str | None, ReplayResult | str] = {}
            for login in (None, "nobody"):
                try:
                    others[login] = Replay(self.workers, self.findings, "none",
                                           secret_shared=False, deadline=self.deadline,
                                           login=login).run()
                except ReplayError as error:
                    others[login] = str(error)
            seen["others"] = others
            return result

    manifest = base / "manifest.json"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(workers_module, "Replay", WatchedReplay)
        cli = CliRunner().invoke(app, [
            "verify", str(root), "--workers", "2", "--login", "auditor", "--output",
            str(manifest), "--env", f"LEDGER_ANALYST_PASSWORD={passwords['analyst']}",
            "--env", f"LEDGER_AUDITOR_PASSWORD={passwords['auditor']}"])
    assert server_pids(root) == []
    result = seen["result"]
    assert isinstance(result, ReplayResult), cli.output
    console = Console(record=True, width=200)
    render_workers_text(result, console)
    others = seen["others"]
    assert isinstance(others, dict)
    files = {f"during/{k}": v for k, v in cast(dict[str, bytes], seen["during"]).items()}
    files.update({f"app/{k}": v for k, v in tree(root).items()})
    files["manifest.json"] = manifest.read_bytes()
    scratch = cast(Path, seen["scratch"])
    files.update({f"after/{k}": v for k, v in tree(scratch).items()} if scratch.exists() else {})
    return Ledger(passwords, cli.exit_code,
                  cli.output + json.dumps(result.to_json()) + console.export_text(),
                  result, others, files)


def test_an_app_behind_basic_auth_is_logged_in_as_the_login_user(ledger: Ledger) -> None:
    assert ledger.result.auth == "MultiBasicAuthConfig, logged in as 'auditor'"
    assert ledger.result.requests["route"] == 1
    assert ledger.result.requests["derived_variable"] == 1
    assert ledger.result.errors == []
    assert "auth: MultiBasicAuthConfig, logged in as 'auditor'" in ledger.shown
    assert ledger.exit_code == 1  # no JWT_SECRET is shared: the session fails across workers


def test_without_login_the_first_user_of_the_config_logs_in(ledger: Ledger) -> None:
    first = ledger.other_logins[None]
    assert isinstance(first, ReplayResult), first
    assert first.auth == "MultiBasicAuthConfig, logged in as 'analyst'"
    assert first.requests["route"] == 1 and first.errors == []


def test_a_login_the_app_does_not_have_is_one_line_naming_the_users_count(
        ledger: Ledger) -> None:
    assert ledger.other_logins["nobody"] == (
        "--login 'nobody': the app's MultiBasicAuthConfig has no such user (it has 2 users)")


def test_the_passwords_are_never_shown_nor_written(ledger: Ledger) -> None:
    assert any(name.startswith("during/worker-1/") for name in ledger.files)
    for password in ledger.passwords.values():
        assert password not in ledger.shown
        assert password not in str(ledger.other_logins)
        written = [name for name, data in ledger.files.items() if password.encode() in data]
        assert written == []


def test_login_without_workers_is_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["verify", str(BASIC_AUTH), "--login", "auditor",
                                      "--output", str(tmp_path / "m.json")])
    assert result.exit_code == 2
    assert result.output.strip() == ("error: --login picks the user the --workers replay logs"
                                     " in as; pass --workers N too")


def test_a_worker_that_does_not_start_is_reported_with_its_log(tmp_path: Path) -> None:
    root = tmp_path / "broken-import"
    shutil.copytree(BROKEN, root)
    with pytest.raises(ServeError) as raised:
        verify_on_workers(root, config=None, python=sys.executable, count=2,
                          environment={}, findings=[], timeout=60)
    assert "exited" in raised.value.message
    assert any("Error" in line for line in raised.value.log_tail), raised.value.log_tail
    assert server_pids(root) == []


def test_a_worker_not_ready_in_time_is_stopped(tmp_path: Path) -> None:
    root = tmp_path / "shared-sessions"
    shutil.copytree(SHARED_SESSIONS, root)
    with pytest.raises(ServeError) as raised:
        verify_on_workers(root, config=None, python=sys.executable, count=2,
                          environment={}, findings=[], timeout=0.5)
    assert "did not answer" in raised.value.message
    assert server_pids(root) == []


def test_ctrl_c_stops_every_worker(tmp_path: Path) -> None:
    root = tmp_path / "shared-sessions"
    shutil.copytree(SHARED_SESSIONS, root)
    command = [sys.executable, "-m", "dara_migrate", "verify", str(root), "--workers", "2",
               "--output", str(tmp_path / "manifest.json"),
               "--env", f"SHARED_SESSIONS_DIR={tmp_path}"]
    process = subprocess.Popen(command, env={**os.environ, "PYTHONPATH": str(REPO)},
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while len(server_pids(root)) < 2 and time.monotonic() < deadline:
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            time.sleep(0.2)
        started = server_pids(root)
        assert len(started) == 2
        process.send_signal(signal.SIGINT)
        process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130
    assert process.stderr is not None and b"Traceback" not in process.stderr.read()
    assert not any(alive(pid) for pid in started)
    assert server_pids(root) == []


def test_workers_end_when_verify_is_killed_outright(tmp_path: Path) -> None:
    root = tmp_path / "shared-sessions"
    shutil.copytree(SHARED_SESSIONS, root)
    script = ("import sys, time\n"
              "from pathlib import Path\n"
              "from dara_migrate.verify.serve import Workers, worker_environment\n"
              "env = worker_environment({'SHARED_SESSIONS_DIR': sys.argv[2]}, None)\n"
              "with Workers(Path(sys.argv[1]), 'shared_sessions.main:config', sys.executable,"
              " 2, env, 120):\n"
              "    print('ready', flush=True)\n"
              "    time.sleep(120)\n")
    scratch = tmp_path / "scratch"  # a killed verify cannot remove its scratch folder
    scratch.mkdir()
    process = subprocess.Popen([sys.executable, "-c", script, str(root), str(tmp_path)],
                               env={**os.environ, "PYTHONPATH": str(REPO),
                                    "TMPDIR": str(scratch)},
                               stdout=subprocess.PIPE)
    try:
        assert process.stdout is not None and process.stdout.readline() == b"ready\n"
        started = server_pids(root)
        assert len(started) == 2
        process.kill()
        process.wait(timeout=30)
        deadline = time.monotonic() + 30
        while server_pids(root) and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        if process.poll() is None:
            process.kill()
    assert server_pids(root) == []


def test_a_malformed_env_pair_is_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["verify", str(SHARED_SESSIONS), "--workers", "2",
                                      "--env", "NOEQUALS", "--output",
                                      str(tmp_path / "m.json")])
    assert result.exit_code == 2
    assert "--env 'NOEQUALS': expected KEY=VALUE" in result.output


def test_a_factory_built_config_in_a_namespace_package_is_served(tmp_path: Path) -> None:
    """The app to serve comes from the project's app model: `dash = build_config()` in
    `storefront/main.py`, the factory in another module, no `__init__.py` anywhere."""
    root = tmp_path / "factory_app"
    shutil.copytree(REPO / "tests" / "fixtures" / "factory_app", root)
    result = CliRunner().invoke(app, ["verify", str(root), "--workers", "2", "--format",
                                      "json", "--output", str(tmp_path / "manifest.json")])
    assert server_pids(root) == []
    document = json.loads(result.stdout)
    assert document["config"] == "storefront.main:dash"
    kinds = document["workers"]["kinds"]
    assert kinds["server_variable"]["requests"] == 1
    assert kinds["py_component"]["requests"] == 1
    assert [(f["kind"], f["rule"]) for f in document["workers"]["failures"]] == [
        ("session", "DM701")]


def test_one_output_for_a_folder_of_several_apps_asks_which(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["verify", str(REPO / "tests" / "fixtures" / "monorepo"),
                                      "--workers", "2", "--output",
                                      str(tmp_path / "m.json")])
    assert result.exit_code == 2
    assert "--output names one manifest, but 2 apps were found under" in result.output
    assert "pass --config to serve one" in result.output


def test_every_app_of_a_monorepo_is_served_in_turn(tmp_path: Path) -> None:
    """Like the builds, the servers: each app of the folder on its own two workers, one
    after the other, each manifest next to its app, none of their processes left."""
    root = tmp_path / "monorepo"
    shutil.copytree(REPO / "tests" / "fixtures" / "monorepo", root)
    result = CliRunner().invoke(app, ["verify", str(root), "--workers", "2", "--format",
                                      "json"])
    assert server_pids(root) == []
    documents = json.loads(result.stdout)
    assert [d["config"] for d in documents] == ["reports.main:config", "ops.main:config"]
    for document in documents:
        assert document["workers"]["workers"] == 2
        assert document["workers"]["kinds"]["route"]["requests"] >= 1
    assert result.exit_code == 1  # DM701 and DM101 requests fail across the workers
    assert sorted(p.relative_to(root).as_posix() for p in root.rglob("dara-manifest.json")) == [
        "legacy/dara-manifest.json", "nextgen/dara-manifest.json"]
