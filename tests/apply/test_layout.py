"""Edits laid out as the code around them: keyword insertion in every call layout, the
project's line length, imports in their isort section, hoists after the import block, and
line separators inside strings."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dara_migrate.edits import (
    EditStyle,
    InsertAfter,
    RemoveKeyword,
    SetKeyword,
    add_imports,
    apply_edits,
)
from dara_migrate.hoist import plan_hoist
from dara_migrate.layout import line_length, split_lines
from tests.helpers import examples

UID = SetKeyword(1, 5, "uid", "'m:x'")


def added(source: str, edit: SetKeyword = UID, length: int = 88) -> str:
    return apply_edits(source, [edit], EditStyle(line_length=length))


def test_multi_line_call_without_trailing_comma_gets_a_line_of_its_own() -> None:
    source = "x = DV(\n    compute,\n    variables=[a, b]\n)\n"
    assert added(source) == (
        "x = DV(\n    compute,\n    variables=[a, b],\n    uid='m:x'\n)\n")


def test_multi_line_call_with_trailing_comma_keeps_it() -> None:
    source = "x = DV(\n    compute,\n    variables=[a, b],\n)\n"
    assert added(source) == (
        "x = DV(\n    compute,\n    variables=[a, b],\n    uid='m:x',\n)\n")


@pytest.mark.parametrize("comma", ["", ","])
def test_a_comment_stays_on_the_line_it_annotates(comma: str) -> None:
    source = f"x = DV(\n    compute,\n    variables=[a, b]{comma}  # the inputs\n)\n"
    assert added(source) == (
        "x = DV(\n    compute,\n    variables=[a, b],  # the inputs\n"
        f"    uid='m:x'{comma}\n)\n")


def test_a_call_inside_a_function_keeps_its_indentation() -> None:
    source = "def page():\n    x = DV(\n        compute,\n        variables=[a]\n    )\n"
    result = apply_edits(source, [SetKeyword(2, 9, "uid", "'m:x'")])
    assert result == ("def page():\n    x = DV(\n        compute,\n        variables=[a],\n"
                      "        uid='m:x'\n    )\n")


def test_aligned_arguments_get_an_aligned_line() -> None:
    source = "x = DV(compute,\n       variables=[a])\n"
    assert added(source) == "x = DV(compute,\n       variables=[a],\n       uid='m:x')\n"


def test_a_call_that_no_longer_fits_is_split_one_argument_per_line() -> None:
    source = "    total = DerivedVariable(compute, variables=[a, b])  # note\n"
    result = apply_edits(f"def f():\n{source}", [SetKeyword(2, 13, "uid", "'m:total'")],
                         EditStyle(line_length=60))
    assert result == (
        "def f():\n"
        "    total = DerivedVariable(\n"
        "        compute,\n"
        "        variables=[a, b],\n"
        "        uid='m:total',\n"
        "    )  # note\n")


def test_the_outer_call_is_split_first_where_only_an_inner_insertion_overflows() -> None:
    # The route's `id=` fits the line; the page's `uid_prefix=` does not. Splitting the route
    # call lets the page call keep its line, as black lays it out; splitting only the page
    # call left `), name='Incidents', id='incidents')` behind it.
    line = "    config.router.add_page(path='incidents', content=Page('sre'), name='Incidents')\n"
    route, page = line.index("config") + 1, line.index("Page(") + 1
    result = apply_edits(f"def build():\n{line}", [
        SetKeyword(2, route, "id", "'incidents'"),
        SetKeyword(2, page, "uid_prefix", "'ops.main:build.content.sre'")],
        EditStyle(line_length=100))
    assert result == (
        "def build():\n"
        "    config.router.add_page(\n"
        "        path='incidents',\n"
        "        content=Page('sre', uid_prefix='ops.main:build.content.sre'),\n"
        "        name='Incidents',\n"
        "        id='incidents',\n"
        "    )\n")


def test_a_call_that_still_fits_stays_on_one_line() -> None:
    source = "total = DerivedVariable(compute, variables=[a, b])\n"
    assert added(source, SetKeyword(1, 9, "uid", "'m:total'"), 100) == (
        "total = DerivedVariable(compute, variables=[a, b], uid='m:total')\n")


def test_a_replaced_value_that_no_longer_fits_splits_the_call_in_place() -> None:
    source = "total = DerivedVariable(compute, uid=str(uuid4()), cache=None)\n"
    edit = SetKeyword(1, 9, "uid", "'package.module:total'", replace=True)
    assert added(source, edit, 60) == (
        "total = DerivedVariable(\n    compute,\n    uid='package.module:total',\n"
        "    cache=None,\n)\n")


@pytest.mark.parametrize("separator", ["\f", "\x85", "\u2028", "\u2029", "\v", "\x1c"])
def test_line_separators_inside_strings_do_not_shift_edits(separator: str) -> None:
    source = (f"NOTE = 'a{separator}b'\n"
              "total = DV(compute)\n"
              "config = ConfigurationBuilder()\n")
    edits = [SetKeyword(2, 9, "uid", "'m:total'"),
             InsertAfter(3, "config.unsafe_runtime_mode = 'local'\n", key="hatch")]
    assert apply_edits(source, edits) == (
        f"NOTE = 'a{separator}b'\n"
        "total = DV(compute, uid='m:total')\n"
        "config = ConfigurationBuilder()\n"
        "config.unsafe_runtime_mode = 'local'\n")
    assert split_lines(f"a{separator}b\r\nc\rd\n") == [f"a{separator}b", "c", "d"]


RUNTIME = (("os", None), ("dara.core.runtime", "RuntimeScope"),
           ("dara.core.runtime", "ValkeyDistributedBackend"))
APP = EditStyle(first_party=frozenset({"shop"}))


def test_new_imports_go_into_their_sections() -> None:
    source = ("from dara.core import ConfigurationBuilder\n\n"
              "from shop.pages import home\n\nconfig = ConfigurationBuilder()\n")
    assert add_imports(source, RUNTIME, APP) == (
        "import os\n\n"
        "from dara.core import ConfigurationBuilder\n"
        "from dara.core.runtime import RuntimeScope, ValkeyDistributedBackend\n\n"
        "from shop.pages import home\n\nconfig = ConfigurationBuilder()\n")


def test_sections_a_block_lacks_open_in_order_above_it() -> None:
    # A module with first-party imports only (a service binding a shared factory's config):
    # the standard library, then the third-party section, then what was there.
    source = "from shop.bootstrap import build_config\n\nconfig = build_config()\n"
    assert add_imports(source, (*RUNTIME, ("redis", None)), APP) == (
        "import os\n\n"
        "import redis\n"
        "from dara.core.runtime import RuntimeScope, ValkeyDistributedBackend\n\n"
        "from shop.bootstrap import build_config\n\nconfig = build_config()\n")
    assert add_imports("import os\n", (*RUNTIME, ("shop.x", "y")), APP) == (
        "import os\n\n"
        "from dara.core.runtime import RuntimeScope, ValkeyDistributedBackend\n\n"
        "from shop.x import y\n")


def test_new_imports_are_sorted_among_the_existing_ones() -> None:
    source = ("import logging\nimport sys\nfrom pathlib import Path\n\n"
              "import pandas as pd\nfrom dara.core import ConfigurationBuilder\n"
              "from dara.components import Stack\n")
    assert add_imports(source, RUNTIME, APP) == (
        "import logging\nimport os\nimport sys\nfrom pathlib import Path\n\n"
        "import pandas as pd\nfrom dara.core import ConfigurationBuilder\n"
        "from dara.components import Stack\n"
        "from dara.core.runtime import RuntimeScope, ValkeyDistributedBackend\n")


def test_existing_imports_are_reused_or_joined() -> None:
    source = ("import os.path\n\nfrom dara.core.runtime import RuntimeScope\n"
              "from shop import pages\n")
    assert add_imports(source, RUNTIME, APP) == (
        "import os.path\n\nfrom dara.core.runtime import RuntimeScope, "
        "ValkeyDistributedBackend\nfrom shop import pages\n")


def test_a_file_without_imports_gets_a_block_after_its_docstring() -> None:
    assert add_imports('"""The config."""\nconfig = make()\n', RUNTIME, APP) == (
        '"""The config."""\n\nimport os\n\n'
        "from dara.core.runtime import RuntimeScope, ValkeyDistributedBackend\n\n"
        "config = make()\n")


def test_a_long_from_import_is_wrapped() -> None:
    style = EditStyle(line_length=40)
    assert add_imports("import sys\n", RUNTIME[1:], style) == (
        "import sys\n\nfrom dara.core.runtime import (\n    RuntimeScope,\n"
        "    ValkeyDistributedBackend,\n)\n")


def test_a_hoisted_definition_goes_after_the_import_block() -> None:
    source = ("from dara.core import py_component\n"
              "from dara.components import Text\n"
              "import json\n\n\n"
              "def page():\n"
              "    @py_component\n"
              "    def card(value):\n"
              "        return Text(json.dumps(value))\n"
              "    return card(1)\n")
    planned = plan_hoist(source, 7)
    assert planned is not None
    result = apply_edits(source, planned[0])
    assert result.startswith("from dara.core import py_component\n"
                             "from dara.components import Text\n"
                             "import json\n\n\n@py_component\ndef card(value):\n")


@pytest.mark.parametrize("docstring", ["", '    """The panel."""\n'])
def test_a_function_whose_only_statement_is_hoisted_keeps_a_pass(docstring: str) -> None:
    source = ("from dara.core import DerivedVariable, py_component\n\n\n"
              "@py_component\n"
              "def panel():\n"
              f"{docstring}"
              "    # the total\n"
              "    total = DerivedVariable(lambda: 42, variables=[])\n")
    planned = plan_hoist(source, 7 + bool(docstring))
    assert planned is not None
    result = apply_edits(source, planned[0])
    assert result == ("from dara.core import DerivedVariable, py_component\n\n"
                      "# the total\n"
                      "total = DerivedVariable(lambda: 42, variables=[])\n\n\n"
                      "@py_component\n"
                      "def panel():\n"
                      f"{docstring or '    pass' + chr(10)}")
    compile(result, "panel.py", "exec")


def test_a_hoist_keeps_the_users_comment_above_a_marker() -> None:
    source = ("from dara.core import DerivedVariable, py_component\n\n\n"
              "@py_component\n"
              "def panel():\n"
              "    # the total, made while rendering\n"
              "    # dara-migrate: local-only[DM301] automatic migration not possible\n"
              "    total = DerivedVariable(lambda: 42, variables=[])\n"
              "    return total\n")
    planned = plan_hoist(source, 8)
    assert planned is not None
    assert apply_edits(source, planned[0]) == (
        "from dara.core import DerivedVariable, py_component\n\n"
        "# the total, made while rendering\n"
        "total = DerivedVariable(lambda: 42, variables=[])\n\n\n"
        "@py_component\n"
        "def panel():\n"
        "    return total\n")


@pytest.mark.parametrize("blank", ["\n", "\n\n"])
def test_a_hoisted_assignment_is_set_off_from_the_imports_as_the_code_is(blank: str) -> None:
    # isort's `lines_after_imports`: 1 by default, 2 where a project configures it.
    isort = f"lint.isort.lines-after-imports = {len(blank)}"
    source = ("from dara.components import Text\n"
              "from dara.core import DerivedVariable, py_component\n"
              f"{blank}"
              "LABEL = 'total'\n\n\n"
              "@py_component\n"
              "def panel():\n"
              "    base = DerivedVariable(lambda: 42, variables=[])\n"
              "    return Text(base)\n")
    planned = plan_hoist(source, 8 + len(blank))
    assert planned is not None
    result = apply_edits(source, planned[0])
    assert result.startswith("from dara.components import Text\n"
                             "from dara.core import DerivedVariable, py_component\n"
                             f"{blank}"
                             "base = DerivedVariable(lambda: 42, variables=[])\n"
                             f"{blank}"
                             "LABEL = 'total'\n")
    completed = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--isolated", "--select", "E,W,I",
         "--config", isort, "--output-format", "concise", "--stdin-filename", "m.py", "-"],
        input=result, capture_output=True, text=True, check=False)
    assert completed.returncode == 0, completed.stdout


@pytest.mark.parametrize("config, expected", [
    ("[tool.ruff]\nline-length = 100\n", 100),
    ("[tool.black]\nline-length = 120\n", 120),
    ("[tool.ruff.lint]\nselect = ['E']\n", 88),
])
def test_line_length_from_pyproject(tmp_path: Path, config: str, expected: int) -> None:
    (tmp_path / "pyproject.toml").write_text(config)
    (tmp_path / "pkg").mkdir()
    assert line_length(tmp_path / "pkg") == expected


@pytest.mark.parametrize("name", ["setup.cfg", "tox.ini", ".flake8"])
def test_line_length_from_flake8_settings(tmp_path: Path, name: str) -> None:
    (tmp_path / name).write_text("[flake8]\nmax-line-length = 79\n")
    assert line_length(tmp_path) == 79


def test_line_length_is_the_nearest_folders_that_sets_one(tmp_path: Path) -> None:
    """A pyproject without a line length (an app's own, in a monorepo) passes the question
    on to the folders above; folders of one project asked in any order agree."""
    (tmp_path / "pyproject.toml").write_text("[tool.ruff]\nline-length = 100\n")
    app = tmp_path / "apps" / "shop"
    (app / "shop" / "pages").mkdir(parents=True)
    (app / "pyproject.toml").write_text("[project]\nname = 'shop'\n")
    other = tmp_path / "apps" / "legacy"
    (other / "legacy").mkdir(parents=True)
    (other / "setup.cfg").write_text("[flake8]\nmax-line-length = 79\n")
    assert line_length(app / "shop" / "pages") == 100
    assert line_length(other / "legacy") == 79
    assert line_length(app / "shop") == 100
    assert line_length(tmp_path / "apps") == 100
    assert line_length(other) == 79


def ruff_findings(source: str, length: int) -> list[str]:
    """E/W findings of ruff on `source` (codes only: line numbers move with the edit)."""
    completed = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--isolated", "--select", "E,W",
         "--line-length", str(length), "--output-format", "concise", "--stdin-filename",
         "m.py", "-"], input=source, capture_output=True, text=True, check=False)
    return sorted(line.split(": ")[1].split()[0] for line in completed.stdout.splitlines()
                  if line.startswith("m.py:"))


ALL_ARGUMENTS = [
    "compute", "variables=[a, b]", "cache=None", "(wrapped)", "*rest", "**extra",
    "nested(x, y=1)", "lambda v: v", "{'k': 'v'}", "'é'", "label='a fairly long label text'",
    "uid='m:x'",
]
_ARGUMENT = st.sampled_from(ALL_ARGUMENTS[:-1])


def _argument_order(argument: str) -> int:
    """Positional, then `*rest`, then keywords, then `**extra`: a valid call."""
    if argument.startswith("**"):
        return 3
    if argument.startswith("*"):
        return 1
    return 2 if "=" in argument.split("(")[0].split("[")[0] and ":" not in argument else 0


@st.composite
def call_layout(draw: st.DrawFn) -> tuple[str, int, int]:
    """A `DV(...)` call in one of the layouts people write, in a function or not."""
    arguments = sorted(draw(st.lists(_ARGUMENT, min_size=0, max_size=5, unique=True)),
                       key=_argument_order)
    indent = draw(st.sampled_from(["", "    "]))
    layout = draw(st.sampled_from(["one-line", "exploded", "aligned"]))
    trailing = draw(st.booleans())
    comment = draw(st.sampled_from(["", "  # note"]))
    inner = indent + "    "
    if layout == "exploded" and arguments:
        body = "".join(f"{inner}{a},\n" for a in arguments[:-1])
        last = f"{inner}{arguments[-1]}{',' if trailing else ''}{comment}\n"
        call = f"DV(\n{body}{last}{indent})"
    elif layout == "aligned" and len(arguments) > 1:
        align = " " * (len(indent) + len("x = DV("))
        call = "DV(" + f",\n{align}".join(arguments) + ")"
    else:
        call = "DV(" + ", ".join(arguments) + ")"
    # A one-line call may sit inside another call, as a component's argument.
    outer = "Stack(" if layout == "one-line" and draw(st.booleans()) else ""
    wrapped = f"{outer}{call}, Text('total'))" if outer else call
    statement = f"{indent}x = {wrapped}{comment if layout != 'exploded' else ''}\n"
    source = f"def page():\n{statement}{indent}return x\n" if indent else statement
    return source, (2 if indent else 1), len(indent) + 5 + len(outer)


@settings(max_examples=examples(80), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(layout=call_layout(), length=st.sampled_from([40, 60, 88]))
def test_keyword_insertion_in_any_layout(layout: tuple[str, int, int], length: int) -> None:
    source, line, column = layout
    result = apply_edits(source, [SetKeyword(line, column, "uid", "'m:x'")],
                         EditStyle(line_length=length))
    before, after = ast.parse(source), ast.parse(result)
    calls = [n for n in ast.walk(after) if isinstance(n, ast.Call)
             and isinstance(n.func, ast.Name) and n.func.id == "DV"]
    assert [ast.unparse(k) for k in calls[0].keywords if k.arg == "uid"] == ["uid='m:x'"]
    calls[0].keywords = [k for k in calls[0].keywords if k.arg != "uid"]
    assert ast.dump(after) == ast.dump(before)
    other = [code for code in ruff_findings(result, length) if code != "E501"]
    assert other == [code for code in ruff_findings(source, length) if code != "E501"]
    old_lines = set(split_lines(source))
    for text_line in split_lines(result):
        # A line too long is one the edit did not touch, or one argument alone on its line
        # (with the comment that annotates it).
        argument = text_line.split("  # ")[0].strip().rstrip(",")
        assert (len(text_line) <= length or text_line in old_lines
                or argument in ALL_ARGUMENTS), text_line
    assert all(line.strip() or not line for line in split_lines(result))
    for text_line in split_lines(result):
        if text_line.lstrip().startswith("uid="):
            assert text_line.startswith(" ")


@pytest.mark.parametrize("comma", ["", ","])
def test_removing_the_last_argument_keeps_the_closing_line(comma: str) -> None:
    source = (f"x = ServerVariable(\n    default=[],  # rows\n"
              f"    backend=MemoryBackend(){comma}\n)\n")
    assert apply_edits(source, [RemoveKeyword(1, 5, "backend")]) == (
        f"x = ServerVariable(\n    default=[]{comma}  # rows\n)\n")
    assert apply_edits(source, [RemoveKeyword(1, 5, "backend"), UID]) == (
        f"x = ServerVariable(\n    default=[],  # rows\n    uid='m:x'{comma}\n)\n")


def test_two_insertions_on_one_line_split_a_call_when_together_they_overflow() -> None:
    source = "low, high = DerivedVariable(balance), DerivedVariable(count_entries)\n"
    edits = [SetKeyword(1, 13, "uid", "'ledger.state:low'"),
             SetKeyword(1, 39, "uid", "'ledger.state:high'")]
    # Each insertion alone fits in 100 columns; both together would make a 113-column line.
    for edit in edits:
        assert max(map(len, split_lines(apply_edits(source, [edit], EditStyle(100))))) <= 100
    assert apply_edits(source, edits, EditStyle(line_length=100)) == (
        "low, high = DerivedVariable(\n"
        "    balance,\n"
        "    uid='ledger.state:low',\n"
        "), DerivedVariable(count_entries, uid='ledger.state:high')\n")


def test_a_split_call_takes_the_insertions_inside_it_along() -> None:
    source = "prefs = dc.Variable(store=BackendStore())  # the user's settings\n"
    edits = [SetKeyword(1, 9, "uid", "'app.main:prefs'"),
             SetKeyword(1, 27, "uid", "'app.main:store'")]
    assert apply_edits(source, edits) == (
        "prefs = dc.Variable(\n"
        "    store=BackendStore(uid='app.main:store'),\n"
        "    uid='app.main:prefs',\n"
        ")  # the user's settings\n")


@st.composite
def two_calls_on_a_line(draw: st.DrawFn) -> tuple[str, list[SetKeyword]]:
    """Two one-line `DV(...)` calls on one line: side by side, or one inside another call."""
    first, second = (sorted(draw(st.lists(_ARGUMENT, max_size=3, unique=True)),
                            key=_argument_order) for _ in range(2))
    indent = draw(st.sampled_from(["", "    "]))
    left, right = "DV(" + ", ".join(first) + ")", "DV(" + ", ".join(second) + ")"
    outer = draw(st.sampled_from(["", "Stack(", "[", "Stack(Text(x), ", "DV("]))
    line = 2 if indent else 1
    column = len(indent) + 5 + len(outer)
    if outer == "DV(":
        # One definition inside the other: `x = DV(DV(...), ...)`.
        statement = f"{indent}x = DV({left}{''.join(f', {a}' for a in second)})\n"
        second_column = column - 3
    else:
        closing = {"": "", "Stack(": ")", "[": "]", "Stack(Text(x), ": ")"}[outer]
        statement = f"{indent}x = {outer}{left}, Text({right}){closing}\n"
        second_column = column + len(left) + 7
    source = f"def page():\n{statement}{indent}return x\n" if indent else statement
    return source, [SetKeyword(line, column, "uid", "'m:first'"),
                    SetKeyword(line, second_column, "uid", "'m:second'")]


@settings(max_examples=examples(80), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=two_calls_on_a_line(), length=st.sampled_from([40, 60, 88]))
def test_insertions_together_never_make_a_line_too_long(
        case: tuple[str, list[SetKeyword]], length: int) -> None:
    source, edits = case
    result = apply_edits(source, edits, EditStyle(line_length=length))
    before, after = ast.parse(source), ast.parse(result)
    calls = [n for n in ast.walk(after) if isinstance(n, ast.Call)
             and isinstance(n.func, ast.Name) and n.func.id == "DV"]
    assert sorted(ast.unparse(k) for c in calls for k in c.keywords if k.arg == "uid") == [
        "uid='m:first'", "uid='m:second'"]
    for call in calls:
        call.keywords = [k for k in call.keywords if k.arg != "uid"]
    assert ast.dump(after) == ast.dump(before)
    other = [code for code in ruff_findings(result, length) if code != "E501"]
    assert other == [code for code in ruff_findings(source, length) if code != "E501"]
    old_lines = set(split_lines(source))
    for text_line in split_lines(result):
        # Too long only where the input was, or for one argument alone on its line (a
        # nested call with its own insertion is split in turn).
        argument = text_line.strip().rstrip(",")
        assert (len(text_line) <= length or text_line in old_lines or argument in [
            *ALL_ARGUMENTS, "uid='m:first'", "uid='m:second'"]), text_line
