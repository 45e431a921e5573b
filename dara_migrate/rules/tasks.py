"""DM6xx: tasks and scheduled work, which run wherever the process that started them runs."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from dara_migrate.facts import Call
from dara_migrate.index.apps import App
from dara_migrate.models import Finding
from dara_migrate.rules._helpers import (
    BUILDER,
    call_site,
    report_at,
    scope_site,
    task_sites,
)
from dara_migrate.rules.base import Context, Example, Rule, RuleDocs
from dara_migrate.target import RUNTIME


def supplies_task_queue(declaration: Call) -> bool:
    """A runtime declaration with a backend bundle (which carries the task queue and results),
    or with a task-specific argument."""
    return any(name == "backend" or "task" in name for name, _ in declaration.kwargs) or (
        len(declaration.args) > 1)


def _covered(owners: list[App]) -> bool:
    return bool(owners) and all(
        any(supplies_task_queue(call) for _, call in app.runtime) for app in owners)


class LocalTaskExecution(Rule):
    code = "DM601"
    name = "local-task-execution"
    severity = "error"
    fix = "safe"
    fix_needs = frozenset({RUNTIME})
    summary = "task run in this process's local task pool"
    docs = RuleDocs(
        what="Task use: `config.task_module = ...`, `DerivedVariable(..., run_as_task=True)`, "
        "`await ctx.run_task(...)` in an action (a context annotated `action.Ctx`/`ActionCtx` "
        "or the first parameter of an `@action`), and `@track_progress` task functions. When "
        "the app declares a shared runtime whose backend supplies a task queue, each site is "
        "reported as info instead.",
        why="Dara runs tasks in a pool of processes started by this worker and keeps the "
        "pending task, its result and its progress in this worker's memory. The browser polls "
        "`/api/core/tasks/{id}` and may reach another worker, which never heard of the task; "
        "progress goes over this worker's websocket only.",
        use_instead="Declare the shared runtime (DM201): its backend bundle carries a task "
        "queue and result store, so any worker can run a task and serve its result. Task "
        "workers run the same image, and arguments and results must pickle.",
        fix_safety="Via DM201: `apply` writes the runtime declaration, after which these sites "
        "are info. Under target `1.x` the finding is `pending`, like DM201.",
        confidence="High for `task_module`, `run_as_task=True` and `@track_progress`; "
        "`run_task` is recognised on action contexts only.",
    )
    VALID: ClassVar[list[Example]] = [
        Example({
            "app/__init__.py": "",
            "app/tasks.py": "def train(rows: list) -> float:\n"
            "    return sum(rows) / len(rows)\n",
            "app/main.py": "import os\n\n"
            "from dara.core import ConfigurationBuilder, action\n"
            "from dara.core.runtime import ValkeyDistributedBackend\n\n"
            "from app import tasks\n\n"
            "config = ConfigurationBuilder()\n"
            "config.configure_runtime(scope=None,\n"
            "                         backend=ValkeyDistributedBackend(url=os.environ['URL']))\n\n"
            "class Job:\n"
            "    def run_task(self, fn):\n"
            "        return fn()\n\n"
            "@action\n"
            "async def fit(ctx: action.Ctx, rows: list):\n"
            "    job = Job()\n"
            "    return job.run_task(lambda: tasks.train(rows))\n",
        }, note="no task use (a method named run_task on another object is not one); a "
           "declared runtime would turn task use into info"),
    ]
    INVALID: ClassVar[list[Example]] = [
        Example({
            "app/__init__.py": "",
            "app/tasks.py": "from dara.core import track_progress\n\n"
            "@track_progress  # expect: DM601\n"
            "def train(rows: list, updater) -> float:\n"
            "    return sum(rows) / len(rows)\n",
            "app/main.py": "import dara.core as dc\n"
            "from dara.core import ConfigurationBuilder, action\n\n"
            "from app import tasks\n\n"
            "cfg = ConfigurationBuilder()\n"
            "cfg.task_module = 'app.tasks'  # expect: DM601\n"
            "rows = dc.Variable([1, 2])\n"
            "mean = dc.DerivedVariable(tasks.train, variables=[rows], run_as_task=True,  "
            "# expect: DM601\n"
            "                          uid='app.main:mean')\n\n"
            "@action\n"
            "async def refit(context, values: list):\n"
            "    await context.run_task(tasks.train, args=[values])  # expect: DM601\n",
        }),
    ]

    def check(self, ctx: Context) -> Iterator[Finding]:
        for site in task_sites(ctx.index):
            if not ctx.is_selected(site.facts):
                continue
            what = site.what
            owners = ctx.apps.owning(site.facts.path)
            if _covered(owners):
                yield report_at(
                    ctx, self, site,
                    f"{what} runs through the shared runtime's task queue: task workers run "
                    "the same image, and arguments and results must pickle",
                    severity="info", fix=None)
                continue
            # Pending under profile 1.x: the engine knows each app's profile. DM201's
            # declaration, made at an app's builder, is the fix: none without an app.
            yield report_at(
                ctx, self, site,
                f"{what} runs in this worker's local task pool, and its result and progress "
                "stay on this worker; declare the shared runtime with a task queue (DM201)",
                fix="default" if owners else "manual")


class ScheduledJobPerWorker(Rule):
    code = "DM602"
    name = "scheduled-job-per-worker"
    severity = "error"
    fix = "manual"
    summary = "scheduled job that every worker runs"
    docs = RuleDocs(
        what="Every `config.scheduler(...)` job: the decorator form `@config.scheduler(job)` "
        "and the call form `config.scheduler(job)(func)`.",
        why="Dara starts scheduled jobs in the lifespan of every worker process. With N "
        "workers the job runs N times per period: N e-mails, N syncs writing the same rows, "
        "N times the load on whatever it calls.",
        use_instead="Run the job in one process outside the web workers (a cron job, a "
        "scheduler service, a worker with `DARA_…` set to skip it), or guard its body with a "
        "leader lock in the shared store.",
        fix_safety="Manual: where the job should run is a deployment decision.",
        confidence="High: the receiver must resolve to a ConfigurationBuilder.",
    )
    VALID: ClassVar[list[Example]] = [
        Example.module(
            "import sched\n\n"
            "from dara.core import ConfigurationBuilder\n\n"
            "config = ConfigurationBuilder()\n"
            "planner = sched.scheduler()\n"
            "planner.enter(60, 1, print)\n",
            note="another object's scheduler is not Dara's",
        ),
    ]
    INVALID: ClassVar[list[Example]] = [
        Example({
            "app/__init__.py": "",
            "app/main.py": "from dara.core import ConfigurationBuilder\n\n"
            "config = ConfigurationBuilder()\n",
            "app/jobs.py": "from dara.core.internal.scheduler import every\n\n"
            "from app.main import config as cfg\n\n"
            "def sync() -> None:\n"
            "    print('sync')\n\n"
            "cfg.scheduler(every(30).minutes())(sync)  # expect: DM602\n\n"
            "@cfg.scheduler(every().day.at('02:00'))  # expect: DM602\n"
            "def nightly() -> None:\n"
            "    print('nightly')\n",
        }),
    ]

    def check(self, ctx: Context) -> Iterator[Finding]:
        index = ctx.index
        decorator_calls: set[tuple[str, int]] = set()
        for facts, scope in index.decorated.get("config.scheduler", ()):
            decorator_calls.update((facts.path, d.call) for d in scope.decorators
                                   if d.kind == "call")
            if ctx.is_selected(facts):
                yield report_at(
                    ctx, self, scope_site(facts, scope, scope.name),
                    f"scheduled job {scope.name} is started by every worker, so it runs once "
                    "per worker per period; run it in one process or behind a leader lock")
        for facts, call in index.method_calls.get((BUILDER, "scheduler"), ()):
            if (facts.path, call.id) in decorator_calls or not ctx.is_selected(facts):
                continue
            yield report_at(
                ctx, self, call_site(facts, call, "scheduler"),
                "this scheduled job is started by every worker, so it runs once per worker per "
                "period; run it in one process or behind a leader lock")


RULES: list[type[Rule]] = [LocalTaskExecution, ScheduledJobPerWorker]
