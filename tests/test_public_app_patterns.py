"""Patterns of public Dara apps (the gallery, Dara's app template and documentation) and of
realistic apps written in their shapes, each once missed, misread or left by `apply` after
the audit offered a fix: routes in a list of children or with a constant path, route ids
as Dara holds them, shared stores and state, live objects imported from another module,
views picked from a literal dict, uids written of constants, `uid=None`, loops over a
literal dict's keys or an imported collection, hoists onto a taken name, task use with no
app, `verify`'s expectations for routes and named stores, and a package given with nothing
marking its project."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from dara_migrate.apply import ApplyOptions, ApplyResult, run_apply
from dara_migrate.cli import app
from dara_migrate.models import AuditResult
from dara_migrate.planner import FixOptions
from dara_migrate.predictions import predicted_definitions
from dara_migrate.settings import load_settings
from tests.helpers import run_audit, write_tree

OBJECT_ROUTER = {"site/main.py": (
    "from dara.components import Text\n"
    "from dara.core import ConfigurationBuilder\n"
    "from dara.core.router import IndexRoute, PageRoute, PrefixRoute\n"
    "\n"
    "config = ConfigurationBuilder()\n"
    "docs = PrefixRoute(path='docs')\n"
    "docs.set_children([IndexRoute(content=Text('Docs')),\n"
    "                   PageRoute(path='intro', content=Text('Intro'))])\n"
    "config.router.set_children([\n"
    "    IndexRoute(content=Text('Home')),\n"
    "    PrefixRoute(path='/guides/', children=[\n"
    "        IndexRoute(content=Text('Guides')),\n"
    "        PageRoute(path='setup', content=Text('Setup')),\n"
    "    ]),\n"
    "    docs,\n"
    "])\n"
)}


def migrate(root: Path, unsafe: bool = False) -> ApplyResult:
    """`apply` of the project at `root`, in memory (no build proof: these apps are checked
    for what the rewrite says, and the verify tests build real ones)."""
    return run_apply(load_settings(root, {"use_cache": False, "target": "1.x"}), [root],
                     ApplyOptions(fixes=FixOptions(unsafe=unsafe)))


def route_ids(result: AuditResult) -> dict[int, str | None]:
    return {f.line: f.suggested_uid for f in result.findings if f.rule == "DM108"}


def test_a_route_in_a_list_of_children_takes_the_full_path_as_its_id(tmp_path: Path) -> None:
    result, _ = run_audit(write_tree(tmp_path, OBJECT_ROUTER))
    assert route_ids(result) == {
        6: "docs", 7: "docs-index", 8: "docs-intro", 10: "index", 11: "guides",
        12: "guides-index", 13: "guides-setup"}


def test_routes_given_as_arguments_keep_the_full_path(tmp_path: Path) -> None:
    result, _ = run_audit(write_tree(tmp_path, {"site/main.py": (
        "from dara.components import Text\n"
        "from dara.core import ConfigurationBuilder\n"
        "from dara.core.router import IndexRoute, PrefixRoute\n"
        "\n"
        "config = ConfigurationBuilder()\n"
        "config.router.set_children([\n"
        "    PrefixRoute(IndexRoute(content=Text('Blog')), path='blog'),\n"
        "])\n"
    )}))
    assert route_ids(result) == {7: "blog-index"}


def _stores(second_uid: str) -> dict[str, str]:
    return {"chat/main.py": (
        "from dara.core import ConfigurationBuilder, Variable\n"
        "from dara.core.persistence import BackendStore, InMemoryBackend\n"
        "\n"
        "config = ConfigurationBuilder()\n"
        "messages = Variable([], store=BackendStore(InMemoryBackend(), uid='chat-log'))\n"
        f"drafts = Variable([], store=BackendStore(InMemoryBackend(), uid='{second_uid}'))\n"
    )}


def test_backend_stores_sharing_a_uid_are_said_to_share_not_to_fail(tmp_path: Path) -> None:
    result, _ = run_audit(write_tree(tmp_path, _stores("chat-log")))
    messages = {f.line: f.message for f in result.findings if f.rule == "DM103"}
    assert set(messages) == {5, 6}
    for message in messages.values():
        assert "never registered" in message
        assert "serves the first one for both" in message
        assert "registration fails" not in message


def test_backend_stores_with_their_own_uids_are_no_duplicate(tmp_path: Path) -> None:
    result, _ = run_audit(write_tree(tmp_path, _stores("chat-drafts")))
    assert not [f for f in result.findings if f.rule == "DM103"]


BROADCASTER = {"live/main.py": (
    "import asyncio\n"
    "\n"
    "from dara.core import ConfigurationBuilder, action\n"
    "\n"
    "\n"
    "class Broadcaster:\n"
    "    def __init__(self) -> None:\n"
    "        self.listeners: set[asyncio.Queue] = set()\n"
    "\n"
    "    def join(self) -> asyncio.Queue:\n"
    "        queue: asyncio.Queue = asyncio.Queue()\n"
    "        self.listeners.add(queue)\n"
    "        return queue\n"
    "\n"
    "    def leave(self, queue: asyncio.Queue) -> None:\n"
    "        self.listeners.discard(queue)\n"
    "\n"
    "\n"
    "hub = Broadcaster()\n"
    "config = ConfigurationBuilder()\n"
    "\n"
    "\n"
    "@action\n"
    "async def reconnect(ctx: action.Ctx) -> None:\n"
    "    hub.leave(hub.join())\n"
)}


def test_taking_a_live_object_out_of_shared_state_is_no_blocker(tmp_path: Path) -> None:
    result, _ = run_audit(write_tree(tmp_path, BROADCASTER))
    found = {f.line: f for f in result.findings if f.rule == "DM205"}
    assert found[12].fix == "blocker"
    assert "is given a Queue" in found[12].message
    assert found[16].fix == "manual"
    assert "written at request time (.discard())" in found[16].message


def _dispatching_app(caller: str) -> dict[str, str]:
    """Dara's app template's shape: views picked from a literal dict by name, in another
    module (no `__init__.py`: a namespace package)."""
    return {
        "shop/views.py": (
            "from dara.components import Stack, Text\n"
            "from dara.core import DerivedVariable, Variable\n"
            "\n"
            "rows = Variable([1, 2, 3], uid='rows')\n"
            "\n"
            "\n"
            "def totals_view():\n"
            "    total = DerivedVariable(lambda r: sum(r), variables=[rows])\n"
            "    return Text(total)\n"
            "\n"
            "\n"
            "class CountsView:\n"
            "    def __init__(self) -> None:\n"
            "        self.count = DerivedVariable(lambda r: len(r), variables=[rows])\n"
            "\n"
            "\n"
            "VIEWS = {'totals': totals_view, 'counts': CountsView}\n"
            "STEPS = [totals_view]\n"
        ),
        "shop/main.py": (
            "from dara.components import Stack\n"
            "from dara.core import ConfigurationBuilder, py_component\n"
            "\n"
            "from shop.views import STEPS, VIEWS\n"
            "\n"
            f"{caller}"
            "\n"
            "config = ConfigurationBuilder()\n"
            "config.add_page(name='Home', content=page('totals'))\n"
        ),
    }


def definitions(result: AuditResult) -> dict[int, tuple[str, str | None]]:
    return {f.line: (f.rule, f.fix) for f in result.findings if f.path == "shop/views.py"}


def test_a_view_picked_from_a_literal_dict_while_rendering_runs_per_request(
        tmp_path: Path) -> None:
    result, _ = run_audit(write_tree(tmp_path, _dispatching_app(
        "@py_component\n"
        "def page(kind: str):\n"
        "    return Stack(VIEWS[kind]())\n")))
    assert definitions(result) == {8: ("DM301", "unsafe"), 14: ("DM301", "blocker")}


def test_a_view_picked_from_a_literal_dict_at_build_time_runs_once(tmp_path: Path) -> None:
    result, _ = run_audit(write_tree(tmp_path, _dispatching_app(
        "def page(kind: str):\n"
        "    return Stack(VIEWS[kind](), STEPS[0]())\n")))
    # Two build-time call sites of `totals_view` (through the dict and the list).
    assert definitions(result) == {8: ("DM104", "manual"), 14: ("DM101", "safe")}


def test_a_view_no_code_picks_stays_unknown(tmp_path: Path) -> None:
    result, _ = run_audit(write_tree(tmp_path, _dispatching_app(
        "def page(kind: str):\n"
        "    return Stack()\n")))
    assert definitions(result) == {8: ("DM101", "unsafe"), 14: ("DM101", "unsafe")}


def _legacy_button(variable: str, resolver: str) -> dict[str, str]:
    """The legacy `UpdateVariable` of Dara's action docs and the gallery's pages."""
    return {"shop/main.py": (
        "from dara.components import Button, Stack, Text\n"
        "from dara.core import ConfigurationBuilder, UpdateVariable, Variable\n"
        "\n"
        "\n"
        "def pick(ctx):\n"
        "    return ctx.inputs.new['id']\n"
        "\n"
        "\n"
        "def page():\n"
        f"    {variable} = Variable(None)\n"
        f"    return Stack(Text({variable}), Button('Go', onclick=UpdateVariable({resolver}, "
        f"variable={variable})))\n"
        "\n"
        "\n"
        "config = ConfigurationBuilder()\n"
        "config.add_page('Home', page())\n"
    )}


def factory_message(result: AuditResult) -> str:
    (message,) = [f.message for f in result.findings if f.rule == "DM105"]
    return message


def test_a_local_variable_of_a_page_built_once_moves_to_module_level_for_its_action(
        tmp_path: Path) -> None:
    """The gallery's shape: `chosen = Variable(None)` in a page function called once. `apply`
    moves the variable out with the action it defines, in one round; the page reads the
    module-level variable."""
    root = write_tree(tmp_path, _legacy_button("chosen", "pick"))
    result, _ = run_audit(root)
    assert factory_message(result).endswith(
        "; chosen is local to page, which runs once, at build: `apply` moves it to module "
        "level with the action")
    assert [f.fix for f in result.findings if f.rule == "DM105"] == ["safe"]
    (change,) = migrate(root).changes
    after = change.after.decode()
    assert after.count("chosen = Variable(None)") == 1
    assert after.index("chosen = Variable(None)") < after.index("def page():")
    assert "await ctx.update(chosen, value)" in after
    assert ("return Stack(Text(chosen), Button('Go', onclick=update_chosen(chosen)))"
            in after)
    (root / change.path).write_bytes(change.after)
    assert [f.rule for f in run_audit(root)[0].findings if f.rule == "DM105"] == []


def test_a_moved_variable_comes_before_its_action_after_the_imports(tmp_path: Path) -> None:
    """Both go after the last import: the variable first, then the action that names it,
    each set off as PEP 8 (and ruff's E30x) wants."""
    root = write_tree(tmp_path, {
        "shop/main.py": "from dara.core import ConfigurationBuilder\n"
        "\n"
        "from shop.pages import home\n"
        "\n"
        "config = ConfigurationBuilder()\n"
        "config.add_page('Home', home())\n",
        "shop/pages.py": "import dara.core as dc\n"
        "from dara.components import Select\n"
        "\n"
        "\n"
        "def home():\n"
        "    picked = dc.Variable('north')\n"
        "    return Select(value=picked, items=['North'],\n"
        "                  onchange=dc.UpdateVariable(lambda ctx: ctx.inputs.new.lower(), "
        "picked))\n",
    })
    (change,) = migrate(root).changes
    assert change.after.decode() == (
        "import dara.core as dc\n"
        "from dara.components import Select\n"
        "from dara.core import action\n"
        "from dara.core.interactivity.actions import UpdateVariableContext, "
        "UpdateVariableInputs\n"
        "from dara.core.internal.utils import run_user_handler\n"
        "\n"
        "picked = dc.Variable('north')\n"
        "\n"
        "\n"
        "@action\n"
        "async def update_picked(ctx: action.Ctx, old):\n"
        "    \"\"\"Defined once: the deprecated helper defined it on every call.\"\"\"\n"
        "    context = UpdateVariableContext(\n"
        "        inputs=UpdateVariableInputs(old=old, new=ctx.input),\n"
        "        extras=[],\n"
        "    )\n"
        "    value = await run_user_handler(\n"
        "        lambda ctx: ctx.inputs.new.lower(),\n"
        "        args=(context,),\n"
        "    )\n"
        "    await ctx.update(picked, value)\n"
        "\n"
        "\n"
        "def home():\n"
        "    return Select(value=picked, items=['North'],\n"
        "                  onchange=update_picked(picked))\n"
    )


def test_a_local_variable_of_a_page_built_twice_stays_a_person_s(tmp_path: Path) -> None:
    files = _legacy_button("chosen", "pick")
    files["shop/main.py"] += "config.add_page('Other', page())\n"
    result, _ = run_audit(write_tree(tmp_path, files))
    assert factory_message(result).endswith(
        "; chosen is local to page, which a module-level action cannot name: make the "
        "variable module-level")
    assert [f.fix for f in result.findings if f.rule == "DM105"] == ["manual"]


def test_an_update_to_a_constant_shows_the_constant(tmp_path: Path) -> None:
    result, _ = run_audit(write_tree(tmp_path, _legacy_button("label", "lambda ctx: 'sent'")))
    assert factory_message(result).endswith("`label.update(value='sent')`")


def test_a_uid_written_as_none_is_replaced_by_the_literal(tmp_path: Path) -> None:
    root = write_tree(tmp_path, {"shop/main.py": (
        "from dara.core import ConfigurationBuilder, DerivedVariable, Variable\n"
        "\n"
        "rows = Variable([1, 2], uid='rows')\n"
        "total = DerivedVariable(lambda r: sum(r), variables=[rows], uid=None)\n"
        "config = ConfigurationBuilder()\n"
    )})
    audited, _ = run_audit(root)
    assert [(f.rule, f.fix) for f in audited.findings if f.rule == "DM101"] == [
        ("DM101", "safe")]
    result = migrate(root)
    (change,) = result.changes
    assert (b"total = DerivedVariable(lambda r: sum(r), variables=[rows], "
            b"uid='shop.main:total')\n") in change.after
    assert not result.hatch_apps and not result.remaining


def test_an_empty_uid_is_random_for_a_store_and_kept_by_a_variable(tmp_path: Path) -> None:
    # BackendStore passes its uid on only `if uid:`; AnyVariable replaces only None.
    root = write_tree(tmp_path, {"shop/main.py": (
        "from dara.core import ConfigurationBuilder, DerivedVariable, Variable\n"
        "from dara.core.persistence import BackendStore\n"
        "\n"
        "rows = Variable([1, 2], uid='rows', store=BackendStore(uid=''))\n"
        "total = DerivedVariable(lambda r: sum(r), variables=[rows], uid='')\n"
        "config = ConfigurationBuilder()\n"
    )})
    audited, _ = run_audit(root)
    assert [(f.rule, f.line, f.column, f.fix) for f in audited.findings
            if f.rule.startswith("DM10")] == [("DM101", 4, 43, "safe")]
    (change,) = migrate(root).changes
    assert b"store=BackendStore(uid='shop.main:store')" in change.after


def test_a_missing_uid_given_by_position_is_left_to_a_person(tmp_path: Path) -> None:
    # `BackendStore(backend, uid)`: a keyword `uid=` as well would be given twice.
    result, _ = run_audit(write_tree(tmp_path, {"shop/main.py": (
        "from dara.core import ConfigurationBuilder, Variable\n"
        "from dara.core.persistence import BackendStore, FileBackend\n"
        "\n"
        "store = BackendStore(FileBackend('/data/cart.json'), None)\n"
        "cart = Variable([], store=store, uid='cart')\n"
        "config = ConfigurationBuilder()\n"
    )}))
    assert [(f.line, f.fix) for f in result.findings if f.rule == "DM101"] == [(4, "manual")]


def test_a_route_path_named_by_a_constant_gives_its_id_and_a_computed_one_none(
        tmp_path: Path) -> None:
    result, _ = run_audit(write_tree(tmp_path, {"site/main.py": (
        "import os\n"
        "\n"
        "from dara.components import Text\n"
        "from dara.core import ConfigurationBuilder\n"
        "\n"
        "SETTINGS_PATH = 'settings'\n"
        "\n"
        "config = ConfigurationBuilder()\n"
        "config.router.add_page(path=SETTINGS_PATH, content=Text('s'))\n"
        "config.router.add_index(content=Text('home'))\n"
        "config.router.add_page(path=os.environ.get('EXTRA', 'extra'), content=Text('x'))\n"
    )}))
    assert route_ids(result) == {9: "settings", 10: "index", 11: None}
    assert [f.fix for f in result.findings if f.rule == "DM108" and f.line == 11] == ["manual"]


def test_a_model_loaded_in_another_module_is_a_live_object(tmp_path: Path) -> None:
    # The usual data-science layout: the model is loaded once in `models.py` (no
    # `__init__.py`: a namespace package) and handed to the variables elsewhere.
    result, _ = run_audit(write_tree(tmp_path, {
        "churn/models.py": "import joblib\n\nmodel = joblib.load('churn.pkl')\n",
        "churn/main.py": (
            "from dara.core import ConfigurationBuilder, DataVariable, ServerVariable\n"
            "\n"
            "from churn import models\n"
            "from churn.models import model\n"
            "\n"
            "config = ConfigurationBuilder()\n"
            "scores = DataVariable(model, uid='scores')\n"
            "latest = ServerVariable(default=models.model, uid='latest')\n"
        ),
    }))
    assert {(f.line, f.fix) for f in result.findings if f.rule == "DM203"} == {
        (7, "manual"), (8, "manual")}


def test_a_definition_whose_name_the_module_binds_is_not_offered_a_hoist(
        tmp_path: Path) -> None:
    root = write_tree(tmp_path, {"live/main.py": (
        "from dara.components import Text\n"
        "from dara.core import ConfigurationBuilder, DerivedVariable, Variable, py_component\n"
        "\n"
        "level = Variable(1, uid='level')\n"
        "echo = 'module echo'\n"
        "\n"
        "\n"
        "@py_component\n"
        "def live(value: int):\n"
        "    echo = DerivedVariable(lambda x: x, variables=[level])\n"
        "    return Text(echo)\n"
        "\n"
        "\n"
        "config = ConfigurationBuilder()\n"
        "config.router.add_page(path='live', content=lambda: live(level), id='live')\n"
    )})
    audited, _ = run_audit(root)
    (finding,) = [f for f in audited.findings if f.rule == "DM301"]
    assert finding.fix == "blocker"
    assert "the module already binds `echo`: rename one of them" in finding.message
    # What apply does agrees: nothing is offered that it then leaves undone.
    result = migrate(root, unsafe=True)
    assert [f.rule for f in result.remaining] == ["DM301"]
    assert all(f.fix == "blocker" for f in result.remaining)


def _regions_page(regions: str, loop: str) -> dict[str, str]:
    return {"sales/main.py": (
        "from dara.components import Stack, Text\n"
        "from dara.core import ConfigurationBuilder, DerivedVariable, Variable\n"
        "\n"
        "base = Variable(1, uid='base')\n"
        f"{regions}\n"
        "\n"
        "\n"
        "def page():\n"
        "    cards = []\n"
        f"    {loop}\n"
        "        cards.append(DerivedVariable(lambda v: v, variables=[base]))\n"
        "    return Stack(*[Text(card) for card in cards])\n"
        "\n"
        "\n"
        "config = ConfigurationBuilder()\n"
        "config.router.add_page(path='sales', content=page, id='sales')\n"
    )}


@pytest.mark.parametrize("loop", ["for region, weight in REGIONS.items():",
                                  "for region in REGIONS:", "for region in REGIONS.keys():"])
def test_a_loop_over_a_literal_dicts_keys_gets_uids_keyed_by_them(tmp_path: Path,
                                                                  loop: str) -> None:
    root = write_tree(tmp_path, _regions_page("REGIONS = {'eu': 1, 'us': 2}", loop))
    result = migrate(root)
    (change,) = result.changes
    assert b"uid=f'sales.main:page.cards.{region}'" in change.after
    assert not result.remaining and not result.hatch_apps


@pytest.mark.parametrize("regions", [
    "REGIONS = {'eu': 1, **{'us': 2}}",
    "REGIONS = {'eu': 1, 'us': 2}\nREGIONS['apac'] = 3",
])
def test_a_dict_with_keys_not_written_out_gives_no_key(tmp_path: Path, regions: str) -> None:
    root = write_tree(tmp_path, _regions_page(regions, "for region in REGIONS:"))
    result = migrate(root)
    assert [f.rule for f in result.remaining] == ["DM104"]


def test_a_package_given_with_nothing_marking_its_project_is_said_to_be_the_root(
        tmp_path: Path) -> None:
    package = tmp_path / "work" / "shop"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "main.py").write_text(
        "from dara.core import ConfigurationBuilder\n\nconfig = ConfigurationBuilder()\n")
    result = CliRunner().invoke(app, ["audit", str(package), "--no-cache"])
    assert "is a package with no pyproject.toml or .git above it" in result.stderr
    assert "give the folder above it" in result.stderr
    (tmp_path / "work" / "pyproject.toml").write_text('[project]\nname = "shop"\n')
    marked = CliRunner().invoke(app, ["audit", str(package), "--no-cache"])
    assert "is a package with no pyproject.toml" not in marked.stderr


def test_a_dotted_import_does_not_crash_the_rules_that_read_bindings(tmp_path: Path) -> None:
    result, _ = run_audit(write_tree(tmp_path, {"app/main.py": (
        "import os.path\n"
        "\n"
        "from dara.components import Text\n"
        "from dara.core import ConfigurationBuilder, py_component\n"
        "\n"
        "\n"
        "@py_component\n"
        "def inner(label: str):\n"
        "    return Text(label)\n"
        "\n"
        "\n"
        "@py_component\n"
        "def outer(label: str):\n"
        "    return inner(os.path.basename(label))\n"
        "\n"
        "\n"
        "config = ConfigurationBuilder()\n"
        "config.router.add_page(path='home', content=lambda: outer('a'), id='home')\n"
    )}))
    assert not result.errors
    assert [(f.rule, f.line) for f in result.findings if f.rule == "DM303"] == [("DM303", 7)]


def test_route_ids_are_made_and_compared_as_dara_holds_them(tmp_path: Path) -> None:
    # Dara lowercases a route id: `Reports` and `reports` would be one key of its route map.
    result, _ = run_audit(write_tree(tmp_path, {"site/main.py": (
        "from dara.components import Text\n"
        "from dara.core import ConfigurationBuilder\n"
        "\n"
        "config = ConfigurationBuilder()\n"
        "config.router.add_page(path='Reports', content=Text('r'))\n"
        "archive = config.router.add_prefix(path='reports')\n"
        "config.router.add_page(path='Sales Report', content=Text('s'))\n"
        "config.router.add_page(path='sales', content=Text('t'), id='Sales-Report')\n"
    )}))
    assert route_ids(result) == {5: "reports", 6: "reports-2", 7: "sales-report-2"}


@pytest.mark.parametrize(("body", "expected"), [
    ("HISTORY.setdefault(user, []).append(item)", ("error", ".setdefault(...).append()")),
    ("HISTORY.setdefault(user, [])", ("info", "memo cache")),
])
def test_appending_to_what_setdefault_gives_back_is_a_write(tmp_path: Path, body: str,
                                                            expected: tuple[str, str]) -> None:
    result, _ = run_audit(write_tree(tmp_path, {"notes/main.py": (
        "from dara.core import ConfigurationBuilder, action\n"
        "\n"
        "HISTORY: dict[str, list[str]] = {}\n"
        "\n"
        "\n"
        "@action\n"
        "async def add(ctx: action.Ctx, user: str, item: str) -> None:\n"
        f"    {body}\n"
        "\n"
        "\n"
        "config = ConfigurationBuilder()\n"
    )}), show_info=True)
    (finding,) = [f for f in result.findings if f.rule == "DM205"]
    severity, said = expected
    assert finding.severity == severity and said in finding.message


def _task_app(config: str) -> dict[str, str]:
    return {"jobs/run.py": (
        "from dara.core import action\n"
        "\n"
        "\n"
        "def train(rows: list) -> float:\n"
        "    return sum(rows) / len(rows)\n"
        "\n"
        "\n"
        "@action\n"
        "async def refit(ctx: action.Ctx, rows: list) -> None:\n"
        "    await ctx.run_task(train, args=[rows])\n"
    ), "jobs/main.py": config}


def test_task_use_with_no_app_to_declare_a_runtime_on_is_left_to_a_person(
        tmp_path: Path) -> None:
    result, _ = run_audit(write_tree(tmp_path, _task_app("import jobs.run\n")))
    assert {(f.rule, f.fix) for f in result.findings} == {("DM201", "manual"),
                                                          ("DM601", "manual")}


def test_task_use_the_runtime_covers_has_nothing_to_fix(tmp_path: Path) -> None:
    result, _ = run_audit(write_tree(tmp_path, _task_app(
        "import os\n"
        "\n"
        "from dara.core import ConfigurationBuilder\n"
        "from dara.core.runtime import ValkeyDistributedBackend\n"
        "\n"
        "import jobs.run\n"
        "\n"
        "config = ConfigurationBuilder()\n"
        "config.configure_runtime(scope=None,\n"
        "                         backend=ValkeyDistributedBackend(url=os.environ['URL']))\n"
    )), show_info=True, target="v2")
    assert [(f.rule, f.severity, f.fix) for f in result.findings if f.rule == "DM601"] == [
        ("DM601", "info", None)]


def test_a_definition_returned_while_handling_a_request_is_not_offered_a_hoist(
        tmp_path: Path) -> None:
    root = write_tree(tmp_path, {"app/main.py": (
        "from dara.core import ConfigurationBuilder, DerivedVariable, Variable, action\n"
        "\n"
        "counter = Variable(1, uid='counter')\n"
        "\n"
        "\n"
        "def make_double():\n"
        "    return DerivedVariable(lambda c: c * 2, variables=[counter])\n"
        "\n"
        "\n"
        "@action\n"
        "async def refresh(ctx: action.Ctx) -> None:\n"
        "    make_double()\n"
        "    await ctx.update(counter, 3)\n"
        "\n"
        "\n"
        "config = ConfigurationBuilder()\n"
        "config.router.add_page(path='a', content=lambda: 'a', id='a', on_load=refresh())\n"
    )})
    audited, _ = run_audit(root)
    (finding,) = [f for f in audited.findings if f.rule == "DM301"]
    assert finding.fix == "blocker"
    assert "it is not assigned to a name of its own: assign it to one, then" in finding.message


@pytest.mark.parametrize("written", [
    "f'{SALES}-total'", "SALES + '-total'", "'sales' + '-' + 'total'", "f'{ids.SALES}-total'",
    "ids.TOTAL",
])
def test_a_uid_written_of_constants_and_text_is_worked_out(tmp_path: Path,
                                                          written: str) -> None:
    # Dara raises `ValueError: Invalid uid value: sales-total, is already taken` at the build.
    result, _ = run_audit(write_tree(tmp_path, {
        "shop/ids.py": "SALES = 'sales'\nTOTAL = f'{SALES}-total'\n",
        "shop/main.py": (
            "from dara.core import ConfigurationBuilder, DerivedVariable, Variable\n"
            "\n"
            "from shop import ids\n"
            "from shop.ids import SALES\n"
            "\n"
            "rows = Variable([1], uid='rows')\n"
            "total = DerivedVariable(lambda r: sum(r), variables=[rows], uid='sales-total')\n"
            f"again = DerivedVariable(lambda r: len(r), variables=[rows], uid={written})\n"
            "config = ConfigurationBuilder()\n"
        ),
    }))
    assert {f.line for f in result.findings if f.rule == "DM103"} == {7, 8}


def test_a_uid_written_over_a_parameter_is_no_constant(tmp_path: Path) -> None:
    result, _ = run_audit(write_tree(tmp_path, {"shop/main.py": (
        "from dara.core import ConfigurationBuilder, DerivedVariable, Variable\n"
        "\n"
        "rows = Variable([1], uid='rows')\n"
        "\n"
        "\n"
        "def total(region: str) -> DerivedVariable:\n"
        "    return DerivedVariable(lambda r: sum(r), variables=[rows], uid=f'{region}-total')\n"
        "\n"
        "\n"
        "north, south = total('north'), total('south')\n"
        "config = ConfigurationBuilder()\n"
    )}))
    assert not [f for f in result.findings if f.rule == "DM103"]


@pytest.mark.parametrize(("stored", "severity"), [
    ("token", "error"),  # the first request's argument wins, in its worker only
    ("True", "error"),
    ("load(user)", "info"),  # worked out from the key: a memo
    ("found", "info"),
])
def test_only_a_value_worked_out_makes_a_first_write_a_memo(tmp_path: Path, stored: str,
                                                            severity: str) -> None:
    result, _ = run_audit(write_tree(tmp_path, {"auth/main.py": (
        "from dara.core import ConfigurationBuilder, action\n"
        "\n"
        "TOKENS: dict[str, object] = {}\n"
        "\n"
        "\n"
        "def load(user: str) -> str:\n"
        "    return user.upper()\n"
        "\n"
        "\n"
        "@action\n"
        "async def login(ctx: action.Ctx, user: str, token: str) -> None:\n"
        "    found = load(user)\n"
        "    if user not in TOKENS:\n"
        f"        TOKENS[user] = {stored}\n"
        "\n"
        "\n"
        "config = ConfigurationBuilder()\n"
    )}), show_info=True)
    assert [f.severity for f in result.findings if f.rule == "DM205"] == [severity]


@pytest.mark.parametrize(("changed", "keyed"), [("", True), ("REGIONS.append('apac')\n", False)])
def test_a_loop_over_a_collection_imported_from_the_project_keys_its_uids(
        tmp_path: Path, changed: str, keyed: bool) -> None:
    root = write_tree(tmp_path, {
        "sales/regions.py": "REGIONS = ('eu', 'us')\n",
        "sales/main.py": (
            "from dara.core import ConfigurationBuilder, DerivedVariable, Variable\n"
            "\n"
            "from sales.regions import REGIONS\n"
            "\n"
            f"{changed}"
            "base = Variable(1, uid='base')\n"
            "totals = {}\n"
            "for region in REGIONS:\n"
            "    totals[region] = DerivedVariable(lambda b: b, variables=[base])\n"
            "config = ConfigurationBuilder()\n"
        ),
    })
    result = migrate(root)
    written = b"".join(change.after for change in result.changes)
    assert (b"uid=f'sales.main:totals.{region}'" in written) is keyed


def test_a_backend_made_apart_is_not_said_to_hold_a_variable(tmp_path: Path) -> None:
    result, _ = run_audit(write_tree(tmp_path, {"shop/main.py": (
        "from dara.core import ConfigurationBuilder, ServerVariable\n"
        "from dara.core.interactivity.server_variable import MemoryBackend\n"
        "\n"
        "spare = MemoryBackend()\n"
        "rows = ServerVariable(backend=MemoryBackend(scope='global'), uid='rows')\n"
        "config = ConfigurationBuilder()\n"
    )}))
    said = {f.line: f.message for f in result.findings if f.rule == "DM202"}
    assert said[4].startswith("MemoryBackend keeps its values in one worker's memory")
    assert said[5].startswith("MemoryBackend keeps this ServerVariable in one worker's memory")


def test_verify_expects_a_route_kept_process_local_to_change(tmp_path: Path) -> None:
    root = write_tree(tmp_path, {"site/main.py": (
        "from dara.components import Text\n"
        "from dara.core import ConfigurationBuilder\n"
        "\n"
        "config = ConfigurationBuilder()\n"
        "config.unsafe_runtime_mode = 'local'\n"
        "for name in ['a', 'b']:\n"
        "    # dara-migrate: local-only[DM108] added in a loop\n"
        "    config.router.add_page(path=name, content=Text(name))\n"
    )})
    _, project = run_audit(root)
    routes = [p for p in predicted_definitions(project, root) if p.kind == "route"]
    assert [(p.line, p.rule, p.acknowledged) for p in routes] == [(8, "DM108", True)]


def test_route_ids_are_unique_within_each_apps_router(tmp_path: Path) -> None:
    page = ("from dara.components import Text\n"
            "from dara.core import ConfigurationBuilder\n"
            "\n"
            "config = ConfigurationBuilder()\n"
            "config.router.add_page(path='/', content=Text('home'))\n"
            "config.router.add_page(path='index', content=Text('index'))\n")
    result, _ = run_audit(write_tree(tmp_path, {"sales/main.py": page, "ops/main.py": page}))
    ids = {(f.path, f.line): f.suggested_uid for f in result.findings if f.rule == "DM108"}
    assert ids == {("ops/main.py", 5): "index", ("ops/main.py", 6): "index-2",
                   ("sales/main.py", 5): "index", ("sales/main.py", 6): "index-2"}


@pytest.mark.parametrize(("consts", "imported", "written"), [
    ("A = 'alpha'\nB = 'beta'\n", "from shop.consts import *", "f'{A}-{B}'"),
    ("N = 7\n", "from shop.consts import N", "f'{N}'"),
])
def test_equal_uids_through_a_star_import_or_a_number_are_duplicates(
        tmp_path: Path, consts: str, imported: str, written: str) -> None:
    result, _ = run_audit(write_tree(tmp_path, {
        "shop/consts.py": consts,
        "shop/main.py": (
            "from dara.core import ConfigurationBuilder, DerivedVariable, Variable\n"
            f"{imported}\n"
            "\n"
            "rows = Variable([1], uid='rows')\n"
            f"first = DerivedVariable(lambda r: r, variables=[rows], uid={written})\n"
            f"second = DerivedVariable(lambda r: r, variables=[rows], uid={written})\n"
            "config = ConfigurationBuilder()\n"
        ),
    }))
    assert {f.line for f in result.findings if f.rule == "DM103"} == {5, 6}


@pytest.mark.parametrize("extended", [
    "VIEWS = dict(VIEWS, extra=make_view)", "VIEWS['extra'] = make_view",
])
def test_a_dict_of_views_extended_after_it_is_written_still_reaches_them(
        tmp_path: Path, extended: str) -> None:
    result, _ = run_audit(write_tree(tmp_path, {"shop/main.py": (
        "from dara.core import ConfigurationBuilder, DerivedVariable, Variable\n"
        "\n"
        "rows = Variable([1], uid='rows')\n"
        "\n"
        "\n"
        "def make_view():\n"
        "    return DerivedVariable(lambda r: r, variables=[rows])\n"
        "\n"
        "\n"
        "VIEWS = {'main': make_view}\n"
        f"{extended}\n"
        "for name in VIEWS:\n"
        "    VIEWS[name]()\n"
        "config = ConfigurationBuilder()\n"
    )}))
    assert [(f.rule, f.line) for f in result.findings if f.rule.startswith("DM10")] == [
        ("DM104", 7)]


def test_verify_expects_a_named_store_where_its_first_variable_registers_it(
        tmp_path: Path) -> None:
    root = write_tree(tmp_path, {
        "shop/state.py": (
            "from dara.core.persistence import BackendStore\n"
            "\n"
            "store = BackendStore(uid='shop-store')\n"
        ),
        "shop/main.py": (
            "from dara.core import ConfigurationBuilder, Variable\n"
            "from dara.core.persistence import BackendStore\n"
            "\n"
            "from shop.state import store\n"
            "\n"
            "config = ConfigurationBuilder()\n"
            "cart = Variable([], store=store, uid='cart')\n"
            "prefs = Variable({}, store=BackendStore(uid='prefs-store'), uid='prefs')\n"
        ),
    })
    _, project = run_audit(root)
    stores = sorted((p.path, p.line) for p in predicted_definitions(project, root)
                    if p.kind == "backend_store")
    assert stores == [("shop/main.py", 7), ("shop/main.py", 8)]


_LOOPS = [
    # (the module's constants, the loop, whether its passes have literal keys)
    ("", "for region in ['eu', 'us']:", True),
    ("REGIONS = ('eu', 'us')", "for region in REGIONS:", True),
    ("REGIONS = {'eu': 1, 'us': 2}", "for region, weight in REGIONS.items():", True),
    ("REGIONS = {'eu-west': 1, 'us-east': 2}", "for region in REGIONS.keys():", True),
    ("COUNT = range(3)", "for region in COUNT:", True),
    ("REGIONS = ['eu', 'us']", "for region in sorted(REGIONS):", False),
    ("REGIONS = ['eu', 'us']\nREGIONS.append('apac')", "for region in REGIONS:", False),
    ("REGIONS = ['eu', 'us']\nREGIONS += ['apac']", "for region in REGIONS:", False),
    ("REGIONS = ['eu', 'eu']", "for region in REGIONS:", False),
    ("REGIONS = ['eu', 'us']", "for region in REGIONS.items():", False),
    ("REGIONS: list[str] = ['eu', 'us']", "for region in REGIONS:", False),
    ("if True:\n    REGIONS = ['eu', 'us']", "for region in REGIONS:", False),
    ("", "for region in os.listdir('.'):", False),
    ("", "for region in base.columns:", False),
    ("", "for i, region in enumerate(['eu', 'us']):", False),
    ("", "for region in PARAMS:", False),
    ("", "while len(totals) < 2:", False),
]


@pytest.mark.parametrize(("constants", "loop", "keyed"), _LOOPS)
def test_a_loop_the_audit_offers_to_key_is_one_apply_keys(
        tmp_path: Path, constants: str, loop: str, keyed: bool) -> None:
    """The audit reads no source: what it says of a loop's keys comes from the facts, and
    must be what `apply` finds in the source."""
    root = write_tree(tmp_path, {"sales/main.py": (
        "import os\n"
        "\n"
        "from dara.core import ConfigurationBuilder, DerivedVariable, Variable\n"
        "\n"
        f"{constants}\n"
        "base = Variable(1, uid='base')\n"
        "totals = {}\n"
        "\n"
        "\n"
        "def build(PARAMS=('eu',)):\n"
        f"    {loop}\n"
        "        totals[len(totals)] = DerivedVariable(lambda b: b, variables=[base])\n"
        "\n"
        "\n"
        "build()\n"
        "config = ConfigurationBuilder()\n"
    )})
    result, _ = run_audit(root)
    (finding,) = [f for f in result.findings if f.rule == "DM104"]
    assert finding.fix == ("safe" if keyed else "manual")
    if not keyed:
        assert "its loop does not run over keys written in the code" in finding.message
    applied = migrate(root)
    assert [f.rule for f in applied.remaining] == ([] if keyed else ["DM104"])
    written = b"".join(change.after for change in applied.changes)
    assert (b"uid=f'sales.main:build.totals.{region}'" in written) is keyed


@pytest.mark.parametrize(("comprehension", "keyed"), [
    ("[DerivedVariable(lambda b: b, variables=[base]) for region in REGIONS]", True),
    ("{region: DerivedVariable(lambda b: b, variables=[base]) for region in ('eu', 'us')}",
     True),
    ("[DerivedVariable(lambda b: b, variables=[base]) for region in sorted(REGIONS)]", False),
    ("[DerivedVariable(lambda b: b, variables=[base]) for region in REGIONS for _ in 'ab']",
     False),
    ("[region for region in REGIONS if DerivedVariable(lambda b: b, variables=[base])]",
     False),
])
def test_a_comprehension_the_audit_offers_to_key_is_one_apply_keys(
        tmp_path: Path, comprehension: str, keyed: bool) -> None:
    root = write_tree(tmp_path, {"sales/main.py": (
        "from dara.core import ConfigurationBuilder, DerivedVariable, Variable\n"
        "\n"
        "REGIONS = ['eu', 'us']\n"
        "base = Variable(1, uid='base')\n"
        f"totals = {comprehension}\n"
        "config = ConfigurationBuilder()\n"
    )})
    result, _ = run_audit(root)
    (finding,) = [f for f in result.findings if f.rule == "DM104"]
    assert finding.fix == ("safe" if keyed else "manual")
    applied = migrate(root)
    assert [f.rule for f in applied.remaining] == ([] if keyed else ["DM104"])
    written = b"".join(change.after for change in applied.changes)
    assert (b"uid=f'sales.main:totals.{region}'" in written) is keyed


@pytest.mark.parametrize("where", ["page", "module"])
def test_a_resolver_holding_a_loop_value_in_a_default_is_not_one_shared_action(
        tmp_path: Path, where: str) -> None:
    """`lambda ctx, r=r: r` keeps each button's own `r`: one module-level action would
    raise NameError (in a page) or set the loop's last value (at module level)."""
    loop = ("for r in REGIONS:\n"
            "    BUTTONS.append(Button(r, onclick=UpdateVariable(lambda ctx, r=r: r,\n"
            "                                                    variable=selected)))\n")
    body = ("def page():\n    BUTTONS = []\n" + "".join(f"    {line}\n" for line in
                                                         loop.splitlines())
            + "    return Stack(*BUTTONS)\n") if where == "page" else (
        "BUTTONS = []\n" + loop + "\n\ndef page():\n    return Stack(*BUTTONS)\n")
    root = write_tree(tmp_path, {"sales/main.py": (
        "from dara.components import Button, Stack\n"
        "from dara.core import ConfigurationBuilder, UpdateVariable, Variable\n"
        "\n"
        "REGIONS = ['emea', 'amer']\n"
        "selected = Variable('emea', uid='selected')\n"
        f"{body}\n"
        "config = ConfigurationBuilder()\n"
        "config.router.add_page(path='regions', content=page, id='regions')\n"
    )})
    result, _ = run_audit(root)
    assert [f.fix for f in result.findings if f.rule == "DM105"] == ["manual"]
    applied = migrate(root, unsafe=True)
    written = b"".join(change.after for change in applied.changes)
    assert b"async def update_selected" not in written
    assert [f.rule for f in applied.remaining] == ["DM105"]


def test_two_definitions_of_one_name_in_a_modules_functions_are_not_hoisted(
        tmp_path: Path) -> None:
    """Both moved to module level, the second would replace the first: each component and
    each page's button would then use the other's."""
    root = write_tree(tmp_path, {"crm/main.py": (
        "from dara.components import Button, Text\n"
        "from dara.core import ConfigurationBuilder, DerivedVariable, Variable, action,"
        " py_component\n"
        "\n"
        "search = Variable('', uid='search')\n"
        "size = Variable(10, uid='size')\n"
        "\n"
        "\n"
        "def accounts_page():\n"
        "    @action\n"
        "    async def refresh(ctx: action.Ctx):\n"
        "        await ctx.update(search, '')\n"
        "    return Button('Refresh', onclick=refresh())\n"
        "\n"
        "\n"
        "def contacts_page():\n"
        "    @action\n"
        "    async def refresh(ctx: action.Ctx):\n"
        "        await ctx.update(size, 10)\n"
        "    return Button('Refresh', onclick=refresh())\n"
        "\n"
        "\n"
        "@py_component\n"
        "def accounts(query: str):\n"
        "    total = DerivedVariable(lambda q: len(q), variables=[search])\n"
        "    return Text(total)\n"
        "\n"
        "\n"
        "@py_component\n"
        "def contacts(count: int):\n"
        "    total = DerivedVariable(lambda s: s * 2, variables=[size])\n"
        "    return Text(total)\n"
        "\n"
        "\n"
        "config = ConfigurationBuilder()\n"
        "config.router.add_page(path='a', content=accounts_page, id='a')\n"
        "config.router.add_page(path='c', content=contacts_page, id='c')\n"
        "config.router.add_page(path='s', content=lambda: accounts(search), id='s')\n"
        "config.router.add_page(path='t', content=lambda: contacts(size), id='t')\n"
    )})
    result, _ = run_audit(root)
    hoists = [f for f in result.findings if f.rule in ("DM301", "DM302")]
    assert [(f.rule, f.fix) for f in hoists] == [
        ("DM302", "manual"), ("DM302", "manual"), ("DM301", "blocker"), ("DM301", "blocker")]
    assert all("another definition in this module's functions is also named" in f.message
               for f in hoists)
    applied = migrate(root, unsafe=True)
    written = b"".join(change.after for change in applied.changes)
    assert b"\nasync def refresh" not in written and b"\ntotal = " not in written


@pytest.mark.parametrize(("body", "local"), [
    ("    names = [n.upper() for n in NAMES]\n"
     "\n"
     "    @action\n"
     "    async def go(ctx: action.Ctx):\n"
     "        for n in names:\n"
     "            await ctx.notify(n, 'n', 'SUCCESS')\n"
     "\n"
     "    return Button('go', onclick=go())\n", "names"),
    ("    scale = v * 2\n"
     "    doubled = DerivedVariable(lambda c, scale=scale: c * scale, variables=[counter])\n"
     "    return Text(doubled)\n", "scale"),
])
def test_a_local_read_as_a_loops_iterable_or_a_lambdas_default_is_a_local_name(
        tmp_path: Path, body: str, local: str) -> None:
    """What `apply` refuses to move, the audit offers no hoist for."""
    root = write_tree(tmp_path, {"ops/main.py": (
        "from dara.components import Button, Text\n"
        "from dara.core import ConfigurationBuilder, DerivedVariable, Variable, action,"
        " py_component\n"
        "\n"
        "counter = Variable(0, uid='counter')\n"
        "NAMES = ['x', 'y']\n"
        "\n"
        "\n"
        "@py_component\n"
        "def panel(v: int):\n"
        f"{body}"
        "\n"
        "\n"
        "config = ConfigurationBuilder()\n"
        "config.router.add_page(path='p', content=lambda: panel(counter), id='p')\n"
    )})
    result, _ = run_audit(root)
    (finding,) = [f for f in result.findings if f.rule == "DM301"]
    assert finding.fix == "blocker"
    assert f"it uses local name(s) `{local}`" in finding.message



_NAMED_ELSEWHERE = (
    'from dara.components import Stack, Text\n'
    'from dara.core import ConfigurationBuilder, Variable, py_component\n'
    '\n'
    "sales = Variable(1, uid='sales')\n"
    "costs = Variable(2, uid='costs')\n"
    '\n'
    '\n'
    'def header(title: str):\n'
    '    return Text(title.upper())\n'
    '\n'
    '\n'
    'class SalesPage:\n'
    '    @py_component\n'
    '    def header(self, value: int):\n'
    "        return Text(f'Sales {value}')\n"
    '\n'
    '    @py_component\n'
    '    def badge(self, value: int):\n'
    "        return Text(f'S{value}')\n"
    '\n'
    '    def render(self):\n'
    '        return Stack(self.header(sales), self.badge(sales))\n'
    '\n'
    '\n'
    'class CostsPage:\n'
    '    @py_component\n'
    '    def badge(self, value: int):\n'
    "        return Text(f'C{value}')\n"
    '\n'
    '    def render(self):\n'
    "        return Stack(header('costs'), self.badge(costs))\n"
    '\n'
    '\n'
    'class TagsPage:\n'
    '    @py_component\n'
    '    def chip(self, value: int):\n'
    "        return Text(f'T{value}')\n"
    '\n'
    '    def render(self):\n'
    '        return Stack(*map(self.chip, [sales, costs]))\n'
    '\n'
    '\n'
    'class FooterPage:\n'
    '    @py_component\n'
    '    def note(self, value: int):\n'
    "        return Text(f'N{value}')\n"
    '\n'
    '    def render(self):\n'
    '        return Stack(self.note(sales))\n'
    '\n'
    '\n'
    'footer = FooterPage()\n'
    '\n'
    '\n'
    'def footer_page():\n'
    '    return Stack(footer.render(), footer.note(costs))\n'
    '\n'
    '\n'
    'def create_app():\n'
    '    config = ConfigurationBuilder()\n'
    "    config.router.add_page(path='sales', content=SalesPage().render, id='sales')\n"
    "    config.router.add_page(path='costs', content=CostsPage().render, id='costs')\n"
    "    config.router.add_page(path='tags', content=TagsPage().render, id='tags')\n"
    "    config.router.add_page(path='footer', content=footer_page, id='footer')\n"
    '    return config\n'
    '\n'
    '\n'
    'config = create_app()\n'
)


def test_a_method_named_elsewhere_is_not_offered_the_move_apply_refuses(tmp_path: Path) -> None:
    """A module-level `header` too, `badge` in two classes, `map(self.chip, ...)`,
    `footer.note(...)` from outside the class: `apply` keeps each method where it is."""
    root = write_tree(tmp_path, {"app/main.py": _NAMED_ELSEWHERE})
    result, _ = run_audit(root)
    assert [(f.line, f.fix) for f in result.findings if f.rule == "DM502"] == [
        (13, "manual"), (17, "manual"), (26, "manual"), (35, "manual"), (44, "manual")]
    applied = migrate(root, unsafe=True)
    assert [f.rule for f in applied.remaining] == ["DM502"] * 5


@pytest.mark.parametrize("call", ["super().__init__('costs')",
                                  "super(CostPage, self).__init__('costs')"])
def test_a_base_initialiser_run_through_super_runs_once_per_subclass_instance(
        tmp_path: Path, call: str) -> None:
    """`BasePage('sales')` and `CostPage()` both run `BasePage.__init__`: one literal uid
    would be taken twice (dara raises at the build)."""
    root = write_tree(tmp_path, {"app/main.py": (
        "from dara.components import Text\n"
        "from dara.core import ConfigurationBuilder, DerivedVariable, Variable\n"
        "\n"
        "counter = Variable(0, uid='counter')\n"
        "\n"
        "\n"
        "class BasePage:\n"
        "    def __init__(self, title: str):\n"
        "        self.summary = DerivedVariable(lambda c: f'{title}{c}', variables=[counter])\n"
        "\n"
        "    def render(self):\n"
        "        return Text(self.summary)\n"
        "\n"
        "\n"
        "class CostPage(BasePage):\n"
        "    def __init__(self):\n"
        f"        {call}\n"
        "\n"
        "\n"
        "config = ConfigurationBuilder()\n"
        "config.router.add_page(path='s', content=BasePage('sales').render, id='s')\n"
        "config.router.add_page(path='c', content=CostPage().render, id='c')\n"
    )})
    result, _ = run_audit(root)
    assert [(f.rule, f.fix) for f in result.findings if f.rule in ("DM101", "DM104")] == [
        ("DM104", "manual")]


def test_an_app_run_alone_says_which_imports_the_repository_around_it_holds(
        tmp_path: Path) -> None:
    """`cd apps/a && dara-migrate audit`: the shared `libs/common` is not read, and its
    findings are missed; the run says so rather than giving another verdict in silence."""
    write_tree(tmp_path, {
        "apps/a/pyproject.toml": "[project]\nname = 'alpha'\n",
        "apps/a/alpha/main.py": (
            "from common.widgets import total\n"
            "from dara.core import ConfigurationBuilder\n"
            "import pandas\n"
            "\n"
            "config = ConfigurationBuilder()\n"
        ),
        "libs/common/widgets.py": (
            "from dara.core import DerivedVariable, Variable\n"
            "\n"
            "total = DerivedVariable(lambda x: x, variables=[Variable(1)])\n"
        ),
    })
    (tmp_path / ".git").mkdir()
    alone = CliRunner().invoke(app, ["audit", str(tmp_path / "apps" / "a"), "--no-cache"])
    assert alone.stderr.count("warning:") == 1
    assert ("warning: alpha/main.py imports common, which is not in the project "
            f"({tmp_path / 'apps' / 'a'}) but in the repository around it (libs/common): its "
            "code is not read and its findings are missed; give the repository's folder as "
            "the path to read both") in alone.stderr.replace("\n", " ")
    whole = CliRunner().invoke(app, ["audit", str(tmp_path), "--no-cache"])
    assert "warning:" not in whole.stderr


def test_a_library_folder_is_named_by_the_package_its_imports_are_in(tmp_path: Path) -> None:
    """A library kept as a project of its own (`libs/widgets/` holding the package
    `widgets/`): the folder named is the package, from which `widgets.filters` imports."""
    write_tree(tmp_path, {
        "apps/a/pyproject.toml": "[project]\nname = 'alpha'\n",
        "apps/a/alpha/main.py": (
            "from dara.core import ConfigurationBuilder\n"
            "from widgets.filters import make_filter\n"
            "\n"
            "config = ConfigurationBuilder()\n"
        ),
        "libs/widgets/pyproject.toml": "[project]\nname = 'widgets'\n",
        "libs/widgets/widgets/filters.py": "def make_filter():\n    return None\n",
    })
    (tmp_path / ".git").mkdir()
    alone = CliRunner().invoke(app, ["audit", str(tmp_path / "apps" / "a"), "--no-cache"])
    assert "in the repository around it (libs/widgets/widgets)" in alone.stderr.replace(
        "\n", " ")


def test_a_dry_run_lists_the_errors_left_at_the_lines_the_files_have(tmp_path: Path) -> None:
    """Nothing was written: the lines are the files' as they are, not the migrated ones
    (a marker above the first site moves the second down in the migrated file)."""
    root = write_tree(tmp_path, {"shop/main.py": (
        "from dara.components import Text\n"
        "from dara.core import ConfigurationBuilder, DerivedVariable, Variable, py_component\n"
        "\n"
        "CACHE = {}\n"
        "count = Variable(1, uid='count')\n"
        "\n"
        "\n"
        "@py_component\n"
        "def first(value: int):\n"
        "    CACHE['first'] = value\n"
        "    return Text('first')\n"
        "\n"
        "\n"
        "@py_component\n"
        "def second(value: int):\n"
        "    CACHE['second'] = value\n"
        "    return Text('second')\n"
        "\n"
        "\n"
        "config = ConfigurationBuilder()\n"
        "config.router.add_page(path='a', content=lambda: first(count), id='a')\n"
        "config.router.add_page(path='b', content=lambda: second(count), id='b')\n"
    )})
    audited, _ = run_audit(root)
    expected = [f"shop/main.py:{f.line}: DM205" for f in audited.findings if f.rule == "DM205"]
    assert len(expected) == 2
    result = CliRunner().invoke(app, ["apply", str(root), "--dry-run", "--no-cache",
                                      "--no-build-check", "--target", "1.x"])
    listed = [line.strip()[:len(expected[0])] for line in result.stderr.splitlines()
              if "DM205" in line]
    assert listed == expected


def test_a_dry_run_finds_the_lines_of_rewritten_statements_and_of_sites_messages_name(
        tmp_path: Path) -> None:
    """Statements the fixes rewrote (a uid added, the call split over lines) keep their own
    lines in the list, not the first line of the block; a site a message names too."""
    root = write_tree(tmp_path, {"ops/main.py": (
        "import sqlite3\n"
        "\n"
        "from dara.components import Text\n"
        "from dara.core import ConfigurationBuilder, ServerVariable, Variable, py_component\n"
        "from dara.core.persistence import BackendStore\n"
        "\n"
        "board = ServerVariable(default={'service': ['api', 'db'], 'status': ['ok', 'ok']})\n"
        "conn = ServerVariable(default=sqlite3.connect(':memory:', check_same_thread=False))\n"
        "notes = Variable('', store=BackendStore(uid='ops-notes'))\n"
        "team_notes = Variable('', store=BackendStore(uid='ops-notes'))\n"
        "\n"
        "\n"
        "@py_component\n"
        "def summary(settings):\n"
        "    return Text(str(settings))\n"
        "\n"
        "\n"
        "config = ConfigurationBuilder()\n"
        "config.router.add_page(path='a', content=lambda: summary({'a': 1}), id='a')\n"
    )})
    audited, _ = run_audit(root)
    expected = {(f.rule, f.line) for f in audited.findings
                if f.rule in ("DM103", "DM203", "DM501")}
    assert expected == {("DM203", 8), ("DM103", 9), ("DM103", 10), ("DM501", 13)}
    result = CliRunner().invoke(app, ["apply", str(root), "--dry-run", "--no-cache",
                                      "--no-build-check", "--target", "1.x", "--diff"])
    assert "+    uid='ops.main:board',\n" in result.stdout  # the block is rewritten
    listed = {(line.split(": ")[1].split()[0], int(line.split(":")[1]))
              for line in result.stderr.splitlines() if line.startswith("  ops/main.py:")}
    assert listed == expected
    [dm501] = [line for line in result.stderr.splitlines() if "DM501" in line]
    assert "ops/main.py:19 passes it a dict" in dm501
