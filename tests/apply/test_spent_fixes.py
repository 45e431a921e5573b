"""`apply` lets go of what made fixes no longer need before it reads the files again: their
edits and their findings' fix plans hold facts of the files as they were. What each fix fixed,
how and where stays in the result, and the changes keep the files' bytes, not their texts."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import dara_migrate.apply as apply_module
from dara_migrate.apply import ApplyOptions, ApplyResult, fix_key, run_apply
from dara_migrate.autofix import PlannedFix
from dara_migrate.settings import load_settings
from tests.helpers import write_tree

KEYED = Path(__file__).parent / "golden" / "keyed" / "before"

LATIN_PAGE = (
    "# -*- coding: latin-1 -*-\n"
    "from dara.core import DerivedVariable, Variable\n"
    "\n"
    "name = Variable('café')\n"
    "greeting = DerivedVariable(lambda n: 'olá ' + n, variables=[name])\n"
)


@pytest.fixture(scope="module")
def keyed(tmp_path_factory: pytest.TempPathFactory) -> tuple[ApplyResult, list[PlannedFix]]:
    """The keyed app's migration, and every fix as planned (a copy of each, taken before
    `apply` spends them)."""
    root = tmp_path_factory.mktemp("keyed") / "app"
    shutil.copytree(KEYED, root)
    planned: list[PlannedFix] = []
    spend = apply_module._spend

    def record(fixes: list[PlannedFix]) -> None:
        planned.extend(PlannedFix(f.finding, list(f.edits), f.description, f.ids, f.keyed,
                                  {path: list(edits) for path, edits in f.elsewhere.items()})
                       for f in fixes)
        spend(fixes)

    settings = load_settings(root, {"use_cache": False, "target": "1.x", "jobs": 1})
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(apply_module, "_spend", record)
        result = run_apply(settings, [root], ApplyOptions())
    return result, planned


def test_applied_fixes_keep_no_edits_nor_fix_plans(
        keyed: tuple[ApplyResult, list[PlannedFix]]) -> None:
    result, planned = keyed
    assert result.applied and all(fix.edits for fix in planned)
    for fix in result.applied:
        assert fix.edits == [], fix.description
        assert all(edits == [] for edits in fix.elsewhere.values()), fix.description
        assert fix.finding.autofix is None, fix.description


def test_applied_fixes_still_say_what_they_fixed_how_and_where(
        keyed: tuple[ApplyResult, list[PlannedFix]]) -> None:
    result, planned = keyed
    by_key = {fix_key(fix): fix for fix in planned}
    assert len(by_key) == len(planned)
    for fix in result.applied:
        before = by_key[fix_key(fix)]
        assert (fix.finding.rule, fix.finding.path, fix.finding.line, fix.finding.fingerprint,
                fix.ids, fix.keyed) == (before.finding.rule, before.finding.path,
                                        before.finding.line, before.finding.fingerprint,
                                        before.ids, before.keyed)
        assert list(fix.elsewhere) == list(before.elsewhere)
    # The keyed uids pass a prefix from the call sites: those files stay named with the fix.
    elsewhere = {path for fix in result.applied for path in fix.elsewhere}
    assert "app/main.py" in elsewhere
    assert {c.path for c in result.changes} >= elsewhere


def test_a_change_keeps_the_encoding_it_is_shown_in(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "shop", {"app/__init__.py": ""})
    (root / "app" / "page.py").write_bytes(LATIN_PAGE.encode("latin-1"))
    settings = load_settings(root, {"use_cache": False, "target": "1.x", "jobs": 1})
    result = run_apply(settings, [root], ApplyOptions(local=False))
    [change] = result.changes
    assert change.path == "app/page.py"
    assert change.before == LATIN_PAGE.encode("latin-1")
    after = change.after.decode(change.encoding)
    assert "uid='app.page:greeting'" in after and "'olá ' + n" in after
