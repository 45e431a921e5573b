"""DM401 browser-read, DM402 websocket-local and DM403 local-download on small projects."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from dara_migrate.cli import app
from dara_migrate.facts import WATCHED_WORDS
from dara_migrate.models import Finding
from dara_migrate.rules.browser import _WEBSOCKET_STATE
from tests.helpers import run_audit, write_tree


def findings(tmp_path: Path, files: dict[str, str], code: str) -> list[Finding]:
    root = write_tree(tmp_path, files)
    result, _ = run_audit(root, show_info=True)
    return [f for f in result.findings if f.rule == code]


def test_read_replacement_is_offered_only_for_shared_backends(tmp_path: Path) -> None:
    source = (
        "from dara.core import DataVariable, DerivedVariable, ServerVariable, Variable\n"
        "from dara.core.persistence import BackendStore, BrowserStore\n\n"
        "rows = ServerVariable(default=[], uid='rows')\n"
        "frame = DataVariable(uid='frame')\n"
        "prefs = Variable({}, store=BackendStore(uid='prefs-store'), uid='prefs')\n"
        "local = Variable({}, store=BrowserStore(), uid='local')\n"
        "total = DerivedVariable(len, variables=[rows], uid='total')\n"
        "alias = prefs\n\n"
        "async def read_all(server: ServerVariable) -> list:\n"
        "    pending = rows.get_current_value()\n"
        "    return [\n"
        "        await rows.get_current_value(),\n"
        "        await frame.get_current_value(timeout=5),\n"
        "        await prefs.get_current_value(),\n"
        "        await alias.get_current_value(),\n"
        "        await server.get_current_value(),\n"
        "        await local.get_current_value(),\n"
        "        await total.get_current_value(),\n"
        "        await pending,\n"
        "    ]\n"
    )
    found = findings(tmp_path, {"app/main.py": source}, "DM401")
    assert [(f.line, f.fix) for f in found] == [
        (12, "manual"), (14, "unsafe"), (15, "unsafe"), (16, "unsafe"), (17, "unsafe"),
        (18, "unsafe"), (19, "manual"), (20, "manual"),
    ]
    assert "`await rows.read()`" in found[0].message
    assert "`await frame.read()`" in found[2].message
    assert "`await prefs.read()`" in found[3].message
    assert "DerivedVariable" in found[-1].message


def test_get_current_value_on_other_objects_is_not_reported(tmp_path: Path) -> None:
    files = {
        "app/__init__.py": "",
        "app/sensors.py": "class Sensor:\n"
        "    async def get_current_value(self) -> float:\n"
        "        return 1.0\n\n"
        "async def get_current_value(name: str) -> float:\n"
        "    return 0.0\n",
        "app/main.py": "from app.sensors import Sensor, get_current_value\n"
        "from dara.core import Variable\n\n"
        "sensor = Sensor()\n"
        "config = {'v': Variable(0)}\n\n"
        "async def poll(device, other: Sensor) -> list:\n"
        "    return [\n"
        "        await sensor.get_current_value(),\n"
        "        await device.get_current_value(),\n"
        "        await other.get_current_value(),\n"
        "        await get_current_value('x'),\n"
        "        await config['v'].get_current_value(),\n"
        "    ]\n",
    }
    assert findings(tmp_path, files, "DM401") == []


def test_nested_and_module_function_reads_are_reported(tmp_path: Path) -> None:
    source = (
        "import dara.core.interactivity.any_variable as av\n"
        "from dara.core import Variable, action\n\n"
        "filters = Variable({'region': 'EU'})\n\n"
        "@action\n"
        "async def apply(ctx: action.Ctx) -> None:\n"
        "    region = filters.get('region')\n"
        "    value = await region.get_current_value()\n"
        "    raw = await av.get_current_value(filters.model_dump())\n"
        "    await ctx.update(filters, {'region': value, 'raw': raw})\n"
    )
    found = findings(tmp_path, {"app/main.py": source}, "DM401")
    assert [(f.line, f.fix) for f in found] == [(9, "manual"), (10, "manual")]


def test_a_helper_parameter_is_read_as_what_its_callers_pass(tmp_path: Path) -> None:
    """A helper's unannotated (or loosely annotated) parameter is the variable the project's
    calls of the helper give it, also through another helper; a helper only ever given
    project objects, or given nothing by any call, is not reported."""
    files = {
        "app/reads.py": "from typing import Any\n\n"
        "async def current(var: Any):\n"
        "    return await var.get_current_value()\n\n"
        "async def relay(source):\n"
        "    return await current(source)\n\n"
        "async def shared(source):\n"
        "    return await source.get_current_value()\n\n"
        "async def probe(sensor):\n"
        "    return await sensor.get_current_value()\n\n"
        "async def unused(thing):\n"
        "    return await thing.get_current_value()\n",
        "app/main.py": "from dara.core import ServerVariable, Variable, action\n"
        "from dara.core.persistence import BackendStore\n"
        "from app.reads import probe, relay, shared\n\n"
        "class Sensor:\n"
        "    async def get_current_value(self) -> int:\n"
        "        return 1\n\n"
        "name = Variable('')\n"
        "rows = ServerVariable(default=[], uid='rows')\n"
        "prefs = Variable({}, store=BackendStore(uid='prefs-store'), uid='prefs')\n\n"
        "@action\n"
        "async def save(ctx: action.Ctx) -> None:\n"
        "    await ctx.notify(await relay(name), title='Saved')\n"
        "    await rows.write([await shared(rows), await shared(prefs), await probe(Sensor())])\n",
    }
    found = findings(tmp_path, files, "DM401")
    assert [(f.path, f.line, f.fix) for f in found] == [
        ("app/reads.py", 4, "manual"), ("app/reads.py", 10, "unsafe")]
    assert "calls of this function pass a Variable" in found[0].message
    assert ("every call of this function passes a ServerVariable or Variable kept in a shared "
            "backend" in found[1].message)


def test_a_helper_given_variables_of_several_kinds_is_left_to_a_person(tmp_path: Path) -> None:
    files = {"app/main.py": "from dara.core import ServerVariable, Variable, action\n\n"
             "name = Variable('')\n"
             "rows = ServerVariable(default=[], uid='rows')\n\n"
             "async def current(var):\n"
             "    return await var.get_current_value()\n\n"
             "@action\n"
             "async def save(ctx: action.Ctx) -> None:\n"
             "    await rows.write([await current(rows), await current(var=name)])\n"}
    found = findings(tmp_path, files, "DM401")
    assert [(f.line, f.fix) for f in found] == [(7, "manual")]
    assert "pass a ServerVariable or Variable" in found[0].message


def test_ws_handler_on_an_imported_config(tmp_path: Path) -> None:
    files = {
        "app/__init__.py": "",
        "app/config.py": "from dara.core import ConfigurationBuilder\n\n"
        "config = ConfigurationBuilder()\n",
        "app/ws.py": "from app.config import config\n\n"
        "def echo(channel: str, data: str) -> str:\n"
        "    return data\n\n"
        "config.add_ws_handler('echo', echo)\n",
    }
    found = findings(tmp_path, files, "DM402")
    assert [(f.path, f.line) for f in found] == [("app/ws.py", 6)]


def test_registry_import_is_reported_at_its_use_or_alone(tmp_path: Path) -> None:
    files = {
        "app/__init__.py": "",
        "app/used.py": "from dara.core.internal.registries import sessions_registry as sessions\n\n"
        "def online(user: str) -> bool:\n"
        "    return sessions.has(user)\n\n"
        "current = sessions\n",
        "app/only.py": "from dara.core.internal.registries import (\n"
        "    action_registry,\n"
        "    websocket_registry,\n"
        ")\n\n"
        "ACTIONS = action_registry\n",
    }
    found = findings(tmp_path, files, "DM402")
    assert [(f.path, f.line) for f in found] == [
        ("app/only.py", 1), ("app/used.py", 4), ("app/used.py", 6),
    ]
    assert "websocket_registry" in found[0].message
    assert "sessions_registry" in found[1].message


def test_download_file_needs_an_action_context(tmp_path: Path) -> None:
    source = (
        "from dara.core import action\n"
        "from dara.core.interactivity.actions import ActionCtx\n\n"
        "@action\n"
        "async def export(ctx, store) -> None:\n"
        "    await store.download_file('a.csv')\n\n"
        "    async def send() -> None:\n"
        "        await ctx.download_file('b.csv')\n"
        "    await send()\n\n"
        "async def helper(ctx, path: str) -> None:\n"
        "    await ctx.download_file(path)\n\n"
        "async def typed(context: 'ActionCtx', path: str) -> None:\n"
        "    await context.download_file(path)\n"
    )
    found = findings(tmp_path, {"app/main.py": source}, "DM403")
    assert [f.line for f in found] == [9, 16]


def test_helpers_given_the_action_context_use_it(tmp_path: Path) -> None:
    files = {
        "app/__init__.py": "",
        "app/exports.py": "async def export_csv(ctx, name: str) -> None:\n"
        "    await ctx.download_file(f'/tmp/{name}.csv')\n\n"
        "async def export_both(context, name: str) -> None:\n"
        "    await export_csv(context, name)\n"
        "    await export_pdf(name=name, ctx=context)\n\n"
        "async def export_pdf(name: str, ctx) -> None:\n"
        "    await ctx.download_file(f'/tmp/{name}.pdf')\n\n"
        "async def fetch(client, key: str) -> None:\n"
        "    await client.download_file(key)\n",
        "app/main.py": "import boto3\n"
        "from dara.core import action\n\n"
        "from app.exports import export_both, fetch\n\n"
        "@action\n"
        "async def export(ctx: action.Ctx, name: str) -> None:\n"
        "    await export_both(ctx, name)\n"
        "    await fetch(boto3.client('s3'), name)\n",
    }
    found = findings(tmp_path, files, "DM403")
    assert [(f.path, f.line) for f in found] == [("app/exports.py", 2), ("app/exports.py", 9)]


def test_download_content_through_any_import_path(tmp_path: Path) -> None:
    source = (
        "import dara.core as dc\n"
        "from dara.core.interactivity import actions\n\n"
        "def make_csv(ctx) -> str:\n"
        "    return 'a,b'\n\n"
        "first = dc.DownloadContent(make_csv)\n"
        "second = actions.DownloadContent(resolver=make_csv, cleanup_file=True)\n"
    )
    found = findings(tmp_path, {"app/main.py": source}, "DM403")
    assert [f.line for f in found] == [7, 8]


_HELPERS = (
    "from dara.core import ServerVariable, Variable\n\n"
    "def filter_variable(name: str) -> Variable:\n"
    "    return Variable(default=None, uid=f'filter-{name}')\n\n"
    "def rows_variable(name):\n"
    "    if name:\n"
    "        return ServerVariable(default=[], uid=f'rows-{name}')\n"
    "    return ServerVariable(default=[], uid='rows')\n\n"
    "def unknown(name):\n"
    "    if name:\n"
    "        return Variable(default=None)\n"
    "    return None\n\n"
    "class Panel:\n"
    "    def __init__(self) -> None:\n"
    "        self.choice = Variable(default='a', uid='panel-choice')\n\n"
    "def make_panel() -> 'Panel':\n"
    "    return Panel()\n"
)


def test_variables_made_by_helpers_and_held_by_project_objects(tmp_path: Path) -> None:
    source = (
        "from dara.core import action\n"
        "from app.helpers import Panel, filter_variable, make_panel, rows_variable, unknown\n\n"
        "region = filter_variable('region')\n"
        "rows = rows_variable('a')\n"
        "maybe = unknown('b')\n"
        "panel = Panel()\n"
        "made = make_panel()\n\n"
        "@action\n"
        "async def show(ctx, typed: Panel):\n"
        "    return [\n"
        "        region.get_current_value(),\n"
        "        await rows.get_current_value(),\n"
        "        maybe.get_current_value(),\n"
        "        panel.choice.get_current_value(),\n"
        "        made.choice.get_current_value(),\n"
        "        typed.choice.get_current_value(),\n"
        "    ]\n"
    )
    found = findings(tmp_path, {"app/__init__.py": "", "app/helpers.py": _HELPERS,
                                "app/main.py": source}, "DM401")
    # `unknown` returns a Variable on one path and None on the other: not a known kind.
    assert [(f.line, f.fix) for f in found] == [
        (13, "manual"), (14, "unsafe"), (16, "manual"), (17, "manual"), (18, "manual")]
    assert "read the shared backend instead: `await rows.read()`" in found[1].message


def test_websocket_objects_reached_through_project_aliases(tmp_path: Path) -> None:
    files = {
        "app/__init__.py": "",
        "app/live.py": "from dara.core.internal import registries\n\n"
        "reg = registries.utils_registry\n",
        "app/hub.py": "from app.live import reg as hub\n",
        "app/alias.py": "from app.hub import hub\n\n"
        "def manager():\n"
        "    return hub.get('WebsocketManager')\n",
        "app/plain.py": "import app.live\n\n"
        "def manager():\n"
        "    return app.live.reg.get('WebsocketManager')\n",
        "app/unrelated.py": "from app.hub import hub as _hub\n\n"
        "def other(items):\n"
        "    return items.get('x')\n",
    }
    found = findings(tmp_path, files, "DM402")
    assert [(f.path, f.line) for f in found] == [
        ("app/alias.py", 4), ("app/live.py", 3), ("app/plain.py", 4)]


def test_every_websocket_object_is_a_watched_word() -> None:
    # Files that never name one are skipped by DM402: the words must cover them all.
    assert set(_WEBSOCKET_STATE) <= set(WATCHED_WORDS)


INPUT_STATE = (
    "from dara.core import ServerVariable, Variable\n\n"
    "term = Variable('')\n"
    "count = Variable(0)\n"
    "rows = ServerVariable(default=[], uid='rows')\n"
)
INPUT_ACTIONS = (
    "from dara.core import action, py_component\n"
    "from dara.components import Text\n\n"
    "from app import state\n\n\n"
    "@action\n"
    "async def search(ctx: action.Ctx):\n"
    "    return await state.term.get_current_value()\n\n\n"
    "@py_component\n"
    "async def badge(title: str):\n"
    "    return Text(f'{title}: {await state.term.get_current_value(timeout=2)}')\n\n\n"
    "@action\n"
    "async def bump(ctx: action.Ctx):\n"
    "    await ctx.update(state.count, 1)\n"
    "    return await state.count.get_current_value()\n\n\n"
    "def helper():\n"
    "    return search\n"
)


def _fixes(tmp_path: Path, pages: str) -> dict[int, str]:
    found = findings(tmp_path, {"app/state.py": INPUT_STATE, "app/actions.py": INPUT_ACTIONS,
                                "app/pages.py": pages}, "DM401")
    return {f.line: f.fix for f in found}


def test_a_variable_read_becomes_an_input_where_every_call_can_pass_it(tmp_path: Path) -> None:
    pages = ("from dara.components import Button, Stack\n"
             "from app.actions import badge, bump, search\n\n"
             "def page():\n"
             "    return Stack(badge('Home'), Button('Go', onclick=search()),\n"
             "                 Button('Up', onclick=bump()))\n")
    # `search` is named as a value in `helper` (a caller the input would not reach), `bump`
    # updates the variable before reading it.
    assert _fixes(tmp_path, pages) == {9: "manual", 14: "unsafe", 20: "manual"}


def test_no_input_when_a_call_runs_inside_an_action(tmp_path: Path) -> None:
    actions = INPUT_ACTIONS.replace("def helper():\n    return search\n", (
        "@action\n"
        "async def again(ctx: action.Ctx):\n"
        "    await search(ctx)\n"
        "    return badge\n"))
    files = {"app/state.py": INPUT_STATE, "app/actions.py": actions,
             "app/pages.py": "from app.actions import badge, search\n\n"
                             "def page():\n    return [search(), badge('x')]\n"}
    found = findings(tmp_path, files, "DM401")
    # `search(ctx)` in an action runs the body; `badge` is named as a value.
    assert {f.line: f.fix for f in found} == {9: "manual", 14: "manual", 20: "manual"}


def test_apply_passes_the_variable_and_imports_it_where_the_page_lacks_it(
        tmp_path: Path) -> None:
    files = {"app/state.py": INPUT_STATE,
             "app/actions.py": INPUT_ACTIONS.replace("def helper():\n    return search\n",
                                                     "HELP = 'search'\n"),
             "app/pages.py": "from app.actions import search\n\n"
                             "def page():\n    return search()\n"}
    root = write_tree(tmp_path, files)
    result = CliRunner().invoke(app, ["apply", str(root), "--yes", "--no-cache",
                                      "--no-build-check", "--unsafe-fixes", "--target", "1.x"])
    assert result.exit_code in (0, 1), result.stderr
    actions = (root / "app/actions.py").read_text()
    assert "async def search(ctx: action.Ctx, term):\n    return term\n" in actions
    assert (root / "app/pages.py").read_text() == (
        "from app.actions import search\nfrom app.state import term\n\n"
        "def page():\n    return search(term=term)\n")


def test_no_input_where_a_page_cannot_name_the_variable_without_an_import_cycle(
        tmp_path: Path) -> None:
    # The variables' module imports the page: importing them there would close a cycle.
    state = ("from dara.core import Variable\n\n"
             "from app.widgets import panel\n\n"
             "term = Variable('')\n"
             "LAYOUT = panel\n")
    actions = ("from dara.core import action\n\n"
               "from app.state import term\n\n\n"
               "@action\n"
               "async def search(ctx: action.Ctx):\n"
               "    return await term.get_current_value()\n")
    widgets = ("def panel():\n"
               "    from app.actions import search\n"
               "    return search()\n")
    found = findings(tmp_path, {"app/state.py": state, "app/actions.py": actions,
                                "app/widgets.py": widgets}, "DM401")
    assert [(f.line, f.fix) for f in found] == [(8, "manual")]
    (tmp_path / "app/widgets.py").write_text("from app import state\n\n" + widgets)
    (tmp_path / "app/state.py").write_text(state.replace("from app.widgets import panel\n\n",
                                                         "").replace("LAYOUT = panel\n", ""))
    result, _ = run_audit(tmp_path, show_info=True)
    assert [(f.line, f.fix) for f in result.findings if f.rule == "DM401"] == [(8, "unsafe")]


def test_two_variables_of_one_last_name_become_two_inputs(tmp_path: Path) -> None:
    files = {"app/state.py": INPUT_STATE,
             "app/filters.py": "from dara.core import Variable\n\nterm = Variable('x')\n",
             "app/actions.py": "from dara.core import action\n\n"
                               "from app import filters, state\n\n\n"
                               "@action\n"
                               "async def search(ctx: action.Ctx):\n"
                               "    return [await state.term.get_current_value(),\n"
                               "            await filters.term.get_current_value()]\n",
             "app/pages.py": "from app import filters, state\n"
                             "from app.actions import search\n\n"
                             "def page():\n    return search()\n"}
    root = write_tree(tmp_path, files)
    result = CliRunner().invoke(app, ["apply", str(root), "--yes", "--no-cache",
                                      "--no-build-check", "--unsafe-fixes", "--target", "1.x"])
    assert result.exit_code in (0, 1), result.stderr
    assert "async def search(ctx: action.Ctx, state_term, filters_term):\n" \
        "    return [state_term,\n            filters_term]\n" in (
            root / "app/actions.py").read_text()
    assert (root / "app/pages.py").read_text().endswith(
        "return search(state_term=state.term, filters_term=filters.term)\n")


@pytest.mark.parametrize(("order", "fix"), [("above", "unsafe"), ("below", "manual")])
def test_a_site_run_with_its_module_passes_only_a_variable_bound_above_it(
        tmp_path: Path, order: str, fix: str) -> None:
    variable = "term = Variable('')\n"
    body = ("@action\n"
            "async def search(ctx: action.Ctx):\n"
            "    return await term.get_current_value()\n\n\n"
            "BUTTON = search()\n")
    source = ("from dara.core import Variable, action\n\n"
              + (variable + "\n\n" + body if order == "above" else body + variable))
    found = findings(tmp_path, {"app/main.py": source}, "DM401")
    assert [f.fix for f in found] == [fix]


def test_a_timeout_goes_with_the_rename_to_read(tmp_path: Path) -> None:
    root = write_tree(tmp_path, {"app/main.py": (
        "from dara.core import ServerVariable\n\n"
        "rows = ServerVariable(default=[], uid='rows')\n\n"
        "async def read_all() -> list:\n"
        "    return await rows.get_current_value(timeout=5)\n")})
    result = CliRunner().invoke(app, ["apply", str(root), "--yes", "--no-cache",
                                      "--no-build-check", "--unsafe-fixes", "--target", "1.x"])
    assert result.exit_code in (0, 1), result.stderr
    assert "    return await rows.read()\n" in (root / "app/main.py").read_text()
