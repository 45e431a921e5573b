"""Keyword arguments given as a `**mapping` the call's own scope spells out:
`DerivedVariable(**options)` after `options = dict(func=total, variables=[sales])` (or
`{"func": total, "variables": [sales]}`) passes `func=` and `variables=` as written there."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dara_migrate.facts import Call, FileFacts, Value
from dara_migrate.index.unrolled import changed_in_place

if TYPE_CHECKING:
    from dara_migrate.index.project import ProjectIndex


def spelled_keywords(index: ProjectIndex, facts: FileFacts, call: Call
                     ) -> tuple[tuple[str, Value], ...] | None:
    """The keywords a call's one `**mapping` passes, when that mapping is a name bound once,
    in the call's own scope and before it, to a dict literal with identifier keys or to a
    `dict(key=...)` call, and never changed in place; None otherwise."""
    mapping: Value | None = None
    for keyword, given in call.kwargs:
        if keyword == "**":
            if mapping is not None:
                return None
            mapping = given
    if mapping is None or mapping.kind != "name":
        return None
    found = index.lookup(facts, call.scope, mapping.text)
    if found is None or found[1] != call.scope:
        return None
    binding = found[0]
    value = binding.value
    if (binding.kind != "assign" or value is None or binding.stmt_line >= call.line
            or len(index.bindings_in(facts.path, call.scope, mapping.text)) != 1
            or changed_in_place(facts, mapping.text)):
        return None
    spelled: tuple[tuple[str, Value], ...] | None = None
    if value.kind == "dict" and (value.text or not value.items):
        keys = value.text.split(",") if value.text else []
        if not all(key.isidentifier() for key in keys):
            return None  # not keywords a call could spell
        spelled = tuple(zip(keys, value.items, strict=True))
    elif value.kind == "call":
        made = facts.calls[value.call]
        if (not made.args and made.kwarg("**") is None
                and index.resolve_call(facts, made).qualified == "dict"):
            spelled = made.kwargs
    if spelled is None or any(call.kwarg(keyword) is not None for keyword, _ in spelled):
        return None  # a keyword given twice is a TypeError: not what runs
    return spelled


def with_spelled_keywords(index: ProjectIndex, facts: FileFacts, call: Call) -> Call:
    """`call` as if its `**mapping` were written out as keywords, where `spelled_keywords`
    knows them; else `call` itself. For reading arguments only: edits address the call as
    written."""
    spelled = spelled_keywords(index, facts, call)
    if spelled is None:
        return call
    return call._replace(kwargs=(*((k, v) for k, v in call.kwargs if k != "**"), *spelled))
