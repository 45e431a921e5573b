"""DM502's fix: a `@py_component` method that never uses its instance moves to module level,
only where the source shows it behaves the same."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from dara_migrate.apply import ApplyOptions, run_apply
from dara_migrate.edits import apply_edits
from dara_migrate.hoist import plan_hoist
from dara_migrate.planner import FixOptions
from dara_migrate.settings import load_settings
from dara_migrate.unbind import plan_unbind
from tests.helpers import write_tree

MAIN = (
    "from dara.core import ConfigurationBuilder\n\n"
    "from pages.orders import OrdersPage\n\n"
    "config = ConfigurationBuilder()\n"
    "config.router.add_page(path='orders', content=OrdersPage(), id='orders')\n"
)
HEADER = (
    "from dara.core import Variable, py_component\n"
    "from dara.components import Stack, Text\n\n\n"
)


def _apply(tmp_path: Path, page: str, extra: dict[str, str] | None = None) -> tuple[str, str]:
    """Apply with unsafe fixes to an app without `__init__.py` files (a namespace package, as
    most public Dara apps are); the page module after it, and the DM502 messages left."""
    root = write_tree(tmp_path / "shop", {"main.py": MAIN, "pages/orders.py": HEADER + page,
                                          **(extra or {})})
    settings = load_settings(root, {"use_cache": False, "jobs": 1, "select": ("DM502",)})
    result = run_apply(settings, [root], ApplyOptions(FixOptions(unsafe=True), local=False))
    after = {change.path: change.after.decode() for change in result.changes}
    left = "\n".join(f.message for f in result.remaining if f.rule == "DM502")
    return after.get("pages/orders.py", (root / "pages/orders.py").read_text()), left


def test_method_that_never_uses_self_moves_to_module_level(tmp_path: Path) -> None:
    page, left = _apply(tmp_path, (
        "class OrdersPage:\n"
        "    def __init__(self) -> None:\n"
        "        self.region = Variable('EMEA')\n\n"
        "    def __call__(self):\n"
        "        return Stack(self.summary(self.region), self.summary(region='APAC'))\n\n"
        "    @py_component\n"
        "    def summary(\n"
        "        self,\n"
        "        region: str,  # which sales region\n"
        "    ):\n"
        "        note = '''first line\n"
        "    second line keeps its indentation'''\n"
        "        return Text(f'Orders in {region}: {note}')\n"
    ))
    assert left == ""
    assert page == HEADER + (
        "class OrdersPage:\n"
        "    def __init__(self) -> None:\n"
        "        self.region = Variable('EMEA')\n\n"
        "    def __call__(self):\n"
        "        return Stack(summary(self.region), summary(region='APAC'))\n\n\n"
        "@py_component\n"
        "def summary(\n"
        "    region: str,  # which sales region\n"
        "):\n"
        "    note = '''first line\n"
        "    second line keeps its indentation'''\n"
        "    return Text(f'Orders in {region}: {note}')\n"
    )


UNSURE = {
    "uses self in a condition": (
        "    @py_component\n"
        "    def summary(self, region: str):\n"
        "        if self.compact:\n"
        "            return Text(region)\n"
        "        return Text(f'Orders in {region}')\n"
    ),
    "calls super()": (
        "    @py_component\n"
        "    def summary(self, region: str):\n"
        "        return super().summary(region)\n"
    ),
    "is passed around, not called": (
        "    @py_component\n"
        "    def summary(self, region: str):\n"
        "        return Text(region)\n\n"
        "    def cards(self):\n"
        "        return [self.summary]\n"
    ),
    "is called from a lambda's own self": (
        "    @py_component\n"
        "    def summary(self, region: str):\n"
        "        return Text(region)\n\n"
        "    def later(self):\n"
        "        return lambda self: self.summary('EMEA')\n"
    ),
    "has a second decorator": (
        "    @py_component\n"
        "    @staticmethod_like\n"
        "    def summary(self, region: str):\n"
        "        return Text(region)\n"
    ),
}


@pytest.mark.parametrize("method", UNSURE.values(), ids=UNSURE.keys())
def test_method_that_may_need_its_instance_stays(tmp_path: Path, method: str) -> None:
    source = ("class OrdersPage:\n"
              "    compact = False\n\n"
              "    def __call__(self):\n"
              "        return Stack(self.summary('EMEA'))\n\n" + method)
    page, left = _apply(tmp_path, "staticmethod_like = lambda f: f\n\n" + source)
    assert page == HEADER + "staticmethod_like = lambda f: f\n\n" + source
    assert "OrdersPage.summary" in left


def test_method_another_module_names_stays(tmp_path: Path) -> None:
    source = ("class OrdersPage:\n"
              "    def __call__(self):\n"
              "        return Stack(self.summary('EMEA'))\n\n"
              "    @py_component\n"
              "    def summary(self, region: str):\n"
              "        return Text(region)\n")
    page, left = _apply(tmp_path, source, {
        "pages/reports.py": "from pages.orders import OrdersPage\n\n"
                            "def weekly():\n"
                            "    return OrdersPage().summary('EMEA')\n"})
    assert page == HEADER + source
    assert "OrdersPage.summary" in left


def test_method_of_a_class_with_a_subclass_is_left_to_a_person(tmp_path: Path) -> None:
    source = ("class OrdersPage:\n"
              "    def __call__(self):\n"
              "        return Stack(self.summary('EMEA'))\n\n"
              "    @py_component\n"
              "    def summary(self, region: str):\n"
              "        return Text(region)\n\n"
              "class ArchivedOrdersPage(OrdersPage):\n"
              "    pass\n")
    page, left = _apply(tmp_path, source)
    assert page == HEADER + source
    assert "taking the attributes it uses as typed kwargs" in left


def test_no_plan_where_a_module_level_name_is_taken() -> None:
    text = ("from dara.core import py_component\n\n"
            "def summary(x):\n"
            "    return x\n\n"
            "class Page:\n"
            "    def __call__(self):\n"
            "        return self.summary(1)\n\n"
            "    @py_component\n"
            "    def summary(self, x):\n"
            "        return x\n")
    assert plan_unbind(text, 10, []) is None


def test_moved_code_parses_and_keeps_every_string() -> None:
    text = ("from dara.core import py_component\n\n"
            "class Page:\n"
            "    def __call__(self):\n"
            "        return self.card(1)\n\n"
            "    @py_component\n"
            "    def card(self, x):\n"
            "        '''Docstring lines\n"
            "        move with the code.'''\n"
            "        return f'''{x}\n"
            "            stays'''\n")
    planned = plan_unbind(text, 7, [])
    assert planned is not None
    after = apply_edits(text, planned[0])
    before_strings = [n.value for n in ast.walk(ast.parse(text)) if isinstance(n, ast.Constant)
                      and isinstance(n.value, str) and "stays" in n.value]
    after_strings = [n.value for n in ast.walk(ast.parse(after)) if isinstance(n, ast.Constant)
                     and isinstance(n.value, str) and "stays" in n.value]
    assert before_strings == after_strings
    assert "def card(x):\n    '''Docstring lines\n    move with the code.'''\n" in after


def test_hoisted_nested_definition_keeps_its_multi_line_strings() -> None:
    text = ("from dara.core import py_component\n\n"
            "def page():\n"
            "    @py_component\n"
            "    def card(x):\n"
            "        return f'''{x}\n"
            "            stays'''\n"
            "    return card(1)\n")
    planned = plan_hoist(text, 4)
    assert planned is not None
    after = apply_edits(text, planned[0])
    assert "@py_component\ndef card(x):\n    return f'''{x}\n            stays'''\n" in after
