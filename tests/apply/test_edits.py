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
    Edit,
    RemoveComments,
    RemoveKeyword,
    SetKeyword,
    _edit_module,
    apply_edits,
)
from tests.helpers import examples

BACKEND = ("dara.core.interactivity.server_variable", "MemoryBackend")


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
        "    rows = ServerVariable(backend=MemoryBackend(), uid='x')\n"
        "    return rows\n"
    )
    markers: list[Edit] = [RemoveComments(7, "# dara-migrate: local-only["),
                           AddMarker(7, "# dara-migrate: local-only[DM202] new reason")]
    marked = apply_edits(source, markers)
    assert marked == source.replace("[DM301] old reason", "[DM202] new reason")
    seen: list[str] = []
    real_edit_module = edits_module._edit_module

    def recording(text: str, edits: Sequence[Edit]) -> str:
        seen.append(text)
        return real_edit_module(text, edits)

    monkeypatch.setattr(edits_module, "_edit_module", recording)
    both = apply_edits(source, [*markers, RemoveKeyword(7, 12, "backend")])
    # LibCST gets the statement with its marker already written, and writes none itself.
    assert seen and all("new reason" in text for text in seen)
    assert both == marked.replace("ServerVariable(backend=MemoryBackend(), uid='x')",
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
    assert apply_edits(source, edits) == _edit_module(source, edits)


def test_plain_uid_insertions_and_markers_need_no_libcst(monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    def no_libcst(text: str, edits: Sequence[Edit]) -> str:
        raise AssertionError("LibCST was used")

    monkeypatch.setattr(edits_module, "_edit_module", no_libcst)
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
