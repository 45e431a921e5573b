"""DM105: the module-level `@action` that replaces a deprecated factory call does what the
factory's own action does, checked by running both against the same recording context."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest

from dara_migrate.apply import ApplyOptions, run_apply
from dara_migrate.planner import FixOptions
from dara_migrate.settings import load_settings
from tests.helpers import write_tree

PAGE = (
    "from dara.components import Stack\n"
    "from dara.core import DownloadContent, NavigateTo, SideEffect, UpdateVariable, Variable\n\n"
    "counter = Variable(3)\n"
    "step = Variable(2)\n"
    "SEEN = []\n\n\n"
    "def remember(ctx):\n"
    "    SEEN.append((ctx.inputs.value, list(ctx.extras)))\n\n\n"
    "async def export(ctx):\n"
    "    return f'/tmp/{ctx.inputs.value}.csv'\n\n\n"
    "class Page:\n"
    "    def __init__(self):\n"
    "        self.scale = Variable(10)\n\n"
    "    def actions(self):\n"
    "        return [\n"
    "            UpdateVariable(lambda ctx: ctx.inputs.old * ctx.extras[0] + ctx.inputs.new, "
    "counter, extras=[self.scale]),\n"
    "            SideEffect(remember, extras=[self.scale, step]),\n"
    "        ]\n\n\n"
    "def actions():\n"
    "    return [\n"
    "        UpdateVariable(lambda ctx: ctx.inputs.old + ctx.extras[0], variable=counter, "
    "extras=[step]),\n"
    "        NavigateTo(lambda ctx: f'/orders/{ctx.inputs.value}', new_tab=True),\n"
    "        DownloadContent(export, cleanup_file=True),\n"
    "        *Page().actions(),\n"
    "    ]\n"
)


class Recorder:
    """Stands in for `ActionCtx`: the input, and what the action asked the browser to do."""

    def __init__(self, value: Any, names: dict[str, str]) -> None:
        self.input = value
        self.names = names
        self.calls: list[tuple[Any, ...]] = []

    async def update(self, variable: Any, value: Any) -> None:
        self.calls.append(("update", self.names[variable.uid], value))

    async def navigate(self, url: str, new_tab: bool = False) -> None:
        self.calls.append(("navigate", url, new_tab))

    async def download_file(self, path: str, cleanup: bool = False) -> None:
        self.calls.append(("download", path, cleanup))


def run_actions(root: Path, package: str) -> list[tuple[Any, ...]]:
    """Each action the page builds, run with input 7 and its variables' values by uid."""
    # Imported here: dara-core takes seconds to load, and only this test runs it.
    from dara.core.internal.registries import action_registry

    sys.path.insert(0, str(root))
    try:
        module = importlib.import_module(f"{package}.page")
        values = {module.counter.uid: 3, module.step.uid: 2}
        outcomes: list[tuple[Any, ...]] = []
        for annotated in module.actions():
            resolver = action_registry.get(annotated.definition_uid).resolver
            arguments = {name: values.get(variable.uid, 10)
                         for name, variable in annotated.dynamic_kwargs.items()}
            recorder = Recorder(7, {module.counter.uid: "counter"})
            anyio.run(lambda: resolver(recorder, **arguments))  # noqa: B023
            outcomes.append((tuple(recorder.calls), tuple(module.SEEN)))
        return outcomes
    finally:
        sys.path.remove(str(root))
        for name in [m for m in sys.modules if m.startswith(package)]:
            del sys.modules[name]


# The old app calls the deprecated factories on purpose: that is what is compared.
@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_rewritten_actions_do_what_the_deprecated_factories_did(tmp_path: Path) -> None:
    before = write_tree(tmp_path / "before", {"old_app/__init__.py": "",
                                              "old_app/page.py": PAGE})
    after = write_tree(tmp_path / "after", {"new_app/__init__.py": "",
                                            "new_app/page.py": PAGE})
    settings = load_settings(after, {"target": "1.x", "use_cache": False})
    result = run_apply(settings, [after], ApplyOptions(FixOptions(unsafe=True)))
    assert result.errors == []
    for change in result.changes:
        (after / change.path).write_bytes(change.after)
    rewritten = (after / "new_app/page.py").read_text()
    assert "UpdateVariable(" not in rewritten.split("def actions")[-1]
    assert rewritten.count("@action\n") == 5
    old = run_actions(before, "old_app")
    new = run_actions(after, "new_app")
    assert [calls for calls, _ in new] == [calls for calls, _ in old]
    assert new[-1][1] == old[-1][1] == ((7, [10, 2]),)
    assert old[0][0] == (("update", "counter", 5),)


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_sync_and_toggle_do_in_the_browser_what_the_resolvers_did() -> None:
    """What `v.sync()` / `v.toggle()` replace: the old action sends `ctx.update(v, value)`,
    which the browser sets as is; the static forms make the browser set its input or `!old`."""
    from dara.core import ServerVariable, UpdateVariable, Variable
    from dara.core.interactivity.actions import UpdateVariableImpl
    from dara.core.internal.registries import action_registry

    flag = Variable(False)
    for resolver, old, value, expected in [(lambda ctx: ctx.inputs.new, True, "apac", "apac"),
                                           (lambda ctx: not ctx.inputs.old, True, None, False),
                                           (lambda ctx: not ctx.inputs.old, False, 3, True)]:
        annotated = UpdateVariable(resolver, flag)
        recorder = Recorder(value, {flag.uid: "flag"})
        definition = action_registry.get(annotated.definition_uid).resolver
        anyio.run(lambda: definition(recorder, old=old))  # noqa: B023
        assert recorder.calls == [("update", "flag", expected)]
    assert flag.sync() == UpdateVariableImpl(variable=flag, value=UpdateVariableImpl.INPUT)
    assert flag.toggle() == UpdateVariableImpl(variable=flag, value=UpdateVariableImpl.TOGGLE)
    assert not hasattr(ServerVariable, "sync") and not hasattr(ServerVariable, "toggle")
    # The browser's handler (dara-core's bundled JavaScript) resolves the two markers.
    bundle = (Path(importlib.import_module("dara.core").__file__ or "").parent
              / "_assets/auto_js/dara.core.umd.cjs").read_text()
    handler = bundle[bundle.index("var UpdateVariable = async (ctx, actionImpl)"):][:900]
    assert 'if (actionImpl.value === "__dara_input__") newValue = ctx.input;' in handler
    assert ('else if (actionImpl.value === "__dara_toggle__") newValue = '
            '!await ctx.snapshot.getLoadable(varAtom).toPromise();') in handler
    assert "else newValue = actionImpl.value;" in handler


def test_an_import_other_modules_take_from_the_rewritten_one_stays(tmp_path: Path) -> None:
    # `app/common.py` is where the app's pages import dara's names from: its own last uses
    # rewritten, its imports still serve them.
    from tests.helpers import apply_fixes

    root = write_tree(tmp_path, {
        "app/common.py": (
            "from dara.core import MemoryBackend, ServerVariable, UpdateVariable, Variable\n\n"
            "count = Variable(0, uid='count')\n"
            "rows = ServerVariable(backend=MemoryBackend(), uid='rows')\n"
            "reset = UpdateVariable(lambda ctx: 0, variable=count)\n"),
        "app/pages.py": (
            "from dara.components import Button, Stack\n\n"
            "from app.common import MemoryBackend, UpdateVariable, count\n\n"
            "spare = MemoryBackend\n\n\n"
            "def page():\n"
            "    add = UpdateVariable(lambda ctx: 1, variable=count)\n"
            "    return Stack(Button('+', onclick=add))\n"),
        "app/main.py": (
            "from dara.core import ConfigurationBuilder\n\n"
            "from app.pages import page\n\n"
            "config = ConfigurationBuilder()\n"
            "config.router.add_page(path='home', content=page, id='home')\n"),
    })
    applied = apply_fixes(root)
    assert applied.exit_code in (0, 1), applied.output
    common = (root / "app/common.py").read_text()
    assert "reset = count.update(value=0)" in common
    assert "rows = ServerVariable(uid='rows', scope='user')" in common
    assert common.startswith(
        "from dara.core import MemoryBackend, ServerVariable, UpdateVariable, Variable\n")


def test_an_import_another_module_reads_through_the_module_object_stays(
        tmp_path: Path) -> None:
    from tests.helpers import apply_fixes

    common = ("from dara.core import UpdateVariable, Variable\n\n"
              "count = Variable(0, uid='count')\n"
              "reset = UpdateVariable(lambda ctx: 0, variable=count)\n")
    root = write_tree(tmp_path, {
        "app/common.py": common,
        "app/pages.py": ("from app import common\n\n\n"
                         "def bump():\n"
                         "    made = common.UpdateVariable\n"
                         "    return made(lambda ctx: 1, variable=common.count)\n"),
    })
    applied = apply_fixes(root)
    assert applied.exit_code in (0, 1), applied.output
    assert (root / "app/common.py").read_text() == common.replace(
        "UpdateVariable(lambda ctx: 0, variable=count)", "count.update(value=0)")
