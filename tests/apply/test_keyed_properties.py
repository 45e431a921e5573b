"""Generated apps that mix the patterns `apply` now keys or rewrites (metric loops, a factory
called from several pages, a page class built twice with a comprehension in `__init__`, random
uids at module level, deprecated action helpers): after `apply --unsafe-fixes` the app builds
with dara-core's own registries, which raise on a duplicate uid, every id is the same in a
second build, and a second apply changes nothing."""

from __future__ import annotations

import importlib
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from itertools import count
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dara_migrate.apply import ApplyOptions, run_apply
from dara_migrate.planner import FixOptions
from dara_migrate.settings import load_settings
from tests.helpers import write_tree

_REGISTRIES = ("derived_variable_registry", "server_variable_registry", "action_registry",
               "static_kwargs_registry", "backend_store_registry")
_PACKAGES = count()

WIDGETS = (
    "from functools import partial\n\n"
    "from dara.components import Card, Stack, Text\n"
    "from dara.core import DerivedVariable, Variable\n\n"
    "base = Variable(1)\n"
    "COLUMNS = ['region', 'product']\n\n\n"
    "def pick(key, value):\n    return (key, value)\n\n\n"
    "def card(label: str):\n"
    "    total = DerivedVariable(partial(pick, label), variables=[base])\n"
    "    return Card(Text(total), title=label)\n\n\n"
    "class Panel:\n"
    "    def __init__(self, title: str):\n"
    "        self.title = title\n"
    "        self.totals = {c: DerivedVariable(partial(pick, c), variables=[base]) "
    "for c in COLUMNS}\n\n"
    "    def __call__(self):\n"
    "        return Stack(Text(self.title), *[Text(t) for t in self.totals.values()])\n"
)


@st.composite
def page(draw: st.DrawFn, number: int) -> tuple[str, list[str]]:
    """A page module and the names of its content functions."""
    lines = [
        "from functools import partial",
        "from uuid import uuid4",
        "",
        "from dara.components import Button, Stack, Text",
        "from dara.core import DerivedVariable, UpdateVariable, Variable",
        "",
        "from app.widgets import Panel, base, card, pick",
        "",
        f"METRICS = {draw(st.sampled_from([['a', 'b'], ['x', 'y', 'z'], ['total']]))!r}",
        "counter = Variable(0)",
    ]
    parts: list[str] = []
    if draw(st.booleans()):
        lines.append("values = {m: DerivedVariable(partial(pick, m), variables=[base]) "
                     "for m in METRICS}")
        parts.append("*[Text(v) for v in values.values()]")
    if draw(st.booleans()):
        lines.append("session = DerivedVariable(partial(pick, 'session'), variables=[base], "
                     "uid=str(uuid4()))")
        parts.append("Text(session)")
    panels = draw(st.integers(0, 2))
    for index in range(panels):
        lines.append(f"panel_{index} = Panel('panel {index}')")
        parts.append(f"panel_{index}()")
    for label in draw(st.lists(st.sampled_from(["north", "south", "east"]), max_size=2,
                               unique=True)):
        parts.append(f"card('{label}')")
    if draw(st.booleans()):
        parts.append("Button('+1', onclick=UpdateVariable(lambda ctx: ctx.inputs.old + 1, "
                     "counter))")
    loop = draw(st.booleans())
    body = ["", "", f"def page_{number}():", "    items = []"]
    if loop:
        body += ["    for region in ('n', 's'):",
                 "        items.append(Text(DerivedVariable(partial(pick, region), "
                 "variables=[base])))"]
    body.append(f"    return Stack({', '.join(['*items', *parts])})")
    return "\n".join(lines + body) + "\n", [f"page_{number}"]


@st.composite
def project(draw: st.DrawFn) -> tuple[dict[str, str], list[tuple[str, str]]]:
    pages = [draw(page(n)) for n in range(draw(st.integers(1, 3)))]
    files = {"app/__init__.py": "", "app/widgets.py": WIDGETS}
    contents: list[tuple[str, str]] = []
    imports = []
    routes = []
    for number, (source, functions) in enumerate(pages):
        files[f"app/page_{number}.py"] = source
        for function in functions:
            contents.append((f"app.page_{number}", function))
            imports.append(f"from app.page_{number} import {function}")
            routes.append(f"config.router.add_page(path='{function}', content={function}, "
                          f"id='{function}')")
    files["app/main.py"] = "\n".join([
        "from dara.core import ConfigurationBuilder", "", *imports, "",
        "config = ConfigurationBuilder()", "", *routes, ""])
    return files, contents


def apply_once(root: Path) -> dict[str, bytes]:
    settings_ = load_settings(root, {"target": "1.x", "use_cache": False, "jobs": 1})
    result = run_apply(settings_, [root], ApplyOptions(FixOptions(unsafe=True)))
    assert result.errors == []
    for change in result.changes:
        (root / change.path).write_bytes(change.after)
    return {c.path: c.after for c in result.changes}


@contextmanager
def fresh_registries() -> Iterator[Any]:
    """Dara's process-wide registries, emptied for one build and restored after it."""
    # Imported here: dara-core takes seconds to load, and only this test builds with it.
    from dara.core.internal import registries

    saved = {name: dict(getattr(registries, name)._registry) for name in _REGISTRIES}
    for name in _REGISTRIES:
        getattr(registries, name)._registry.clear()
    try:
        yield registries
    finally:
        for name in _REGISTRIES:
            registry: Any = getattr(registries, name)
            registry._registry.clear()
            registry._registry.update(saved[name])


def build(root: Path, package: str, contents: list[tuple[str, str]]) -> set[str]:
    """Import the app as `package` and run each page once, as Dara does at startup; the
    uids of the derived and server variables it registered."""
    with fresh_registries() as registries:
        sys.path.insert(0, str(root))
        try:
            importlib.import_module(f"{package}.main")
            for module, function in contents:
                getattr(sys.modules[module.replace("app", package, 1)], function)()
            return (set(registries.derived_variable_registry.get_all())
                    | set(registries.server_variable_registry.get_all()))
        finally:
            sys.path.remove(str(root))
            for name in [m for m in sys.modules if m == package or m.startswith(f"{package}.")]:
                del sys.modules[name]


def renamed(files: dict[str, str], package: str) -> dict[str, str]:
    """The app under another package name (each build imports fresh modules)."""
    return {path.replace("app/", f"{package}/", 1): text.replace("app.", f"{package}.")
            for path, text in files.items()}


@pytest.mark.slow
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(generated=project())
def test_migrated_apps_build_with_stable_ids_and_apply_is_idempotent(
        generated: tuple[dict[str, str], list[tuple[str, str]]]) -> None:
    files, contents = generated
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder) / "project"
        write_tree(root, files)
        apply_once(root)
        migrated = {path: (root / path).read_text() for path in files}
        assert apply_once(root) == {}
        ids = []
        for _ in range(2):
            package = f"generated_app_{next(_PACKAGES)}"
            build_root = Path(folder) / package
            write_tree(build_root, renamed(migrated, package))
            ids.append({uid.replace(package, "app") for uid in build(build_root, package,
                                                                        contents)})
        assert ids[0] == ids[1]
