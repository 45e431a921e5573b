"""DM105 per-call action definitions, DM106 library-made definitions, DM107 upload resolvers."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from dara_migrate.models import Finding
from tests.helpers import apply_fixes, run_audit, write_tree

HEADER = (
    "import dara.core as dc\n"
    "from dara.core import (NavigateTo, ResetVariables, SideEffect, UpdateVariable,\n"
    "                       UpdateVariableImpl, Variable, DownloadContent)\n"
    "from dara.components import Button, Stack\n\n"
    "total = Variable(0)\n"
    "rate = Variable(1)\n"
)


def findings(tmp_path: Path, files: dict[str, str], code: str,
             **overrides: Any) -> list[Finding]:
    root = write_tree(tmp_path, files)
    result, _ = run_audit(root, show_info=True, **overrides)
    return [f for f in result.findings if f.rule == code]


def lines(found: list[Finding]) -> list[tuple[str, int]]:
    return [(f.path, f.line) for f in found]


def test_static_actions_define_nothing(tmp_path: Path) -> None:
    source = HEADER + (
        "HOME = '/home'\n\n"
        "def page(section: str, target: str):\n"
        "    return Stack(\n"
        "        Button('a', onclick=total.update(value=0)),\n"
        "        Button('b', onclick=NavigateTo('/x')),\n"
        "        Button('c', onclick=NavigateTo(f'/docs/{section}', new_tab=True)),\n"
        "        Button('d', onclick=NavigateTo(url=HOME)),\n"
        "        Button('e', onclick=NavigateTo(target)),\n"
        "        Button('f', onclick=ResetVariables(variables=[total])),\n"
        "        Button('g', onclick=UpdateVariableImpl(variable=total, value=1)),\n"
        "        Button('h', onclick=NavigateTo('/reports/' + section)),\n"
        "    )\n"
    )
    assert findings(tmp_path, {"app/main.py": source}, "DM105") == []


def test_navigate_to_with_a_callable(tmp_path: Path) -> None:
    source = HEADER + (
        "from collections.abc import Callable\n\n"
        "def to_report(ctx):\n"
        "    return f'/reports/{ctx.inputs.value}'\n\n"
        "pick = lambda ctx: ctx.inputs.value\n\n"
        "def page(resolve: Callable[[object], str]):\n"
        "    return Stack(\n"
        "        Button('a', onclick=NavigateTo(to_report)),\n"
        "        Button('b', onclick=NavigateTo(url=lambda ctx: '/x')),\n"
        "        Button('c', onclick=NavigateTo(pick)),\n"
        "        Button('d', onclick=dc.NavigateTo(resolve)),\n"
        "    )\n"
    )
    found = findings(tmp_path, {"app/main.py": source}, "DM105")
    assert [line for _, line in lines(found)] == [17, 18, 19, 20]
    assert "@action async def navigate_to_report(ctx: action.Ctx): await ctx.navigate(" in (
        found[0].message)


def test_update_variable_message_shows_the_action(tmp_path: Path) -> None:
    source = HEADER + (
        "def bump(ctx):\n"
        "    return ctx.inputs.old + ctx.extras[0]\n\n"
        "button = Button('+', onclick=UpdateVariable(bump, variable=total, extras=[rate]))\n"
    )
    (found,) = findings(tmp_path, {"app/main.py": source}, "DM105")
    assert found.severity == "error" and found.fix == "safe"  # apply rewrites it
    assert ("`@action async def update_total(ctx: action.Ctx, old, rate): "
            "await ctx.update(total, <new value from old and ctx.input>)`, "
            "used as `update_total(total, rate)`") in found.message


def test_lambda_resolver_gets_a_name_from_the_variable(tmp_path: Path) -> None:
    source = HEADER + ("b = Button('+', onclick=UpdateVariable(lambda ctx: ctx.inputs.old + 1, "
                       "total))\n")
    (found,) = findings(tmp_path, {"app/main.py": source}, "DM105")
    assert "async def update_total(ctx: action.Ctx, old)" in found.message


@pytest.mark.parametrize(("call", "static"), [
    ("UpdateVariable(lambda ctx: 1, total)", "total.update(value=1)"),
    ("UpdateVariable(lambda _: 'open', variable=self.state, extras=[rate])",
     "self.state.update(value='open')"),
    ("UpdateVariable(resolver=lambda ctx: None, variable=total)", "total.update(value=None)"),
    ("UpdateVariable(lambda ctx: [1, 2], total)", "total.update(value=...)"),
])
def test_a_constant_resolver_is_the_static_update(tmp_path: Path, call: str,
                                                  static: str) -> None:
    # Setting a constant defines nothing in the static form, whatever the variable is.
    source = HEADER + ("class Panel:\n"
                       "    def __init__(self):\n"
                       "        self.state = Variable('closed')\n\n"
                       "    def render(self):\n"
                       f"        return Button('+', onclick={call})\n")
    (found,) = findings(tmp_path, {"app/main.py": source}, "DM105")
    assert found.fix == "safe"
    assert "use the static form, which defines nothing" in found.message
    assert found.message.endswith(f"`{static}`")


@pytest.mark.parametrize("call", [
    "UpdateVariable(lambda ctx: ctx.inputs.old, total)",
    "UpdateVariable(lambda ctx, extra=1: 1, total)",
    "UpdateVariable(lambda ctx: -1, total)",
    "UpdateVariable(lambda ctx: 1, *args)",
])
def test_other_resolvers_are_not_the_static_update(tmp_path: Path, call: str) -> None:
    source = HEADER + f"args = [total]\nb = Button('+', onclick={call})\n"
    (found,) = findings(tmp_path, {"app/main.py": source}, "DM105")
    assert "static form" not in found.message


def test_download_and_side_effect(tmp_path: Path) -> None:
    source = HEADER + (
        "def export(ctx):\n"
        "    return 'out.csv'\n\n"
        "a = DownloadContent(export, extras=[total], cleanup_file=True)\n"
        "b = SideEffect(function=lambda ctx: print(ctx.extras), extras=[total, rate])\n"
    )
    first, second = findings(tmp_path, {"app/main.py": source}, "DM105")
    assert ("await ctx.download_file(<path>, cleanup=True)`, used as `download_export(total)`"
            in first.message)
    assert "async def side_effect(ctx: action.Ctx, total, rate)" in second.message


def test_factories_across_modules_and_aliases(tmp_path: Path) -> None:
    files = {
        "app/__init__.py": "",
        "app/actions.py": "from dara.core.interactivity.actions import SideEffect as SE\n\n"
        "def notify_button(label):\n"
        "    return SE(lambda ctx: print(label))\n",
        "app/main.py": "from dara.components import Stack\n"
        "from app.actions import notify_button\n\n"
        "def page():\n"
        "    return Stack(notify_button('hi'))\n",
    }
    assert lines(findings(tmp_path, files, "DM105")) == [("app/actions.py", 4)]


def test_library_made_definitions_through_self(tmp_path: Path) -> None:
    source = (
        "from dara.core.data_utils import DataFactory\n"
        "from dara.components import Stack\n\n"
        "class DataPage:\n"
        "    def __init__(self):\n"
        "        self.factory = DataFactory('./data')\n\n"
        "    def __call__(self):\n"
        "        return Stack(self.factory.download_dataset_action('sales'))\n"
    )
    (found,) = findings(tmp_path, {"app/main.py": source}, "DM106")
    assert found.line == 9 and found.fix == "blocker"
    assert "a DownloadContent action" in found.message


def test_a_lookalike_outside_dara_is_not_library_made(tmp_path: Path) -> None:
    source = (
        "from acme.widgets import DataSlicer\n\n"
        "class Store:\n"
        "    def read_dataset_var(self, name):\n"
        "        return name\n\n"
        "slicer = DataSlicer([1, 2])\n"
        "value = Store().read_dataset_var('x')\n"
    )
    assert findings(tmp_path, {"app/main.py": source}, "DM106") == []


def test_library_components_setting_adds_names(tmp_path: Path) -> None:
    source = (
        "import acme.widgets as aw\n"
        "from acme.factories import Factory\n"
        "from dara.components import Chat\n\n"
        "slicer = aw.Slicer([1, 2])\n"
        "factory = Factory()\n"
        "variable = factory.make_var()\n"
        "other = factory.read()\n"
        "chat = Chat()\n"
    )
    found = findings(tmp_path, {"app/main.py": source}, "DM106",
                     library_components=("acme.widgets.Slicer", "Factory.make_var", "Chat"))
    assert [f.line for f in found] == [5, 7, 9]
    assert "listed in library-components" in found[0].message


def test_library_made_at_request_time_says_so(tmp_path: Path) -> None:
    source = (
        "from dara.core import py_component\n"
        "from dara.components import DataSlicer\n\n"
        "@py_component\n"
        "def explorer(rows: list[dict]):\n"
        "    return DataSlicer(rows)\n"
    )
    (found,) = findings(tmp_path, {"app/main.py": source}, "DM106")
    assert "again on every request" in found.message


def test_upload_dropzone_without_resolver_still_gets_a_random_id(tmp_path: Path) -> None:
    # dara-core registers an upload entry under uuid4() for every dropzone.
    source = (
        "from dara.core import ServerVariable\n"
        "from dara.components import UploadDropzone\n\n"
        "data = ServerVariable(uid='data')\n"
        "a = UploadDropzone(target=data)\n"
        "b = UploadDropzone(data, None)\n"
        "c = UploadDropzone(accept='.csv', on_drop=None)\n"
    )
    found = findings(tmp_path, {"app/main.py": source}, "DM107")
    assert [(f.line, f.severity) for f in found] == [(5, "warning"), (6, "warning"),
                                                     (7, "warning")]
    assert all("even without resolver=" in f.message for f in found)


def test_upload_dropzone_with_a_resolver_is_a_warning(tmp_path: Path) -> None:
    source = (
        "from dara.components.common.dropzone import UploadDropzone as Drop\n\n"
        "def page():\n"
        "    return Drop(resolver=lambda content, name: None)\n\n"
        "content = page()\n"
    )
    (found,) = findings(tmp_path, {"app/main.py": source}, "DM107")
    assert (found.line, found.severity, found.fix) == (4, "warning", "manual")


def test_a_uid_that_may_come_from_star_arguments_is_not_added_again(tmp_path: Path) -> None:
    # Adding `uid=` where `**OPTIONS` may already carry one would raise TypeError at run time.
    source = (
        "from dara.core import ConfigurationBuilder, DerivedVariable, Variable\n"
        "from dara.core.persistence import BackendStore\n\n"
        "OPTIONS = {'uid': 'shared-total'}\n"
        "ARGS = (0, BackendStore(uid='store'), 'count')\n"
        "PREFIX = (0,)\n\n"
        "count = Variable(*ARGS)\n"
        "total = DerivedVariable(lambda c: c, variables=[count], **OPTIONS)\n"
        "kept = Variable(*PREFIX, store=BackendStore(uid='kept-store'))\n"
        "plain = DerivedVariable(lambda c: c, variables=[count])\n\n"
        "config = ConfigurationBuilder()\n"
        "config.router.add_page(path='/', content=lambda: None, **{'id': 'home'})\n"
    )
    found = findings(tmp_path, {"app/main.py": source}, "DM101")
    assert [(f.line, f.fix) for f in found] == [(11, "safe")]  # `plain` only
    assert findings(tmp_path, {"app/main.py": source}, "DM108") == []


def test_positional_uids_count_and_are_never_given_twice(tmp_path: Path) -> None:
    source = (
        "from uuid import uuid4\n\n"
        "from dara.core import DerivedVariable, ServerVariable\n\n"
        "rows = ServerVariable([], None, 'global', 'rows')\n"
        "total = DerivedVariable(len, [rows], True, False, None, None, 'total')\n"
        "fresh = ServerVariable([], None, 'global', str(uuid4()))\n"
        "named = ServerVariable([], uid=str(uuid4()))\n"
    )
    files = {"app/main.py": source}
    assert findings(tmp_path, files, "DM101") == []
    unstable = findings(tmp_path, files, "DM102")
    assert [(f.line, f.fix, f.suggested_uid) for f in unstable] == [
        (7, "manual", None), (8, "safe", "app.main:named")]


STATE = (
    "from dara.core import ServerVariable, Variable\n\n"
    "flag = Variable(default=True)\n"
    "shared = ServerVariable()\n"
    "picked = Variable()\n"
)


def panel(call: str, event: str = "onchange") -> dict[str, str]:
    """A page class in one module using variables from another (no `__init__.py`)."""
    return {
        "app/state.py": STATE,
        "app/panel.py": HEADER + (
            "from dara.components import Select\n"
            "from app.state import flag, picked, shared\n\n"
            "class Panel:\n"
            "    def __init__(self):\n"
            "        self.open = dc.Variable[bool](False)\n"
            "        self.count = Variable(0)\n\n"
            "    def render(self, given):\n"
            f"        return Select(items=['a', 'b'], {event}={call})\n"
        ),
    }


@pytest.mark.parametrize(("call", "static"), [
    ("UpdateVariable(lambda ctx: ctx.inputs.new, total)", "total.sync()"),
    ("UpdateVariable(lambda c: c.inputs.new, variable=picked, extras=[rate])", "picked.sync()"),
    ("UpdateVariable(lambda ctx: ctx.inputs.new, self.count)", "self.count.sync()"),
    ("UpdateVariable(lambda ctx: not ctx.inputs.old, variable=self.open)",
     "self.open.toggle()"),
    ("UpdateVariable(lambda ctx: not ctx.inputs.old, flag)", "flag.toggle()"),
])
def test_sync_and_toggle_resolvers_are_the_variable_methods(tmp_path: Path, call: str,
                                                            static: str) -> None:
    (found,) = findings(tmp_path, panel(call), "DM105")
    assert found.fix == "safe"
    assert f"use the static form, which defines nothing: `{static}`" in found.message


def test_a_navigation_to_a_constant_url_is_the_static_navigate_to(tmp_path: Path) -> None:
    # dara makes a static `NavigateToImpl` for a url: nothing is defined. With extras, which
    # the resolver alone read, the action stays (a person drops them).
    files = {"app/panel.py": HEADER + (
        "from app.state import flag\n\n"
        "def page():\n"
        "    return Stack(\n"
        "        Button('Incidents', onclick=NavigateTo(lambda ctx: '/incidents')),\n"
        "        Button('Docs', onclick=NavigateTo(lambda _: 'https://docs.example.com', True)),\n"
        "        Button('Flag', onclick=NavigateTo(lambda ctx: '/flag', extras=[flag])),\n"
        "    )\n"), "app/state.py": STATE}
    found = findings(tmp_path, files, "DM105")
    assert [f.message.rpartition(": ")[2] for f in found[:2]] == [
        "`NavigateTo('/incidents')`", "`NavigateTo('https://docs.example.com')`"]
    assert "static form" not in found[2].message
    applied = apply_fixes(tmp_path)
    assert applied.exit_code in (0, 1), applied.output
    written = (tmp_path / "app" / "panel.py").read_text(encoding="utf-8")
    assert "onclick=NavigateTo('/incidents')" in written
    assert "onclick=NavigateTo('https://docs.example.com', True)" in written


def test_a_navigation_to_a_constant_s_name_is_the_static_navigate_to(tmp_path: Path) -> None:
    # `lambda ctx: HOME` returns what `HOME` holds when clicked: the static url is the same
    # only for a module-level name bound once to a string, here or where it is imported from.
    files = {"app/routes.py": "DOCS = 'https://docs.example.com'\nSTEP = '/a'\n",
             "app/admin.py": "import app.routes as routes\n\nroutes.STEP = '/b'\n",
             "app/panel.py": HEADER + (
        "from app.routes import DOCS, STEP\n\n"
        "HOME = '/home'\nLAST = '/one'\nLAST = '/two'\nSEEN = '/seen'\n\n"
        "def visit():\n"
        "    global SEEN\n"
        "    SEEN = '/again'\n\n"
        "def page(section: str):\n"
        "    here = '/here'\n"
        "    return Stack(\n"
        "        Button('home', onclick=NavigateTo(lambda ctx: HOME)),\n"
        "        Button('docs', onclick=NavigateTo(lambda ctx: DOCS, True)),\n"
        "        Button('last', onclick=NavigateTo(lambda ctx: LAST)),\n"
        "        Button('seen', onclick=NavigateTo(lambda ctx: SEEN)),\n"
        "        Button('step', onclick=NavigateTo(lambda ctx: STEP)),\n"
        "        Button('here', onclick=NavigateTo(lambda ctx: here)),\n"
        "        Button('section', onclick=NavigateTo(lambda ctx: section)),\n"
        "        Button('metrics', onclick=NavigateTo(lambda ctx: (  # the metrics page\n"
        "            '/metrics'))),\n"
        "    )\n")}
    found = findings(tmp_path, files, "DM105")
    assert [f.message.rpartition(": ")[2] for f in found if "static form" in f.message] == [
        "`NavigateTo(HOME)`", "`NavigateTo(DOCS)`", "`NavigateTo('/metrics')`"]
    assert len(found) == 8
    applied = apply_fixes(tmp_path)
    assert applied.exit_code in (0, 1), applied.output
    written = (tmp_path / "app" / "panel.py").read_text(encoding="utf-8")
    assert "onclick=NavigateTo(HOME))" in written
    assert "onclick=NavigateTo(DOCS, True))" in written
    # Only `lambda ctx:` goes: the url keeps its brackets and the comment beside it.
    assert ("onclick=NavigateTo((  # the metrics page\n            '/metrics'))),\n"
            in written)
    for name in ("LAST", "SEEN", "STEP", "here", "section"):
        assert f"NavigateTo({name})" not in written
    # Module-level names may change: one module-level @action each reads them when clicked;
    # a function's locals are left to a person.
    assert written.count("@action") == 3
    assert "NavigateTo(lambda ctx: here)" in written


def test_a_name_navigate_to_would_read_otherwise_keeps_the_action(tmp_path: Path) -> None:
    # The static form reads the name where the call is, when it runs; the lambda, where it
    # was written, when clicked. A class body's own name, one bound further down, or one
    # rebound (`+=`, `globals()`, `setattr`) would send the browser elsewhere.
    files = {"app/admin.py": "from app import panel\n\n\n"
             "def retarget():\n"
             "    setattr(panel, 'MOVED', '/elsewhere')\n",
             "app/state.py": "STATE = '/state'\n\n\n"
             "def bump():\n"
             "    globals()['STATE'] = '/state2'\n",
             "app/panel.py": HEADER + (
        "from app.state import STATE\n\n"
        "SHADOW = '/module'\nGROWN = '/a'\nGROWN += '/b'\nMOVED = '/moved'\n\n\n"
        "class Section:\n"
        "    SHADOW = '/class'\n"
        "    button = Button('s', onclick=NavigateTo(lambda ctx: SHADOW))\n\n\n"
        "TOP = Button('t', onclick=NavigateTo(lambda ctx: LATER))\n"
        "LATER = '/later'\n\n\n"
        "def page():\n"
        "    return Stack(\n"
        "        Button('g', onclick=NavigateTo(lambda ctx: GROWN)),\n"
        "        Button('m', onclick=NavigateTo(lambda ctx: MOVED)),\n"
        "        Button('x', onclick=NavigateTo(lambda ctx: STATE)),\n"
        "        Button('y', onclick=NavigateTo(lambda ctx: \\\n"
        "            SHADOW)),\n"
        "    )\n")}
    found = findings(tmp_path, files, "DM105")
    source = files["app/panel.py"].splitlines()
    assert [source[f.line - 1].split("'")[1] for f in found if "static form" in f.message] == [
        "y"]
    assert len(found) == 6
    applied = apply_fixes(tmp_path)
    assert applied.exit_code in (0, 1), applied.output
    written = (tmp_path / "app" / "panel.py").read_text(encoding="utf-8")
    # A backslash line break after `lambda ctx:` goes with it.
    assert "        Button('y', onclick=NavigateTo(SHADOW)),\n" in written
    for name in ("SHADOW))\n\n", "LATER", "GROWN", "MOVED", "STATE"):
        assert f"NavigateTo({name}" not in written


@pytest.mark.parametrize("call", [
    # A ServerVariable has no sync() or toggle().
    "UpdateVariable(lambda ctx: ctx.inputs.new, shared)",
    "UpdateVariable(lambda ctx: not ctx.inputs.old, shared)",
    # `not` in Python and `!` in JavaScript differ on [] and {}: only True/False defaults.
    "UpdateVariable(lambda ctx: not ctx.inputs.old, self.count)",
    "UpdateVariable(lambda ctx: not ctx.inputs.old, picked)",
    # Other resolvers, and a variable the analysis cannot trace.
    "UpdateVariable(lambda ctx: not ctx.inputs.new, flag)",
    "UpdateVariable(lambda ctx: ctx.inputs.old, total)",
    "UpdateVariable(lambda ctx: -ctx.inputs.old, total)",
    "UpdateVariable(lambda ctx: ctx.inputs.new.strip(), total)",
    "UpdateVariable(lambda ctx: ctx.inputs.new, given)",
    # A click sends its event, not a JSON value: only an onchange is the sync.
    ("UpdateVariable(lambda ctx: ctx.inputs.new, total)", "onclick"),
])
def test_other_resolvers_and_variables_keep_the_action(tmp_path: Path,
                                                       call: str | tuple[str, str]) -> None:
    (found,) = findings(tmp_path, panel(*call) if isinstance(call, tuple) else panel(call),
                        "DM105")
    assert "static form" not in found.message
    assert "define it once at module level" in found.message


def test_the_message_names_the_action_apply_writes(tmp_path: Path) -> None:
    from dara_migrate.apply import ApplyOptions, run_apply
    from dara_migrate.planner import FixOptions
    from dara_migrate.settings import load_settings

    source = HEADER + (
        "def bump(ctx):\n"
        "    return ctx.inputs.old + 1\n\n"
        "def to_report(ctx):\n"
        "    return f'/reports/{ctx.inputs.value}'\n\n"
        "def export(ctx):\n"
        "    return 'out.csv'\n\n"
        "def log(ctx):\n"
        "    print(ctx.inputs.value)\n\n"
        "def page():\n"
        "    return Stack(\n"
        "        Button('a', onclick=UpdateVariable(bump, total, extras=[rate])),\n"
        "        Button('b', onclick=NavigateTo(to_report)),\n"
        "        Button('c', onclick=DownloadContent(export)),\n"
        "        Button('d', onclick=SideEffect(log)),\n"
        "        Button('e', onclick=SideEffect(lambda ctx: print(ctx))),\n"
        "    )\n"
    )
    root = write_tree(tmp_path, {"app/main.py": source})
    named = [re.search(r"`@action async def (\w+)\(.*used as `(\w+)\(", f.message)
             for f in findings(tmp_path, {"app/main.py": source}, "DM105")]
    settings = load_settings(root, {"target": "1.x", "use_cache": False})
    result = run_apply(settings, [root], ApplyOptions(FixOptions()))
    (change,) = [c for c in result.changes if c.path == "app/main.py"]
    applied = change.after.decode()
    assert [m.groups() if m else None for m in named] == [
        ("update_total", "update_total"), ("navigate_to_report", "navigate_to_report"),
        ("download_export", "download_export"), ("log_effect", "log_effect"),
        ("side_effect", "side_effect")]
    for match in named:
        assert match is not None and f"async def {match[1]}(ctx: action.Ctx" in applied


@pytest.mark.parametrize(("call", "hint"), [
    ("UpdateVariable(lambda ctx: not ctx.inputs.old, self.count)",
     "; if self.count is a Variable that only holds True or False, `self.count.toggle()` "
     "does the same and defines nothing"),
    ("UpdateVariable(lambda ctx: ctx.inputs.new, given)",
     "; if given is a plain Variable, `given.sync()` does the same and defines nothing"),
    ("UpdateVariable(lambda ctx: ctx.inputs.new, shared)", ""),
    (("UpdateVariable(lambda ctx: ctx.inputs.new, given)", "onclick"), ""),
    ("UpdateVariable(lambda ctx: ctx.inputs.old + 1, given)", ""),
])
def test_a_person_is_told_when_the_static_form_may_do(tmp_path: Path,
                                                      call: str | tuple[str, str],
                                                      hint: str) -> None:
    (found,) = findings(tmp_path, panel(*call) if isinstance(call, tuple) else panel(call),
                        "DM105")
    if hint:
        assert found.message.endswith(hint)
    else:
        assert "; if " not in found.message


@pytest.mark.parametrize(("call", "named"), [
    ("UpdateVariable(lambda ctx: ctx.inputs.old + 1, given)", "given"),
    ("UpdateVariable(lambda ctx: ctx.inputs.old + 1, variable=self.count)", "self.count"),
    ("UpdateVariable(lambda ctx: ctx.inputs.old + 1, total)", None),
    ("UpdateVariable(lambda ctx: ctx.inputs.old + 1, picked)", None),
])
def test_a_variable_from_a_parameter_is_said_to_need_another_shape(
        tmp_path: Path, call: str, named: str | None) -> None:
    (found,) = findings(tmp_path, panel(call), "DM105")
    note = (f"; {named} comes from a parameter, which a module-level action cannot name: make "
            "the variable module-level, or pass the helper the action instead of the variable")
    assert (note in found.message) == (named is not None)
    assert found.fix == ("manual" if named else "safe")
