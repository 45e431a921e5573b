"""Golden before/after trees for `apply`, per target and option set.

Regenerate after an intended change with `DARA_MIGRATE_REGOLD=1 python -m pytest
tests/apply/test_golden.py` and review the diff of tests/apply/golden/.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dara_migrate.cli import app

GOLDEN = Path(__file__).parent / "golden"
CASES = {
    "shop-1x": ("shop", ["--target", "1.x"]),
    "shop-v2": ("shop", ["--target", "v2"]),
    "shop-unsafe": ("shop", ["--target", "1.x", "--unsafe-fixes"]),
    "shop-no-local": ("shop", ["--target", "1.x", "--no-local"]),
    "resolved": ("resolved", ["--target", "1.x"]),
    "hoist": ("hoist", ["--target", "1.x", "--unsafe-fixes"]),
    "keyed": ("keyed", ["--target", "1.x"]),
    "ledger": ("ledger", ["--target", "1.x", "--unsafe-fixes"]),
    "fleet": ("fleet", ["--target", "1.x", "--unsafe-fixes"]),
    # A namespace package whose pages come from a registry, added in loops over its keys.
    "registry": ("registry", ["--target", "1.x"]),
    # Parameters given constants of one JSON type at every call site get that type.
    "kwargs": ("kwargs", ["--target", "1.x", "--unsafe-fixes"]),
    # A namespace package whose actions and components read what the browser holds: the
    # variables become inputs their call sites pass (imported where a page lacks them).
    "inputs": ("inputs", ["--target", "1.x", "--unsafe-fixes"]),
    # Double-quoted strings; state.py has none, so its folder's files decide.
    "quotes-1x": ("quotes", ["--target", "1.x"]),
    "quotes-v2": ("quotes", ["--target", "v2", "--unsafe-fixes", "--set-mode", "warn"]),
}


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()}


def run_apply(root: Path, options: list[str]) -> tuple[int, str]:
    # The codemods' output is what is compared here; tests/apply/test_build_proof.py builds.
    result = CliRunner().invoke(app, ["apply", str(root), "--yes", "--no-cache",
                                      "--no-build-check", *options])
    return result.exit_code, result.stderr


@pytest.mark.parametrize("case", sorted(CASES))
def test_apply_matches_golden(case: str, tmp_path: Path) -> None:
    source, options = CASES[case]
    work = tmp_path / source
    shutil.copytree(GOLDEN / source / "before", work)
    code, stderr = run_apply(work, options)
    expected = GOLDEN / source / f"after-{case}"
    if os.environ.get("DARA_MIGRATE_REGOLD"):
        shutil.rmtree(expected, ignore_errors=True)
        shutil.copytree(work, expected)
    assert tree(work) == tree(expected), stderr
    assert code == 1 if "--no-local" in options else code in (0, 1)


@pytest.mark.parametrize("case", sorted(CASES))
def test_second_apply_changes_nothing(case: str, tmp_path: Path) -> None:
    source, options = CASES[case]
    work = tmp_path / source
    shutil.copytree(GOLDEN / source / f"after-{case}", work)
    before = tree(work)
    run_apply(work, options)
    assert tree(work) == before
    result = CliRunner().invoke(app, ["apply", str(work), "--dry-run", "--no-cache",
                                      "--no-build-check", *options])
    assert result.stdout == ""
