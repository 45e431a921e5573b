"""The dirty-tree guard (SPEC.md, "apply options"): inside a git work tree, `apply` refuses
files that are modified, staged or untracked, and refuses when git cannot answer; outside any
work tree one line says so and apply proceeds."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dara_migrate import writer
from dara_migrate.cli import app
from dara_migrate.writer import WriteError
from tests.helpers import write_tree

PAGE = (
    "from dara.core import DerivedVariable, Variable\n\n"
    "count = Variable(0)\n"
    "double = DerivedVariable(lambda c: c * 2, variables=[count])\n"
)


def git(root: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=root,
                   check=True, capture_output=True)


def committed(tmp_path: Path) -> Path:
    root = write_tree(tmp_path / "project", {"app/__init__.py": "", "app/page.py": PAGE})
    git(root, "init", "-q")
    git(root, "add", ".")
    git(root, "commit", "-qm", "app")
    return root


def apply(root: Path, *extra: str) -> tuple[int, str]:
    outcome = CliRunner().invoke(app, ["apply", str(root), "--yes", "--no-cache",
                                       "--no-build-check", "--target", "1.x", *extra])
    assert outcome.exception is None or isinstance(outcome.exception, SystemExit)
    return outcome.exit_code, outcome.stderr


def test_an_untracked_file_is_refused(tmp_path: Path) -> None:
    root = committed(tmp_path)
    write_tree(root, {"app/extra.py": PAGE.replace("double", "triple")})
    code, stderr = apply(root)
    assert code == 2
    assert "uncommitted changes in files apply would write: app/extra.py" in stderr
    assert "uid=" not in (root / "app/page.py").read_text()


def test_a_staged_file_is_refused(tmp_path: Path) -> None:
    root = committed(tmp_path)
    (root / "app/page.py").write_text(PAGE + "\n")
    git(root, "add", "app/page.py")
    code, stderr = apply(root)
    assert code == 2 and "app/page.py" in stderr


def test_apply_refuses_when_git_cannot_run(tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    root = committed(tmp_path)
    monkeypatch.setenv("PATH", str(tmp_path / "no-binaries"))
    code, stderr = apply(root)
    assert code == 2
    assert "cannot check for uncommitted changes: git cannot run" in stderr
    assert "--allow-dirty" in stderr
    assert "uid=" not in (root / "app/page.py").read_text()
    assert apply(root, "--allow-dirty")[0] == 0
    assert "uid='app.page:double'" in (root / "app/page.py").read_text()


def test_apply_refuses_a_repository_git_refuses(tmp_path: Path) -> None:
    root = committed(tmp_path)
    os.chown(root, 12345, 12345)  # not ours: git reports "dubious ownership"
    code, stderr = apply(root)
    assert code == 2
    assert "fatal: detected dubious ownership" in stderr
    assert "uid=" not in (root / "app/page.py").read_text()


def test_outside_any_work_tree_one_line_says_so_then_apply_writes(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "project", {"app/__init__.py": "", "app/page.py": PAGE})
    code, stderr = apply(root)
    assert code == 0, stderr
    assert stderr.count("not in a git work tree: uncommitted changes cannot be checked") == 1
    assert "uid='app.page:double'" in (root / "app/page.py").read_text()


def test_dry_run_never_consults_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = committed(tmp_path)
    (root / "app/page.py").write_text(PAGE + "\n")
    monkeypatch.setenv("PATH", str(tmp_path / "no-binaries"))
    code, stderr = apply(root, "--dry-run")
    assert code == 1 and "uncommitted" not in stderr and "git" not in stderr


def test_a_dirty_file_is_refused_before_the_build_proof(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    def built(*args: object, **kwargs: object) -> None:
        raise AssertionError("the build proof ran before the dirty files were refused")

    monkeypatch.setattr("dara_migrate.proof.prove", built)
    root = committed(tmp_path)
    (root / "app/page.py").write_text(PAGE + "\n")
    outcome = CliRunner().invoke(app, ["apply", str(root), "--yes", "--no-cache",
                                       "--target", "1.x"])
    assert outcome.exit_code == 2, outcome.output
    assert "uncommitted changes in files apply would write: app/page.py" in outcome.stderr


def test_a_git_that_hangs_is_given_up_on_with_a_reason(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A hook such as core.fsmonitor can hang git: apply must say so, not wait for ever.
    tools = tmp_path / "bin"
    tools.mkdir()
    (tools / "git").write_text("#!/bin/sh\nexec sleep 30\n")
    (tools / "git").chmod(0o755)
    monkeypatch.setenv("PATH", f"{tools}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setattr(writer, "_GIT_TIMEOUT", 0.5)
    with pytest.raises(WriteError, match=r"git did not answer within 0\.5 s"):
        writer.dirty_paths([tmp_path / "main.py"], tmp_path)
    assert writer.git_root(tmp_path) is None
