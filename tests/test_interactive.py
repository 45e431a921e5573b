"""`apply --interactive`: the real CLI in a pseudo-terminal, and the flow with scripted input.

The pexpect tests wait for each prompt's own text before answering it, so keys never reach a
prompt that is not on screen yet; the unit tests feed prompt_toolkit a pipe and close it, so a
missing answer fails with EOFError instead of hanging.
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pexpect
import pytest
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput
from rich.console import Console
from typer.testing import CliRunner

from dara_migrate.apply import ApplyOptions, ApplyResult, run_apply
from dara_migrate.cli import app
from dara_migrate.interactive import Prompts, run_interactive
from dara_migrate.settings import Settings, load_settings
from tests.helpers import run_audit, write_tree

ENTER = "\r"
DOWN = "\x1b[B"
SPACE = " "
CLEAR_LINE = "\x15"
CTRL_C = "\x03"
TIMEOUT = 60

ORDERS_APP = {
    "pyproject.toml": (
        "[project]\n"
        'name = "orders-dashboard"\n'
        'dependencies = ["dara-core>=1.30,<2"]\n'
    ),
    "orders/__init__.py": "",
    "orders/main.py": (
        '"""Configuration: `dara start --config orders.main:config`."""\n'
        "from dara.core import ConfigurationBuilder\n"
        "\n"
        "from orders.pages.customers import customers_page\n"
        "from orders.pages.overview import overview_page\n"
        "\n"
        "config = ConfigurationBuilder()\n"
        "config.title = 'Orders'\n"
        "config.router.add_page(path='overview', content=overview_page)\n"
        "config.router.add_page(path='customers', content=customers_page, id='customers')\n"
    ),
    "orders/state.py": (
        '"""Variables every page shares."""\n'
        "from dara.core import DerivedVariable, ServerVariable, Variable\n"
        "\n"
        "region = Variable('emea')\n"
        "ledger = ServerVariable(default=[], scope='global')\n"
        "order_count = DerivedVariable(lambda r: len(r), variables=[region])\n"
    ),
    "orders/pages/__init__.py": "",
    "orders/pages/overview.py": (
        '"""The overview page: order counts per region."""\n'
        "from dara.components import Button, Stack, Text\n"
        "from dara.core import DerivedVariable, action, py_component\n"
        "\n"
        "from orders.state import ledger, order_count, region\n"
        "\n"
        "\n"
        "@action\n"
        "async def refresh(ctx):\n"
        "    rows = await ledger.get_current_value()\n"
        "    return rows\n"
        "\n"
        "\n"
        "@py_component\n"
        "def region_badge(selected):\n"
        "    label = DerivedVariable(lambda s: s.upper(), variables=[selected])\n"
        "    return Text(label)\n"
        "\n"
        "\n"
        "def overview_page():\n"
        "    doubled = DerivedVariable(lambda c: c * 2, variables=[order_count])\n"
        "    return Stack(Text(doubled), region_badge(region), Button('Refresh', "
        "onclick=refresh()))\n"
    ),
    "orders/pages/customers.py": (
        '"""The customers page."""\n'
        "from dara.components import Stack, Text\n"
        "from dara.core import DerivedVariable, Variable\n"
        "\n"
        "search = Variable('')\n"
        "matches = DerivedVariable(lambda s: s.strip(), variables=[search], "
        "uid='customer-matches')\n"
        "\n"
        "\n"
        "def customers_page():\n"
        "    return Stack(Text(matches))\n"
    ),
}
"""Three modules: safe fixes (three uids, a route id), an unsafe one (DM401, an awaited
`get_current_value()` on a ServerVariable) and a blocker (DM301, a DerivedVariable built
while a py_component renders)."""

STATE_UIDS = (
    "ledger = ServerVariable(default=[], scope='global', uid='orders.state:ledger')\n",
    # Too long for 88 columns with the uid: one argument per line.
    "order_count = DerivedVariable(\n"
    "    lambda r: len(r),\n"
    "    variables=[region],\n"
    "    uid='orders.state:order_count',\n"
    ")\n",
)
HATCH = "config.unsafe_runtime_mode = 'local'\n"
DEFAULT_MARKER = "    # dara-migrate: local-only[DM301] automatic migration not possible\n"


@pytest.fixture
def orders_app(tmp_path: Path) -> Path:
    return write_tree(tmp_path / "orders-dashboard", ORDERS_APP)


def snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()}


def read(root: Path, relative: str) -> str:
    return (root / relative).read_text(encoding="utf-8")


def comment_text(source: str) -> str:
    """Full-line comments joined into one line, so a wrapped reason reads as written."""
    return " ".join(line.strip()[2:] for line in source.splitlines()
                    if line.strip().startswith("# "))


class Terminal:
    """`python -m dara_migrate apply ROOT` in a pseudo-terminal, answered prompt by prompt."""

    def __init__(self, root: Path, *args: str, proof: bool = False) -> None:
        """`proof`: with the build proof (real builds); the flow is tested without it."""
        env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "CI")}
        args = args if proof else (*args, "--no-build-check")
        # No cursor-position requests: a pty answers none, and prompt_toolkit would wait.
        env.update(TERM="xterm", PROMPT_TOOLKIT_NO_CPR="1")
        self.child = pexpect.spawn(
            sys.executable, ["-m", "dara_migrate", "apply", str(root), "--no-cache", *args],
            cwd=str(root), env=env, dimensions=(50, 200), timeout=TIMEOUT, encoding="utf-8")
        self.transcript = io.StringIO()
        self.child.logfile_read = self.transcript

    def wait(self, text: str) -> None:
        self.child.expect_exact(text)

    def answer(self, prompt: str, keys: str = ENTER) -> None:
        self.wait(prompt)
        self.child.send(keys)

    def review(self, position: str, keys: str = ENTER) -> None:
        # The header comes first, so an earlier fix's "Make this fix?" is never mistaken for it.
        self.wait(f"[{position}] ")
        self.answer("Make this fix?", keys)

    def exit_code(self) -> int:
        self.child.expect(pexpect.EOF)
        self.child.close()
        assert self.child.exitstatus is not None, self.output()
        return int(self.child.exitstatus)

    def output(self) -> str:
        return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", self.transcript.getvalue())


@pytest.mark.slow
def test_the_build_proof_runs_before_the_final_confirm(orders_app: Path) -> None:
    terminal = Terminal(orders_app, proof=True)
    for prompt in ("Target profile", "Fixes to make", "one by one?",
                   "What should happen to them?", "Reason, one line"):
        terminal.answer(prompt)
    terminal.wait("building the migrated apps twice...")
    terminal.answer("Show the full diff?")
    terminal.answer("Write ")
    assert terminal.exit_code() == 1, terminal.output()
    assert "build proof: 1 app built twice with the migration, fixed ids stable" in (
        terminal.output())
    assert "build proof skipped" not in terminal.output()


def test_accepting_every_default_migrates_and_keeps_the_blocker_local(orders_app: Path) -> None:
    terminal = Terminal(orders_app)
    terminal.answer("Target profile")
    terminal.answer("Fixes to make")
    terminal.answer("one by one?")
    terminal.answer("What should happen to them?")
    terminal.answer("Reason, one line")
    terminal.answer("Show the full diff?")
    terminal.answer("Write ")
    assert terminal.exit_code() == 1, terminal.output()
    state = read(orders_app, "orders/state.py")
    assert all(line in state for line in STATE_UIDS)
    main = read(orders_app, "orders/main.py")
    assert "config.router.add_page(path='overview', content=overview_page, id='overview')" in main
    assert HATCH in main
    assert "Reason: automatic migration not possible." in comment_text(main)
    overview = read(orders_app, "orders/pages/overview.py")
    assert DEFAULT_MARKER in overview
    assert "uid='orders.pages.overview:overview_page.doubled'" in overview
    # The unsafe group starts unchecked: the browser read stays, marked.
    assert "rows = await ledger.get_current_value()" in overview
    result, _ = run_audit(orders_app)
    assert [a.verdict for a in result.apps] == ["local"]


def test_the_errors_left_are_listed_at_the_lines_the_files_have(tmp_path: Path) -> None:
    overview = ORDERS_APP["orders/pages/overview.py"]
    refresh = overview[overview.index("@action"):overview.index("@py_component")]
    # The browser read below a definition whose uid fix rewraps it onto more lines.
    root = write_tree(tmp_path / "orders", {
        **ORDERS_APP, "orders/pages/overview.py": overview.replace(refresh, "") + refresh})
    before = read(root, "orders/pages/overview.py").splitlines()
    browser_read = before.index("    rows = await ledger.get_current_value()") + 1
    terminal = Terminal(root)
    for question in ("Target profile", "Fixes to make", "one by one?"):
        terminal.answer(question)
    terminal.answer("What should happen to them?", CTRL_C)
    assert terminal.exit_code() == 130
    # Nothing is written yet when they are listed: the lines a person can open now.
    assert f"orders/pages/overview.py:{browser_read}: DM401" in terminal.output()


def test_review_one_by_one_with_one_rejection(orders_app: Path) -> None:
    terminal = Terminal(orders_app)
    terminal.answer("Target profile")
    # Check the unsafe DM401 group too (third row), then review everything one by one.
    terminal.answer("Fixes to make", DOWN + DOWN + SPACE + ENTER)
    terminal.answer("one by one?", "y")
    terminal.review("1/5")  # DM108 orders/main.py: route id
    terminal.review("2/5")  # DM101 overview.py: doubled
    terminal.review("3/5")  # DM401 overview.py: get_current_value() -> read()
    terminal.review("4/5", "n" + ENTER)  # DM101 state.py: ledger, rejected
    terminal.review("5/5")  # DM101 state.py: order_count
    terminal.answer("What should happen to them?")
    terminal.answer("Reason, one line")
    terminal.answer("Show the full diff?")
    terminal.answer("Write ", "y")
    assert terminal.exit_code() == 1, terminal.output()
    state = read(orders_app, "orders/state.py")
    assert "ledger = ServerVariable(default=[], scope='global')\n" in state
    assert STATE_UIDS[1] in state
    overview = read(orders_app, "orders/pages/overview.py")
    assert "rows = await ledger.read()" in overview
    assert "-    rows = await ledger.get_current_value()" in terminal.output()
    assert "\x1b[32m+    rows = await ledger.read()" in terminal.transcript.getvalue()
    # The rejected uid is what keeps the app local now, next to the blocker.
    assert "(DM101 x1, DM301 x1)" in comment_text(read(orders_app, "orders/main.py"))


def test_editing_a_uid_checks_it_and_writes_it(orders_app: Path) -> None:
    terminal = Terminal(orders_app)
    terminal.answer("Target profile")
    terminal.answer("Fixes to make")
    terminal.answer("one by one?", "y")
    terminal.review("1/4")
    terminal.review("2/4")
    terminal.wait("[3/4] ")
    terminal.wait("uid='orders.state:ledger'")
    terminal.answer("Make this fix?", "e" + ENTER)
    # Refused answers keep the prompt open, so the next keys still go to it.
    terminal.answer("New uid", CLEAR_LINE + "orders ledger" + ENTER)
    terminal.child.send(CLEAR_LINE + "customer-matches" + ENTER)
    terminal.child.send(CLEAR_LINE + "orders-ledger" + ENTER)
    terminal.wait("uid='orders-ledger'")
    terminal.answer("Make this fix?", "a" + ENTER)
    terminal.answer("What should happen to them?")
    terminal.answer("Reason, one line")
    terminal.answer("Show the full diff?")
    terminal.answer("Write ")
    assert terminal.exit_code() == 1, terminal.output()
    # The first refusal is drawn whole; later ones redraw only the characters that differ.
    assert "use only letters, digits and _ . : -" in terminal.output()
    state = read(orders_app, "orders/state.py")
    assert "ledger = ServerVariable(default=[], scope='global', uid='orders-ledger')\n" in state
    assert STATE_UIDS[1] in state


def test_keep_local_with_a_reason(orders_app: Path) -> None:
    reason = "the region badge needs a module-level variable first"
    terminal = Terminal(orders_app)
    terminal.answer("Target profile")
    terminal.answer("Fixes to make")
    terminal.answer("one by one?")
    terminal.answer("What should happen to them?")
    terminal.answer("Reason, one line", CLEAR_LINE + ENTER)
    terminal.child.send(reason + ENTER)
    terminal.answer("Show the full diff?", "y")
    terminal.wait("+config.unsafe_runtime_mode = 'local'")
    terminal.answer("Write ")
    assert terminal.exit_code() == 1, terminal.output()
    assert "a reason is required" in terminal.output()
    main = read(orders_app, "orders/main.py")
    assert HATCH in main
    assert f"Reason: {reason}." in comment_text(main)
    overview = read(orders_app, "orders/pages/overview.py")
    assert f"    # dara-migrate: local-only[DM301] {reason}\n" in overview
    assert f"    # dara-migrate: local-only[DM401] {reason}\n" in overview


@pytest.mark.parametrize("where", ["What should happen to them?", "planning the migration"])
def test_ctrl_c_writes_nothing(orders_app: Path, where: str) -> None:
    """At a prompt Ctrl-C is a key; while planning it is SIGINT, which Python may drop inside
    a garbage-collector callback, so the next question must raise it again."""
    before = snapshot(orders_app)
    terminal = Terminal(orders_app)
    terminal.answer("Target profile")
    terminal.answer("Fixes to make")
    terminal.answer("one by one?")
    terminal.answer(where, CTRL_C)
    terminal.wait("interrupted, nothing written")
    assert terminal.exit_code() == 130
    assert snapshot(orders_app) == before


def scripted(settings: Settings, root: Path, keys: str,
             options: ApplyOptions | None = None) -> tuple[tuple[Settings, ApplyResult] | None,
                                                           str]:
    """Run the flow with `keys` as the whole of the user's typing."""
    console = Console(file=io.StringIO(), width=200, no_color=True)
    with create_pipe_input() as pipe:
        pipe.send_text(keys)
        pipe.close()
        outcome = run_interactive(settings, [root], options or ApplyOptions(), console=console,
                                  prompts=Prompts(pipe, DummyOutput()))
    assert isinstance(console.file, io.StringIO)
    return outcome, console.file.getvalue()


def settings_for(root: Path, **overrides: object) -> Settings:
    return load_settings(root, {"use_cache": False, **overrides})


def afters(result: ApplyResult) -> dict[str, bytes]:
    return {change.path: change.after for change in result.changes}


def test_every_default_plans_exactly_what_apply_yes_plans(orders_app: Path) -> None:
    settings = settings_for(orders_app)
    outcome, _ = scripted(settings, orders_app, ENTER * 7)
    assert outcome is not None
    assert afters(outcome[1]) == afters(run_apply(settings, [orders_app], ApplyOptions()))


def test_leave_open_marks_the_sites_without_the_escape_hatch(orders_app: Path) -> None:
    settings = settings_for(orders_app)
    keys = ENTER * 3 + DOWN + ENTER + CLEAR_LINE + "redesign planned for Q3" + ENTER + ENTER * 2
    outcome, shown = scripted(settings, orders_app, keys)
    assert outcome is not None
    result = outcome[1]
    assert result.hatch_apps == []
    changed = afters(result)
    assert b"unsafe_runtime_mode" not in changed["orders/main.py"]
    assert b"# dara-migrate: local-only[DM301] redesign planned for Q3\n" in changed[
        "orders/pages/overview.py"]
    assert {f.status for f in result.remaining} == {"open"}
    assert "2 errors stay open" in shown


def test_declining_the_final_confirm_returns_nothing(orders_app: Path) -> None:
    outcome, shown = scripted(settings_for(orders_app), orders_app, ENTER * 6 + "n")
    assert outcome is None
    assert "3 files to write" in shown


def test_v2_asks_for_the_app_id_and_declares_the_runtime(orders_app: Path) -> None:
    settings = settings_for(orders_app)
    keys = DOWN + ENTER + CLEAR_LINE + "orders" + ENTER + ENTER * 3 + ENTER * 6
    outcome, shown = scripted(settings, orders_app, keys)
    assert outcome is not None
    chosen, result, _ = outcome
    assert chosen.target == "v2"
    assert "DARA_NAMESPACE" in shown
    main = afters(result)["orders/main.py"]
    assert b"app_id='orders'," in main
    assert b"namespace=os.environ['DARA_NAMESPACE']," in main


def test_v2_runtime_env_var_names_can_be_changed(orders_app: Path) -> None:
    settings = settings_for(orders_app)
    # A refused name keeps the prompt open: the next keys still go to it.
    keys = (DOWN + ENTER + ENTER + CLEAR_LINE + "REDIS_URL" + ENTER
            + CLEAR_LINE + "1 bad" + ENTER + CLEAR_LINE + "ORDERS_ENV" + ENTER + ENTER
            + ENTER * 6)
    outcome, shown = scripted(settings, orders_app, keys)
    assert outcome is not None
    main = afters(outcome[1])["orders/main.py"].decode()
    assert "if os.environ.get('REDIS_URL'):\n" in main
    assert "backend=ValkeyDistributedBackend(url=os.environ['REDIS_URL'])," in main
    assert "namespace=os.environ['ORDERS_ENV']," in main
    # "1 bad" was refused: had it been taken, every later answer would have moved along.
    assert "deployment_id=os.environ['DARA_DEPLOYMENT_ID']," in main
    assert "REDIS_URL (unset: the app keeps single-process behaviour), ORDERS_ENV" in shown


def test_a_clean_app_is_offered_the_warn_mode(tmp_path: Path) -> None:
    root = write_tree(tmp_path, {
        "pyproject.toml": ORDERS_APP["pyproject.toml"],
        "orders/__init__.py": "",
        "orders/main.py": ORDERS_APP["orders/main.py"].replace(
            "from orders.pages.overview import overview_page\n", "").replace(
            "config.router.add_page(path='overview', content=overview_page)\n", ""),
        "orders/pages/__init__.py": "",
        "orders/pages/customers.py": ORDERS_APP["orders/pages/customers.py"],
        "orders/state.py": ORDERS_APP["orders/state.py"],
    })
    settings = settings_for(root)
    outcome, _ = scripted(settings, root, ENTER * 6)
    assert outcome is not None
    assert afters(outcome[1]) == afters(run_apply(settings, [root], ApplyOptions()))
    assert b"distributed_mode" not in afters(outcome[1]).get("orders/main.py", b"")
    # Target, fixes, review: defaults; then "warn", the choice below the default.
    outcome, shown = scripted(settings, root, ENTER * 3 + DOWN + ENTER + ENTER * 2)
    assert outcome is not None
    assert "app config: config.distributed_mode = 'warn'" in shown
    main = afters(outcome[1])["orders/main.py"].decode()
    assert ("# dara-migrate: no error left; the runtime checks what static analysis cannot "
            "(warn:\n# report violations while the app runs).\n"
            "config.distributed_mode = 'warn'\n") in main


def git(root: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True,
                   env={**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
                        "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"})


def test_a_dirty_file_skips_the_confirm_that_would_promise_a_write(orders_app: Path) -> None:
    git(orders_app, "init", "-q")
    git(orders_app, "add", ".")
    git(orders_app, "commit", "-qm", "app")
    with (orders_app / "orders/state.py").open("a") as handle:
        handle.write("# work in progress\n")
    # Five answers and no more: a "Show the full diff?" question would hit the closed pipe.
    outcome, _ = scripted(settings_for(orders_app), orders_app, ENTER * 5)
    assert outcome is not None


def test_without_a_terminal_it_never_prompts(orders_app: Path) -> None:
    result = CliRunner().invoke(app, ["apply", str(orders_app), "--no-cache", "--no-build-check"])
    assert result.exit_code == 1, result.output
    assert "uid='orders.state:ledger'" in read(orders_app, "orders/state.py")
    refused = CliRunner().invoke(app, ["apply", str(orders_app), "--interactive"])
    assert refused.exit_code == 2
    assert "needs a terminal" in refused.output
    both = CliRunner().invoke(app, ["apply", str(orders_app), "--interactive", "--yes"])
    assert both.exit_code == 2
    assert "cannot be combined" in both.output


MONOREPO = {
    "pyproject.toml": (
        "[project]\n"
        'name = "acme-dashboards"\n'
        'dependencies = ["dara-core>=1.30,<2"]\n'
    ),
    "apps/billing/pyproject.toml": (
        "[project]\n"
        'name = "billing"\n'
        "\n"
        "[tool.dara-migrate]\n"
        'target = "v2"\n'
    ),
    "apps/billing/billing/main.py": (
        "from dara.core import ConfigurationBuilder\n"
        "\n"
        "from billing.state import invoices\n"
        "\n"
        "config = ConfigurationBuilder()\n"
        "config.router.add_page(path='invoices', content=invoices, id='invoices')\n"
    ),
    "apps/billing/billing/state.py": (
        "from dara.components import Text\n"
        "from dara.core import DerivedVariable, ServerVariable\n"
        "\n"
        "ledger = ServerVariable(default=[], scope='global')\n"
        "total = DerivedVariable(lambda rows: len(rows), variables=[ledger])\n"
        "\n"
        "\n"
        "def invoices():\n"
        "    return Text(total)\n"
    ),
    "apps/ops/ops/main.py": ORDERS_APP["orders/main.py"].replace("orders.", "ops."),
    "apps/ops/ops/state.py": ORDERS_APP["orders/state.py"],
    "apps/ops/ops/pages/overview.py": ORDERS_APP["orders/pages/overview.py"].replace(
        "orders.", "ops."),
    "apps/ops/ops/pages/customers.py": ORDERS_APP["orders/pages/customers.py"].replace(
        "orders.", "ops."),
}


@pytest.fixture
def monorepo(tmp_path: Path) -> Path:
    return write_tree(tmp_path / "acme", MONOREPO)


def test_a_profile_chosen_for_a_monorepo_wins_over_nested_tables(monorepo: Path) -> None:
    settings = settings_for(monorepo)
    # The default keeps each project's own profile: billing's table says v2.
    # Target, runtime app id and env var names, fixes, review, remaining, reason, mode,
    # diff, write.
    outcome, _ = scripted(settings, monorepo, ENTER * 12)
    assert outcome is not None
    assert afters(outcome[1]) == afters(run_apply(settings, [monorepo], ApplyOptions()))
    assert b"configure_runtime" in afters(outcome[1])["apps/billing/billing/main.py"]
    # Choosing 1.x plans what `--target 1.x` plans: billing's table no longer decides.
    outcome, _ = scripted(settings, monorepo, DOWN + ENTER + ENTER * 7)
    assert outcome is not None
    chosen, result, _ = outcome
    assert chosen.target == "1.x"
    flagged = settings_for(monorepo, target="1.x")
    assert afters(result) == afters(run_apply(flagged, [monorepo], ApplyOptions()))
    assert b"configure_runtime" not in afters(result).get("apps/billing/billing/main.py", b"")
    assert {app.target for app in result.project.apps} == {"1.x"}
    assert {app.target_reason for app in result.project.apps} == {
        "chosen in the interactive session"}


def test_a_fix_that_edits_its_call_sites_shows_them_in_its_review(tmp_path: Path) -> None:
    from dara_migrate.engine import load_project
    from dara_migrate.interactive import _Session
    from dara_migrate.planner import FixOptions, plan_code_fixes

    root = write_tree(tmp_path, {
        "app/state.py": "from dara.core import Variable\n\nterm = Variable('')\n",
        "app/actions.py": "from dara.core import action\n\nfrom app import state\n\n\n"
                          "@action\nasync def search(ctx: action.Ctx):\n"
                          "    return await state.term.get_current_value()\n",
        "app/pages.py": "from app.actions import search\n\n\n"
                        "def page():\n    return search()\n",
    })
    settings = settings_for(root, target="1.x")
    console = Console(file=io.StringIO(), width=200, no_color=True)
    session = _Session(settings, [root], ApplyOptions(), console, Prompts(), False, None)
    project = load_project(settings, [root])
    [fix] = [f for f in plan_code_fixes(project, FixOptions(unsafe=True), session.text_of)
             if f.finding.rule == "DM401"]
    session.show_diff(project, fix)
    assert isinstance(console.file, io.StringIO)
    shown = console.file.getvalue()
    assert "+async def search(ctx: action.Ctx, term):" in shown
    assert "+++ b/app/pages.py" in shown
    assert "+from app.state import term" in shown
    assert "+    return search(term=term)" in shown
