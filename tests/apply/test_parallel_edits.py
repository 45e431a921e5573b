"""`apply` shares the editing of many files with forked processes (`--jobs`): the files it
would write, the fixes and the errors are the same as when one process edits them all."""

from __future__ import annotations

import concurrent.futures
import sys
from pathlib import Path
from typing import Any

import pytest

import dara_migrate.apply as apply_module
from dara_migrate.apply import ApplyOptions, run_apply
from dara_migrate.edits import EditStyle, RemoveKeyword, SetKeyword
from dara_migrate.settings import load_settings
from tests.helpers import write_tree

PAGES = 70  # more than `scan.SHARED_BELOW`

PAGE = (
    "from dara.core import DerivedVariable, ServerVariable, Variable\n"
    "from dara.core.interactivity.server_variable import MemoryBackend\n"
    "\n"
    "count_{n} = Variable({n})\n"
    "double_{n} = DerivedVariable(lambda c: c * 2, variables=[count_{n}])\n"
    "notes_{n} = ServerVariable(backend=MemoryBackend(), scope='user')\n"
)
MAIN = (
    "from dara.core import ConfigurationBuilder\n"
    "\n"
    "{imports}\n"
    "\n"
    "config = ConfigurationBuilder()\n"
)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    files = {"app/__init__.py": "",
             "app/main.py": MAIN.format(imports="\n".join(
                 f"from app.page_{n} import double_{n}, notes_{n}" for n in range(PAGES)))}
    files.update({f"app/page_{n}.py": PAGE.format(n=n) for n in range(PAGES)})
    return write_tree(tmp_path_factory.mktemp("many"), files)


def _outcome(root: Path, jobs: int) -> tuple[Any, ...]:
    settings = load_settings(root, {"use_cache": False, "target": "1.x", "jobs": jobs})
    result = run_apply(settings, [root], ApplyOptions())
    return ([(c.path, c.after) for c in result.changes],
            [(f.finding.rule, f.finding.path, f.finding.line, f.description)
             for f in result.applied],
            result.errors, [(f.rule, f.path, f.line) for f in result.remaining])


def test_two_processes_write_what_one_writes(project: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    pools: list[str] = []
    real_pool = concurrent.futures.ProcessPoolExecutor

    def counted(*args: Any, **kwargs: Any) -> concurrent.futures.ProcessPoolExecutor:
        # Who asked `share_chunks` for the pool (directly or through `shared_map`): the
        # analysis has one too.
        caller = sys._getframe(2)
        above = caller.f_back
        pools.extend((caller.f_code.co_name, above.f_code.co_name if above else ""))
        return real_pool(*args, **kwargs)

    alone = _outcome(project, 1)
    monkeypatch.setattr(concurrent.futures, "ProcessPoolExecutor", counted)
    shared = _outcome(project, 2)
    assert "_edit_all" in pools, "the edits were not shared with a worker"
    assert shared == alone
    changes = alone[0]
    assert len(changes) == PAGES
    assert all(b"uid=" in after and b"MemoryBackend" not in after for _, after in changes)


def test_failed_edits_are_reported_in_order_whoever_made_them() -> None:
    text = "rows = ServerVariable(backend=MemoryBackend(), scope='user')\n"
    good = (text, [RemoveKeyword(1, 8, "backend")], EditStyle())
    missing = (text, [SetKeyword(1, 3, "uid", "'x'")], EditStyle())
    broken = ("x = (\n", [SetKeyword(1, 5, "uid", "'x'")], EditStyle())
    tasks = [good, missing, broken] * 30
    alone = apply_module._edit_all(tasks, 1)
    assert apply_module._edit_all(tasks, 2) == alone
    assert alone[0] == (False, "rows = ServerVariable(scope='user')\n")
    assert alone[1][0] and "no node for SetKeyword at line 1" in alone[1][1]
    assert alone[2][0] and alone[2][1].startswith("internal error: SyntaxError")
