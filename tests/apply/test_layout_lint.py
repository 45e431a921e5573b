"""Edits add no line-length or blank-line findings: hoisted definitions are set off by two
blank lines on both sides, calls nested in a split call are split in turn while their lines
are too long, and a call that gets two keywords at once (the LibCST path) is split too."""

from __future__ import annotations

import ast
import subprocess
import sys

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dara_migrate.edits import (
    BlankLinesAbove,
    EditStyle,
    RemoveKeyword,
    SetKeyword,
    apply_edits,
)
from dara_migrate.hoist import plan_hoist
from dara_migrate.layout import split_lines
from tests.apply.test_layout import ALL_ARGUMENTS, _argument_order
from tests.helpers import examples


def blank_line_findings(source: str) -> list[str]:
    """ruff's blank-line findings (E30x, a preview rule set) on `source`, names only."""
    completed = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--isolated", "--preview", "--select", "E30",
         "--output-format", "concise", "--stdin-filename", "m.py", "-"],
        input=source, capture_output=True, text=True, check=False)
    return sorted(line.split(": ")[1] for line in completed.stdout.splitlines()
                  if line.startswith("m.py:"))


def test_code_right_after_the_anchor_gets_two_blank_lines_after_a_hoisted_def() -> None:
    source = ("from dara.core import Variable, action, py_component\n\n"
              "count = Variable(0)\n"
              "# the step a click adds\n"
              "step = Variable(1)\n\n\n"
              "@py_component\n"
              "def panel():\n"
              "    @action\n"
              "    async def bump(ctx: action.Ctx):\n"
              "        await ctx.update(count, 1)\n"
              "    return bump\n")
    planned = plan_hoist(source, 10)
    assert planned is not None
    assert BlankLinesAbove(5, 2) in planned[0]
    assert apply_edits(source, planned[0]) == (
        "from dara.core import Variable, action, py_component\n\n"
        "count = Variable(0)\n\n\n"
        "@action\n"
        "async def bump(ctx: action.Ctx):\n"
        "    await ctx.update(count, 1)\n\n\n"
        "# the step a click adds\n"
        "step = Variable(1)\n\n\n"
        "@py_component\n"
        "def panel():\n"
        "    return bump\n")


def test_an_assignment_hoisted_after_a_def_is_set_off_from_it() -> None:
    source = ("from dara.core import DerivedVariable, py_component\n\n\n"
              "def total(rows):\n"
              "    return sum(rows)\n\n\n"
              "@py_component\n"
              "def panel():\n"
              "    shown = DerivedVariable(total, variables=[])\n"
              "    return shown\n")
    planned = plan_hoist(source, 10)
    assert planned is not None
    result = apply_edits(source, planned[0])
    assert "    return sum(rows)\n\n\nshown = DerivedVariable(total, variables=[])\n\n\n" in (
        result)
    assert blank_line_findings(result) == []


def test_a_def_hoisted_where_two_blank_lines_follow_adds_none() -> None:
    source = ("from dara.core import Variable, action\n\n"
              "count = Variable(0)\n\n\n"
              "def panel():\n"
              "    @action\n"
              "    async def bump(ctx: action.Ctx):\n"
              "        await ctx.update(count, 1)\n"
              "    return bump\n")
    planned = plan_hoist(source, 7)
    assert planned is not None
    assert not any(isinstance(e, BlankLinesAbove) for e in planned[0])


_TOP_LEVEL = st.lists(st.sampled_from(["assign", "comment-assign", "def", "class"]),
                      min_size=1, max_size=4)


@st.composite
def module_with_a_hoist(draw: st.DrawFn) -> tuple[str, int]:
    """A module whose function makes a definition that reads one module-level name: the
    module's statements separated as PEP 8 allows (code after code by 0 or 1 blank line)."""
    kinds = draw(_TOP_LEVEL)
    chunks = ["from dara.core import DerivedVariable, action\n"]
    names: list[str] = []
    previous = "import"
    for index, kind in enumerate(kinds):
        name = f"item_{index}"
        names.append(name)
        if kind in ("def", "class") or previous in ("def", "class"):
            blank = 2
        else:
            blank = draw(st.integers(0 if previous != "import" else 1, 1))
        chunks.append("\n" * blank)
        if kind == "def":
            chunks.append(f"def {name}(rows):\n    return rows\n")
        elif kind == "class":
            chunks.append(f"class {name}:\n    size = 1\n")
        else:
            comment = "# a setting\n" if kind == "comment-assign" else ""
            chunks.append(f"{comment}{name} = {index}\n")
        previous = kind
    read = draw(st.sampled_from(names))
    hoisted = draw(st.sampled_from([
        f"    @action\n    async def bump(ctx: action.Ctx):\n        await ctx.update({read})\n",
        f"    shown = DerivedVariable({read}, variables=[])\n",
    ]))
    function = f"def panel():\n{hoisted}    return 1\n"
    chunks.append(f"\n\n{function}")
    if draw(st.booleans()):
        chunks.append("\n\nLAST = 1\n")
    source = "".join(chunks)
    line = len(split_lines(source[:source.index(function)])) + 2
    return source, line


@settings(max_examples=examples(60), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=module_with_a_hoist())
def test_hoisting_never_adds_blank_line_findings(case: tuple[str, int]) -> None:
    source, line = case
    planned = plan_hoist(source, line)
    assert planned is not None
    result = apply_edits(source, planned[0])
    assert blank_line_findings(result) == blank_line_findings(source) == []


_OUTER_ARGUMENTS = st.lists(st.sampled_from([a for a in ALL_ARGUMENTS[:-1] if "*" not in a]),
                            max_size=3, unique=True)


@st.composite
def nested_definitions(draw: st.DrawFn) -> tuple[str, list[SetKeyword], list[str]]:
    """`x = DV(..., DV(..., DV(...)))` on one line, two or three deep, each call with its own
    arguments and the next call first or last; a uid for every call."""
    depth = draw(st.integers(2, 3))
    indent = draw(st.sampled_from(["", "    "]))
    call = ""
    for _ in range(depth):
        arguments = sorted(draw(_OUTER_ARGUMENTS), key=_argument_order)
        if call:
            arguments = ([call, *arguments] if draw(st.booleans())
                         else [*arguments, f"inputs=[{call}]"])
        call = "DV(" + ", ".join(arguments) + ")"
    statement = f"{indent}x = {call}\n"
    source = f"def page():\n{statement}{indent}return x\n" if indent else statement
    line = 2 if indent else 1
    # Alone on a line at the deepest indentation, a uid fits in the shortest line length.
    uids = [f"'pages.x:level_{n}'" for n in range(depth)]
    columns = [i + 1 for i in range(len(statement)) if statement.startswith("DV(", i)]
    return source, [SetKeyword(line, c, "uid", u) for c, u in zip(columns, uids, strict=True)], (
        uids)


def _uid_free(tree: ast.Module) -> tuple[str, list[str]]:
    """The tree's dump without the uid keywords of DV calls, and those uids."""
    uids: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and (
                node.func.id == "DV"):
            uids += [ast.unparse(k.value) for k in node.keywords if k.arg == "uid"]
            node.keywords = [k for k in node.keywords if k.arg != "uid"]
    return ast.dump(tree), uids


def _unsplittable(line: str, uids: list[str]) -> bool:
    """One argument, or one uid, alone on its line: no split makes it shorter."""
    argument = line.strip().rstrip(",")
    return argument in ALL_ARGUMENTS or argument in [f"uid={u}" for u in uids]


@settings(max_examples=examples(80), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=nested_definitions(), length=st.sampled_from([40, 60, 79, 88]))
def test_nested_calls_are_split_until_their_lines_fit(
        case: tuple[str, list[SetKeyword], list[str]], length: int) -> None:
    source, edits, uids = case
    result = apply_edits(source, edits, EditStyle(line_length=length))
    before, after = _uid_free(ast.parse(source)), _uid_free(ast.parse(result))
    assert after[0] == before[0]
    assert sorted(after[1]) == sorted(uids)
    old_lines = set(split_lines(source))
    for text_line in split_lines(result):
        assert (len(text_line) <= length or text_line in old_lines
                or _unsplittable(text_line, uids)), text_line


_FLAT_ARGUMENTS = st.lists(st.sampled_from(["compute", "variables=[a, b]", "cache=None",
                                            "label='a fairly long label text'", "'é'"]),
                           max_size=3, unique=True)


@settings(max_examples=examples(60), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(arguments=_FLAT_ARGUMENTS, indent=st.sampled_from(["", "    "]),
       comment=st.sampled_from(["", "  # per user"]), length=st.sampled_from([40, 60, 79, 88]))
def test_two_keywords_on_one_call_never_make_a_line_too_long(
        arguments: list[str], indent: str, comment: str, length: int) -> None:
    # DM202's fix with DM101's: backend= goes, scope= and uid= come, in one LibCST edit.
    arguments = sorted(arguments, key=_argument_order)
    call = "ServerVariable(" + ", ".join([*arguments, "backend=MemoryBackend()"]) + ")"
    statement = f"{indent}x = {call}{comment}\n"
    source = f"def page():\n{statement}{indent}return x\n" if indent else statement
    line, column = (2 if indent else 1), len(indent) + 5
    uid = "'app.pages.overview:page.x'"
    result = apply_edits(source, [RemoveKeyword(line, column, "backend"),
                                  SetKeyword(line, column, "scope", "'user'"),
                                  SetKeyword(line, column, "uid", uid)],
                         EditStyle(line_length=length))
    expected = source.replace("backend=MemoryBackend()", f"scope='user', uid={uid}")
    assert ast.dump(ast.parse(result)) == ast.dump(ast.parse(expected))
    limit = max(length, len(statement.rstrip("\n")))
    for text_line in split_lines(result):
        argument = text_line.split("  # ")[0].strip().rstrip(",")
        assert len(text_line) <= limit or argument in [*arguments, f"uid={uid}"], text_line
    if len(split_lines(expected)[line - 1]) <= max(length, len(statement) - 1):
        assert result == expected
