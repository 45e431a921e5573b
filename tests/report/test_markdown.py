"""The Markdown upgrade guide, checked against golden files.

Regenerate after an intended change with `DARA_MIGRATE_REGOLD=1 python -m pytest
tests/report/test_markdown.py` and review the diff.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dara_migrate.cli import app

HERE = Path(__file__).parent
FIXTURES = HERE.parent / "fixtures" / "apps"


def check_golden(name: str, text: str) -> None:
    golden = HERE / "golden" / name
    if os.environ.get("DARA_MIGRATE_REGOLD"):
        golden.write_text(text, encoding="utf-8")
    assert text == golden.read_text(encoding="utf-8")


@pytest.mark.parametrize("fixture", ["state_app", "runtime_defs_app"])
def test_upgrade_guide_matches_golden(fixture: str) -> None:
    result = CliRunner().invoke(app, ["report", str(FIXTURES / fixture), "--no-cache",
                                      "--target", "1.x"])
    assert result.exit_code == 0, result.stderr
    check_golden(f"{fixture}.md", result.stdout)


def test_audit_format_markdown_is_the_same_guide() -> None:
    root = str(FIXTURES / "state_app")
    report = CliRunner().invoke(app, ["report", root, "--no-cache", "--target", "1.x"])
    audit = CliRunner().invoke(app, ["audit", root, "--format", "markdown", "--no-cache",
                                     "--target", "1.x"])
    assert audit.stdout == report.stdout


def test_guide_with_what_apply_changed(tmp_path: Path) -> None:
    root = tmp_path / "app"
    shutil.copytree(FIXTURES / "identity_app", root)
    record = tmp_path / "applied.json"
    applied = CliRunner().invoke(app, ["apply", str(root), "--yes", "--no-cache",
                                       "--no-build-check", "--target", "1.x",
                                       "--report", str(record)])
    assert applied.exit_code == 1, applied.stderr
    result = CliRunner().invoke(app, ["report", str(root), "--no-cache", "--target", "1.x",
                                      "--applied", str(record)])
    assert result.exit_code == 0
    check_golden("identity_app-applied.md", result.stdout)
