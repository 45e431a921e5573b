"""DM601 local task execution and DM602 scheduled jobs, beyond the documented examples."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dara_migrate.models import Finding
from tests.helpers import run_audit, write_tree

RUNTIME = (
    "import os\n"
    "from dara.core.runtime import ValkeyDistributedBackend\n\n"
    "if os.environ.get('DARA_VALKEY_URL'):\n"
    "    config.configure_runtime(scope=None,\n"
    "                             backend=ValkeyDistributedBackend(url=os.environ['URL']))\n"
)
TASKS = (
    "from dara.core import ConfigurationBuilder, DerivedVariable, Variable\n\n"
    "config = ConfigurationBuilder()\n"
    "config.task_module = 'app.tasks'\n"
    "rows = Variable([1])\n"
    "mean = DerivedVariable(len, variables=[rows], run_as_task=True, uid='mean')\n"
)


def findings(tmp_path: Path, files: str | dict[str, str], *codes: str,
             **overrides: Any) -> list[Finding]:
    tree = {"app/main.py": files} if isinstance(files, str) else {"app/__init__.py": "", **files}
    root = write_tree(tmp_path, tree)
    result, _ = run_audit(root, show_info=True, **overrides)
    return [f for f in result.findings if f.rule in codes]


def test_task_queue_from_the_runtime_makes_task_use_info(tmp_path: Path) -> None:
    found = findings(tmp_path, TASKS + RUNTIME, "DM601", target="v2")
    assert [(f.line, f.severity, f.status) for f in found] == [(4, "info", "open"),
                                                              (6, "info", "open")]
    assert "must pickle" in found[0].message


def test_without_a_runtime_it_is_an_error_pending_on_1x(tmp_path: Path) -> None:
    v2 = findings(tmp_path / "v2", TASKS, "DM601", target="v2")
    legacy = findings(tmp_path / "legacy", TASKS, "DM601", target="1.x")
    assert [(f.severity, f.fix, f.status) for f in v2] == [("error", "safe", "open")] * 2
    assert [f.status for f in legacy] == ["pending", "pending"]


def test_runtime_without_a_backend_supplies_no_task_queue(tmp_path: Path) -> None:
    source = TASKS + "config.configure_runtime(scope=None)\n"
    found = findings(tmp_path, source, "DM601", target="v2")
    assert [f.severity for f in found] == ["error", "error"]


def test_shared_module_is_covered_only_when_every_app_declares(tmp_path: Path) -> None:
    files = {
        "app/work.py": "from dara.core import action\n\n"
        "def crunch():\n"
        "    return 1\n\n"
        "@action\n"
        "async def run(ctx: action.Ctx):\n"
        "    return await ctx.run_task(crunch)\n",
        "app/shop.py": "from dara.core import ConfigurationBuilder\n\n"
        "from app import work\n\n"
        "config = ConfigurationBuilder()\n"
        "config.configure_runtime(scope=None, backend=object())\n",
        "app/admin.py": "from dara.core import ConfigurationBuilder\n\n"
        "from app import work\n\n"
        "admin = ConfigurationBuilder()\n",
    }
    found = findings(tmp_path, files, "DM601", target="v2")
    assert [(f.path, f.line, f.severity) for f in found] == [("app/work.py", 8, "error")]


def test_run_task_only_on_action_contexts(tmp_path: Path) -> None:
    source = (
        "import dara.core as dc\n"
        "from dara.core.interactivity.actions import ActionCtx\n\n"
        "class Pool:\n"
        "    def run_task(self, fn):\n"
        "        return fn()\n\n"
        "pool = Pool()\n\n"
        "async def helper(ctx: ActionCtx):\n"
        "    return await ctx.run_task(len)\n\n"
        "@dc.action\n"
        "async def go(ctx, pool: Pool):\n"
        "    pool.run_task(len)\n"
        "    return await helper(ctx)\n\n"
        "@dc.track_progress\n"
        "def train(updater):\n"
        "    return 1\n"
    )
    found = findings(tmp_path, source, "DM601")
    assert [f.line for f in found] == [11, 18]


def test_one_meaning_of_action_context_for_tasks_and_downloads(tmp_path: Path) -> None:
    """DM601 (`run_task`) and DM403 (`download_file`) agree on what an action context is:
    Dara's `ActionCtx` however it is spelled, not a project class that happens to be called
    `Ctx`."""
    files = {
        "app/jobs.py": "class Ctx:\n"
        "    def run_task(self, fn):\n"
        "        return fn()\n\n"
        "    def download_file(self, path):\n"
        "        return open(path).read()\n",
        "app/main.py": "from dara.core import action\n\n"
        "from app.jobs import Ctx\n\n"
        "def nightly(ctx: Ctx):\n"
        "    ctx.run_task(len)\n"
        "    ctx.download_file('report.csv')\n\n"
        "async def export(ctx: action.Ctx):\n"
        "    await ctx.run_task(len)\n"
        "    await ctx.download_file('report.csv')\n",
    }
    found = findings(tmp_path, files, "DM601", "DM403")
    assert [(f.path, f.line, f.rule) for f in found] == [
        ("app/main.py", 10, "DM601"), ("app/main.py", 11, "DM403")]


def test_unset_task_module_and_run_as_task_false_are_fine(tmp_path: Path) -> None:
    source = (
        "from dara.core import ConfigurationBuilder, DerivedVariable, Variable\n\n"
        "config = ConfigurationBuilder()\n"
        "config.task_module = None\n"
        "rows = Variable([1])\n"
        "mean = DerivedVariable(len, variables=[rows], run_as_task=False, uid='mean')\n"
    )
    assert findings(tmp_path, source, "DM601") == []


def test_scheduler_on_a_typed_parameter_and_stacked_decorators(tmp_path: Path) -> None:
    source = (
        "import functools\n"
        "from dara.core import ConfigurationBuilder\n"
        "from dara.core.internal.scheduler import every\n\n"
        "def setup(cfg: ConfigurationBuilder) -> None:\n"
        "    @functools.wraps(print)\n"
        "    @cfg.scheduler(every(5).minutes())\n"
        "    def ping() -> None:\n"
        "        print('ping')\n\n"
        "config = ConfigurationBuilder()\n"
        "setup(config)\n"
    )
    found = findings(tmp_path, source, "DM602")
    assert [(f.line, f.severity, f.fix) for f in found] == [(6, "error", "manual")]
    assert "scheduled job ping" in found[0].message


def test_run_task_on_a_context_handed_to_a_helper(tmp_path: Path) -> None:
    files = {
        "app/jobs.py": "def fit(n: int) -> int:\n    return n\n\n"
        "async def train(ctx, n: int) -> int:\n"
        "    return await ctx.run_task(fit, args=[n])\n\n"
        "async def unused(ctx, n: int) -> int:\n"
        "    return await ctx.run_task(fit, args=[n])\n",
        "app/main.py": "from dara.core import action\n\n"
        "from app.jobs import train\n\n"
        "@action\n"
        "async def retrain(ctx: action.Ctx) -> None:\n"
        "    await train(ctx, 3)\n",
    }
    found = findings(tmp_path, files, "DM601")
    assert [(f.path, f.line) for f in found] == [("app/jobs.py", 5)]


def test_track_progress_sites_once_per_definition(tmp_path: Path) -> None:
    """Every `@track_progress` definition is one DM601 site, however it is spelled and
    however often it is applied, in a class body or nested in a function too."""
    files = {
        "app/progress.py": "from dara.core import track_progress as tracked\n",
        "app/work.py": "import dara.core as dc\n"
        "from app.progress import tracked\n\n"
        "@tracked\n"
        "@dc.track_progress\n"
        "def train(updater):\n"
        "    return 1\n\n"
        "class Jobs:\n"
        "    @dc.track_progress\n"
        "    def fit(self, updater):\n"
        "        return 2\n\n"
        "def outer():\n"
        "    @tracked\n"
        "    def inner(updater):\n"
        "        return 3\n"
        "    return inner\n\n"
        "@dc.action\n"
        "def untracked(ctx):\n"
        "    return 4\n",
    }
    found = findings(tmp_path, files, "DM601")
    assert [(f.path, f.line) for f in found] == [
        ("app/work.py", 4), ("app/work.py", 10), ("app/work.py", 15)]


def test_track_progress_called_on_a_function_is_a_task_site(tmp_path: Path) -> None:
    """`train = track_progress(_train)` makes a task function as the decorator does; a
    decorator written as a call (`@track_progress()`) stays one site."""
    files = {
        "app/work.py": "import dara.core as dc\n"
        "from dara.core import track_progress\n\n"
        "def _train(updater):\n"
        "    return 1\n\n"
        "train = track_progress(_train)\n"
        "fit = dc.track_progress(_train)\n\n"
        "@track_progress()\n"
        "def score(updater):\n"
        "    return 2\n",
    }
    found = findings(tmp_path, files, "DM601")
    assert [(f.line, f.message.split(" runs ")[0]) for f in found] == [
        (7, "track_progress(_train)"), (8, "track_progress(_train)"),
        (10, "@track_progress score")]
