"""Bad input is reported as DM001 with its reason; every other file is still audited."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dara_migrate.cli import app
from tests.helpers import run_audit, write_tree

GOOD = (
    "from dara.core import DerivedVariable, Variable\n\n"
    "count = Variable(0)\n"
    "double = DerivedVariable(lambda c: c * 2, variables=[count])\n"
)


def broken_tree(root: Path) -> Path:
    write_tree(root, {
        "app/__init__.py": "",
        "app/good.py": GOOD,
        "app/syntax.py": "def broken(:\n    pass\n",
        "app/python2.py": "print 'hello'\n",
        "app/comments.py": "# only a comment\n",
    })
    (root / "app/latin.py").write_bytes("name = 'café'\n".encode("latin-1"))
    (root / "app/binary.py").write_bytes(b"\x00\x01\x02binary")
    (root / "app/huge.py").write_bytes(b"x = 1\n" * 800_000)
    os.symlink(root / "app/missing-target.py", root / "app/dangling.py")
    return root


def test_each_broken_file_is_reported_with_its_reason(tmp_path: Path) -> None:
    result, _ = run_audit(broken_tree(tmp_path))
    reasons = {f.path: f.message for f in result.findings if f.rule == "DM001"}
    assert set(reasons) == {
        "app/syntax.py", "app/python2.py", "app/latin.py", "app/binary.py", "app/huge.py",
        "app/dangling.py",
    }
    assert "syntax error" in reasons["app/syntax.py"]
    assert "Python 2" in reasons["app/python2.py"]
    assert "undecodable bytes for utf-8 at line 1" in reasons["app/latin.py"]
    assert "binary" in reasons["app/binary.py"]
    assert "too large" in reasons["app/huge.py"]
    assert "unreadable" in reasons["app/dangling.py"]
    syntax = next(f for f in result.findings if f.path == "app/syntax.py")
    assert (syntax.line, syntax.column) == (1, 12)


def test_a_syntax_error_says_which_python_read_the_file(tmp_path: Path) -> None:
    result, _ = run_audit(write_tree(tmp_path, {
        "app/report.py": "row = {'total': 1}\nlabel = f'{row['total']}'\n"}))
    errors = [f.message for f in result.findings if f.rule == "DM001"]
    if sys.version_info >= (3, 12):  # nested quotes parse from 3.12 on
        assert errors == []
        return
    (message,) = errors
    version = f"{sys.version_info[0]}.{sys.version_info[1]}"
    assert message.startswith(f"syntax error (read as Python {version}): f-string")
    assert message.endswith("(f-strings with nested quotes need Python 3.12: run dara-migrate "
                            "with the project's Python)")


@pytest.mark.parametrize(("source", "needs", "what"), [
    ("type Rows = list[dict[str, int]]\n", (3, 12), "type parameters and `type` statements"),
    ("def first[T](items: list[T]) -> T:\n    return items[0]\n", (3, 12),
     "type parameters and `type` statements"),
    ("class Box[T]:\n    item: T\n", (3, 12), "type parameters and `type` statements"),
    ("try:\n    pass\nexcept ValueError, KeyError:\n    pass\n", (3, 14),
     "`except` of several types without brackets"),
])
def test_syntax_of_a_newer_python_names_the_python_it_needs(
        tmp_path: Path, source: str, needs: tuple[int, int], what: str) -> None:
    result, _ = run_audit(write_tree(tmp_path, {"app/models.py": source}))
    errors = [f.message for f in result.findings if f.rule == "DM001"]
    if sys.version_info >= needs:
        assert errors == []
        return
    (message,) = errors
    assert message.endswith(f"({what} need Python {needs[0]}.{needs[1]}: run dara-migrate "
                            "with the project's Python)")


def test_a_plain_syntax_error_gets_no_python_hint(tmp_path: Path) -> None:
    result, _ = run_audit(write_tree(tmp_path, {"app/broken.py": "rows = (\ntype = 1\n"}))
    (message,) = [f.message for f in result.findings if f.rule == "DM001"]
    assert "need Python" not in message


def test_good_files_are_still_audited_next_to_broken_ones(tmp_path: Path) -> None:
    result, _ = run_audit(broken_tree(tmp_path))
    assert [(f.path, f.line) for f in result.findings if f.rule == "DM101"] == [
        ("app/good.py", 4)]


def test_empty_and_comment_only_files_are_valid_python(tmp_path: Path) -> None:
    result, _ = run_audit(broken_tree(tmp_path))
    paths = {f.path for f in result.findings}
    assert "app/__init__.py" not in paths
    assert "app/comments.py" not in paths


def test_cli_exit_code_and_json_for_broken_tree(tmp_path: Path) -> None:
    root = broken_tree(tmp_path)
    outcome = CliRunner().invoke(
        app, ["audit", str(root), "--format", "json", "--no-cache", "--target", "1.x"])
    assert outcome.exit_code == 1, outcome.output
    data = json.loads(outcome.stdout)
    assert data["summary"]["by_rule"]["DM001"] == 6
    assert data["errors"] == []


def test_a_latin1_file_with_a_coding_cookie_is_read(tmp_path: Path) -> None:
    write_tree(tmp_path, {"app/__init__.py": ""})
    (tmp_path / "app/cookie.py").write_bytes(
        b"# -*- coding: latin-1 -*-\n" + GOOD.replace("0)", "'café')").encode("latin-1"))
    result, _ = run_audit(tmp_path)
    assert [f.rule for f in result.findings] == ["DM101"]
