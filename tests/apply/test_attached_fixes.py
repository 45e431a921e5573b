"""Fixes are attached where findings are found: every finding `apply` can fix carries its
rule's `Fix`, and that fix's edits alone make the finding go away."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import pytest

from dara_migrate.apply import ApplyOptions, run_apply
from dara_migrate.edits import apply_edits, edit_style, quote_style
from dara_migrate.engine import Project, load_project
from dara_migrate.models import Finding
from dara_migrate.planner import FixOptions, plan_fix
from dara_migrate.rules import ALL_RULES
from dara_migrate.rules.identity import RewrittenByDM105
from dara_migrate.settings import Settings, load_settings
from tests.helpers import ONE_NAME_TWO_DEFINITIONS, write_tree

FIXTURE_APPS = Path(__file__).parents[1] / "fixtures" / "apps"
THROUGH_THE_RUNTIME = "DM601"
"""Its fix is DM201's runtime declaration: the finding itself carries none."""

EXAMPLES = [
    pytest.param(example.files, id=f"{rule.code}-invalid-{n}")
    for rule in ALL_RULES for n, example in enumerate(rule.INVALID)
]
APPS = [pytest.param(app, id=app.name) for app in sorted(FIXTURE_APPS.iterdir()) if app.is_dir()]


def _open_counts(project: Project) -> Counter[tuple[str, str]]:
    return Counter((f.rule, f.path) for f in project.findings if f.status == "open")


def _fixable(project: Project) -> list[Finding]:
    return [f for f in project.findings if f.status == "open" and f.fix in ("safe", "unsafe")]


def _check_each_fix(settings: Settings, root: Path, every_fix_applies: bool) -> int:
    """Plan each attached fix on its own, apply its edits in memory, audit again: the finding
    is gone (one fewer open finding of its rule in its file). Returns how many were checked."""
    project = load_project(settings, [root])
    before = _open_counts(project)
    modules = [facts.module for facts in project.index.files.values()]
    checked = 0
    fixable = _fixable(project)
    for finding in fixable:
        if finding.rule == THROUGH_THE_RUNTIME:
            assert finding.autofix is None
            continue
        assert finding.autofix is not None, f"{finding.rule} {finding.path}:{finding.line}"
        assert finding.autofix.applicability == finding.fix
        assert finding.suggested_uid == finding.autofix.proposed_id
        fixing = finding
        if isinstance(finding.autofix, RewrittenByDM105):
            # No edit of its own: DM105's fix of the same call removes it too.
            assert finding.autofix.plan(finding, None) is None  # type: ignore[arg-type]
            [fixing] = [f for f in fixable if f.rule == "DM105" and (f.path, f.line, f.column)
                        == (finding.path, finding.line, finding.column)]
            assert fixing.fix == finding.fix
        text = (root / finding.path).read_text(encoding="utf-8")
        fix = plan_fix(project, project.index.files[finding.path], fixing, quote_style(text),
                       FixOptions(unsafe=True), text)
        if fix is None:
            assert not every_fix_applies, f"{finding.rule} {finding.path}:{finding.line}"
            continue
        overlay = {}
        for path, edits in [(finding.path, fix.edits), *fix.elsewhere.items()]:
            old = (root / path).read_text(encoding="utf-8")
            overlay[path] = apply_edits(old, edits, edit_style(root / path, modules)).encode()
        after = _open_counts(load_project(settings, [root], overlay=overlay))
        key = (finding.rule, finding.path)
        assert after[key] == before[key] - 1, f"{finding.rule} {finding.path}:{finding.line}"
        checked += 1
    return checked


@pytest.mark.parametrize("files", EXAMPLES)
def test_each_attached_fix_on_a_rule_example_removes_its_finding(
        files: dict[str, str], tmp_path: Path) -> None:
    root = write_tree(tmp_path, files)
    settings = load_settings(root, {"use_cache": False, "target": "v2", "jobs": 1})
    _check_each_fix(settings, root, every_fix_applies=True)


def test_the_rule_examples_exercise_every_kind_of_attached_fix(tmp_path: Path) -> None:
    kinds: set[str] = set()
    for number, param in enumerate(EXAMPLES):
        root = write_tree(tmp_path / str(number), param.values[0])  # type: ignore[arg-type]
        settings = load_settings(root, {"use_cache": False, "target": "v2", "jobs": 1})
        kinds.update(type(f.autofix).__name__ for f in _fixable(load_project(settings, [root]))
                     if f.autofix is not None)
    assert kinds == {"SetId", "KeyUid", "DefineAction", "StaticUpdate", "Hoist", "ReadShared",
                     "DeclareRuntime", "DropLocalBackend", "Unbind", "RewrittenByDM105",
                     "Annotate", "ActionInput"}


@pytest.mark.parametrize("app", APPS)
def test_each_attached_fix_on_a_fixture_app_removes_its_finding(app: Path,
                                                                tmp_path: Path) -> None:
    root = tmp_path / app.name
    shutil.copytree(app, root)
    settings = load_settings(root, {"use_cache": False, "target": "v2", "jobs": 1})
    assert _check_each_fix(settings, root, every_fix_applies=False)


def test_a_missing_uid_and_an_unstable_one_of_one_name_get_distinct_uids(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "shop", ONE_NAME_TWO_DEFINITIONS)
    settings = load_settings(root, {"use_cache": False, "target": "1.x"})
    audited = load_project(settings, [root])
    suggested = {f.rule: f.suggested_uid for f in audited.findings if f.rule in ("DM101", "DM102")}
    assert suggested == {"DM101": "shop.main:x", "DM102": "shop.main:x-2"}
    rounds: list[Project] = []
    applied = run_apply(settings, [root], ApplyOptions(FixOptions(unsafe=True)),
                        on_round=rounds.append)
    assert sorted(f.finding.rule for f in applied.applied) == ["DM101", "DM102"]
    # Both fixes are made in the first round: neither waits for the other's uid.
    assert len(rounds) == 2
    [change] = applied.changes
    text = change.after.decode()
    assert "uid='shop.main:x')" in text and "uid='shop.main:x-2')" in text
    assert "unsafe_runtime_mode" not in text
    assert [f.rule for f in applied.project.findings if f.rule.startswith("DM10")] == []
    assert (applied.remaining, applied.hatch_apps, applied.refused) == ([], [], [])


def test_a_local_backend_imported_under_an_alias_is_removed_with_its_import(
        tmp_path: Path) -> None:
    root = write_tree(tmp_path / "shop", {"shop/state.py": (
        "from dara.core import ServerVariable\n"
        "from dara.core.interactivity.server_variable import MemoryBackend as MB\n"
        "\n"
        "notes = ServerVariable(backend=MB(), uid='shop.state:notes')\n"
    )})
    settings = load_settings(root, {"use_cache": False, "target": "v2"})
    [finding] = [f for f in load_project(settings, [root]).findings if f.rule == "DM202"]
    assert finding.fix == "safe"
    applied = run_apply(settings, [root], ApplyOptions(local=False))
    [change] = applied.changes
    assert change.after.decode() == (
        "from dara.core import ServerVariable\n"
        "\n"
        "notes = ServerVariable(uid='shop.state:notes', scope='user')\n"
    )


def test_a_removed_backend_takes_its_import_from_dara_core_along(tmp_path: Path) -> None:
    from tests.helpers import apply_fixes

    root = write_tree(tmp_path, {
        "app/main.py": (
            "from dara.core import ConfigurationBuilder, MemoryBackend, ServerVariable\n\n"
            "rows = ServerVariable(backend=MemoryBackend(), uid='rows')\n\n"
            "config = ConfigurationBuilder()\n"),
    })
    applied = apply_fixes(root)
    assert applied.exit_code in (0, 1), applied.output
    assert (root / "app/main.py").read_text().splitlines()[:3] == [
        "from dara.core import ConfigurationBuilder, ServerVariable", "",
        "rows = ServerVariable(uid='rows', scope='user')"]
