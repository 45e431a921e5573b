"""The CLI's remaining unsafe corners: an output never replaces a file the run reads, options
that cannot mean what they say are refused before any work, and neither a hanging app nor one
that daemonises (`os.setsid()`) outlives or stalls `verify` and `apply`."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dara_migrate.cli import app
from dara_migrate.proof import find_python
from tests.helpers import write_tree
from tests.test_process_lifetime import alive, wait_for

REPO = Path(__file__).resolve().parents[1]

STATE = textwrap.dedent("""
    from dara.core import DerivedVariable, Variable

    region = Variable("north")
    region_label = DerivedVariable(lambda r: r.title(), variables=[region])
""")

MAIN = textwrap.dedent("""
    from dara.components import Stack, Text
    from dara.core import ConfigurationBuilder

    from shop import state

    def home():
        return Stack(Text(state.region_label))

    config = ConfigurationBuilder()
    config.router.add_page(path="home", content=home)
""")


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    return write_tree(tmp_path / "shop", {"shop/__init__.py": "", "shop/state.py": STATE,
                                          "shop/main.py": MAIN})


def run(*argv: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(argv))
    return result.exit_code, result.output


def snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.parametrize(("argv", "target", "reason"), [
    (["audit", "{root}", "--output", "{target}"], "shop/state.py", "it is Python source"),
    (["audit", "{root}", "--format", "sarif", "-o", "{target}"], "pyproject.toml",
     "the run reads this file"),
    (["report", "{root}", "--output", "{target}"], "shop/main.py", "it is Python source"),
    (["apply", "{root}", "--yes", "--no-build-check", "--report", "{target}"], "shop/state.py",
     "it is Python source"),
    (["apply", "{root}", "--dry-run", "--report", "{target}"], "shop/main.py",
     "it is Python source"),
    (["verify", "{root}", "--output", "{target}"], "shop/__init__.py", "it is Python source"),
    (["verify", "{root}", "--workers", "2", "--output", "{target}"], "shop/state.py",
     "it is Python source"),
    (["audit", "{root}", "--format", "json", "--output", "{target}"], ".git/HEAD",
     "it is version control's"),
    (["report", "{root}", "--output", "{target}"], ".gitignore",
     "the run reads this file"),
])
def test_an_output_that_names_a_file_the_run_reads_is_refused_before_any_work(
        shop: Path, argv: list[str], target: str, reason: str) -> None:
    if not (shop / target).exists():
        (shop / target).parent.mkdir(exist_ok=True)
        (shop / target).write_text("ref: refs/heads/main\n" if "HEAD" in target else "*.log\n")
    before = snapshot(shop)
    option = next(a for a in argv if a in ("--output", "-o", "--report"))
    code, output = run(*(a.format(root=shop, target=shop / target) for a in argv))
    assert code == 2
    assert output == (f"error: {shop / target}: cannot use for "
                      f"{'--output' if option == '-o' else option}: {reason}"
                      f"{output.split(reason, 1)[1]}")
    assert output.count("\n") == 1 and "(name a new file)" in output
    assert snapshot(shop) == before


def test_a_python_file_outside_the_project_is_no_report_either(shop: Path,
                                                               tmp_path: Path) -> None:
    elsewhere = tmp_path / "tool.py"
    elsewhere.write_text("print('mine')\n")
    code, output = run("audit", str(shop), "--output", str(elsewhere))
    assert code == 2 and "it is Python source" in output
    assert elsewhere.read_text() == "print('mine')\n"


def test_the_guide_never_replaces_the_apply_report_it_reads(shop: Path) -> None:
    applied = shop / "applied.json"
    code, _ = run("apply", str(shop), "--dry-run", "--no-build-check", "--no-cache",
                  "--report", str(applied))
    assert code == 1
    record = applied.read_bytes()
    alias = shop.parent / "alias"
    alias.symlink_to(shop)  # the same file under another name
    code, output = run("report", str(shop), "--applied", str(applied), "--output",
                       str(alias / "applied.json"))
    assert code == 2
    assert output == (f"error: {alias}/applied.json: cannot use for --output: it is the "
                      "--applied file, which the guide would replace (name a new file)\n")
    assert applied.read_bytes() == record


def test_an_earlier_report_and_new_files_are_written_as_before(shop: Path) -> None:
    report = shop / "dara-migrate.json"
    for _ in range(2):  # the second run replaces the first run's report
        code, _ = run("audit", str(shop), "--format", "json", "--output", str(report),
                      "--no-cache")
        assert code == 1
        assert '"tool": "dara-migrate"' in report.read_text()
    new_python_name = shop / "findings.py"
    code, _ = run("audit", str(shop), "--output", str(new_python_name), "--no-cache")
    assert code == 1 and "DM101" in new_python_name.read_text()


@pytest.mark.parametrize(("argv", "message"), [
    (["audit", "{root}", "--select", ""], "--select '': names no rule code"),
    (["audit", "{root}", "--select", " , "], "--select ' , ': names no rule code"),
    (["apply", "{root}", "--yes", "--ignore", ""], "--ignore '': names no rule code"),
    (["apply", "{root}", "--dry-run", "--select", "DM1", "--select", ","],
     "--select ',': names no rule code"),
    (["audit", "{root}", "--exclude", ""], "--exclude '': an empty pattern leaves nothing out"),
    (["apply", "{root}", "--dry-run", "--timeout", "0"],
     "--timeout must be a positive number of seconds, not 0"),
    (["apply", "{root}", "--dry-run", "--timeout", "-5"],
     "--timeout must be a positive number of seconds, not -5"),
    (["apply", "{root}", "--dry-run", "--timeout", "inf"],
     "--timeout must be a positive number of seconds, not inf"),
    (["apply", "{root}", "--dry-run", "--python", ""], "--python must name an interpreter"),
    (["verify", "{root}", "--python", ""], "--python must name an interpreter"),
    (["verify", "{root}", "--workers", "2", "--login", ""],
     "--login must name a user of the app's auth config, not ''"),
    (["verify", "{root}", "--workers", "2", "--login", "a\nb"],
     "--login must name a user of the app's auth config"),
])
def test_an_option_that_cannot_mean_what_it_says_is_one_line_before_any_work(
        shop: Path, argv: list[str], message: str) -> None:
    before = snapshot(shop)
    code, output = run(*(a.format(root=shop) for a in argv))
    assert code == 2
    assert output.startswith(f"error: {message}") and output.count("\n") == 1
    # Refused before the audit: no cache folder, no manifest, nothing changed.
    assert snapshot(shop) == before


HANGS = textwrap.dedent("""
    import time

    time.sleep(600)
""")


@pytest.mark.slow  # runs real (hanging) builds, each cut at a 1 s timeout
def test_apply_timeout_bounds_the_build_proof_of_a_hanging_app(shop: Path) -> None:
    (shop / "shop" / "__init__.py").write_text(HANGS)
    before = snapshot(shop)
    completed = subprocess.run(
        [sys.executable, "-m", "dara_migrate", "apply", str(shop), "--dry-run", "--no-cache",
         "--python", sys.executable, "--timeout", "1"],
        capture_output=True, text=True, timeout=300, check=False,
        env={**os.environ, "PYTHONPATH": str(REPO)})
    assert completed.returncode == 1, completed.stderr
    assert ("app config (shop/main.py:10): not proven, it does not build before the migration "
            "either (the "
            "build did not finish within 1 s)") in completed.stderr
    assert "Traceback" not in completed.stderr
    assert "+    uid=" in completed.stdout or "uid=" in completed.stdout
    assert snapshot(shop) == before


DAEMONISES = textwrap.dedent("""
    import os
    import subprocess
    import sys
    import time

    from dara.core import ConfigurationBuilder

    log = os.environ["STRAY_LOG"]

    def daemon() -> None:
        # The classic double fork: a new session, then the session leader exits, so the
        # sleeper is an orphan outside the build's process group.
        first = os.fork()
        if first == 0:
            os.setsid()
            if os.fork() == 0:
                with open(log, "a") as out:
                    out.write(f"{os.getpid()}\\n")
                time.sleep(600)
            os._exit(0)
        os.waitpid(first, 0)

    daemon()
    # And one that drops the environment, so nothing but its parentage marks it.
    cleared = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"],
                               env={}, start_new_session=True)
    with open(log, "a") as out:
        out.write(f"{cleared.pid}\\n")

    config = ConfigurationBuilder()
""")


@pytest.mark.slow  # builds a real app twice
def test_a_build_that_daemonises_leaves_no_process_behind(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "daemon", {"daemon_app/__init__.py": "",
                                            "daemon_app/main.py": DAEMONISES})
    log = tmp_path / "strays"
    log.touch()
    bystander = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"],
                                 start_new_session=True)
    try:
        completed = subprocess.run(
            [sys.executable, "-m", "dara_migrate", "verify", str(root), "--config",
             "daemon_app.main:config", "--python", sys.executable, "--no-color"],
            capture_output=True, text=True, timeout=300, check=False,
            env={**os.environ, "PYTHONPATH": str(REPO), "STRAY_LOG": str(log)})
        assert completed.returncode == 0, completed.stderr
        strays = [int(pid) for pid in log.read_text().split()]
        assert len(strays) == 4  # two of each kind, one per build
        assert wait_for(lambda: not any(alive(pid) for pid in strays))
        assert alive(bystander.pid)  # a process that is not the run's own is left alone
    finally:
        bystander.kill()
        bystander.wait()
        for pid in (int(p) for p in log.read_text().split()):
            if alive(pid):
                os.kill(pid, 9)


SITECUSTOMIZE_DAEMON = textwrap.dedent("""
    import os
    import subprocess
    import sys

    if os.environ.get("PROBE_LOG") and not os.environ.get("PROBE_DAEMON"):
        # A daemon that inherits the interpreter's standard streams and keeps them open.
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"],
                                 env={**os.environ, "PROBE_DAEMON": "1"},
                                 start_new_session=True)
        with open(os.environ["PROBE_LOG"], "a") as out:
            out.write(f"{child.pid}\\n")
""")


def test_the_python_probe_does_not_wait_on_a_daemon_holding_its_output(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(SITECUSTOMIZE_DAEMON)
    log = tmp_path / "daemons"
    log.touch()
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(site), str(REPO)]))
    monkeypatch.setenv("PROBE_LOG", str(log))
    try:
        found, why = find_python(tmp_path, sys.executable)
        assert (found, why) == (sys.executable, "")
        daemons = [int(pid) for pid in log.read_text().split()]
        assert daemons and wait_for(lambda: not any(alive(pid) for pid in daemons))
    finally:
        for pid in (int(p) for p in log.read_text().split()):
            if alive(pid):
                os.kill(pid, 9)


@pytest.mark.slow  # starts real servers (each fails right after its import)
def test_a_server_that_daemonises_before_it_fails_leaves_no_process_behind(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from dara_migrate.verify.workers import ServeError, verify_on_workers

    fails = DAEMONISES + "\nraise RuntimeError('no database')\n"
    root = write_tree(tmp_path / "daemon", {"daemon_app/__init__.py": "",
                                            "daemon_app/main.py": fails})
    log = tmp_path / "strays"
    log.touch()
    monkeypatch.setenv("STRAY_LOG", str(log))
    try:
        with pytest.raises(ServeError) as raised:
            verify_on_workers(root, config="daemon_app.main:config", python=sys.executable,
                              count=2, environment={}, findings=[], timeout=60)
        assert "exited" in raised.value.message
        strays = [int(pid) for pid in log.read_text().split()]
        assert len(strays) >= 2  # at least the first worker's two
        assert wait_for(lambda: not any(alive(pid) for pid in strays))
    finally:
        for pid in (int(p) for p in log.read_text().split()):
            if alive(pid):
                os.kill(pid, 9)


SLEEPER = [sys.executable, "-c", "import time; time.sleep(600)"]
ORPHANS_A_SLEEPER = ("import subprocess, sys; print(subprocess.Popen(sys.argv[1:], env={}, "
                     "stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, "
                     "start_new_session=True).pid)")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a Linux subreaper")
def test_a_supervised_section_kills_its_own_processes_and_nothing_else() -> None:
    from dara_migrate.verify.reaper import supervised

    earlier = subprocess.Popen(SLEEPER)  # a child from before the section: not the section's
    started: list[int] = []
    try:
        with supervised() as supervision:
            marked = subprocess.Popen(SLEEPER, env=supervision.environment(dict(os.environ)),
                                      start_new_session=True)
            started.append(marked.pid)
            # Its parent exits at once: an orphan without the token, reparented here.
            orphan = int(subprocess.run([sys.executable, "-c", ORPHANS_A_SLEEPER, *SLEEPER],
                                        capture_output=True, text=True, check=True).stdout)
            started.append(orphan)
            assert alive(marked.pid) and alive(orphan)
            assert int(Path(f"/proc/{orphan}/stat").read_text().rsplit(")", 1)[1].split()[1]) \
                == os.getpid()
        assert not alive(marked.pid) and not alive(orphan)
        assert Path(f"/proc/{orphan}").exists() is False  # reaped, not left a zombie
        assert alive(earlier.pid)
    finally:
        earlier.kill()
        earlier.wait()
        for pid in started:
            if alive(pid):
                os.kill(pid, 9)


@pytest.mark.parametrize(("target", "reason"), [
    ("shop/state.py", "it is Python source"),
    ("pyproject.toml", "the run reads this file of the project"),
    ("shop", "it is a folder"),
])
def test_the_profile_switch_never_replaces_a_file_the_run_reads(
        shop: Path, target: str, reason: str) -> None:
    (shop / "pyproject.toml").write_text('[project]\nname = "shop"\n')
    before = snapshot(shop)
    env = {**os.environ, "PYTHONPATH": str(REPO), "DARA_MIGRATE_PROFILE": str(shop / target)}
    done = subprocess.run([sys.executable, "-m", "dara_migrate", "apply", str(shop), "--yes",
                           "--no-build-check", "--allow-dirty"], capture_output=True,
                          text=True, env=env, cwd=shop, timeout=120)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.startswith(f"DARA_MIGRATE_PROFILE={shop / target}: cannot write the "
                                  f"profile there: {reason}")
    assert done.stderr.count("\n") == 1
    assert snapshot(shop) == before
