"""audit -> apply -> verify with the real dara-core: every migrated fixture app builds, with and
without `--unsafe-fixes`, every app-owned id is stable across builds (or kept process-local on
purpose), and the share of changing ids `apply --yes` makes stable is measured over all apps.

Each app is built twice before `apply --yes`, twice after it and twice after `apply --yes
--unsafe-fixes` where that writes other sources, once for the whole module. `apply` runs with
`--no-build-check` here: the verify that follows is that proof;
tests/apply/test_build_proof.py covers the proof itself.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from dara_migrate.cli import app
from dara_migrate.verify.automation import automation_figure, combined

# Builds or serves real apps with dara-core: left out of `make test-fast`.
pytestmark = pytest.mark.slow

HERE = Path(__file__).parent
APPS = [*sorted(p for p in (HERE / "fixtures" / "apps").iterdir()
                if p.is_dir() and not p.name.startswith(".")),
        HERE.parent / "examples" / "sales_dashboard"]
TARGET_SHARE = 0.9
"""The issue's target: at least 90% of changing app-owned ids stable after `apply --yes`."""
MIGRATED_PATTERNS = re.compile(r"local-only\[[^\]]*(DM102|DM104|DM105)")


@dataclass
class Migration:
    before: tuple[int, dict[str, Any]]
    after: tuple[int, dict[str, Any]]
    after_unsafe: tuple[int, dict[str, Any]]
    sources: dict[str, str]
    """The app's Python files after `apply --yes`."""
    unsafe_sources: dict[str, str]


def copy_app(source: Path, folder: Path) -> Path:
    target = folder / source.name
    shutil.copytree(source, target, ignore=shutil.ignore_patterns(".dara-migrate-cache"))
    return target


def verify(root: Path, manifest: Path) -> tuple[int, dict[str, Any]]:
    result = CliRunner().invoke(app, ["verify", str(root), "--output", str(manifest),
                                      "--format", "json"])
    return result.exit_code, json.loads(result.stdout)


def apply(root: Path, *options: str) -> None:
    result = CliRunner().invoke(app, ["apply", str(root), "--yes", "--target", "1.x",
                                      "--no-cache", "--no-build-check", *options])
    assert result.exit_code in (0, 1), result.stderr


def sources(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): p.read_text() for p in sorted(root.rglob("*.py"))}


@pytest.fixture(scope="module")
def migrations(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Migration]:
    found: dict[str, Migration] = {}
    for source in APPS:
        folder = tmp_path_factory.mktemp(source.name)
        safe = copy_app(source, folder / "safe")
        unsafe = copy_app(source, folder / "unsafe")
        before = verify(safe, folder / "before.json")
        apply(safe)
        apply(unsafe, "--unsafe-fixes")
        after, safe_sources, unsafe_sources = verify(
            safe, folder / "after.json"), sources(safe), sources(unsafe)
        # Most apps have no unsafe fix: the same sources build the same, and each build
        # costs seconds.
        after_unsafe = after if unsafe_sources == safe_sources else verify(
            unsafe, folder / "after-unsafe.json")
        found[source.name] = Migration(before, after, after_unsafe, safe_sources,
                                       unsafe_sources)
    return found


@pytest.mark.parametrize("name", [p.name for p in APPS])
def test_migrated_app_builds_with_stable_ids(name: str, migrations: dict[str, Migration]
                                             ) -> None:
    for code, manifest in (migrations[name].after, migrations[name].after_unsafe):
        assert manifest["build"] == "ok", manifest
        assert manifest["unstable"] == {}, manifest["unstable"]
        assert code == 0
        stable = [d for d in manifest["definitions"] if d["owner"] == "app" and d["stable"]]
        assert stable, "a migrated app has stable app-owned definitions"


@pytest.mark.parametrize("name", ["keyed_app", "actions_app"])
def test_loops_factories_random_uids_and_action_helpers_need_no_local_only_marker(
        name: str, migrations: dict[str, Migration]) -> None:
    migration = migrations[name]
    for written in (migration.sources, migration.unsafe_sources):
        marked = [path for path, text in written.items() if MIGRATED_PATTERNS.search(text)]
        assert marked == []
        assert all("unsafe_runtime_mode" not in text for text in written.values())
    assert migration.before[0] == 1  # before the migration their ids changed


def test_apply_yes_makes_nine_in_ten_changing_ids_stable(migrations: dict[str, Migration]
                                                         ) -> None:
    figures = {name: automation_figure(m.before[1], m.after[1])
               for name, m in migrations.items()}
    total = combined(figures.values())
    assert total.changing_before >= 60, figures
    assert total.stable_share >= TARGET_SHARE, figures
    assert figures["keyed_app"].changing_before > 0
    assert figures["keyed_app"].changing_after == 0


def test_unmigrated_app_reports_random_ids_and_the_fingerprint_repeats(
        migrations: dict[str, Migration], tmp_path: Path) -> None:
    code, before = migrations["sales_dashboard"].before
    assert code == 1
    unstable = before["unstable"]
    assert unstable["derived_variable"] >= 4 and unstable["server_variable"] >= 2
    root = copy_app(HERE.parent / "examples" / "sales_dashboard", tmp_path)
    apply(root)
    first = migrations["sales_dashboard"].after[1]
    second = verify(root, tmp_path / "second.json")[1]
    assert first["fingerprint"] == second["fingerprint"]
    assert json.loads((tmp_path / "second.json").read_text())["fingerprint"] == (
        second["fingerprint"])
