"""`apply` writes every file or none (SPEC.md "Nothing lost"): kills and signals at every step of
the write phase, failing writes, a file edited between planning and writing, two applies at once.

The project is the golden `shop` app, whose `--target 1.x` migration rewrites four files; each
file must always be byte-identical to its golden "before" or "after" version, and no temp or
backup file may stay behind.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from dara_migrate import writer
from dara_migrate.cli import app
from dara_migrate.writer import (
    PlannedWrite,
    Target,
    WriteError,
    WriteInterrupted,
    apply_lock,
    commit,
    plan_writes,
    recover,
)

GOLDEN = Path(__file__).parent / "golden" / "shop"
BEFORE, AFTER = GOLDEN / "before", GOLDEN / "after-shop-1x"
REPO = Path(__file__).resolve().parents[2]


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()}


ORIGINAL, MIGRATED = tree(BEFORE), tree(AFTER)
CHANGED = sorted(path for path in ORIGINAL if ORIGINAL[path] != MIGRATED[path])


@pytest.fixture(autouse=True)
def private_journals(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test keeps its write journals (and the cache key) in its own folder."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "user-cache"))


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    root = tmp_path / "shop"
    shutil.copytree(BEFORE, root)
    return root


def targets(root: Path) -> list[Target]:
    plan = plan_writes(root, [PlannedWrite(path, ORIGINAL[path], MIGRATED[path])
                              for path in CHANGED])
    assert plan.refused == []
    return plan.targets


def states(root: Path) -> dict[str, str]:
    """Each rewritten file: 'before' or 'after' (anything else fails the test)."""
    found = {}
    for path in CHANGED:
        data = (root / path).read_bytes()
        assert data in (ORIGINAL[path], MIGRATED[path]), f"{path} is neither old nor new"
        found[path] = "before" if data == ORIGINAL[path] else "after"
    return found


def leftovers(root: Path) -> list[str]:
    return sorted(p.name for p in root.rglob("*")
                  if p.name.endswith((writer.TEMP_SUFFIX, writer.BACKUP_SUFFIX)))


FILE_OPERATIONS = ("open", "fsync", "chmod", "link", "replace", "unlink")


@pytest.fixture
def operation_count(shop: Path) -> int:
    """File-system calls one commit of the shop migration makes (every one a kill point)."""
    calls = 0
    originals = {name: getattr(os, name) for name in FILE_OPERATIONS}

    def counting(name: str) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            nonlocal calls
            calls += 1
            return originals[name](*args, **kwargs)
        return call

    scratch = shop.parent / "count"
    shutil.copytree(shop, scratch)
    with pytest.MonkeyPatch.context() as patch:
        for name in FILE_OPERATIONS:
            patch.setattr(os, name, counting(name))
        commit(scratch, targets(scratch), lambda line: None)
    assert states(scratch) == dict.fromkeys(CHANGED, "after")
    return calls


def commit_in_child(root: Path, kill_at: int, signum: int) -> int:
    """Fork; the child commits the migration and sends itself `signum` just before its
    `kill_at`-th file-system call. Returns the child's exit status (3: rolled back)."""
    planned = targets(root)
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            calls = 0
            for name in FILE_OPERATIONS:
                original = getattr(os, name)

                def call(*args: Any, _original: Any = original, **kwargs: Any) -> Any:
                    nonlocal calls
                    calls += 1
                    if calls == kill_at:
                        os.kill(os.getpid(), signum)
                    return _original(*args, **kwargs)

                setattr(os, name, call)
            try:
                commit(root, planned, lambda line: None)
                code = 0
            except WriteInterrupted:
                code = 3
        finally:
            os._exit(code)
    return os.waitpid(pid, 0)[1]


def test_sigkill_at_every_step_leaves_each_file_whole_and_the_next_apply_recovers(
        shop: Path, operation_count: int) -> None:
    outcomes = set()
    for kill_at in range(1, operation_count + 1):
        root = shop.parent / f"kill-{kill_at}"
        shutil.copytree(shop, root)
        status = commit_in_child(root, kill_at, signal.SIGKILL)
        assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
        outcomes.add(tuple(states(root).values()))
        recover(root)
        after_recovery = set(states(root).values())
        assert len(after_recovery) == 1, f"killed at call {kill_at}: mixed tree after recovery"
        assert leftovers(root) == [], f"killed at call {kill_at}"
        assert recover(root) == []
    # The kill points cover both sides of the renames: some kills leave a mixed tree on disk,
    # which recovery rolls back.
    assert ("before",) * len(CHANGED) in outcomes and len(outcomes) > 2


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_at_any_step_rolls_every_file_back(shop: Path, operation_count: int,
                                                    signum: int) -> None:
    outcomes = []
    for kill_at in range(1, operation_count + 1):
        root = shop.parent / f"signal-{kill_at}"
        shutil.copytree(shop, root)
        status = commit_in_child(root, kill_at, signum)
        assert os.WIFEXITED(status), f"signal at call {kill_at} killed the writer"
        expected = "before" if os.WEXITSTATUS(status) == 3 else "after"
        assert set(states(root).values()) == {expected}, f"signal at call {kill_at}"
        assert leftovers(root) == []
        assert recover(root) == []
        outcomes.append(expected)
    # A signal up to the last rename rolls back; after it (backups dropped) the write stands.
    assert outcomes == sorted(outcomes, reverse=True)
    assert outcomes.count("before") > 3 * len(CHANGED) and "after" in outcomes


def failing_on(calls: int, error: OSError, real: Callable[..., Any]) -> Callable[..., Any]:
    count = 0

    def call(*args: Any, **kwargs: Any) -> Any:
        nonlocal count
        count += 1
        if count == calls:
            raise error
        return real(*args, **kwargs)
    return call


@pytest.mark.parametrize(("where", "error"), [
    ("_write_temp", OSError(errno.ENOSPC, "No space left on device")),
    ("_write_temp", OSError(errno.EACCES, "Permission denied")),
    ("replace", OSError(errno.EACCES, "Permission denied")),
    ("link", OSError(errno.ENOSPC, "No space left on device")),
])
def test_a_failing_write_rolls_back_and_says_so(shop: Path, monkeypatch: pytest.MonkeyPatch,
                                                where: str, error: OSError) -> None:
    planned = targets(shop)
    if where == "_write_temp":
        monkeypatch.setattr(writer, "_write_temp", failing_on(3, error, writer._write_temp))
    else:
        # The third call: the journal's own rename is the first `replace`.
        monkeypatch.setattr(os, where, failing_on(3, error, getattr(os, where)))
    said: list[str] = []
    with pytest.raises(WriteError) as raised:
        commit(shop, planned, said.append)
    monkeypatch.undo()
    assert error.strerror in str(raised.value)
    assert any(str(raised.value).startswith(path) for path in CHANGED)
    assert set(states(shop).values()) == {"before"}
    assert leftovers(shop) == []
    assert len(said) == 1 and said[0].startswith("rolled back") and "nothing is changed" in said[0]


def test_a_file_edited_after_planning_is_not_overwritten(shop: Path) -> None:
    planned = targets(shop)
    edited = shop / CHANGED[-1]
    edited.write_bytes(ORIGINAL[CHANGED[-1]] + b"# edited meanwhile\n")
    said: list[str] = []
    with pytest.raises(WriteError, match="changed by another program"):
        commit(shop, planned, said.append)
    assert edited.read_bytes().endswith(b"# edited meanwhile\n")
    assert all((shop / p).read_bytes() == ORIGINAL[p] for p in CHANGED[:-1])
    assert leftovers(shop) == [] and said[0].startswith("rolled back")


def test_a_second_apply_is_refused_while_one_holds_the_lock(shop: Path) -> None:
    with apply_lock(shop):
        outcome = CliRunner().invoke(app, ["apply", str(shop), "--yes", "--no-cache",
                                           "--no-build-check", "--target", "1.x"])
        with pytest.raises(WriteError, match="another dara-migrate apply"), apply_lock(shop):
            pass
    assert outcome.exit_code == 2
    assert "another dara-migrate apply is writing this project" in outcome.stderr
    assert set(states(shop).values()) == {"before"}
    outcome = CliRunner().invoke(app, ["apply", str(shop), "--yes", "--no-cache",
                                       "--no-build-check", "--target", "1.x"])
    assert set(states(shop).values()) == {"after"}, outcome.stderr


def test_the_cli_writes_everything_keeps_modes_and_leaves_nothing(shop: Path) -> None:
    (shop / CHANGED[0]).chmod(0o640)
    outcome = CliRunner().invoke(app, ["apply", str(shop), "--yes", "--no-cache",
                                       "--no-build-check", "--target", "1.x"])
    assert outcome.exit_code == 1, outcome.stderr  # the kept-local app still has errors
    assert tree(shop) == MIGRATED
    assert (shop / CHANGED[0]).stat().st_mode & 0o777 == 0o640
    assert leftovers(shop) == []


CLI_WITH_FAULT = textwrap.dedent("""
    import os, signal, sys
    from dara_migrate import cli, writer
    from dara_migrate.cli import commands
    signum, at = int(sys.argv[1]), int(sys.argv[2])
    real_replace, real_commit, calls = os.replace, commands.commit, [0]

    def replace(*args, **kwargs):
        calls[0] += 1
        if calls[0] == at:
            os.kill(os.getpid(), signum)
        return real_replace(*args, **kwargs)

    def commit(*args, **kwargs):
        os.replace = replace
        return real_commit(*args, **kwargs)

    commands.commit = commit
    sys.argv = ["dara-migrate", "apply", sys.argv[3], "--yes", "--no-cache", "--no-build-check",
                "--target", "1.x"]
    cli.main()
""")


def run_cli_with_fault(root: Path, signum: int, at: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", CLI_WITH_FAULT, str(signum), str(at), str(root)],
                          capture_output=True, text=True, timeout=120, check=False,
                          env={**os.environ, "PYTHONPATH": str(REPO)})


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_the_cli_rolls_back_on_a_signal_and_says_what_happened(
        shop: Path, signum: int, code: int) -> None:
    # Call 3: the journal was saved, two of the four files were renamed.
    completed = run_cli_with_fault(shop, signum, 3)
    assert completed.returncode == code, completed.stderr
    assert "rolled back: 2 of 4 files had been replaced and are restored" in completed.stderr
    assert f"interrupted ({signal.Signals(signum).name}): nothing written" in completed.stderr
    assert "Traceback" not in completed.stderr
    assert set(states(shop).values()) == {"before"} and leftovers(shop) == []


def test_after_a_kill_mid_write_the_next_apply_restores_then_migrates(shop: Path) -> None:
    completed = run_cli_with_fault(shop, signal.SIGKILL, 3)
    assert completed.returncode == -signal.SIGKILL
    assert set(states(shop).values()) == {"before", "after"}  # really half-way
    assert leftovers(shop) != []
    outcome = CliRunner().invoke(app, ["apply", str(shop), "--yes", "--no-cache",
                                       "--no-build-check", "--target", "1.x"])
    assert "restored from an interrupted apply" in outcome.stderr
    assert tree(shop) == MIGRATED and leftovers(shop) == []


def test_a_file_edited_after_a_kill_keeps_the_edit_and_its_original_beside_it(
        shop: Path) -> None:
    # The journal is saved at call 1, each file renamed by the next ones: killed as the
    # journal was to record "written", every file is the new one.
    completed = run_cli_with_fault(shop, signal.SIGKILL, 2 + len(CHANGED))
    assert completed.returncode == -signal.SIGKILL
    assert set(states(shop).values()) == {"after"}
    edited, untouched = shop / CHANGED[0], CHANGED[1:]
    edited.write_bytes(MIGRATED[CHANGED[0]] + b"# my work\n")
    notes = recover(shop)
    assert edited.read_bytes() == MIGRATED[CHANGED[0]] + b"# my work\n"
    assert any(note.startswith(f"{CHANGED[0]}: changed since an interrupted apply wrote it")
               for note in notes)
    [kept] = [p for p in edited.parent.iterdir() if p.name.endswith(writer.BACKUP_SUFFIX)]
    assert kept.read_bytes() == ORIGINAL[CHANGED[0]]
    assert all((shop / path).read_bytes() == ORIGINAL[path] for path in untouched)


def test_a_tampered_journal_cannot_move_files_outside_the_project(
        shop: Path, tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me\n")
    journal = writer.journal_path(shop)
    assert journal is not None
    journal.write_text(json.dumps({"version": 1, "state": "writing", "files": [{
        "path": str(victim), "temp": str(victim.with_name(".v.dara-migrate")),
        "backup": str(victim.with_name(".v.dara-migrate-backup"))}]}))
    with pytest.raises(WriteError, match="does not hold"):
        recover(shop)
    assert victim.read_text() == "keep me\n"



def test_a_roll_back_that_cannot_restore_a_file_keeps_its_original_and_names_it(
        shop: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    planned = targets(shop)
    real_replace, calls = os.replace, [0]

    def replace(source: Any, destination: Any) -> None:
        calls[0] += 1
        # 1: the journal; 2: the first file; 3: the second file fails; 4: its roll-back fails.
        if calls[0] in (3, 4):
            raise OSError(errno.EIO, "Input/output error")
        real_replace(source, destination)

    monkeypatch.setattr(os, "replace", replace)
    said: list[str] = []
    with pytest.raises(WriteError, match=f"{CHANGED[1]}: Input/output error"):
        commit(shop, planned, said.append)
    monkeypatch.undo()
    assert said[0].startswith(f"rolled back 0 files; could not restore {CHANGED[0]}")
    backup = Path(said[0].split("its original is ")[1].split(":")[0])
    assert backup.read_bytes() == ORIGINAL[CHANGED[0]]
    assert (shop / CHANGED[0]).read_bytes() == MIGRATED[CHANGED[0]]
    assert leftovers(shop) == [backup.name]
    assert all((shop / p).read_bytes() == ORIGINAL[p] for p in CHANGED[1:])


def test_two_applies_at_once_the_second_is_refused_and_the_first_completes(
        shop: Path) -> None:
    first = subprocess.Popen(
        [sys.executable, "-c", CLI_WITH_FAULT, str(int(signal.SIGSTOP)), "3", str(shop)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)})
    try:
        stat = Path(f"/proc/{first.pid}/stat")
        # The first apply stops itself in the middle of its renames, holding the lock.
        while stat.read_text().rsplit(")", 1)[1].split()[0] != "T":
            assert first.poll() is None, first.communicate()
            time.sleep(0.05)
        assert set(states(shop).values()) == {"before", "after"}
        second = CliRunner().invoke(app, ["apply", str(shop), "--yes", "--no-cache",
                                          "--no-build-check", "--target", "1.x"])
        assert second.exit_code == 2
        assert "another dara-migrate apply is writing this project" in second.stderr
    finally:
        os.kill(first.pid, signal.SIGCONT)
        _, stderr = first.communicate(timeout=120)
    assert first.returncode == 1, stderr
    assert tree(shop) == MIGRATED and leftovers(shop) == []


def test_without_a_journal_the_write_still_happens_and_says_what_it_cannot_promise(
        shop: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(writer, "_save_journal", failing_on(
        1, OSError(errno.EROFS, "Read-only file system"), writer._save_journal))
    said: list[str] = []
    assert commit(shop, targets(shop), said.append) == CHANGED
    assert set(states(shop).values()) == {"after"} and leftovers(shop) == []
    assert len(said) == 1 and "no write journal" in said[0]
    assert "Read-only file system" in said[0]


def test_without_a_user_cache_folder_the_write_still_happens_and_says_so(
        shop: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", "/dev/null")  # no folder can be made under it
    said: list[str] = []
    assert commit(shop, targets(shop), said.append) == CHANGED
    assert set(states(shop).values()) == {"after"} and leftovers(shop) == []
    assert len(said) == 1 and "no write journal (no user cache folder" in said[0]
