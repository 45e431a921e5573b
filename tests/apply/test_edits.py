"""Edits applied to source text: exact, minimal, and only where they were planned."""

from __future__ import annotations

from dara_migrate.edits import (
    AddMarker,
    RemoveComments,
    RemoveKeyword,
    SetKeyword,
    apply_edits,
)

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
