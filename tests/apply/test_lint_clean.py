"""Migrated code passes the linters the original passed: `ruff check --select E,W,I,F401` with
the app's own settings reports nothing on it that it did not report on the original."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dara_migrate.cli import app

TESTS = Path(__file__).parent.parent
APPS = sorted(p for p in (TESTS / "fixtures" / "apps").iterdir() if p.is_dir())
EXAMPLE = TESTS.parent / "examples" / "sales_dashboard"
GOLDEN = sorted(p for p in (Path(__file__).parent / "golden").iterdir() if p.is_dir())


def findings(root: Path) -> Counter[tuple[str, str]]:
    """(file, code) counts: line numbers move with the edits, the findings must not."""
    completed = subprocess.run(
        # Preview: ruff checks blank lines around definitions (E30x) only there.
        [sys.executable, "-m", "ruff", "check", "--no-cache", "--preview", "--select",
         "E,W,I,F401", "--output-format", "concise", "."],
        cwd=root, capture_output=True, text=True, check=False)
    found: Counter[tuple[str, str]] = Counter()
    for line in completed.stdout.splitlines():
        parts = line.split(":")
        if len(parts) >= 4 and parts[0].endswith(".py"):
            found[(parts[0], parts[3].split()[0])] += 1
    return found


@pytest.mark.parametrize("source", [*APPS, EXAMPLE], ids=lambda p: p.name)
def test_migrated_app_has_no_new_lint_findings(source: Path, tmp_path: Path) -> None:
    # v2 adds the runtime imports, --unsafe-fixes hoists definitions: every kind of edit.
    root = tmp_path / source.name
    shutil.copytree(source, root)
    before = findings(root)
    result = CliRunner().invoke(app, ["apply", str(root), "--yes", "--no-cache",
                                      "--no-build-check", "--target", "v2", "--unsafe-fixes",
                                      "--allow-dirty"])
    assert result.exit_code in (0, 1), result.output
    assert "error:" not in result.stderr
    assert findings(root) - before == Counter()


@pytest.mark.parametrize("case", GOLDEN, ids=lambda p: p.name)
def test_golden_results_have_no_new_lint_findings(case: Path, tmp_path: Path) -> None:
    # Copied out of this repository, whose own ruff settings would apply otherwise.
    shutil.copytree(case, tmp_path / case.name)
    before = findings(tmp_path / case.name / "before")
    for after in sorted((tmp_path / case.name).glob("after-*")):
        assert findings(after) - before == Counter(), after.name
