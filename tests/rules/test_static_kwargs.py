"""DM501 untyped-static-kwarg and DM502 bound-receiver on small projects."""

from __future__ import annotations

from pathlib import Path

import pytest

from dara_migrate.models import Finding
from dara_migrate.rules.static_kwargs import Annotate
from tests.helpers import run_audit, write_tree

HEADER = (
    "from typing import Any, Literal, Optional\n\n"
    "from dara.core import DerivedVariable, Variable, action, py_component\n"
    "from dara.components import Text\n\n"
)


def findings(tmp_path: Path, files: dict[str, str], code: str) -> list[Finding]:
    root = write_tree(tmp_path, files)
    result, _ = run_audit(root, show_info=True)
    return [f for f in result.findings if f.rule == code]


def dm501(tmp_path: Path, source: str) -> list[Finding]:
    return findings(tmp_path, {"app/main.py": HEADER + source}, "DM501")


def test_literal_for_an_unannotated_parameter_is_reported_at_the_decorator(
        tmp_path: Path) -> None:
    found = dm501(tmp_path, (
        "@py_component\n"
        "def card(title, value):\n"
        "    return Text(title)\n\n"
        "total = Variable(0)\n"
        "a = card('Total', total)\n"
        "b = card(title=f'Sum {1}', value=total)\n"
    ))
    assert [(f.line, f.column) for f in found] == [(6, 1)]
    assert "`title`" in found[0].message
    assert "has no annotation" in found[0].message
    assert "app/main.py:11 passes it 'Total'" in found[0].message
    assert [(r.path, r.line) for r in found[0].related] == [("app/main.py", 11),
                                                           ("app/main.py", 12)]


@pytest.mark.parametrize(("signature", "given", "annotation"), [
    ("label", ["'Load'"], "str"),
    ("label", ["True"], "bool"),
    ("label", ["7"], "int"),
    ("label", ["7.5"], "float"),
    ("label", ["7", "2.5"], "float"),  # int and float: a float
    ("label", ["7", "'x'"], None),  # two types: a person decides
    ("label", ["None"], None),  # no type to name
    ("label", ["['a']"], None),  # not a constant
    ("label='x'", ["'Load'"], "str"),  # the default is one more of them
    ("label=0", ["'Load'"], None),  # the default is another type
    ("label=None", ["'Load'"], None),  # `str | None`: a person writes it
    ("label: Any", ["'Load'"], None),  # annotated on purpose: a person decides
])
def test_a_parameter_given_constants_of_one_type_may_be_annotated_with_it(
        tmp_path: Path, signature: str, given: list[str], annotation: str | None) -> None:
    found = dm501(tmp_path, (
        "@py_component\n"
        f"def card({signature}):\n"
        "    return Text(str(label))\n\n"
        + "".join(f"page_{n} = card({value})\n" for n, value in enumerate(given))
    ))
    assert len(found) == 1
    fix = found[0].autofix
    if annotation is None:
        assert (found[0].fix, fix) == ("manual", None)
    else:
        assert found[0].fix == "unsafe"
        assert isinstance(fix, Annotate)
        assert (fix.name, fix.annotation) == ("label", annotation)


def test_a_builtin_given_as_a_value_is_static(tmp_path: Path) -> None:
    # `str.title` is a function like a project's `fmt.currency`: no variable, and Dara
    # cannot serialise it.
    found = dm501(tmp_path, (
        "from typing import Callable\n\n"
        "@py_component\n"
        "def label(value: str, formatter: Callable[[str], str]):\n"
        "    return Text(formatter(value))\n\n"
        "name = Variable('ann')\n"
        "shown = label(name, str.title)\n"
    ))
    assert [(f.line, "`formatter`" in f.message) for f in found] == [(8, True)]
    assert "app/main.py:13 passes it `str.title`" in found[0].message


def test_parameter_that_only_receives_variables_is_not_reported(tmp_path: Path) -> None:
    assert dm501(tmp_path, (
        "class Page:\n"
        "    def __init__(self) -> None:\n"
        "        self.choice = Variable('a')\n\n"
        "    def render(self):\n"
        "        return chart(self.choice, self.choice.get('x'))\n\n"
        "@py_component\n"
        "def chart(data, extra, more=None):\n"
        "    return Text(str(data))\n\n"
        "rows = Variable([])\n"
        "total = DerivedVariable(len, variables=[rows])\n"
        "filters = rows.get('region')\n"
        "def section(source, other: DerivedVariable):\n"
        "    return chart(source, other, more=rows.list_item)\n\n"
        "one = chart(rows, total)\n"
        "two = chart(filters, rows.get('x'))\n"
        "three = section(rows, total)\n"
        "four = section(source=filters, other=total)\n"
    )) == []


def test_static_value_through_a_helper_parameter_is_reported(tmp_path: Path) -> None:
    found = dm501(tmp_path, (
        "@py_component\n"
        "def chart(data, title):\n"
        "    return Text(title)\n\n"
        "rows = Variable([])\n"
        "def section(heading):\n"
        "    return chart(rows, heading)\n\n"
        "page = section('Sales')\n"
    ))
    assert [("`title`" in f.message, f.line) for f in found] == [(True, 6)]


def test_undecidable_values_are_not_reported(tmp_path: Path) -> None:
    assert dm501(tmp_path, (
        "@py_component\n"
        "def chart(data):\n"
        "    return Text(str(data))\n\n"
        "def make_filter():\n"
        "    return Variable('all')\n\n"
        "def unused(source):\n"
        "    return chart(source)\n\n"
        "sources = [Variable(1), Variable(2)]\n"
        "def page():\n"
        "    for source in sources:\n"
        "        chart(source)\n"
        "    return [chart(s) for s in sources]\n\n"
        "built = chart(make_filter())\n"
    )) == []


def test_any_and_object_are_reported_but_json_types_are_not(tmp_path: Path) -> None:
    found = dm501(tmp_path, (
        "@action\n"
        "async def pick(ctx: action.Ctx, a: Any, b: object, c: dict[str, Any],\n"
        "               d: Optional[list[int]], e: 'str | None', f: Literal['x y', 2],\n"
        "               g: tuple[int, ...]) -> None: ...\n\n"
        "go = pick(1, 2, {}, [1], 'e', 'x y', (1, 2))\n"
    ))
    messages = sorted(f.message.split(" of ")[0] for f in found)
    assert messages == ["`a`", "`b`"]
    assert all("names no type to rebuild" in f.message for f in found)


def test_encoder_registry_and_pydantic_types_are_serialisable(tmp_path: Path) -> None:
    files = {
        "app/__init__.py": "",
        "app/models.py": "from pydantic import BaseModel\n\n"
        "class Base(BaseModel):\n"
        "    id: int\n\n"
        "class Row(Base):\n"
        "    name: str\n",
        "app/main.py": "import datetime\n\n"
        "import numpy as np\n"
        "import pandas\n"
        "from pandas import DataFrame as Frame\n"
        "from dara.core import ConfigurationBuilder, py_component\n"
        "from dara.components import Text\n\n"
        "from app.models import Row\n\n"
        "class Point:\n"
        "    x = 0\n\n"
        "config = ConfigurationBuilder()\n"
        "config.add_encoder(typ=Point, serialize=vars, deserialize=Point)\n\n"
        "@py_component\n"
        "def view(a: np.ndarray, b: pandas.Series, c: Frame, d: Row, e: Point,\n"
        "         f: list[Row], when: datetime.date):\n"
        "    return Text('x')\n\n"
        "shown = view(np.zeros(2), pandas.Series(), Frame(), Row(id=1, name='a'), Point(),\n"
        "             [], datetime.date.today())\n",
    }
    found = findings(tmp_path, files, "DM501")
    assert len(found) == 1
    assert "`when`" in found[0].message
    assert "`datetime.date`, which Dara cannot serialise" in found[0].message


def test_nested_unserialisable_type_is_named(tmp_path: Path) -> None:
    found = dm501(tmp_path, (
        "class Point:\n"
        "    x = 0\n\n"
        "@py_component\n"
        "def plot(points: list[Point] | None):\n"
        "    return Text('x')\n\n"
        "shown = plot([Point()])\n"
    ))
    assert len(found) == 1
    assert "is annotated `list[Point] | None`; Dara cannot serialise `Point`" in found[0].message


def test_action_ctx_and_method_receiver_are_skipped_when_mapping(tmp_path: Path) -> None:
    found = dm501(tmp_path, (
        "class Page:\n"
        "    @action\n"
        "    async def save(self, ctx: action.Ctx, row_id, label: str) -> None: ...\n\n"
        "    def render(self):\n"
        "        return Text('x', onclick=self.save(3, 'a'))\n\n"
        "@action\n"
        "async def remove(ctx, row_id: int, note) -> None: ...\n\n"
        "rows = Variable([])\n"
        "go = remove(1, rows)\n"
    ))
    assert [(f.line, f.message.split(" of ")[0]) for f in found] == [(7, "`row_id`")]


def test_an_action_called_with_ctx_inside_another_is_not_a_static_kwarg_site(
        tmp_path: Path) -> None:
    assert dm501(tmp_path, (
        "@action\n"
        "async def helper(ctx: action.Ctx, payload) -> None: ...\n\n"
        "@action\n"
        "async def outer(ctx: action.Ctx) -> None:\n"
        "    await helper(ctx, {'a': 1})\n"
        "    helper(ctx, [1])\n"
    )) == []


def test_py_component_body_values_are_static(tmp_path: Path) -> None:
    found = dm501(tmp_path, (
        "@py_component\n"
        "def inner(value):\n"
        "    return Text(str(value))\n\n"
        "@py_component(fallback=Text('...'))\n"
        "def outer(rows):\n"
        "    return inner(rows)\n\n"
        "data = Variable([])\n"
        "shown = outer(data)\n"
    ))
    assert [f.line for f in found] == [6]
    assert "`value`" in found[0].message


def test_aliases_and_cross_module_calls(tmp_path: Path) -> None:
    files = {
        "app/__init__.py": "",
        "app/widgets.py": "import dara.core as dc\n"
        "from dara.components import Text\n\n"
        "@dc.py_component\n"
        "def badge(label, count: int):\n"
        "    return Text(label)\n",
        "app/pages.py": "from app import widgets\n"
        "from app.widgets import badge as b\n\n"
        "LABEL = 'New'\n"
        "first = widgets.badge(LABEL, 1)\n"
        "second = b(label='Old', count=2)\n",
    }
    found = findings(tmp_path, files, "DM501")
    assert [(f.path, f.line) for f in found] == [("app/widgets.py", 4)]
    assert [r.line for r in found[0].related] == [5, 6]
    assert "passes it `LABEL`" in found[0].message


def dm502(tmp_path: Path, source: str) -> list[Finding]:
    return findings(tmp_path, {"app/main.py": HEADER + source}, "DM502")


def test_methods_are_reported_unless_the_class_can_be_rebuilt(tmp_path: Path) -> None:
    found = dm502(tmp_path, (
        "from pydantic import BaseModel\n"
        "from dara.core import ConfigurationBuilder\n\n"
        "class Model(BaseModel):\n"
        "    n: int = 0\n\n"
        "class Child(Model):\n"
        "    @py_component\n"
        "    def render(self):\n"
        "        return Text('m')\n\n"
        "class Encoded:\n"
        "    @action\n"
        "    async def run(self, ctx: action.Ctx) -> None: ...\n\n"
        "class Page:\n"
        "    @py_component\n"
        "    def render(self):\n"
        "        return Text('p')\n\n"
        "    @classmethod\n"
        "    @action\n"
        "    async def reset(cls, ctx: action.Ctx) -> None: ...\n\n"
        "    @staticmethod\n"
        "    @action\n"
        "    async def ping(ctx: action.Ctx) -> None: ...\n\n"
        "config = ConfigurationBuilder()\n"
        "config.add_encoder(typ=Encoded, serialize=vars, deserialize=Encoded)\n"
    ))
    assert [f.line for f in found] == [22, 26]
    assert "Page.render" in found[0].message
    assert "Page.reset" in found[1].message


def test_an_element_of_a_container_of_variables_is_not_static(tmp_path: Path) -> None:
    found = dm501(tmp_path, (
        "@py_component\n"
        "def chart(data):\n"
        "    return Text(str(data))\n\n"
        "FILTERS = {'region': Variable('EU'), 'year': Variable(2024)}\n"
        "SOURCES = [Variable(n) for n in range(3)]\n"
        "LABELS = {'region': 'Region'}\n"
        "a = chart(FILTERS['region'])\n"
        "b = chart(SOURCES[0])\n"
        "c = chart(LABELS['region'])\n"
    ))
    assert [r.line for f in found for r in f.related] == [15]


def test_imported_container_of_variables_is_followed(tmp_path: Path) -> None:
    files = {
        "app/__init__.py": "",
        "app/state.py": "from dara.core import Variable\n\n"
        "FILTERS = {'region': Variable('EU')}\n"
        "TITLES = ['Sales', 'Costs']\n",
        "app/main.py": HEADER + "from app.state import FILTERS, TITLES\n\n"
        "@py_component\n"
        "def chart(data, title):\n"
        "    return Text(title)\n\n"
        "shown = chart(FILTERS['region'], TITLES[0])\n",
    }
    found = findings(tmp_path, files, "DM501")
    assert [f.message.split(" of ")[0] for f in found] == ["`title`"]
    assert "passes it an expression of `TITLES`" in found[0].message


def test_variables_made_by_library_objects_are_not_static(tmp_path: Path) -> None:
    assert dm501(tmp_path, (
        "from dara.components import DataSlicerModal, Stack\n"
        "from dara.components.smart import DataSlicer\n\n"
        "rows = Variable([])\n"
        "modal = DataSlicerModal(rows)\n"
        "filtered = modal.get_output()\n\n"
        "@action\n"
        "async def export(ctx: action.Ctx, frame) -> None: ...\n\n"
        "@py_component\n"
        "def preview(frame):\n"
        "    return Text(str(frame))\n\n"
        "def page():\n"
        "    slicer = DataSlicer(rows)\n"
        "    return Stack(preview(slicer.get_output()), preview(filtered), export(filtered))\n"
    )) == []
