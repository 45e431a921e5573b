"""The audit JSON: the documented schema, one finding per line."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from dara_migrate.cli import app

FIXTURES = Path(__file__).parent.parent / "fixtures" / "apps"


def test_every_finding_app_and_error_is_one_line_of_valid_json() -> None:
    result = CliRunner().invoke(app, ["audit", str(FIXTURES / "state_app"), "--format", "json",
                                      "--no-cache"])
    text = result.stdout
    data = json.loads(text)
    assert data["findings"] and data["apps"]
    lines = text.splitlines()
    assert [json.loads(line.strip().rstrip(",")) for line in lines
            if line.startswith('    {"rule"')] == data["findings"]
    assert [json.loads(line.strip().rstrip(",")) for line in lines
            if line.startswith('    {"name"')] == data["apps"]
    summary = lines.index('  "summary": {')
    assert lines[summary + 1] == f'    "files": {data["summary"]["files"]},'
    assert text.endswith("}\n")


def test_empty_lists_and_nested_objects_keep_their_indented_form(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("x = 1\n")
    result = CliRunner().invoke(app, ["audit", str(tmp_path), "--format", "json", "--no-cache"])
    assert '  "findings": [],\n' in result.stdout
    assert '  "summary": {\n    "files": 1,\n' in result.stdout
    assert json.loads(result.stdout)["summary"]["by_rule"] == {}
