"""Edits applied to source text: exact, minimal, and only where they were planned."""

from __future__ import annotations

import ast
from collections.abc import Sequence

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import dara_migrate.edits as edits_module
from dara_migrate.edits import (
    AddMarker,
    AddParameter,
    AnnotateParameter,
    Edit,
    EditError,
    InsertAfter,
    RemoveComments,
    RemoveKeyword,
    ReplaceCall,
    SetKeyword,
    _edit_module,
    apply_edits,
)
from dara_migrate.layout import DEFAULT_LINE_LENGTH, split_lines
from tests.helpers import examples

BACKEND = ("dara.core.interactivity.server_variable", "MemoryBackend")


@pytest.fixture
def no_libcst(monkeypatch: pytest.MonkeyPatch) -> None:
    """The edits of the test must all be made as text: LibCST's rewrite fails it."""
    def refused(text: str, edits: Sequence[Edit], line_length: int) -> str:
        raise AssertionError("LibCST was used")

    monkeypatch.setattr(edits_module, "_edit_module", refused)


def test_removing_the_last_use_drops_the_name_from_its_import() -> None:
    source = (
        "from dara.core import ServerVariable\n"
        "from dara.core.interactivity.server_variable import MemoryBackend, ServerBackend\n"
        "\n"
        "rows = ServerVariable(default=[], backend=MemoryBackend())\n"
    )
    result = apply_edits(source, [RemoveKeyword(4, 8, "backend", BACKEND)])
    assert result == (
        "from dara.core import ServerVariable\n"
        "from dara.core.interactivity.server_variable import ServerBackend\n"
        "\n"
        "rows = ServerVariable(default=[])\n"
    )


def test_an_import_still_used_or_mentioned_is_kept() -> None:
    source = (
        "from dara.core.interactivity.server_variable import MemoryBackend\n"
        "from dara.core import ServerVariable\n"
        "__all__ = ['MemoryBackend']\n"
        "rows = ServerVariable(default=[], backend=MemoryBackend())\n"
    )
    result = apply_edits(source, [RemoveKeyword(4, 8, "backend", BACKEND)])
    assert result.startswith("from dara.core.interactivity.server_variable import MemoryBackend\n")
    assert "rows = ServerVariable(default=[])\n" in result


UUID4 = ("uuid", "uuid4")


def stable_uid(source: str, line: int, column: int, *imports: tuple[str, str]) -> str:
    """DM102's edit: the unstable `uid=` value replaced by a literal."""
    return apply_edits(source, [SetKeyword(line, column, "uid", "'app.state:totals'",
                                           replace=True, unused_imports=imports)])


def test_a_replaced_uuid4_uid_drops_its_import_and_the_section_it_was_alone_in() -> None:
    source = (
        '"""State."""\n'
        "\n"
        "from uuid import uuid4\n"
        "\n"
        "from dara.core import DerivedVariable\n"
        "\n"
        "totals = DerivedVariable(sum, variables=[], uid=str(uuid4()))\n"
    )
    assert stable_uid(source, 7, 10, UUID4) == (
        '"""State."""\n'
        "\n"
        "from dara.core import DerivedVariable\n"
        "\n"
        "totals = DerivedVariable(sum, variables=[], uid='app.state:totals')\n"
    )


def test_an_aliased_import_and_one_name_of_several() -> None:
    source = (
        "import logging\n"
        "from uuid import uuid1, uuid4 as make_id\n"
        "\n"
        "from dara.core import ServerVariable\n"
        "\n"
        "cache = ServerVariable(uid=str(make_id()))\n"
        "run = uuid1()\n"
    )
    assert stable_uid(source, 6, 9, ("uuid", "make_id")) == (
        "import logging\n"
        "from uuid import uuid1\n"
        "\n"
        "from dara.core import ServerVariable\n"
        "\n"
        "cache = ServerVariable(uid='app.state:totals')\n"
        "run = uuid1()\n"
    )


@pytest.mark.parametrize("other_use, kept", [
    ("", False),
    ("# uuid.uuid4() gave a new uid on every start\n", False),
    ("RUN = uuid.uuid4().hex\n", True),
    ("def fresh() -> 'uuid.UUID':\n    return uuid.UUID(int=0)\n", True),
    ("__all__ = ['uuid', 'cache']\n", True),
    ("def reset():\n    global uuid\n    uuid = None\n", True),
])
def test_import_uuid_goes_only_when_nothing_else_uses_it(other_use: str, kept: bool) -> None:
    source = (
        "import os\n"
        "import uuid\n"
        "\n"
        "from dara.core import ServerVariable\n"
        "\n"
        f"{other_use}"
        "cache = ServerVariable(uid=str(uuid.uuid4()), scope=os.sep)\n"
    )
    line = 6 + other_use.count("\n")
    result = stable_uid(source, line, 9, ("uuid", "uuid"))
    assert ("import uuid\n" in result) is kept
    assert result.startswith("import os\n")
    assert "cache = ServerVariable(uid='app.state:totals', scope=os.sep)\n" in result


def test_a_module_attribute_of_the_same_name_does_not_keep_the_import() -> None:
    source = (
        "import uuid\n"
        "from uuid import uuid4\n"
        "\n"
        "RUN = uuid.uuid4().hex\n"
        "totals = DerivedVariable(sum, variables=[], uid=str(uuid4()))\n"
    )
    result = stable_uid(source, 5, 10, UUID4)
    assert result.startswith("import uuid\n\nRUN = uuid.uuid4().hex\n")


def test_a_sole_import_statement_goes_away() -> None:
    source = (
        "from dara.core.interactivity.server_variable import MemoryBackend\n"
        "from dara.core import ServerVariable\n"
        "rows = ServerVariable(default=[], backend=MemoryBackend(), uid='rows')\n"
    )
    result = apply_edits(source, [RemoveKeyword(3, 8, "backend", BACKEND)])
    assert result == (
        "from dara.core import ServerVariable\n"
        "rows = ServerVariable(default=[], uid='rows')\n"
    )


def test_markers_are_whole_lines_at_the_statement_indentation() -> None:
    source = (
        "def build():\n"
        "\tif True:\n"
        "\t\t# an old note\n"
        "\t\t# dara-migrate: local-only[DM301] old reason\n"
        "\t\tvalue = 1\r\n"
        "\treturn value\n"
    )
    edits = [RemoveComments(5, "# dara-migrate: local-only["),
             AddMarker(5, "# dara-migrate: local-only[DM104] new reason")]
    assert apply_edits(source, edits) == (
        "def build():\n"
        "\tif True:\n"
        "\t\t# an old note\n"
        "\t\t# dara-migrate: local-only[DM104] new reason\r\n"
        "\t\tvalue = 1\r\n"
        "\treturn value\n"
    )
    assert apply_edits(apply_edits(source, edits), edits[1:]) == apply_edits(source, edits)


def test_a_marker_is_written_the_same_whether_or_not_its_statement_needs_libcst(
        monkeypatch: pytest.MonkeyPatch) -> None:
    source = (
        "from dara.core import ServerVariable\n"
        "from dara.core.interactivity.server_variable import MemoryBackend\n"
        "\n"
        "\n"
        "def build():\n"
        "    # dara-migrate: local-only[DM301] old reason\n"
        "    rows = ServerVariable(uid='x', backend=MemoryBackend())\n"
        "    return rows\n"
    )
    markers: list[Edit] = [RemoveComments(7, "# dara-migrate: local-only["),
                           AddMarker(7, "# dara-migrate: local-only[DM202] new reason")]
    marked = apply_edits(source, markers)
    assert marked == source.replace("[DM301] old reason", "[DM202] new reason")
    seen: list[str] = []
    real_edit_module = edits_module._edit_module

    def recording(text: str, edits: Sequence[Edit], line_length: int) -> str:
        seen.append(text)
        return real_edit_module(text, edits, line_length)

    monkeypatch.setattr(edits_module, "_edit_module", recording)
    # The last argument's removal takes LibCST (the one before it gives up its comma).
    both = apply_edits(source, [*markers, RemoveKeyword(7, 12, "backend")])
    # LibCST gets the statement with its marker already written, and writes none itself.
    assert seen and all("new reason" in text for text in seen)
    assert both == marked.replace("ServerVariable(uid='x', backend=MemoryBackend())",
                                  "ServerVariable(uid='x')")


def test_edits_touch_only_their_statements() -> None:
    source = (
        "x  =  [1 ,2]   # odd, untouched\n"
        "total = DerivedVariable(lambda v: v,\n"
        "                        variables=[x])\n"
        "y = {  'a':1}\n"
    )
    result = apply_edits(source, [SetKeyword(2, 9, "uid", "'m:total'")])
    assert result == (
        "x  =  [1 ,2]   # odd, untouched\n"
        "total = DerivedVariable(lambda v: v,\n"
        "                        variables=[x],\n"
        "                        uid='m:total')\n"
        "y = {  'a':1}\n"
    )


_ARGUMENTS = st.lists(st.sampled_from(["a", "b.c", "*rest", "**extra", "x=1", "uid='old'",
                                       "(y)", "'é'", "g(h)", "[1, 2]", "k=v  # note\n"]),
                      max_size=4)
_SEPARATORS = st.sampled_from([", ", ",", ",  ", ",\n    ", " , "])


@settings(max_examples=examples(300), deadline=None)
@given(arguments=_ARGUMENTS, separator=_SEPARATORS, trailing=st.sampled_from(["", ",", " "]),
       indent=st.sampled_from(["", "    "]), second=st.booleans())
def test_uid_insertion_without_libcst_matches_libcst(
        arguments: list[str], separator: str, trailing: str, indent: str, second: bool) -> None:
    call = f"DV({separator.join(arguments)}{trailing if arguments else ''})"
    body = f"{indent}x = {call}\n"
    source = f"def page():\n{body}    return x\n" if indent else body
    line = 2 if indent else 1
    try:
        ast.parse(source)
    except SyntaxError:
        assume(False)
    edits: list[Edit] = [SetKeyword(line, len(indent) + 5, "uid", "'m:x'")]
    if second:
        edits.append(SetKeyword(line, len(indent) + 5, "label", "'shown'"))
    assert apply_edits(source, edits) == _edit_module(source, edits, DEFAULT_LINE_LENGTH)


_REMOVED_ARGUMENTS = st.lists(st.sampled_from([
    "a", "*rest", "**extra", "x=1", "uid='old'", "(y)", "'é'", "g(backend=h)", "k=v  # note\n",
    "scope = 'user'", "*(p)", "backend=MemoryBackend()", "backend = (\n    M()  # m\n)",
    "backend=M(scope='global')", "backend=InMemoryBackend()  # local\n",
]), min_size=1, max_size=5)


@settings(max_examples=examples(300), deadline=None)
@given(arguments=_REMOVED_ARGUMENTS, separator=_SEPARATORS,
       trailing=st.sampled_from(["", ",", " ", ",\n"]), indent=st.sampled_from(["", "    "]),
       nested=st.booleans(), newline=st.sampled_from(["\n", "\r\n"]))
def test_keyword_removal_without_libcst_matches_libcst(
        arguments: list[str], separator: str, trailing: str, indent: str, nested: bool,
        newline: str) -> None:
    """DM202's `backend=` removal, made as text wherever it can be, gives LibCST's text:
    first, middle or last argument, laid out on one line or several, with comments."""
    call = f"SV({separator.join(arguments)}{trailing})"
    if nested:
        call = f"Stack(SV(a), {call}, b)  # tail"
    body = f"{indent}x = {call}\n"
    source = (f"def page():\n{body}    return x\n" if indent else body).replace("\n", newline)
    try:
        ast.parse(source)
    except SyntaxError:
        assume(False)
    column = len(indent) + 5 + (len("Stack(SV(a), ") if nested else 0)
    edits: list[Edit] = [RemoveKeyword(2 if indent else 1, column, "backend")]
    assert apply_edits(source, edits) == _edit_module(source, edits, DEFAULT_LINE_LENGTH)


_SET_KEYWORDS = st.sampled_from([("uid", "'app.state:notes'"), ("scope", "'global'"),
                                  ("uid", "'a-much-longer-identifier.for.the.notes:variable'")])


@settings(max_examples=examples(400), deadline=None)
@given(arguments=_REMOVED_ARGUMENTS, separator=_SEPARATORS,
       trailing=st.sampled_from(["", ",", " ", ",\n"]), indent=st.sampled_from(["", "    "]),
       opening=st.sampled_from(["", "\n    ", "\n        "]), keyword=_SET_KEYWORDS,
       set_first=st.booleans(), length=st.sampled_from([40, 60, DEFAULT_LINE_LENGTH]),
       newline=st.sampled_from(["\n", "\r\n"]))
def test_a_keyword_removed_and_one_added_without_libcst_matches_libcst(
        arguments: list[str], separator: str, trailing: str, indent: str, opening: str,
        keyword: tuple[str, str], set_first: bool, length: int, newline: str) -> None:
    """`backend=` removed and `uid=` (or `scope=`) added to the same call, in either order
    (LibCST's insertion sees the call before or after the removal), give LibCST's text."""
    call = f"SV({opening}{separator.join(arguments)}{trailing})"
    body = f"{indent}x = {call}  # expect: DM202\n"
    source = (f"def page():\n{body}    return x\n" if indent else body).replace("\n", newline)
    try:
        ast.parse(source)
    except SyntaxError:
        assume(False)
    line, column = (2 if indent else 1), len(indent) + 5
    removal = RemoveKeyword(line, column, "backend")
    insertion = SetKeyword(line, column, *keyword)
    _assert_as_libcst(source, [insertion, removal] if set_first else [removal, insertion],
                      length)


def _assert_as_libcst(source: str, edits: list[Edit], length: int) -> None:
    """The edits, made as text where they can be, give LibCST's text byte for byte."""
    style = edits_module.EditStyle(line_length=length)
    assert apply_edits(source, edits, style) == _edit_module(source, edits, length)


@pytest.mark.usefixtures("no_libcst")
def test_a_keyword_removal_before_another_argument_needs_no_libcst() -> None:
    source = (
        "notes = ServerVariable(backend=MemoryBackend(), scope='user', uid='notes')\n"
        "drafts = ServerVariable(\n"
        "    backend=MemoryBackend(),  # one worker only\n"
        "    scope='user',\n"
        ")\n"
    )
    result = apply_edits(source, [RemoveKeyword(1, 9, "backend"),
                                  RemoveKeyword(2, 10, "backend")])
    assert result == (
        "notes = ServerVariable(scope='user', uid='notes')\n"
        "drafts = ServerVariable(\n"
        "    scope='user',\n"
        ")\n"
    )
    # DM202 with the scope it carries over, and with DM101's uid (LibCST adds it first).
    source = (
        "board = ServerVariable(backend=MemoryBackend(scope='global'), uid='board')\n"
        "drafts = ServerVariable(backend=MemoryBackend(), scope='user')\n"
    )
    both = apply_edits(source, [RemoveKeyword(1, 9, "backend"),
                                SetKeyword(1, 9, "scope", "'global'"),
                                SetKeyword(2, 10, "uid", "'app:drafts'"),
                                RemoveKeyword(2, 10, "backend")])
    assert both == (
        "board = ServerVariable(uid='board', scope='global')\n"
        "drafts = ServerVariable(scope='user', uid='app:drafts')\n"
    )


@pytest.mark.usefixtures("no_libcst")
def test_plain_uid_insertions_and_markers_need_no_libcst() -> None:
    source = (
        "def page():\n"
        "    a = DV(f, variables=[x])\n"
        "    b = DV(g)\n"
        "    return Stack(a, b)\n"
    )
    result = apply_edits(source, [SetKeyword(2, 9, "uid", "'m:a'"),
                                  SetKeyword(3, 9, "uid", "'m:b'"),
                                  AddMarker(3, "# dara-migrate: local-only[DM104] why")])
    assert result == (
        "def page():\n"
        "    a = DV(f, variables=[x], uid='m:a')\n"
        "    # dara-migrate: local-only[DM104] why\n"
        "    b = DV(g, uid='m:b')\n"
        "    return Stack(a, b)\n"
    )


_CALL_SITES = st.sampled_from([
    "    x = UpdateVariable(f, v)\n",
    "    x = UpdateVariable(\n        f,\n        v,  # why\n    )  # after\n",
    "    x = (UpdateVariable(f, v))\n",
    "    x = (\n        UpdateVariable(f, v)\n    )\n",
    "    x = f(UpdateVariable(f, v))\n",
    "    x = [Button(on=UpdateVariable(f, v)), UpdateVariable(g, w)]\n",
    "    x = \\\n        UpdateVariable(f, v)\n",
    "    return UpdateVariable(f, v)()\n",
])
_REPLACEMENTS = st.sampled_from(["update_v(v)", "update_v(v, [a,\n    b])", "go()"])
_BLOCKS = st.sampled_from([
    "\n\n@action\nasync def update_v(ctx: action.Ctx, old):\n    \"\"\"Doc.\"\"\"\n"
    "    value = await run(\n        f,\n        args=(ctx,),\n    )\n",
    "# dara-migrate: why\nconfig.mode = 'warn'\n",
    "\n\ndef f():\n  if a:\n    pass\n",
    "x = 1\n# trailing comment\n",
    "# only a comment\n",
    "\n\ndef f():\n\tpass\n",
])
_INDENTS = st.sampled_from(["    ", "\t", "  "])


@settings(max_examples=300, deadline=None)
@given(site=_CALL_SITES, replacement=_REPLACEMENTS, block=_BLOCKS, indent=_INDENTS,
       newline=st.sampled_from(["\n", "\r\n"]), replace_call=st.booleans(),
       insert=st.booleans(), nested=st.booleans())
def test_replacements_and_insertions_as_text_match_libcst(
        site: str, replacement: str, block: str, indent: str, newline: str,
        replace_call: bool, insert: bool, nested: bool) -> None:
    """Where `apply_edits` makes a call replacement or an insertion as text, the result is
    LibCST's, byte for byte (LibCST re-indents blocks, normalises line breaks and replaces a
    call with its own parentheses: those cases are left to it)."""
    body = site.replace("    ", indent)
    source = ("import os\n"
              "base = 1\n"
              + ("if os.environ:\n" + "".join(f"{indent}{line}\n"
                                              for line in "y = 2\nz = 3".splitlines())
                 if nested else "")
              + f"\n\n# about page\ndef page(f, v):\n{body}{indent}return x\n"
              ).replace("\n", newline)
    lines = source.splitlines()
    line = next(n for n, text in enumerate(lines, 1) if "UpdateVariable" in text)
    column = lines[line - 1].index("UpdateVariable") + 1
    edits: list[Edit] = []
    if replace_call:
        edits.append(ReplaceCall(line, column, replacement))
    if insert:
        edits.append(InsertAfter(4 if nested else 2, block))
    assume(edits)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(edits_module, "_replaced_and_inserted", lambda *_: None)
        try:
            expected = apply_edits(source, edits)
        except EditError:
            expected = None
    if expected is None:
        with pytest.raises(EditError):
            apply_edits(source, edits)
    else:
        assert apply_edits(source, edits) == expected


@pytest.mark.usefixtures("no_libcst")
def test_action_rewrites_need_no_libcst() -> None:
    source = (
        "from dara.core import UpdateVariable\n"
        "\n"
        "counter = Variable(0)\n"
        "\n"
        "\n"
        "def page():\n"
        "    return Button(onclick=UpdateVariable(\n"
        "        lambda ctx: ctx.inputs.old + 1,\n"
        "        counter,\n"
        "    ))  # one more\n"
    )
    block = ("\n\n@action\nasync def update_counter(ctx: action.Ctx, old):\n"
             "    await ctx.update(counter, old + 1)\n")
    result = apply_edits(source, [InsertAfter(3, block),
                                  ReplaceCall(7, 27, "update_counter(counter)")])
    assert result == (
        "from dara.core import UpdateVariable\n"
        "\n"
        "counter = Variable(0)\n"
        f"{block}"
        "\n"
        "\n"
        "def page():\n"
        "    return Button(onclick=update_counter(counter))  # one more\n"
    )


_KEYWORD_CALLS = st.sampled_from([
    "recent = DV(load, variables=[refresh])",
    "recent = DV(load, variables=[refresh])  # expect: DM101",
    "recent = DV(load_the_most_recent_orders_of_the_shop, variables=[refresh, status_filter])",
    "recent = DV(\n        load,\n        variables=[refresh],\n    )",
    "recent = DV(load,\n            variables=[refresh])",
    "recent = Stack(DV(load), Text(title))",
])
_REPLACED_SITES = st.sampled_from([
    "Button('Refresh', onclick=UpdateVariable(lambda ctx: ctx.inputs.old + 1, refresh)),",
    "Button('Go', onclick=UpdateVariable(\n            f,\n            refresh,\n        )),",
    "Button('Track', onclick=SideEffect(log)),  # expect: DM105",
    "UpdateVariable(f, refresh),",
])


@settings(max_examples=examples(300), deadline=None)
@given(keyword_call=_KEYWORD_CALLS, sites=st.lists(_REPLACED_SITES, min_size=1, max_size=3),
       replacement=st.sampled_from(["update_refresh(refresh)", "go(a,\n    b)", "log_effect()"]),
       keyword_first=st.booleans(), length=st.sampled_from([40, 79, DEFAULT_LINE_LENGTH]),
       newline=st.sampled_from(["\n", "\r\n"]))
def test_a_keyword_set_and_calls_replaced_in_one_statement_match_libcst(
        keyword_call: str, sites: list[str], replacement: str, keyword_first: bool,
        length: int, newline: str) -> None:
    """DM101's uid on a page function's DerivedVariable and DM105's rewrites of its buttons
    (one top-level statement): made as text where they can be, LibCST's text byte for byte."""
    body = "".join(f"        {site}\n" for site in sites)
    keyword_line = f"    {keyword_call}\n"
    returned = f"    return Stack(\n{body}    )\n"
    source = ("def page():\n" + (keyword_line + returned if keyword_first
                                 else f"    x = Stack(\n{body}    )\n" + keyword_line
                                 + "    return Stack(x, recent)\n")).replace("\n", newline)
    lines = source.split(newline)
    dv_line = next(n for n, text in enumerate(lines, 1) if "DV(" in text)
    edits: list[Edit] = [SetKeyword(dv_line, lines[dv_line - 1].index("DV(") + 1, "uid",
                                    "'shop.pages:page.recent'")]
    for number, text in enumerate(lines, 1):
        for callee in ("UpdateVariable(", "SideEffect("):
            if callee in text:
                edits.append(ReplaceCall(number, text.index(callee) + 1, replacement))
    _assert_as_libcst(source, edits, length)


@pytest.mark.usefixtures("no_libcst")
def test_a_keyword_set_and_calls_replaced_on_other_lines_need_no_libcst() -> None:
    source = (
        "def orders_page():\n"
        "    recent = DerivedVariable(load_recent, variables=[refresh])  # expect: DM101\n"
        "    return Stack(\n"
        "        Table(data=recent),\n"
        "        Button('Refresh', onclick=UpdateVariable(lambda ctx: ctx.inputs.old + 1,"
        " refresh)),\n"
        "        Button('Track click', onclick=SideEffect(log_click)),  # expect: DM105\n"
        "    )\n"
    )
    result = apply_edits(source, [SetKeyword(2, 14, "uid", "'shop.pages:orders_page.recent'"),
                                  ReplaceCall(5, 35, "update_refresh(refresh)"),
                                  ReplaceCall(6, 39, "log_click_effect()")])
    assert result == (
        "def orders_page():\n"
        "    recent = DerivedVariable(\n"
        "        load_recent,\n"
        "        variables=[refresh],\n"
        "        uid='shop.pages:orders_page.recent',\n"
        "    )  # expect: DM101\n"
        "    return Stack(\n"
        "        Table(data=recent),\n"
        "        Button('Refresh', onclick=update_refresh(refresh)),\n"
        "        Button('Track click', onclick=log_click_effect()),  # expect: DM105\n"
        "    )\n"
    )
    # DM202's removal with DM101's uid on a call laid out one argument per line.
    source = "notes = ServerVariable(\n    backend=MemoryBackend(),\n    scope='user',\n)\n"
    assert apply_edits(source, [SetKeyword(1, 9, "uid", "'shop.state:notes'"),
                                RemoveKeyword(1, 9, "backend")]) == (
        "notes = ServerVariable(\n    scope='user',\n    uid='shop.state:notes',\n)\n")


_STATEMENTS = st.sampled_from([
    "import os\n", "from m import (\n    A,\n    B,\n)\n", '"""Doc."""\n', "x = 1; y = 2\n",
    "# a comment\n", "\n", "@decorator\n@other(1)\ndef f(a,\n      b):\n    return a\n",
    'class C:\n    """Text\nat column 0."""\n\n    z = 3\n', "if a:\n    b = 1\nelse:\n    b = 2\n",
    "total = (1 +\n         2)\n", 's = """\ndef not_code():\n"""\n', "v = \\\n    4\n",
    "w = 1 + \\\n2; u = 3\n", "p = 1; q = (\n    2)\n",
])


def _signature(tree: ast.Module) -> list[tuple[object, ...]]:
    return [(n.lineno, n.end_lineno, n.col_offset, n.end_col_offset,
             [(d.lineno, d.end_lineno) for d in getattr(n, "decorator_list", [])],
             ast.dump(n, include_attributes=False)) for n in tree.body]


@settings(max_examples=examples(300), deadline=None)
@given(statements=st.lists(_STATEMENTS, min_size=1, max_size=8),
       edits=st.lists(st.tuples(st.integers(0, 7), st.sampled_from(["replace", "insert"]),
                                st.lists(_STATEMENTS, max_size=2)), max_size=3),
       newline=st.sampled_from(["\n", "\r\n"]))
def test_statements_parsed_again_only_where_edited_are_those_of_a_full_parse(
        statements: list[str], edits: list[tuple[int, str, list[str]]], newline: str) -> None:
    """The import edits that follow the others read the edited text's top-level statements
    made from the statements before and a parse of the edited ones only: the same as a
    parse of the whole text (positions, decorators' lines, every node)."""
    source = "".join(statements).replace("\n", newline)
    tree = ast.parse(source)
    lines = split_lines(source, keepends=True)
    before = list(lines)
    # Edited as `apply_edits` edits: whole spans of statements (with the comments above them,
    # statements sharing a line together).
    spans = edits_module._statement_spans(tree, lines)
    for position, kind, added in edits:
        if position >= len(spans):
            continue
        first, last = spans[position]
        text = "".join(added).replace("\n", newline)
        if kind == "replace":
            edits_module._set_span(lines, first, last, text)
        elif lines[first - 1] is before[first - 1]:
            lines[first - 1] = text + lines[first - 1]
    assume(lines != before)
    try:
        expected = ast.parse("".join(lines))
    except SyntaxError:
        assume(False)
    touched = [n for n, (old, new) in enumerate(zip(before, lines, strict=True))
               if old is not new]
    reparsed = edits_module._reparsed(tree, lines, touched)
    assert reparsed is not None
    assert _signature(reparsed) == _signature(expected)


def test_a_statement_edited_on_a_line_it_shares_is_parsed_again_with_the_one_it_shares() -> None:
    # `u` starts on the line `w`'s continuation ends on: its last line alone would read as
    # the statements `2` and `u = (...)`.
    source = "import os\nw = 1 + \\\n2; u = (\n    3)\n"
    lines = split_lines(source, keepends=True)
    edited = [*lines[:3], "    4)\n"]
    reparsed = edits_module._reparsed(ast.parse(source), edited, [3])
    assert reparsed is not None
    assert _signature(reparsed) == _signature(ast.parse("".join(edited)))


DROPPED_IMPORTS = [
    "from m import A", "from m import A  # why\n", "from m import (\n    A,  # kept?\n)",
    "from m import A as B", "from m import A, B", "from m import (A, B)", "from m.sub import A",
    "import m", "import m as n", "import m.sub", "import m, other", "from m import A, C",
    "from . import A", "from .m import A", "from m import *", "from m import A; x = 1",
    "y = 2; import m", "from m import A \\\n    , B", "import m  # noqa: F401",
    "from m import A,B", "from m import A , B  ", "from m import B, A, C", "import os, m",
    "from m import A as X, B", "from m import  C,  A", "import m.sub, m as n, other",
]
DROPPED_NAMES = [("m", "A"), ("m", "B"), ("m", "n"), ("m", "m"), ("m.sub", "A"), ("m", "C")]


@given(before=st.sampled_from(["", '"""Doc."""\n', "# header\n", "import os\n", "\n"]),
       statement=st.sampled_from(DROPPED_IMPORTS),
       after=st.sampled_from(["", "\n", "\nimport sys\n", "\n\nx = A\n", "print(1)\n"]),
       unused=st.lists(st.sampled_from(DROPPED_NAMES), min_size=1, max_size=3, unique=True),
       newline=st.sampled_from(["\n", "\r\n"]))
def test_an_import_dropped_whole_as_text_is_what_libcst_leaves(
        before: str, statement: str, after: str, unused: list[tuple[str, str]],
        newline: str) -> None:
    """An import every name of which goes is removed without LibCST, as are names from a
    plain one-line import; the text is the one the LibCST rewrite of that statement gives."""
    source = (before + statement.rstrip("\n") + "\n" + after).replace("\n", newline)
    try:
        ast.parse(source)
    except SyntaxError:
        assume(False)
    as_text = edits_module._drop_unused_imports(source, None, unused)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(edits_module, "_dropped_whole", lambda *_: False)
        patch.setattr(edits_module, "_names_dropped", lambda *_: None)
        by_libcst = edits_module._drop_unused_imports(source, None, unused)
    assert as_text == by_libcst


def test_a_whole_import_is_dropped_without_libcst() -> None:
    source = "import os\nfrom m import A, B\n\nx = os.sep\n"
    tree = ast.parse(source)
    assert edits_module._dropped_whole(tree, 1, [("m", "A"), ("m", "B")])
    assert not edits_module._dropped_whole(tree, 1, [("m", "A")])
    assert edits_module._drop_unused_imports(source, None, [("m", "A"), ("m", "B")]) == (
        "import os\n\nx = os.sep\n")
    # Some of its names: as text too, where the import is one plain line.
    lines = source.splitlines(keepends=True)
    assert edits_module._names_dropped(lines, tree, 1, [("m", "A")]) == "from m import B\n"
    assert edits_module._names_dropped(["from m import (A, B)\n"],
                                       ast.parse("from m import (A, B)\n"), 0,
                                       [("m", "A")]) is None


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_a_keyword_removed_and_one_set_on_a_call_keep_the_lines_around_it(
        newline: str) -> None:
    # LibCST lays this call out, and drops the last line break of text whose lines end in a
    # lone CR: the blank line after the call went with it.
    text = newline.join(["b = ServerVariable(", "    backend=MemoryBackend(),",
                         "    scope='user',", ")", "", "# c", "c = 1", ""])
    edited = apply_edits(text, [RemoveKeyword(1, 5, "backend"),
                                SetKeyword(1, 5, "uid", "'app.main:b'")])
    assert edited == newline.join(["b = ServerVariable(", "    scope='user',",
                                   "    uid='app.main:b',", ")", "", "# c", "c = 1", ""])


SPLIT_NAVIGATION = (
    "def page():\n"
    "    return Stack(\n"
    "        Button(\n"
    "            'Go',\n"
    "            onclick=NavigateTo(\n"
    "                lambda ctx: '/incidents'\n"
    "            ),\n"
    "        ),\n"
    "    )\n"
)


@pytest.mark.parametrize("made_by", ["text", "libcst"])
def test_a_replacement_over_several_lines_keeps_their_indentation(made_by: str) -> None:
    # DM105's `NavigateTo(lambda ctx: '/x')` -> `NavigateTo('/x')` over the call's own lines.
    source = "NavigateTo(\n                '/incidents'\n            )"
    edit = ReplaceCall(5, 21, source)
    edited = (apply_edits(SPLIT_NAVIGATION, [edit]) if made_by == "text"
              else _edit_module(SPLIT_NAVIGATION, [edit], DEFAULT_LINE_LENGTH))
    assert edited == SPLIT_NAVIGATION.replace("lambda ctx: '/incidents'", "'/incidents'")


@pytest.mark.parametrize(("name", "signature"), [
    ("label", "def gauge(label: str, level=1, unit='%', *, size=2):"),
    ("unit", "def gauge(label, level=1, unit: str = '%', *, size=2):"),
    ("size", "def gauge(label, level=1, unit='%', *, size: str = 2):"),
    ("missing", "def gauge(label, level=1, unit='%', *, size=2):"),
])
def test_only_the_named_parameter_is_annotated(name: str, signature: str) -> None:
    source = ("@py_component\n"
              "def gauge(label, level=1, unit='%', *, size=2):\n"
              "    return label\n")
    assert apply_edits(source, [AnnotateParameter(1, name, "str")]) == (
        f"@py_component\n{signature}\n    return label\n")


@pytest.mark.parametrize(("signature", "expected"), [
    ("async def save(ctx):", "async def save(ctx, term):"),
    ("async def save():", "async def save(term):"),
    ("async def save(ctx, limit=5):", "async def save(ctx, limit=5, *, term):"),
    ("async def save(ctx, *rest):", "async def save(ctx, *rest, term):"),
    ("async def save(ctx, **extra):", "async def save(ctx, *, term, **extra):"),
    ("async def save(\n    ctx,\n    scope: str,\n):",
     "async def save(\n    ctx,\n    scope: str,\n    term,\n):"),
])
def test_a_plain_parameter_goes_last_of_the_positional_ones_where_it_can(
        signature: str, expected: str) -> None:
    source = f"@action\n{signature}\n    return 1\n"
    assert apply_edits(source, [AddParameter(1, "term", "", "")]) == (
        f"@action\n{expected}\n    return 1\n")


@pytest.mark.parametrize(("line", "expected"), [
    ("    term = await state.term.get_current_value()\n", "    term = value\n"),
    ("    term = (await state.term.get_current_value(timeout=3))\n", "    term = value\n"),
    ("    await ctx.notify(f'{await state.term.get_current_value()}')\n",
     "    await ctx.notify(f'{value}')\n"),
])
def test_an_awaited_call_is_replaced_with_its_await(line: str, expected: str) -> None:
    source = f"async def save(ctx):\n{line}"
    column = line.index("state.") + 1
    assert apply_edits(source, [ReplaceCall(2, column, "value", awaited=True)]) == (
        f"async def save(ctx):\n{expected}")


def test_a_keyword_brings_the_import_its_value_needs() -> None:
    source = ("from app import actions\n\n"
              "button = Button(onclick=actions.save())\n")
    edit = SetKeyword(3, 25, "term", "term", imports=(("app.state", "term"),))
    style = edits_module.EditStyle(first_party=frozenset({"app"}))
    assert apply_edits(source, [edit], style) == (
        "from app import actions\nfrom app.state import term\n\n"
        "button = Button(onclick=actions.save(term=term))\n")


@pytest.mark.parametrize(("signature", "expected"), [
    ("async def run_search(ctx: dc.ActionCtx, source: str = 'toolbar', *, search_value):",
     "async def run_search(\n    ctx: dc.ActionCtx,\n    source: str = 'toolbar',\n    *,\n"
     "    search_value,\n    summary_value,\n):"),
    ("    def render(self, title: str, /, subtitle: str, **extra) -> Component:",
     "    def render(\n        self,\n        title: str,\n        /,\n        subtitle: str,\n"
     "        *,\n        summary_value,\n        **extra,\n    ) -> Component:"),
])
def test_a_signature_a_parameter_makes_too_long_gets_one_per_line(
        signature: str, expected: str) -> None:
    indent = signature[:len(signature) - len(signature.lstrip())]
    source = (f"class Page:\n{signature}\n{indent}    return 1\n" if indent
              else f"@action\n{signature}\n    return 1\n")
    line = 2 if indent else 1
    edited = apply_edits(source, [AddParameter(line, "summary_value", "", "")])
    assert edited == source.replace(signature, expected)
    ast.parse(edited)


@st.composite
def signature(draw: st.DrawFn) -> str:
    """A function's `def` line, on one line or one parameter per line with a trailing
    comma."""
    posonly = [f"p{i}" for i in range(draw(st.integers(0, 2)))]
    plain = [f"a{i}" for i in range(draw(st.integers(0, 3)))]
    defaults = draw(st.integers(0, len(plain)))
    plain = [f"{name}=1" if i >= len(plain) - defaults else name for i, name in enumerate(plain)]
    kwonly = [draw(st.sampled_from([f"k{i}", f"k{i}=2", f"k{i}: int"])) for i in range(
        draw(st.integers(0, 2)))]
    star = draw(st.sampled_from(["", "*args"])) or ("*" if kwonly else "")
    kwargs = draw(st.sampled_from(["", "**extra"]))
    params = [*posonly, *(["/"] if posonly else []), *plain, *([star] if star else []),
              *kwonly, *([kwargs] if kwargs else [])]
    if params and draw(st.booleans()):
        header = "async def handler(\n" + "".join(f"    {p},\n" for p in params) + "):"
    else:
        header = f"async def handler({', '.join(params)}):"
    return header


@settings(max_examples=150, deadline=None)
@given(signature())
def test_a_plain_parameter_keeps_every_signature_valid(header: str) -> None:
    source = f"@action\n{header}\n    return 1\n"
    edited = apply_edits(source, [AddParameter(1, "term", "", "")])
    function = ast.parse(edited).body[0]
    assert isinstance(function, ast.AsyncFunctionDef)
    args = function.args
    before = ast.parse(source).body[0].args  # type: ignore[attr-defined]
    assert [a.arg for a in args.posonlyargs] == [a.arg for a in before.posonlyargs]
    assert [a.arg for a in args.kwonlyargs if a.arg != "term"] == [
        a.arg for a in before.kwonlyargs]
    positional = [a.arg for a in args.args]
    # Last of the positional parameters where one can go there, else keyword-only.
    if positional and positional[-1] == "term":
        assert not before.defaults and not before.vararg and not before.kwonlyargs
        assert positional[:-1] == [a.arg for a in before.args]
    else:
        assert [a.arg for a in args.kwonlyargs][-1] == "term"
        assert positional == [a.arg for a in before.args]
    assert edited.endswith("\n    return 1\n")
