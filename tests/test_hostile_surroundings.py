"""Hostile surroundings rather than hostile files: standard streams closed or full, a relative
cache home, a cache folder that is a source folder, and `verify --config` values that cannot
name an app. Each ends with its
documented exit code and one line saying why, never a traceback, and writes nothing into the
project it was not asked to."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dara_migrate.cli import app
from tests.helpers import write_tree

REPO = Path(__file__).resolve().parents[1]
PAGE = (
    "from dara.core import DerivedVariable, Variable\n\n"
    "count = Variable(0)\n"
    "double = DerivedVariable(lambda c: c * 2, variables=[count])\n"
)
FULL = Path("/dev/full")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return write_tree(tmp_path / "project", {"app/__init__.py": "", "app/page.py": PAGE})


def run(args: list[str], tmp_path: Path, closing: tuple[int, ...] = (), **streams: object
        ) -> tuple[int, str, str]:
    """The command in a process of its own, with the descriptors `closing` closed."""

    def close() -> None:
        for descriptor in closing:
            os.close(descriptor)

    prepare: Callable[[], None] | None = close if closing else None
    completed = subprocess.run(
        [sys.executable, "-m", "dara_migrate", *args], timeout=60, check=False,
        env={**os.environ, "PYTHONPATH": str(REPO), "XDG_CACHE_HOME": str(tmp_path / "cache")},
        preexec_fn=prepare, **{"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, **streams})
    decoded = [part.decode() if isinstance(part, bytes) else "" for part in
               (completed.stdout, completed.stderr)]
    return completed.returncode, decoded[0], decoded[1]


def test_interactive_apply_with_stdin_closed_asks_for_a_terminal(
        project: Path, tmp_path: Path) -> None:
    code, _, stderr = run(["apply", str(project), "--interactive", "--no-build-check"],
                          tmp_path, closing=(0,), stdin=None)
    assert code == 2
    assert stderr == ("error: --interactive needs a terminal on stdin and stdout; "
                      "use --yes\n")


def test_apply_with_stdout_closed_still_says_what_it_would_change(
        project: Path, tmp_path: Path) -> None:
    code, _, stderr = run(["apply", str(project), "--dry-run", "--no-build-check",
                           "--target", "1.x"], tmp_path, closing=(1,), stdout=None)
    assert code == 1
    assert "Traceback" not in stderr and "internal error" not in stderr
    assert "1 fix; would change 1 file" in stderr
    assert (project / "app/page.py").read_text() == PAGE


@pytest.mark.skipif(not FULL.exists(), reason="needs Linux's /dev/full")
@pytest.mark.parametrize("args", [
    ["audit", "{root}", "--no-cache"],
    ["audit", "{root}", "--format", "json"],
    ["apply", "{root}", "--dry-run", "--no-build-check", "--no-cache"],
    ["rules"],
])
def test_a_full_standard_output_is_one_line_and_exit_2(
        project: Path, tmp_path: Path, args: list[str]) -> None:
    with FULL.open("wb") as full:
        code, _, stderr = run([a.format(root=project) for a in args], tmp_path, stdout=full)
    assert code == 2
    assert stderr.splitlines()[-1] == ("dara-migrate: cannot write the output: "
                                       "No space left on device")
    assert "Traceback" not in stderr and "internal error" not in stderr


@pytest.mark.skipif(not FULL.exists(), reason="needs Linux's /dev/full")
def test_a_stored_report_replayed_to_a_full_output_is_one_line_and_exit_2(
        project: Path, tmp_path: Path) -> None:
    with open(os.devnull, "wb") as null:
        assert run(["audit", str(project)], tmp_path, stdout=null)[0] == 1  # stores it
    with FULL.open("wb") as full:
        code, _, stderr = run(["audit", str(project)], tmp_path, stdout=full)
    assert code == 2
    assert stderr.splitlines()[-1] == ("dara-migrate: cannot write the output: "
                                       "No space left on device")
    assert "Traceback" not in stderr


@pytest.mark.parametrize("output_format", ["text", "json", "sarif"])
def test_an_output_encoding_without_the_paths_characters_is_one_line_and_exit_2(
        project: Path, tmp_path: Path, output_format: str) -> None:
    (project / "app" / "café.py").write_text(PAGE, encoding="utf-8")
    completed = subprocess.run(
        [sys.executable, "-m", "dara_migrate", "audit", str(project), "--no-cache",
         "--format", output_format], capture_output=True, timeout=60, check=False,
        env={**os.environ, "PYTHONPATH": str(REPO), "PYTHONIOENCODING": "ascii",
             "XDG_CACHE_HOME": str(tmp_path / "cache")})
    assert completed.returncode == 2
    last = completed.stderr.decode().splitlines()[-1]
    assert last.startswith("dara-migrate: cannot write '\\")
    assert last.endswith("' in the output's encoding (ascii); set PYTHONIOENCODING=utf-8")
    assert b"Traceback" not in completed.stderr


@pytest.mark.skipif(not FULL.exists(), reason="needs Linux's /dev/full")
def test_a_usage_error_keeps_exit_2_when_stderr_is_full(project: Path, tmp_path: Path) -> None:
    with FULL.open("wb") as full:
        code, _, _ = run(["audit", str(project), "--no-such-option"], tmp_path, stderr=full)
    assert code == 2


@pytest.mark.parametrize(("command", "code", "kept"), [
    (["audit", "."], 1, "cache-key"),
    (["apply", ".", "--yes", "--no-build-check"], 0, "journals"),
])
def test_a_relative_xdg_cache_home_puts_nothing_of_the_user_in_the_project(
        project: Path, tmp_path: Path, command: list[str], code: int, kept: str) -> None:
    home = tmp_path / "home"
    completed = subprocess.run(
        [sys.executable, "-m", "dara_migrate", *command, "--target", "1.x"],
        cwd=project, capture_output=True, text=True, timeout=60, check=False,
        env={**os.environ, "PYTHONPATH": str(REPO), "XDG_CACHE_HOME": "relative/cache",
             "HOME": str(home)})
    assert completed.returncode == code, completed.stderr
    assert not (project / "relative").exists()
    assert (home / ".cache/dara-migrate" / kept).exists()


@pytest.mark.parametrize("args", [["audit", "{root}"], ["audit"], ["verify"],
                                  ["apply", "{root}", "--dry-run", "--no-build-check"]])
def test_a_removed_current_folder_is_one_line_and_exit_2(
        project: Path, tmp_path: Path, args: list[str]) -> None:
    removed = tmp_path / "removed"
    removed.mkdir()

    def enter_and_remove() -> None:
        os.chdir(removed)
        os.rmdir(removed)

    completed = subprocess.run(
        [sys.executable, "-m", "dara_migrate", *(a.format(root=project) for a in args)],
        capture_output=True, text=True, timeout=60, check=False, preexec_fn=enter_and_remove,
        env={**os.environ, "PYTHONPATH": str(REPO), "XDG_CACHE_HOME": str(tmp_path / "cache")})
    assert completed.returncode == 2
    assert completed.stderr == ("dara-migrate: cannot use the current folder: No such file or "
                                "directory (was it removed? cd into the project)\n")


def test_a_cache_dir_naming_a_source_folder_is_never_written_into(
        project: Path, tmp_path: Path) -> None:
    (project / "pyproject.toml").write_text('[tool.dara-migrate]\ncache-dir = "app"\n')
    before = sorted(path.name for path in (project / "app").iterdir())
    for _ in range(2):  # the second run would find the folder hidden by a `*` .gitignore
        code, stdout, stderr = run(["audit", str(project), "--target", "1.x"], tmp_path)
        assert code == 1, stderr
        assert "app/page.py:4:10: DM101" in stdout
        assert stderr.splitlines() == [
            f"note: {project / 'app'} (cache-dir) holds files of the project; running without "
            "the cache (name a folder of its own)"]
    assert sorted(path.name for path in (project / "app").iterdir()) == before


@pytest.mark.parametrize(("config", "reason"), [
    ("", "no ':' before the attribute"),
    ("app.page", "no ':' before the attribute"),
    (":config", "the module name is empty or has an empty part"),
    ("app..page:config", "the module name is empty or has an empty part"),
    ("app.page:", "'' is not a Python name"),
    ("app.page:config.inner", "'config.inner' is not a Python name"),
    ("-app:config", "the module name starts with '-'"),
    ("app/page.py:config", "give the module, not its file (e.g. app.page:config)"),
    ("../app/page.py:config",
     "give the module as it is imported from the app's folder, not a path"),
])
def test_verify_refuses_a_config_that_cannot_name_an_app_before_building(
        project: Path, config: str, reason: str) -> None:
    outcome = CliRunner().invoke(app, ["verify", str(project), "--config", config])
    assert outcome.exit_code == 2
    assert outcome.stderr == (f"error: --config must be module:attribute, like "
                              f"app.main:config, not {config!r}: {reason}\n")
    assert not (project / "dara-manifest.json").exists()


@pytest.mark.parametrize("reason", ["needs a redesign\nprint('written as code')", "", "   ",
                                    "tab\there", "bell\a"])
def test_apply_refuses_a_reason_that_is_not_one_printable_line(
        project: Path, reason: str) -> None:
    outcome = CliRunner().invoke(app, ["apply", str(project), "--dry-run", "--no-build-check",
                                       "--no-cache", "--reason", reason])
    assert outcome.exit_code == 2
    assert outcome.stderr == (f"error: --reason must be one line of printable text, "
                              f"not {reason!r}\n")
    assert outcome.stdout == ""


def test_verify_refuses_more_runs_than_it_compares_before_building(project: Path) -> None:
    outcome = CliRunner().invoke(app, ["verify", str(project), "--runs", "9" * 20])
    assert outcome.exit_code == 2
    assert outcome.stderr == (f"error: --runs must be at most 20 (each run is a whole build), "
                              f"not {'9' * 20}\n")
