"""No process outlives the command that started it: analysis workers die with their parent,
and a verify build is killed with every process it started, on exit and on timeout."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from dara_migrate.verify.model import VerifyError
from dara_migrate.verify.runner import _read_build, _run_in_own_group

REPO = Path(__file__).resolve().parents[1]

STUCK_ANALYSIS = textwrap.dedent("""
    import os, sys, time
    from dara_migrate import scan

    def stuck(chunk):
        with open(sys.argv[1], "a") as log:
            log.write(f"{os.getpid()}\\n")
        time.sleep(600)

    scan._analyze_chunk = stuck
    jobs = [scan.FileJob(f"m{n}.py", "/nowhere", f"m{n}", False, None, "", b"x = 1\\n")
            for n in range(200)]
    scan.analyze_all(jobs, 3)
""")


def alive(pid: int) -> bool:
    """Running, not merely a zombie nobody reaped (a container's init may not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")


def wait_for(condition: Callable[[], bool], seconds: float = 20.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_analysis_workers_die_when_their_parent_is_killed(tmp_path: Path) -> None:
    log = tmp_path / "pids"
    log.touch()
    parent = subprocess.Popen([sys.executable, "-c", STUCK_ANALYSIS, str(log)],
                              env={**os.environ, "PYTHONPATH": str(REPO)})
    try:
        # Two workers and the parent itself each take a chunk and get stuck in it.
        assert wait_for(lambda: len(set(log.read_text().split())) >= 3)
        workers = {int(pid) for pid in log.read_text().split()} - {parent.pid}
        assert len(workers) == 2
        parent.kill()
        parent.wait()
        assert wait_for(lambda: not any(alive(pid) for pid in workers))
    finally:
        parent.kill()
        parent.wait()


SPAWNS_A_CHILD = textwrap.dedent("""
    import subprocess, sys
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    with open(sys.argv[1], "w") as log:
        log.write(str(child.pid))
    print("built")
""")


def test_a_build_that_leaves_a_child_running_returns_at_once_and_the_child_is_killed(
        tmp_path: Path) -> None:
    log = tmp_path / "child"
    # Waiting on output the child still holds open would end in TimeoutExpired.
    completed = _run_in_own_group([sys.executable, "-c", SPAWNS_A_CHILD, str(log)], tmp_path,
                                  dict(os.environ), tmp_path / "build.log", timeout=60)
    assert completed.returncode == 0 and "built" in completed.stdout
    assert wait_for(lambda: not alive(int(log.read_text())))


@pytest.mark.slow  # waits out a real 5 s build timeout
def test_a_build_that_times_out_is_killed_with_its_children(tmp_path: Path) -> None:
    log = tmp_path / "child"
    script = SPAWNS_A_CHILD + "import time\ntime.sleep(600)\n"
    with pytest.raises(subprocess.TimeoutExpired):
        _run_in_own_group([sys.executable, "-c", script, str(log)], tmp_path,
                          dict(os.environ), tmp_path / "build.log", timeout=5)
    assert wait_for(lambda: log.exists() and not alive(int(log.read_text())))


@pytest.mark.parametrize(("document", "message"), [
    ({"ok": True, "python": "3.11", "definitions": [], "stand_ins": [], "runtime": None},
     "the build report lacks a valid 'dara_core'"),
    ({"ok": True, "dara_core": "1.30", "python": "3.11", "definitions": [{"kind": "route"}],
      "stand_ins": [], "runtime": None}, "the build report has a definition without 'id'"),
    ([1, 2], "the build report is not a JSON object"),
    ({"ok": False, "error": "boom"}, "the build failed"),
])
def test_a_malformed_build_report_is_a_one_line_build_error(
        tmp_path: Path, document: object, message: str) -> None:
    report = tmp_path / "build.json"
    report.write_text(json.dumps(document))
    with pytest.raises(VerifyError) as raised:
        _read_build(report, subprocess.CompletedProcess([], 0, "", ""))
    assert str(raised.value) == message


def test_a_build_that_ends_without_a_word_says_so(tmp_path: Path) -> None:
    with pytest.raises(VerifyError) as raised:
        _read_build(tmp_path / "missing.json", subprocess.CompletedProcess([], 0, "", "\n"))
    assert str(raised.value) == (
        "the build process exited with code 0 without a report and printed nothing (does the "
        "app end the process itself, as os._exit does?)")


def test_an_app_that_prints_megabytes_fails_its_build_in_one_short_line(tmp_path: Path) -> None:
    printed = "x" * 5_000_000
    with pytest.raises(VerifyError) as raised:
        _read_build(tmp_path / "missing.json",
                    subprocess.CompletedProcess([], 0, "", f"start\n{printed}\n"))
    assert str(raised.value) == ("the build process exited with code 0 without a report: "
                                 f"{'x' * 300}... (5000000 characters)")
    report = tmp_path / "build.json"
    report.write_text(json.dumps({"ok": False, "error": {"cause": "ValueError: " + printed}}))
    with pytest.raises(VerifyError) as raised:
        _read_build(report, subprocess.CompletedProcess([], 1, "", ""))
    assert len(str(raised.value)) < 400 and "\n" not in str(raised.value)


HANGS_ON_IMPORT = "import time\n\ntime.sleep(600)\nconfig = None\n"


def build_pids(app_root: Path) -> list[int]:
    """Live build processes whose command line names ``app_root``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if b"build_script" in command and str(app_root).encode() in command and alive(
                int(entry.name)):
            found.append(int(entry.name))
    return found


@pytest.mark.slow  # starts real builds (killed as soon as they run)
@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_mid_verify_kills_the_builds_at_once_and_leaves_no_temporary_folder(
        tmp_path: Path, signum: int, code: int) -> None:
    app_root = tmp_path / "hangs"
    (app_root / "hangs").mkdir(parents=True)
    (app_root / "hangs" / "__init__.py").write_text("")
    (app_root / "hangs" / "main.py").write_text(HANGS_ON_IMPORT)
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    run = subprocess.Popen(
        [sys.executable, "-m", "dara_migrate", "verify", str(app_root), "--config",
         "hangs.main:config", "--runs", "3", "--timeout", "600"], stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(REPO), "TMPDIR": str(scratch)})
    try:
        assert wait_for(lambda: len(build_pids(app_root)) >= 1, seconds=60)
        builds = build_pids(app_root)
        run.send_signal(signum)
        # Not waiting for the builds' own 600 s timeout (the margin is for a loaded machine).
        _, stderr = run.communicate(timeout=90)
        assert run.returncode == code
        assert b"Traceback" not in stderr
        assert wait_for(lambda: not any(alive(pid) for pid in builds))
        assert build_pids(app_root) == []
        assert list(scratch.iterdir()) == []
    finally:
        run.kill()
        run.wait()
        for pid in build_pids(app_root):
            os.kill(pid, signal.SIGKILL)


SIGNALS_ANOTHER_THREAD = textwrap.dedent("""
    import os, signal, sys, threading, time
    from pathlib import Path
    from dara_migrate.verify.runner import run_verify

    app_root = Path(sys.argv[1])

    def a_build_runs():
        for entry in Path("/proc").iterdir():
            try:
                command = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            other = entry.name != str(os.getpid())  # this script's own text names both
            if other and b"build_script" in command and str(app_root).encode() in command:
                return True
        return False

    def signal_this_thread_once_a_build_runs():
        while not a_build_runs():
            time.sleep(0.05)
        time.sleep(1)  # the main thread is waiting for the builds by now
        # The kernel may deliver a process's signal to any of its threads: here, not the main.
        signal.pthread_kill(threading.get_ident(), signal.SIGTERM)

    threading.Thread(target=signal_this_thread_once_a_build_runs, daemon=True).start()
    run_verify(app_root, config="hangs.main:config", runs=3, timeout=600)
""")


@pytest.mark.slow  # starts real builds (killed as soon as they run)
def test_a_signal_delivered_to_another_thread_than_the_main_one_still_stops_verify_at_once(
        tmp_path: Path) -> None:
    app_root = tmp_path / "hangs"
    (app_root / "hangs").mkdir(parents=True)
    (app_root / "hangs" / "__init__.py").write_text("")
    (app_root / "hangs" / "main.py").write_text(HANGS_ON_IMPORT)
    run = subprocess.Popen([sys.executable, "-c", SIGNALS_ANOTHER_THREAD, str(app_root)],
                           env={**os.environ, "PYTHONPATH": str(REPO)},
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        _, stderr = run.communicate(timeout=90)
        assert run.returncode == 143, stderr.decode()
        assert build_pids(app_root) == []
    finally:
        run.kill()
        run.wait()
        for pid in build_pids(app_root):
            os.kill(pid, signal.SIGKILL)
