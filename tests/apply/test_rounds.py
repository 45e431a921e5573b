"""Apply's re-check rounds: each round's project replaces the previous one, which keeps
nothing, so two indexes (or two sets of facts of an edited file) are never alive together
(peak memory); only the files edited in a round are read again, and that gives what reading
every file again gives."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import dara_migrate.engine as engine_module
from dara_migrate.apply import ApplyOptions, run_apply
from dara_migrate.engine import Project, load_project
from dara_migrate.models import Finding
from dara_migrate.planner import FixOptions
from dara_migrate.scan import FileJob, FileResult
from dara_migrate.settings import load_settings
from tests.helpers import write_tree

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "apps"

PAGE = (
    "from dara.core import DerivedVariable, Variable\n"
    "\n"
    "count = Variable(0)\n"
    "double = DerivedVariable(lambda c: c * 2, variables=[count])\n"
)
MAIN = (
    "from dara.core import ConfigurationBuilder\n"
    "\n"
    "from app.page import double\n"
    "\n"
    "config = ConfigurationBuilder()\n"
)


def test_each_round_retires_the_project_it_replaces(tmp_path: Path) -> None:
    root = write_tree(tmp_path, {"app/__init__.py": "", "app/page.py": PAGE,
                                 "app/main.py": MAIN})
    settings = load_settings(root, {"use_cache": False, "target": "1.x"})
    rounds: list[Project] = []
    result = run_apply(settings, [root], ApplyOptions(), on_round=rounds.append)
    assert len(rounds) >= 2, "the fixes took no second round: nothing to check"
    assert [p.path for p in result.changes] == ["app/page.py"]
    for retired in rounds[:-1]:
        assert retired is not result.project
        assert retired.index.files == {} and retired.apps == [] and retired.findings == []
        assert retired.results == []
    assert sorted(result.project.index.files) == ["app/__init__.py", "app/main.py",
                                                  "app/page.py"]
    assert [app.key for app in result.project.apps] == ["app.main:config"]


def _seen(findings: list[Finding]) -> list[tuple[str, str, int, int, str, str, tuple[str, ...]]]:
    return [(f.rule, f.path, f.line, f.column, f.status, f.message, f.apps) for f in findings]


@pytest.mark.parametrize("app", ["actions_app", "keyed_app", "identity_app", "state_app"])
def test_rounds_reading_only_edited_files_match_reading_every_file(
        app: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / app
    shutil.copytree(FIXTURES / app, root)
    settings = load_settings(root, {"use_cache": False, "target": "1.x"})
    analysed: list[list[str]] = []
    analyze_all = engine_module.analyze_all

    def recording(jobs: list[FileJob], *args: object) -> list[FileResult]:
        analysed.append([job.path for job in jobs])
        return analyze_all(jobs, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(engine_module, "analyze_all", recording)
    result = run_apply(settings, [root], ApplyOptions(fixes=FixOptions(unsafe=True)))
    assert result.changes and not result.errors
    edited = {change.path for change in result.changes}
    every = set(analysed[0])
    assert len(analysed) >= 2 and edited < every
    # After the first load, a round reads only what the previous round edited.
    assert all(set(paths) <= edited for paths in analysed[1:])
    full = load_project(settings, [root], overlay={c.path: c.after for c in result.changes})
    assert _seen(result.project.findings) == _seen(full.findings)
    assert [(a.key, sorted(a.files), a.escape_hatch is not None)
            for a in result.project.apps] == [
        (a.key, sorted(a.files), a.escape_hatch is not None) for a in full.apps]
    assert sorted(result.project.index.files) == sorted(full.index.files)
