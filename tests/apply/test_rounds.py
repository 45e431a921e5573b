"""Apply's re-check rounds: each round's project replaces the previous one, which keeps only
its file results, so two indexes are never alive together (peak memory)."""

from __future__ import annotations

from pathlib import Path

from dara_migrate.apply import ApplyOptions, run_apply
from dara_migrate.engine import Project
from dara_migrate.settings import load_settings
from tests.helpers import write_tree

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
        assert sorted(r.path for r in retired.results) == [
            "app/__init__.py", "app/main.py", "app/page.py"]
    assert sorted(result.project.index.files) == ["app/__init__.py", "app/main.py",
                                                  "app/page.py"]
    assert [app.key for app in result.project.apps] == ["app.main:config"]
