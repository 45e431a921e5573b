"""DM301 runtime definitions, DM302 nested definitions, DM303 render-only py_components."""

from __future__ import annotations

from pathlib import Path

from dara_migrate.models import Finding
from tests.helpers import run_audit, write_tree

HEADER = (
    "from dara.core import (ConfigurationBuilder, DerivedVariable, UpdateVariable, Variable,\n"
    "                       action, py_component)\n"
    "from dara.components import Button, Stack, Text\n\n"
    "config = ConfigurationBuilder()\n"
    "count = Variable(0)\n"
)


def findings(tmp_path: Path, source: str | dict[str, str], *codes: str) -> list[Finding]:
    files = {"app/main.py": source} if isinstance(source, str) else source
    root = write_tree(tmp_path, files)
    result, _ = run_audit(root, show_info=True)
    return [f for f in result.findings if f.rule in codes]


def summary(found: list[Finding]) -> list[tuple[int, str]]:
    return [(f.line, f.rule) for f in found]


def test_page_builder_called_once_is_build_time(tmp_path: Path) -> None:
    source = HEADER + (
        "\n"
        "def home():\n"
        "    double = DerivedVariable(lambda c: c * 2, variables=[count])\n"
        "    return Stack(Text(double))\n\n"
        "config.router.add_page(path='/', content=home(), id='index')\n"
    )
    assert summary(findings(tmp_path, source, "DM101", "DM301")) == [(9, "DM101")]


def test_py_component_in_page_class_call_is_nested_not_runtime(tmp_path: Path) -> None:
    source = HEADER + (
        "\n"
        "class Home:\n"
        "    def __call__(self):\n"
        "        @py_component\n"
        "        def counter(value: int):\n"
        "            return Text(str(value))\n"
        "        return Stack(counter(count))\n\n"
        "config.router.add_page(path='/', content=Home(), id='index')\n"
    )
    assert summary(findings(tmp_path, source, "DM301", "DM302")) == [(10, "DM302")]


def test_factory_in_py_component_is_runtime_too(tmp_path: Path) -> None:
    source = HEADER + (
        "\n"
        "@py_component\n"
        "def panel(value: int):\n"
        "    return Button('+', onclick=UpdateVariable(lambda ctx: ctx.inputs.old + 1, count))\n"
    )
    found = findings(tmp_path, source, "DM105", "DM301")
    assert summary(found) == [(10, "DM105"), (10, "DM301")]
    # DM105's rewrite defines the action once at module level: the audit says so, as `apply`
    # does it (it used to call the site a blocker and then fix it).
    assert [f.fix for f in found] == ["safe", "safe"]
    assert found[1].message.endswith("(see DM105)")
    assert "in `panel`" in found[1].message


def test_factory_using_the_components_own_values_stays_a_blocker(tmp_path: Path) -> None:
    source = HEADER + (
        "\n"
        "@py_component\n"
        "def panel(value: int):\n"
        "    return Button('+', onclick=UpdateVariable(lambda ctx: ctx.inputs.old + value,\n"
        "                                              count))\n"
    )
    found = findings(tmp_path, source, "DM105", "DM301")
    assert [(f.line, f.rule, f.fix) for f in found] == [
        (10, "DM105", "manual"), (10, "DM301", "blocker")]  # the lambda reads `value`
    assert found[1].message.endswith("(see DM105)")


def test_static_actions_in_py_component_define_nothing(tmp_path: Path) -> None:
    source = HEADER + (
        "from dara.core import NavigateTo, ResetVariables\n\n"
        "@py_component\n"
        "def panel(value: int):\n"
        "    return Stack(Button('0', onclick=count.update(value=0)),\n"
        "                 Button('home', onclick=NavigateTo('/x')),\n"
        "                 Button('reset', onclick=ResetVariables(variables=[count])))\n"
    )
    assert findings(tmp_path, source, "DM105", "DM301") == []


def test_hoistable_and_captured_definitions(tmp_path: Path) -> None:
    source = HEADER + (
        "\n"
        "@py_component\n"
        "def panel(limit: int):\n"
        "    total = DerivedVariable(lambda c: c * 2, variables=[count])\n"
        "    capped = DerivedVariable(lambda c: min(c, limit), variables=[count])\n"
        "    return Stack(Text(total), Text(capped))\n"
    )
    hoistable, captured = findings(tmp_path, source, "DM301")
    assert "it uses no local name, so it can move to module level" in hoistable.message
    assert "it uses local name(s) `limit`" in captured.message


def test_literal_uid_at_request_time_crashes(tmp_path: Path) -> None:
    source = HEADER + (
        "\n"
        "@action\n"
        "async def load(ctx: action.Ctx):\n"
        "    rows = DerivedVariable(lambda c: c, variables=[count], uid='rows')\n"
        "    await ctx.update(count, 1)\n"
    )
    (found,) = findings(tmp_path, source, "DM301")
    assert "raises ValueError on the second run" in found.message


def test_helper_reached_from_a_request_names_its_root(tmp_path: Path) -> None:
    files = {
        "app/__init__.py": "",
        "app/helpers.py": "from dara.core import ServerVariable\n\n"
        "def scratch():\n"
        "    return ServerVariable(default=[])\n",
        "app/main.py": HEADER + "from app.helpers import scratch\n\n"
        "@action\n"
        "async def save(ctx: action.Ctx):\n"
        "    store = scratch()\n"
        "    await ctx.update(count, 1)\n",
    }
    (found,) = findings(tmp_path, files, "DM301")
    assert found.path == "app/helpers.py"
    assert "(in `scratch`, reached from `app.main:save`)" in found.message


def test_action_call_form_inside_an_action(tmp_path: Path) -> None:
    source = HEADER + (
        "\n"
        "async def notify(ctx):\n"
        "    await ctx.notify('saved', 'ok', 'SUCCESS')\n\n"
        "@py_component\n"
        "def panel(value: int):\n"
        "    return Button('save', onclick=action(notify)())\n"
    )
    assert summary(findings(tmp_path, source, "DM301")) == [(13, "DM301")]


def test_nested_definition_closures(tmp_path: Path) -> None:
    source = HEADER + (
        "\n"
        "@py_component\n"
        "def panel(limit: int):\n"
        "    spinner = Text('...')\n"
        "    shown = 0\n\n"
        "    @py_component(fallback=spinner)\n"
        "    def with_fallback(value: int):\n"
        "        return Text(str(value))\n\n"
        "    @action\n"
        "    async def tally(ctx: action.Ctx):\n"
        "        nonlocal shown\n"
        "        shown = 1\n\n"
        "    @action\n"
        "    async def again(ctx: action.Ctx, n: int):\n"
        "        await ctx.update(count, n)\n"
        "        return again\n\n"
        "    return Stack(with_fallback(count), Button('+', onclick=tally()))\n"
    )
    spinner, tally, again = findings(tmp_path, source, "DM301")
    assert "`spinner`" in spinner.message
    assert "`shown`" in tally.message
    assert "it uses no local name" in again.message


def test_nested_action_in_startup_and_repeated_builder(tmp_path: Path) -> None:
    source = HEADER + (
        "\n"
        "@config.on_startup\n"
        "async def warm():\n"
        "    @action\n"
        "    async def refresh(ctx: action.Ctx):\n"
        "        await ctx.update(count, 0)\n\n"
        "def card(title: str):\n"
        "    @py_component\n"
        "    def body(value: int):\n"
        "        return Text(str(value))\n"
        "    return Stack(Text(title), body(count))\n\n"
        "home = Stack(card('a'), card('b'))\n"
    )
    startup, repeated = findings(tmp_path, source, "DM302")
    assert "inside `warm` (an on_startup function)" in startup.message
    assert startup.fix == "unsafe"
    assert "runs more than once" in repeated.message


def test_nested_definitions_nothing_calls_are_left_alone(tmp_path: Path) -> None:
    files = {
        "tests/test_panel.py": "from dara.core import py_component\n"
        "from dara.components import Text\n\n"
        "def test_render():\n"
        "    @py_component\n"
        "    def comp(value: int):\n"
        "        return Text(str(value))\n"
        "    assert comp(1)\n",
    }
    assert findings(tmp_path, files, "DM301", "DM302") == []


def test_method_of_a_nested_class_is_not_hoistable(tmp_path: Path) -> None:
    source = HEADER + (
        "\n"
        "def build():\n"
        "    class Panel:\n"
        "        @action\n"
        "        async def save(self, ctx: action.Ctx):\n"
        "            await ctx.update(count, 1)\n"
        "    return Panel()\n\n"
        "page = build()\n"
    )
    (found,) = findings(tmp_path, source, "DM302")
    assert found.fix == "manual" and "method of the nested class `build.Panel`" in found.message


def test_render_only_py_component(tmp_path: Path) -> None:
    source = HEADER + (
        "\n"
        "@py_component\n"
        "def badge(value: int):\n"
        "    return Text(str(value))\n\n"
        "@py_component\n"
        "def panel(value: int):\n"
        "    return Stack(badge(value))\n\n"
        "config.router.add_page(path='/', content=lambda: panel(count), id='index')\n"
    )
    (found,) = findings(tmp_path, source, "DM303")
    assert (found.line, found.severity) == (8, "info")
    assert "(from `panel`)" in found.message


def test_render_only_but_referenced_at_build_time(tmp_path: Path) -> None:
    source = HEADER + (
        "\n"
        "@py_component\n"
        "def badge(value: int):\n"
        "    return Text(str(value))\n\n"
        "WIDGETS = {'badge': badge}\n\n"
        "@py_component\n"
        "def panel(value: int):\n"
        "    return Stack(badge(value))\n\n"
        "config.router.add_page(path='/', content=lambda: panel(count), id='index')\n"
    )
    assert findings(tmp_path, source, "DM303") == []


def test_py_component_called_only_from_an_action_is_not_render_only(tmp_path: Path) -> None:
    source = HEADER + (
        "\n"
        "@py_component\n"
        "def badge(value: int):\n"
        "    return Text(str(value))\n\n"
        "@action\n"
        "async def show(ctx: action.Ctx):\n"
        "    await ctx.update(count, badge(1))\n"
    )
    assert findings(tmp_path, source, "DM303") == []


def test_a_rewrite_left_out_or_suppressed_fixes_nothing(tmp_path: Path) -> None:
    source = HEADER + (
        "\n"
        "@py_component\n"
        "def panel(value: int):\n"
        "    return Button('+', onclick=UpdateVariable(lambda ctx: ctx.inputs.old + 1, count))\n"
    )
    root = write_tree(tmp_path / "selected", {"app/main.py": source})
    selected, _ = run_audit(root, select=("DM301",))
    assert [(f.rule, f.fix, f.autofix) for f in selected.findings] == [("DM301", "blocker", None)]
    ignored = source.replace("    return Button(", "    # dara-migrate: ignore[DM105] reviewed\n"
                             "    return Button(")
    root = write_tree(tmp_path / "ignored", {"app/main.py": ignored})
    result, _ = run_audit(root)
    assert [(f.rule, f.status, f.fix) for f in result.findings if f.rule in ("DM105", "DM301")
            ] == [("DM105", "suppressed", "safe"), ("DM301", "open", "blocker")]
