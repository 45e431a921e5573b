"""The command line's start: option values converted as typer would, without loading what an
audit does not use (pydantic, LibCST)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer.main
from hypothesis import given, settings
from hypothesis import strategies as st
from typer._click import Context
from typer._click.exceptions import BadParameter
from typer._coercion import build_runtime_param

from dara_migrate.cli.commands import app
from tests.helpers import examples

FIXTURES = Path(__file__).parent / "fixtures"
LOADED_HEAVY = """
import json
import sys
from dara_migrate.cli import _run
code = _run(sys.argv[1:])
heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("pydantic", "libcst"))
print(json.dumps([code, heavy]), file=sys.stderr)
"""


def _heavy_modules(argv: list[str], cwd: Path) -> tuple[int, list[str]]:
    done = subprocess.run([sys.executable, "-c", LOADED_HEAVY, *argv], cwd=cwd,
                          capture_output=True, text=True, check=False,
                          env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])})
    code, heavy = json.loads(done.stderr.strip().splitlines()[-1])
    return code, heavy


def test_audit_and_reports_load_neither_pydantic_nor_libcst(tmp_path: Path) -> None:
    project = shutil.copytree(FIXTURES / "apps" / "state_app", tmp_path / "state_app")
    runs = [(["audit", str(project), "--format", "json", "--no-cache"], 1),
            (["audit", str(project), "--jobs", "1", "--select", "DM1", "--mode", "warn",
              "--output", str(tmp_path / "report.txt")], 0),
            (["audit", str(project)], 1),  # stores its report
            (["audit", str(project)], 1),  # replays it
            (["report", str(project), "--no-cache"], 0),
            (["rules", "--format", "json"], 0),
            (["explain", "DM101"], 0)]
    for argv, expected in runs:
        code, heavy = _heavy_modules(argv, tmp_path)
        assert (code, heavy) == (expected, []), argv
    assert " DM107 " in (tmp_path / "report.txt").read_text()


@pytest.fixture(scope="module")
def places(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    root = tmp_path_factory.mktemp("values")
    (root / "folder").mkdir()
    (root / "file.py").write_text("x = 1\n")
    return {"folder": str(root / "folder"), "file": str(root / "file.py"),
            "folder/": f"{root / 'folder'}/", "file/": f"{root / 'file.py'}/",
            "missing": str(root / "missing"), "dotted": f"{root}/./folder//",
            "null": f"{root}/a\0b"}


SAMPLES = ["", " ", "0", "1", "2", "007", " 1", "1 ", "+1", "-1", "1_0", "1.5", "2.0", "1e3",
           "inf", "nan", "-inf", "99999999999999999999999", "text", "json", "JSON", "Json",
           "warn", "enforce", "sarif", "DM1", "v2", "\udcff", "caf\u00e9", "."]
"""Values that sit on the edges of what each conversion accepts."""


def _command_parameters() -> list[tuple[Any, Any]]:
    group = typer.main.get_command(app)
    found = []
    for name in sorted(group.commands):  # type: ignore[attr-defined]
        ctx = Context(group)
        command = group.get_command(ctx, name)  # type: ignore[attr-defined]
        found += [(Context(command, parent=ctx), p) for p in command.get_params(ctx)]
    return found


PARAMETERS = _command_parameters()


def _outcome(convert: Any, value: Any, param: Any, ctx: Context) -> tuple[str, Any]:
    try:
        converted = convert(value, param=param, ctx=ctx)
    except BadParameter as error:
        return "error", error.format_message()
    except ValueError as error:  # typer lets some through (a NUL in a path): so must we
        return "raised", str(error)
    return type(converted).__name__, repr(converted)  # repr: nan is not equal to itself


def _same_as_typer(value: Any, places: dict[str, str]) -> None:
    if isinstance(value, str):
        value = places.get(value, value)
    for ctx, param in PARAMETERS:
        given = (value,) if (param.multiple or param.nargs == -1) and isinstance(value, str) \
            else value
        plain = param.get_runtime_param()
        typer_own = build_runtime_param(param.type_descriptor)
        assert type(plain) is not type(typer_own), param.name  # the plain conversion is in use
        assert (_outcome(plain.coerce, given, param, ctx)
                == _outcome(typer_own.coerce, given, param, ctx)), (param.name, given)


@pytest.mark.parametrize("value", [*SAMPLES, "folder", "file", "folder/", "file/", "missing",
                                   "dotted", "null", None, True, False, 3, 2.5, ("1", "2"),
                                   ("folder", "file/"), ()])
def test_every_parameter_converts_edge_values_exactly_as_typer(
        value: Any, places: dict[str, str]) -> None:
    _same_as_typer(value, places)


@given(st.text(max_size=12) | st.from_regex(r"-?[0-9]{1,20}(\.[0-9]{0,3})?", fullmatch=True))
@settings(max_examples=examples(200), deadline=None)
def test_every_parameter_converts_any_text_exactly_as_typer(text: str) -> None:
    _same_as_typer(text, {})
