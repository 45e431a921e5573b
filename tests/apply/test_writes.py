"""Nothing is lost: encodings, BOM, CRLF, tabs, final newlines, modes; diffs `git apply`."""

from __future__ import annotations

import codecs
import os
import subprocess
from collections.abc import Sequence
from pathlib import Path

import pytest
from typer.testing import CliRunner

import dara_migrate.apply as apply_module
from dara_migrate.cli import app
from dara_migrate.edits import Edit, EditStyle
from tests.helpers import write_tree

DV_MODULE = (
    "from dara.core import DerivedVariable, Variable\n"
    "\n"
    "count = Variable(0)\n"
    "double = DerivedVariable(lambda c: c * 2, variables=[count])  # twice as much\n"
)
FIXED_LINES = (
    # Too long for 88 columns with the uid: split one argument per line.
    "double = DerivedVariable(",
    "    lambda c: c * 2,",
    "    variables=[count],",
    "    uid='app.page:double',",
    ")  # twice as much",
)


def fixed(newline: str = "\n") -> str:
    return newline.join(FIXED_LINES)



def run(*args: str) -> tuple[int, bytes]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout_bytes


def project(tmp_path: Path, data: bytes) -> Path:
    write_tree(tmp_path, {"app/__init__.py": ""})
    (tmp_path / "app/page.py").write_bytes(data)
    return tmp_path / "app/page.py"


def apply(root: Path) -> int:
    return run("apply", str(root), "--yes", "--no-cache", "--no-build-check", "--target", "1.x")[0]


def test_crlf_line_endings_are_kept(tmp_path: Path) -> None:
    page = project(tmp_path, DV_MODULE.replace("\n", "\r\n").encode())
    assert apply(tmp_path) == 0
    data = page.read_bytes()
    assert data.count(b"\r\n") == 8 and b"\n" not in data.replace(b"\r\n", b"")
    assert fixed("\r\n").encode() + b"\r\n" in data


def test_bom_is_kept(tmp_path: Path) -> None:
    page = project(tmp_path, codecs.BOM_UTF8 + DV_MODULE.encode())
    assert apply(tmp_path) == 0
    assert page.read_bytes().startswith(codecs.BOM_UTF8 + b"from dara.core")
    assert page.read_bytes().count(codecs.BOM_UTF8) == 1


def test_latin1_with_coding_cookie_is_written_back_as_latin1(tmp_path: Path) -> None:
    source = "# -*- coding: latin-1 -*-\n" + DV_MODULE.replace("Variable(0)", "Variable('café')")
    page = project(tmp_path, source.encode("latin-1"))
    assert apply(tmp_path) == 0
    data = page.read_bytes()
    assert "Variable('café')".encode("latin-1") in data
    assert fixed().encode("latin-1") in data


def test_no_final_newline_and_mode_are_kept(tmp_path: Path) -> None:
    page = project(tmp_path, DV_MODULE.rstrip("\n").encode())
    os.chmod(page, 0o751)
    assert apply(tmp_path) == 0
    assert page.read_bytes().endswith(fixed().encode())
    assert page.stat().st_mode & 0o777 == 0o751


def test_tabs_and_odd_formatting_next_to_edits(tmp_path: Path) -> None:
    source = (
        "from dara.core import DerivedVariable, Variable, py_component\n"
        "\n"
        "def build():\n"
        "\tcount = Variable(0)\n"
        "\ttotal = DerivedVariable(   # odd spacing, kept\n"
        "\t\tlambda c: c,\n"
        "\t\tvariables = [count] ,\n"
        "\t)\n"
        "\treturn total\n"
        "\n"
        "build()\n"
        "\n"
        "@py_component\n"
        "def badge(items):\n"
        "\tif items:\n"
        "\t\tsummary = DerivedVariable(lambda i: i, variables=[items])\n"
        "\t\treturn summary\n"
    )
    page = project(tmp_path, source.encode())
    assert apply(tmp_path) == 1
    text = page.read_text()
    assert (
        "\ttotal = DerivedVariable(   # odd spacing, kept\n"
        "\t\tlambda c: c,\n"
        "\t\tvariables = [count] ,\n"
        "\t\tuid='app.page:build.total',\n"
        "\t)\n"
    ) in text
    assert (
        "\tif items:\n"
        "\t\t# dara-migrate: local-only[DM301] automatic migration not possible\n"
        "\t\tsummary = DerivedVariable(lambda i: i, variables=[items])\n"
    ) in text


def test_untouched_files_are_byte_identical(tmp_path: Path) -> None:
    project(tmp_path, DV_MODULE.encode())
    other = tmp_path / "app/other.py"
    other.write_bytes(b"x  =  1 ;   y=2\r\n# odd\n")
    before = other.stat().st_mtime_ns
    assert apply(tmp_path) == 0
    assert other.read_bytes() == b"x  =  1 ;   y=2\r\n# odd\n"
    assert other.stat().st_mtime_ns == before


def test_dry_run_writes_nothing_and_the_diff_applies_with_git(tmp_path: Path) -> None:
    source = "# -*- coding: latin-1 -*-\n" + DV_MODULE.replace("Variable(0)", "Variable('é')")
    page = project(tmp_path, source.replace("\n", "\r\n").rstrip("\r\n").encode("latin-1"))
    before = page.read_bytes()
    code, diff = run("apply", str(tmp_path), "--dry-run", "--no-cache", "--no-build-check",
                     "--target", "1.x")
    assert code == 1
    assert page.read_bytes() == before
    assert diff.startswith(b"--- a/app/page.py\n+++ b/app/page.py\n")
    assert b"\\ No newline at end of file" in diff
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    (tmp_path / "fix.patch").write_bytes(diff)
    subprocess.run(["git", "apply", "--check", "fix.patch"], cwd=tmp_path, check=True)
    subprocess.run(["git", "apply", "fix.patch"], cwd=tmp_path, check=True)
    assert fixed("\r\n").encode("latin-1") in page.read_bytes()
    assert run("apply", str(tmp_path), "--dry-run", "--no-cache", "--no-build-check",
               "--target", "1.x") == (0, b"")


def test_dirty_files_are_refused_inside_git(tmp_path: Path) -> None:
    page = project(tmp_path, DV_MODULE.encode())
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    subprocess.run(["git", "add", "."], cwd=tmp_path, check=True)
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "x"],
                   cwd=tmp_path, check=True)
    page.write_text(DV_MODULE + "\n# local edit\n")
    result = CliRunner().invoke(app, ["apply", str(tmp_path), "--yes", "--no-cache",
                                      "--no-build-check"])
    assert result.exit_code == 2
    assert "app/page.py" in result.stderr and "--allow-dirty" in result.stderr
    assert "uid=" not in page.read_text()
    assert run("apply", str(tmp_path), "--yes", "--no-cache", "--no-build-check",
               "--allow-dirty")[0] == 0
    assert "uid='app.page:double'" in page.read_text()


def test_an_edit_that_breaks_the_syntax_is_undone_and_reported(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    page = project(tmp_path, DV_MODULE.encode())
    other = tmp_path / "app/other.py"
    other.write_text(DV_MODULE.replace("double", "triple"))
    real = apply_module.apply_edits

    def broken_for_page(text: str, edits: Sequence[Edit], style: EditStyle) -> str:
        out = real(text, edits, style)
        return out + "def (\n" if "double" in text else out

    monkeypatch.setattr(apply_module, "apply_edits", broken_for_page)
    result = CliRunner().invoke(app, ["apply", str(tmp_path), "--yes", "--no-cache",
                                      "--no-build-check", "--target", "1.x"])
    assert result.exit_code == 2
    assert "app/page.py: internal error: the rewritten file does not parse" in result.stderr
    assert page.read_text() == DV_MODULE
    assert "uid='app.other:triple'" in other.read_text()
