"""Hostile input: odd files, links, configs, caches and option values. Each case ends with its
documented exit code and a one-line message naming the file, never a traceback or a hang, and
nothing outside the project changes."""

from __future__ import annotations

import functools
import json
import os
import pickle
import resource
import signal
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from dara_migrate import scan, signed
from dara_migrate.cli import app
from dara_migrate.files import MAX_FILE_BYTES
from dara_migrate.writer import git_quoted
from tests.helpers import run_audit, write_tree

REPO = Path(__file__).resolve().parents[1]
PAGE = (
    "from dara.core import DerivedVariable, Variable\n\n"
    "count = Variable(0)\n"
    "double = DerivedVariable(lambda c: c * 2, variables=[count])\n"
)
FIXED = "uid='app.page:double'"


@pytest.fixture(autouse=True)
def private_user_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "user-cache"))
    signed._secret.cache_clear()


def make_project(tmp_path: Path) -> tuple[Path, Path]:
    """A small app and, beside it, a folder that is not part of it."""
    root = write_tree(tmp_path / "project", {"app/__init__.py": "", "app/page.py": PAGE})
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "shared.py").write_text(PAGE)
    return root, outside


def snapshot(tmp_path: Path) -> dict[str, tuple[int, bytes | str]]:
    """Everything beside the project (its own folder and the user cache aside)."""
    found: dict[str, tuple[int, bytes | str]] = {}
    for folder, dirs, files in os.walk(tmp_path):
        dirs[:] = [d for d in dirs if Path(folder, d) not in (
            tmp_path / "project", tmp_path / "user-cache")]
        for name in [*dirs, *files]:
            path = Path(folder, name)
            info = path.lstat()
            content: bytes | str = (os.readlink(path) if path.is_symlink() else
                                    path.read_bytes() if path.is_file() else b"")
            found[str(path.relative_to(tmp_path))] = (info.st_mode, content)
    return found


@dataclass
class Case:
    setup: Callable[[Path, Path], None]
    args: list[str]
    code: int
    message: str
    """Found on the one line that names the problem (stderr, or stdout for the report)."""
    in_subprocess: bool = False
    """Run in a fresh process with a timeout: the input used to hang."""
    unchanged: list[str] = field(default_factory=lambda: ["app/page.py"])


def nothing(root: Path, outside: Path) -> None:
    del root, outside


def fifo_link(root: Path, outside: Path) -> None:
    os.mkfifo(outside / "pipe")
    (root / "app/pipe.py").symlink_to(outside / "pipe")


def fifo_at(folder: str, name: str) -> Callable[[Path, Path], None]:
    """A FIFO in the project or beside it: opening it for reading waits for a writer."""
    def setup(root: Path, outside: Path) -> None:
        path = (root if folder == "project" else outside) / name
        path.unlink(missing_ok=True)
        os.mkfifo(path)
    return setup


def dev_zero(root: Path, outside: Path) -> None:
    (root / "app/zero.py").symlink_to("/dev/zero")
    (root / ".env.local").symlink_to("/dev/zero")


def write(relative: str, data: bytes) -> Callable[[Path, Path], None]:
    def setup(root: Path, outside: Path) -> None:
        (root / relative).write_bytes(data)
    return setup


def file_loop(root: Path, outside: Path) -> None:
    (root / "app/loop.py").symlink_to("loop.py")


def folder_loop(root: Path, outside: Path) -> None:
    (root / "app/again").symlink_to("..")


def outside_folder(root: Path, outside: Path) -> None:
    (root / "app/ext").symlink_to(outside)


def read_only(root: Path, outside: Path) -> None:
    (root / "app/page.py").chmod(0o444)


def hard_link(root: Path, outside: Path) -> None:
    os.link(root / "app/page.py", outside / "hard.py")


def pyproject(text: str | bytes) -> Callable[[Path, Path], None]:
    def setup(root: Path, outside: Path) -> None:
        data = text.encode() if isinstance(text, str) else text
        (root / "pyproject.toml").write_bytes(data)
    return setup


def applied_report(document: object) -> Callable[[Path, Path], None]:
    def setup(root: Path, outside: Path) -> None:
        (outside / "applied.json").write_text(json.dumps(document))
    return setup


def output_symlink(root: Path, outside: Path) -> None:
    (outside / "report.txt").symlink_to(outside / "shared.py")


def mkdir(relative: str) -> Callable[[Path, Path], None]:
    def setup(root: Path, outside: Path) -> None:
        (root / relative).mkdir()
    return setup


def undecodable_names(root: Path, outside: Path) -> None:
    """A file and a folder whose names are not UTF-8 (written by another system's tools)."""
    (root / "app" / os.fsdecode(b"caf\xe9.py")).write_text(PAGE)
    (root / "app" / os.fsdecode(b"d\xfe")).mkdir()
    (root / "app" / os.fsdecode(b"d\xfe") / "page.py").write_text(PAGE)


AUDIT = ["audit", "{root}", "--no-cache", "--target", "1.x"]
CACHED_AUDIT = ["audit", "{root}", "--target", "1.x"]
"""As run in CI: output to a pipe, so the whole report is stored with a digest of each input."""
APPLY = ["apply", "{root}", "--yes", "--no-cache", "--no-build-check", "--target", "1.x"]
DRY_RUN = ["apply", "{root}", "--dry-run", "--no-cache", "--no-build-check", "--target", "1.x"]

CASES = {
    "fifo behind a .py symlink": Case(fifo_link, AUDIT, 1,
                                      "app/pipe.py:1:1: DM001 not a regular file", True),
    "fifo named .py": Case(fifo_at("project", "app/fifo.py"), AUDIT, 1,
                           "app/fifo.py:1:1: DM001 not a regular file", True),
    "requirements.txt a fifo": Case(fifo_at("project", "requirements.txt"), AUDIT, 1,
                                    "app/page.py:4:10: DM101", True),
    "report --applied a fifo": Case(
        fifo_at("outside", "applied.json"),
        ["report", "{root}", "--applied", "{outside}/applied.json"], 2,
        "applied.json: cannot read the apply report: not a regular file", True),
    "symlink to /dev/zero": Case(dev_zero, AUDIT, 1,
                                 "app/zero.py:1:1: DM001 not a regular file", True),
    "huge file": Case(write("app/huge.py", b"x = 1\n" * (MAX_FILE_BYTES // 6 + 1)), AUDIT, 1,
                      "app/huge.py:1:1: DM001 file too large"),
    "binary file": Case(write("app/blob.py", b"\x00\x01ELF"), AUDIT, 1,
                        "app/blob.py:1:1: DM001 binary file"),
    "undecodable file": Case(write("app/latin.py", "x = 'café'\n".encode("latin-1")), AUDIT, 1,
                             "app/latin.py:1:1: DM001 undecodable bytes"),
    "BOM and a coding cookie for another encoding": Case(
        write("app/bom.py", b"\xef\xbb\xbf# -*- coding: latin-1 -*-\n" + PAGE.encode()), AUDIT, 1,
        "app/bom.py:1:1: DM001 a UTF-8 byte order mark and a coding cookie for another"),
    "requirements.txt a folder": Case(mkdir("requirements.txt"), AUDIT[:-2], 1,
                                      "app/page.py:4:10: DM101"),
    "pyproject.toml a fifo, cached audit": Case(fifo_at("project", "pyproject.toml"),
                                                CACHED_AUDIT, 1, "app/page.py:4:10: DM101", True),
    "setup.cfg a fifo, cached audit": Case(fifo_at("project", "setup.cfg"), CACHED_AUDIT, 1,
                                           "app/page.py:4:10: DM101", True),
    "setup.cfg with a %-interpolation": Case(
        write("setup.cfg", b"[options]\npackage_dir =\n    =%(src)s\n"), AUDIT, 1,
        "app/page.py:4:10: DM101"),
    "package folders declared with the wrong types": Case(pyproject(
        '[project]\nname = "x"\n[tool.setuptools.packages]\nfind = {where = 3}\n'
        "[tool.poetry]\npackages = [1, {from = 2}]\n[tool.hatch]\nbuild = []\n"), AUDIT, 1,
        "app/page.py:4:10: DM101"),
    "file name not UTF-8": Case(undecodable_names, AUDIT, 1,
                                "app/caf\\xe9.py:1:1: DM001 name is not valid UTF-8; not read"),
    "folder name not UTF-8": Case(undecodable_names, [*AUDIT, "--format", "json"], 1,
                                  '"path": "app/d\\\\xfe"'),
    "apply beside a name not UTF-8": Case(
        undecodable_names, DRY_RUN, 1, "could not be read or parsed and were not migrated "
        "(DM001): app/caf\\xe9.py, app/d\\xfe"),
    "paths whose only common folder is the file system root": Case(
        nothing, [*AUDIT, "/dev/null"], 2,
        "/dev/null: the only folder that holds them all is the file system root", True),
    "newline in a file name": Case(write("app/new\nline.py", PAGE.encode()), AUDIT, 1,
                                   "app/new\\nline.py:4:10: DM101"),
    "terminal escape in a file name": Case(write("app/\x1b[2Jx.py", PAGE.encode()), AUDIT, 1,
                                           "app/\\x1b[2Jx.py:4:10: DM101"),
    "apply beside a binary file with a newline in its name": Case(
        write("app/bin\nary.py", b"\0"), DRY_RUN, 1,
        "could not be read or parsed and was not migrated (DM001): app/bin\\nary.py"),
    "an expression too deep to analyse": Case(
        write("app/deep.py", b"x = " + b" + ".join([b"1"] * 1000) + b"\n"), AUDIT, 1,
        "app/deep.py:1:1: DM001 cannot analyse: an expression nested too deeply"),
    "apply beside an expression too deep to analyse": Case(
        write("app/deep.py", b"x = " + b"()" * 1000 + b"\n"), DRY_RUN, 1,
        "could not be read or parsed and was not migrated (DM001): app/deep.py"),
    "symlink loop (file)": Case(file_loop, AUDIT, 1, "app/loop.py:1:1: DM001 symlink loop"),
    "symlink loop (folder)": Case(folder_loop, AUDIT, 1, "app/again:1:1: DM001 symlink loop"),
    "apply with unreadable files": Case(write("app/blob.py", b"\x00"), APPLY, 1,
                                        "could not be read or parsed and was not migrated "
                                        "(DM001): app/blob.py", unchanged=[]),
    # A linked folder outside the project is no part of it, as for git: only the project's
    # own file is fixed, and the outside one is left as it is (`snapshot`).
    "apply through a folder symlink to outside": Case(
        outside_folder, APPLY, 0, "1 fix; changed 1 file", unchanged=[]),
    "dry-run through a folder symlink to outside": Case(
        outside_folder, DRY_RUN, 1, "1 fix; would change 1 file"),
    "read-only file": Case(read_only, APPLY, 2,
                           "nothing written: app/page.py: read-only (mode 0444; "
                           "--allow-read-only rewrites it)"),
    # `--dry-run` ends as `--yes` would: all files or none are written.
    "dry-run of a read-only file": Case(read_only, DRY_RUN, 2,
                                        "apply would write nothing: app/page.py: read-only"),
    "hard-linked file": Case(hard_link, APPLY, 2,
                             "nothing written: app/page.py: has 2 hard links"),
    "[tool] not a table": Case(pyproject("tool = 1\n"), AUDIT, 2,
                               "pyproject.toml: [tool] must be a table, not an integer"),
    "[tool.dara-migrate] not a table": Case(
        pyproject('[tool]\n"dara-migrate" = []\n'), AUDIT, 2,
        "pyproject.toml: [tool.dara-migrate] must be a table, not an array"),
    "[project] not a table": Case(pyproject('project = "x"\n'), AUDIT, 2,
                                  "pyproject.toml: [project] must be a table, not a string"),
    "dependencies not a list": Case(
        pyproject('[project]\ndependencies = "dara-core<2"\n'), AUDIT, 2,
        "pyproject.toml: [project] dependencies must be a list of strings"),
    "poetry dependencies not a table": Case(
        pyproject("[tool.poetry]\ndependencies = [1]\n"), AUDIT, 2,
        "pyproject.toml: [tool.poetry.dependencies] must be a table, not an array"),
    "poetry dara-core version not a string": Case(
        pyproject("[tool.poetry.dependencies]\ndara-core = {version = 1}\n"), AUDIT[:-2], 2,
        "pyproject.toml: [tool.poetry.dependencies] dara-core must be a version string"),
    "pyproject not UTF-8": Case(pyproject(b'[project]\nname = "caf\xe9"\n'), AUDIT, 2,
                                "pyproject.toml: cannot read pyproject.toml: not valid UTF-8"),
    "pyproject nested too deeply": Case(pyproject("x = " + "[" * 5000 + "]" * 5000), AUDIT, 2,
                                        "pyproject.toml: cannot read pyproject.toml: nested"),
    "bad exclude pattern": Case(pyproject('[tool.dara-migrate]\nexclude = ["[z-a]"]\n'), AUDIT,
                                2, "pyproject.toml: [tool.dara-migrate] exclude: invalid "
                                "pattern '[z-a]'"),
    "bad extend-exclude pattern": Case(
        pyproject('[tool.dara-migrate]\nextend-exclude = ["x\\\\"]\n'), AUDIT, 2,
        "pyproject.toml: [tool.dara-migrate] extend-exclude: invalid pattern 'x\\\\'"),
    "bad --exclude pattern": Case(nothing, [*AUDIT, "--exclude", "!"], 2,
                                  "--exclude: invalid pattern '!'"),
    "per-file-ignores with an unclosed [": Case(
        pyproject("[tool.dara-migrate.per-file-ignores]\n'app/[pages.py' = ['DM101']\n"),
        AUDIT, 2, "pyproject.toml: [tool.dara-migrate] per-file-ignores: invalid pattern "
        "'app/[pages.py': '[' opens a character class that is never closed"),
    "per-file-ignores with an empty range": Case(
        pyproject("[tool.dara-migrate.per-file-ignores]\n'[z-a]*.py' = ['DM101']\n"),
        AUDIT, 2, "per-file-ignores: invalid pattern '[z-a]*.py': 'z-a' is an empty "
        "character range"),
    "per-file-ignores with alternatives": Case(
        pyproject("[tool.dara-migrate.per-file-ignores]\n'{tests,scripts}/*' = ['DM104']\n"),
        AUDIT, 2, "per-file-ignores: invalid pattern '{tests,scripts}/*': '{a,b}' "
        "alternatives are not glob syntax here"),
    "per-file-ignores above the root": Case(
        pyproject("[tool.dara-migrate.per-file-ignores]\n'/app/*.py' = ['DM104']\n"),
        AUDIT, 2, "per-file-ignores: invalid pattern '/app/*.py': patterns match paths "
        "relative to the project root"),
    "cache-dir above the project": Case(pyproject('[tool.dara-migrate]\ncache-dir = ".."\n'),
                                        AUDIT, 2, "cache-dir must be a folder inside the "
                                        "project, not '..'"),
    "cache-dir empty": Case(pyproject('[tool.dara-migrate]\ncache-dir = ""\n'), AUDIT, 2,
                            "pyproject.toml: [tool.dara-migrate] cache-dir must be a folder"),
    "cache-dir with a NUL": Case(pyproject('[tool.dara-migrate]\ncache-dir = "a\\u0000b"\n'),
                                CACHED_AUDIT, 2,
                                "pyproject.toml: [tool.dara-migrate] cache-dir must be a folder"),
    "jobs a boolean": Case(pyproject("[tool.dara-migrate]\njobs = true\n"), AUDIT, 2,
                           "pyproject.toml: [tool.dara-migrate] jobs must be a whole number"),
    "--jobs 1000": Case(nothing, [*AUDIT, "--jobs", "1000"], 1,
                        "note: --jobs 1000 is more than the"),
    "--jobs beyond any integer": Case(nothing, [*AUDIT, "--jobs", "9" * 40], 1,
                                      "is more than the"),
    "--jobs negative": Case(nothing, [*AUDIT, "--jobs", "-1"], 2, "--jobs"),
    "verify --timeout nan": Case(nothing, ["verify", "{root}", "--timeout", "nan"], 2,
                                 "--timeout must be a positive number of seconds, not nan"),
    "verify --timeout negative": Case(nothing, ["verify", "{root}", "--timeout", "-1"], 2,
                                      "--timeout must be a positive number"),
    "verify --output a device": Case(nothing, ["verify", "{root}", "--output", "/dev/null"],
                                     2, "/dev/null: cannot use for --output: it is not a "
                                     "regular file"),
    "verify --output a symlink": Case(output_symlink, ["verify", "{root}", "--output",
                                                       "{outside}/report.txt"], 2,
                                      "report.txt: cannot use for --output: it is a symlink"),
    "audit --output in a missing folder": Case(
        nothing, [*AUDIT, "--output", "{outside}/missing/report.txt"], 2,
        "report.txt: cannot use for --output: no folder"),
    "audit --output a folder": Case(nothing, [*AUDIT, "--output", "{outside}"], 2,
                                    "outside: cannot use for --output: it is a folder"),
    "apply --report in a missing folder": Case(
        nothing, [*APPLY, "--report", "{outside}/missing/applied.json"], 2,
        "applied.json: cannot use for --report: no folder"),
    "report --applied not an object": Case(
        applied_report([1, 2]), ["report", "{root}", "--applied", "{outside}/applied.json"], 2,
        "applied.json: cannot read the apply report: not a JSON object"),
    "report --applied change without a rule": Case(
        applied_report({"changes": [{"path": "a.py", "line": 1, "after": "x"}]}),
        ["report", "{root}", "--applied", "{outside}/applied.json"], 2,
        "applied.json: cannot read the apply report: changes[0].rule is missing"),
}


def on(root: Path, template: list[str]) -> list[str]:
    return [part.format(root=root) for part in template]


def run(args: list[str], in_subprocess: bool) -> tuple[int, str, str]:
    if in_subprocess:
        completed = subprocess.run(
            [sys.executable, "-m", "dara_migrate", *args], capture_output=True, text=True,
            timeout=60, check=False, env={**os.environ, "PYTHONPATH": str(REPO)})
        return completed.returncode, completed.stdout, completed.stderr
    outcome = CliRunner().invoke(app, args)
    if outcome.exception is not None and not isinstance(outcome.exception, SystemExit):
        raise outcome.exception
    return outcome.exit_code, outcome.stdout, outcome.stderr


@pytest.mark.parametrize("name", sorted(CASES))
def test_hostile_input(name: str, tmp_path: Path) -> None:
    case = CASES[name]
    root, outside = make_project(tmp_path)
    case.setup(root, outside)
    before = snapshot(tmp_path)
    kept = {path: (root / path).read_bytes() for path in case.unchanged}
    args = [a.format(root=root, outside=outside) for a in case.args]
    code, stdout, stderr = run(args, case.in_subprocess)
    assert code == case.code, stderr
    assert "Traceback" not in stdout + stderr
    lines = [line for line in (stdout + stderr).splitlines() if case.message in line]
    assert len(lines) == 1, stdout + stderr
    assert snapshot(tmp_path) == before
    assert {path: (root / path).read_bytes() for path in case.unchanged} == kept


def test_an_unreadable_folder_is_reported_not_skipped(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root, _ = make_project(tmp_path)
    write_tree(root, {"app/secret/hidden.py": PAGE})
    real_scandir = os.scandir

    def scandir(path: str | os.PathLike[str]) -> object:
        if Path(path).name == "secret":  # as root, chmod 000 would not stop the reading
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    code, stdout, _ = run(on(root, AUDIT), False)
    assert code == 1
    assert "app/secret:1:1: DM001 unreadable folder: Permission denied" in stdout


def test_an_unreadable_gitignore_is_reported_not_skipped(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root, _ = make_project(tmp_path)
    write_tree(root, {".gitignore": "scripts/\n", "scripts/tool.py": PAGE})
    real_open = open

    def refusing_open(file: Any, *args: Any, **kwargs: Any) -> Any:
        if str(file).endswith(".gitignore"):  # as root, chmod 000 would not stop the reading
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr("builtins.open", refusing_open)
    code, stdout, _ = run(on(root, AUDIT), False)
    assert code == 1
    assert (".gitignore:1:1: DM001 unreadable: Permission denied; its patterns are not applied"
            in stdout)


def test_a_symlink_inside_the_project_is_written_at_its_target_and_stays_a_link(
        tmp_path: Path) -> None:
    root, _ = make_project(tmp_path)
    (root / "app/page.py").rename(root / "app/real_page.py")
    (root / "app/page.py").symlink_to("real_page.py")
    code, _, stderr = run(on(root, APPLY), False)
    assert code == 0, stderr
    assert (root / "app/page.py").is_symlink()
    assert os.readlink(root / "app/page.py") == "real_page.py"
    text = (root / "app/real_page.py").read_text()
    # Both paths were planned; the file is written once, with its own module's uid.
    assert "uid='app.real_page:double'" in text and text.count("uid=") == 1


def test_a_read_only_file_is_rewritten_when_asked_and_stays_read_only(tmp_path: Path) -> None:
    root, _ = make_project(tmp_path)
    (root / "app/page.py").chmod(0o444)
    code, _, stderr = run([*on(root, APPLY), "--allow-read-only"], False)
    assert code == 0, stderr
    assert FIXED in (root / "app/page.py").read_text()
    assert (root / "app/page.py").stat().st_mode & 0o777 == 0o444


def test_a_replayed_cache_entry_is_not_trusted(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "project", {
        "app/__init__.py": "", "app/page.py": PAGE,
        "app/clean.py": PAGE.replace("[count])", "[count], uid='clean')")})
    args = ["audit", str(root), "--target", "1.x", "--format", "json"]
    first = json.loads(run(args, False)[1])
    entries = {}
    for entry in (root / ".dara-migrate-cache").rglob("*.pickle"):
        result = pickle.loads(entry.read_bytes()[32:])
        entries[result.path] = entry
    # A validly signed entry of the clean file, copied over the entry of the one with findings.
    entries["app/page.py"].write_bytes(entries["app/clean.py"].read_bytes())
    second = json.loads(run(args, False)[1])
    assert [f["path"] for f in second["findings"]] == [f["path"] for f in first["findings"]]
    assert any(f["path"] == "app/page.py" and f["rule"] == "DM101" for f in second["findings"])


def test_a_symlinked_cache_folder_is_never_written_through(tmp_path: Path) -> None:
    root, outside = make_project(tmp_path)
    (root / ".dara-migrate-cache").symlink_to(outside)
    before = snapshot(tmp_path)
    code, _, stderr = run(["audit", str(root), "--target", "1.x"], False)
    assert code == 1, stderr
    assert snapshot(tmp_path) == before
    assert "is a symlink, which the cache is never written through" in " ".join(stderr.split())


def test_a_symlinked_cache_gitignore_is_never_written_through(tmp_path: Path) -> None:
    root, outside = make_project(tmp_path)
    (root / ".dara-migrate-cache").mkdir()
    (root / ".dara-migrate-cache/.gitignore").symlink_to(outside / "planted")
    before = snapshot(tmp_path)
    assert run(["audit", str(root), "--target", "1.x"], False)[0] == 1
    assert snapshot(tmp_path) == before
    assert list((root / ".dara-migrate-cache").rglob("*.pickle"))


@pytest.mark.parametrize("name", ["café.py", "tab\there.py", 'quote"d.py', "with space.py"])
def test_odd_file_names_are_quoted_in_the_diff_so_git_applies_it(
        tmp_path: Path, name: str) -> None:
    root = write_tree(tmp_path / "project", {"app/__init__.py": "", f"app/{name}": PAGE})
    code, diff, stderr = run(on(root, DRY_RUN), False)
    assert code == 1, stderr
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    checked = subprocess.run(["git", "apply", "--check", "-v", "-"], cwd=root, input=diff,
                             capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stderr + diff
    subprocess.run(["git", "apply", "-"], cwd=root, input=diff, text=True, check=True)
    assert "uid=" in (root / "app" / name).read_text()


def test_apply_diff_prints_only_what_was_written(tmp_path: Path) -> None:
    root, outside = make_project(tmp_path)
    (root / "app/ext.py").symlink_to(outside / "shared.py")
    code, diff, stderr = run([*on(root, APPLY), "--diff"], False)
    assert code == 2 and "nothing written" in stderr and diff == ""
    (root / "app/ext.py").unlink()
    code, diff, stderr = run([*on(root, APPLY), "--diff"], False)
    assert code == 0, stderr
    assert diff.startswith("--- a/app/page.py\n+++ b/app/page.py\n") and FIXED in diff


def c_unquoted(text: str) -> bytes:
    """Read a path the way git reads a C-quoted diff header."""
    if not text.startswith('"'):
        return text.encode()
    body, out, index = text[1:-1], bytearray(), 0
    simple = {"a": 7, "b": 8, "t": 9, "n": 10, "v": 11, "f": 12, "r": 13, '"': 34, "\\": 92}
    while index < len(body):
        if body[index] != "\\":
            out += body[index].encode("ascii")
            index += 1
        elif body[index + 1] in simple:
            out.append(simple[body[index + 1]])
            index += 2
        else:
            out.append(int(body[index + 1:index + 4], 8))
            index += 4
    return bytes(out)


@given(name=st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="/\0"),
                    min_size=1, max_size=20))
def test_git_quoting_round_trips_and_is_plain_ascii(name: str) -> None:
    quoted = git_quoted(f"a/{name}")
    assert quoted.isascii() and "\t" not in quoted and "\n" not in quoted
    assert c_unquoted(quoted) == f"a/{name}".encode()


def test_a_gitignore_with_invalid_patterns_keeps_its_valid_ones(tmp_path: Path) -> None:
    root, _ = make_project(tmp_path)
    write_tree(root, {"scripts/tool.py": PAGE, ".gitignore": "!\n\\\n[z-a]\nscripts/\n"})
    code, stdout, stderr = run([*on(root, AUDIT), "--format", "json"], False)
    assert code == 1, stderr
    assert {f["path"] for f in json.loads(stdout)["findings"]} == {"app/page.py"}


def _small_file_limit() -> None:
    """In the child: any write past 100 bytes fails (EFBIG), as on a full disk."""
    resource.setrlimit(resource.RLIMIT_FSIZE, (100, 100))
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)


@pytest.mark.parametrize(("args", "what"), [
    (["audit", "{root}", "--no-cache", "--target", "1.x", "--output"], "the report"),
    (["report", "{root}", "--no-cache", "--target", "1.x", "--output"], "the guide"),
    ([*DRY_RUN, "--report"], "the apply report"),
])
def test_a_report_that_cannot_be_written_leaves_the_old_one_whole(
        tmp_path: Path, args: list[str], what: str) -> None:
    root, outside = make_project(tmp_path)
    report = outside / "report.txt"
    report.write_text("the previous report\n")
    completed = subprocess.run(
        [sys.executable, "-m", "dara_migrate", *on(root, args), str(report)],
        capture_output=True, text=True, timeout=60, check=False, preexec_fn=_small_file_limit,
        env={**os.environ, "PYTHONPATH": str(REPO)})
    assert completed.returncode == 2, completed.stderr
    assert f"report.txt: cannot write {what}: File too large" in completed.stderr
    assert "Traceback" not in completed.stderr
    assert report.read_text() == "the previous report\n"
    assert sorted(p.name for p in outside.iterdir()) == ["report.txt", "shared.py"]


def test_a_bug_of_the_analysis_in_one_file_costs_that_file_only(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = scan.extract_facts

    def failing_on_odd(tree: Any, text: str, path: str, *rest: Any) -> Any:
        if path.endswith("odd.py"):
            raise KeyError("unexpected node")
        return real(tree, text, path, *rest)

    monkeypatch.setattr(scan, "extract_facts", failing_on_odd)
    root = write_tree(tmp_path / "shop", {"app/odd.py": "x = 1\n", "app/main.py": (
        "from dara.core import ConfigurationBuilder, DerivedVariable, Variable\n\n"
        "config = ConfigurationBuilder()\n"
        "x = Variable(1)\n"
        "total = DerivedVariable(lambda v: v, variables=[x])\n")})
    result, _ = run_audit(root, jobs=1)
    errors = [(f.path, f.rule, f.message) for f in result.findings if f.rule == "DM001"]
    assert errors == [("app/odd.py", "DM001", "cannot analyse (a dara-migrate bug, please "
                       "report it): KeyError: 'unexpected node'")]
    assert ("app/main.py", "DM101") in {(f.path, f.rule) for f in result.findings}


def test_a_long_concatenation_is_cached_and_read_as_a_uid(tmp_path: Path) -> None:
    # A generated module's 600-term `'a' + 'a' + ...` was a value one level deeper per `+`:
    # too deep to pickle, it crashed every cached run. A uid written so is read whole.
    long_uid = " + ".join(["'part'"] * 40)
    root = write_tree(tmp_path, {"app/main.py": (
        "from dara.core import ConfigurationBuilder, DerivedVariable, Variable\n"
        "\n"
        "TABLE = " + " + ".join(["'a'"] * 600) + "\n"
        "count = Variable(1, uid='count')\n"
        f"first = DerivedVariable(lambda c: c, variables=[count], uid={long_uid})\n"
        f"second = DerivedVariable(lambda c: c, variables=[count], uid={long_uid})\n"
        "config = ConfigurationBuilder()\n"
    )})
    for _ in range(2):  # filling the cache, then reading it
        result = CliRunner().invoke(app, ["audit", str(root), "--target", "1.x"])
        assert result.exit_code == 1, result.output
        assert "internal error" not in result.stderr
        assert f"uid '{'part' * 40}' is also used" in result.stdout
    assert not signed.write_signed(tmp_path / "deep.pickle", functools.reduce(
        lambda inner, _: [inner], range(5000), []))


@pytest.mark.parametrize("output_format", ["text", "github"])
def test_a_terminal_escape_in_a_uid_is_shown_escaped(tmp_path: Path, output_format: str) -> None:
    # Messages quote the project's text (a uid): a terminal escape in it must not reach the
    # terminal or the Actions log as one.
    root = write_tree(tmp_path, {"app/main.py": (
        "from dara.core import ConfigurationBuilder, ServerVariable\n"
        "\n"
        "first = ServerVariable(uid='\\x1b[31mRED\\x1b[0m')\n"
        "second = ServerVariable(uid='\\x1b[31mRED\\x1b[0m')\n"
        "config = ConfigurationBuilder()\n"
    )})
    result = CliRunner().invoke(app, ["audit", str(root), "--no-cache", "--target", "1.x",
                                      "--format", output_format])
    assert "DM103" in result.stdout
    assert "\x1b" not in result.stdout
    assert "uid '\\x1b[31mRED\\x1b[0m' is also used" in result.stdout
