"""Target profiles live in target.py alone: rules declare what their fix needs of Dara, and a
new Dara release is a new entry in `PROFILES`."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from dara_migrate import target
from dara_migrate.report.markdown import render_markdown
from dara_migrate.rules import ALL_RULES
from dara_migrate.target import PROFILES, RUNTIME, Profile
from tests.helpers import run_audit, write_tree

PACKAGE = Path(target.__file__).parent
SOURCES = [PACKAGE, PACKAGE.parent / "codemods"]

APP = {
    "shop/__init__.py": "",
    "shop/main.py": "from dara.core import ConfigurationBuilder, ServerVariable\n\n"
    "config = ConfigurationBuilder()\n"
    "config.task_module = 'shop.tasks'\n"
    "orders = ServerVariable(default=[], uid='shop.main:orders')\n",
    "shop/tasks.py": "def total(rows: list) -> int:\n    return sum(rows)\n",
}


def test_only_target_py_spells_a_profile() -> None:
    spellings = set(PROFILES)
    found = []
    for path in sorted(p for folder in SOURCES for p in folder.rglob("*.py")):
        if path == Path(target.__file__):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and node.value in spellings:
                found.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}: "
                             f"{node.value!r}")
    assert found == []


def test_rules_that_need_the_runtime_are_pending_without_it(tmp_path: Path) -> None:
    root = write_tree(tmp_path, APP)
    needing = {rule.code for rule in ALL_RULES if RUNTIME in rule.fix_needs}
    assert needing == {"DM201", "DM601"}
    statuses = {}
    for profile in ("1.x", "v2"):
        result, _ = run_audit(root, target=profile)
        statuses[profile] = {(f.rule, f.status) for f in result.findings if f.rule in needing}
    assert statuses == {"1.x": {("DM201", "pending"), ("DM601", "pending")},
                        "v2": {("DM201", "open"), ("DM601", "open")}}


def test_the_runtime_declaration_is_named_for_later_where_the_target_lacks_it(
        tmp_path: Path) -> None:
    root = write_tree(tmp_path, APP)
    endings = {}
    for profile in ("1.x", "v2"):
        result, _ = run_audit(root, target=profile)
        [declare] = [f for f in result.findings if f.rule == "DM201"]
        endings[profile] = declare.message.split("; ", 1)[1]
    assert endings == {
        "1.x": "declare it with config.configure_runtime(...) once the app's Dara has it "
               "(its target 1.x does not)",
        "v2": "declare it with config.configure_runtime(...)"}


def test_a_new_release_is_one_entry_in_profiles(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(PROFILES, "3.x", Profile(
        "3.x", frozenset({RUNTIME}), "a later Dara"))  # type: ignore[arg-type]
    root = write_tree(tmp_path, APP)
    result, _ = run_audit(root, target="3.x")
    assert [(a.name, a.target, a.verdict) for a in result.apps] == [
        ("config", "3.x", "fixable")]
    assert {f.status for f in result.findings if f.rule in ("DM201", "DM601")} == {"open"}
    assert "DARA_VALKEY_URL" in render_markdown(result)
