"""Server-resolved definitions in the project, and the stable uid scheme (RULES.md).

Scheme: `<module>:<scope>.<target>`; scope is the enclosing qualname (omitted at module
level), target the assigned name, attribute or keyword, else `<callee_snake>_<n>`. A clash
gets `-2`, `-3`, ... in path-then-position order, checked against every Python file under
the project root.
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import NamedTuple

from dara_migrate.facts import Call, FileFacts, Value
from dara_migrate.index.dara_api import (
    BROWSER_STORES,
    DEFINITION_KINDS,
    UID_POSITIONS,
    VARIABLE,
)
from dara_migrate.index.mappings import with_spelled_keywords
from dara_migrate.index.project import ProjectIndex, per_index

_UNSAFE_CHARS = re.compile(r"[^A-Za-z0-9_.:-]")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


class Definition(NamedTuple):
    """A constructor call that registers something the server looks up by uid (a tuple:
    a large project has thousands, made on every audit)."""

    facts: FileFacts
    call: Call
    api: str
    registry: str
    uid: Value | None
    key: tuple[str, int]
    """(path, call id): how rules and suggestions look a definition up (made once: they
    ask tens of thousands of times per audit)."""


def _needs_uid_variable(index: ProjectIndex, facts: FileFacts, call: Call) -> bool:
    """A `Variable` the server or browser keys by uid: backend store, browser store, persist."""
    persist = call.kwarg("persist_value")
    if persist is not None and persist.kind == "const" and persist.const is True:
        return True
    store = call.argument(3, "store")
    api = index.value_api(facts, call.scope, store)
    return api == "BackendStore" or api in BROWSER_STORES


@per_index
def collect_definitions(index: ProjectIndex) -> list[Definition]:
    """Every definition site in the project, in path-then-position order."""
    found: list[Definition] = []
    # Made as plain tuples of all fields: a named tuple's constructor is a Python function.
    new = tuple.__new__
    for api, registry in DEFINITION_KINDS.items():
        position = UID_POSITIONS[api]
        for facts, call in index.calls_by_api.get(api, ()):
            found.append(new(Definition, (
                facts, call, api, registry,
                with_spelled_keywords(index, facts, call).argument(position, "uid"),
                (facts.path, call.id))))
    for facts, call in index.calls_by_api.get(VARIABLE, ()):
        read = with_spelled_keywords(index, facts, call)
        if _needs_uid_variable(index, facts, read):
            found.append(Definition(facts, call, VARIABLE, "variable",
                                    read.argument(UID_POSITIONS[VARIABLE], "uid"),
                                    (facts.path, call.id)))
    found.sort(key=lambda d: (d.facts.path, d.call.line, d.call.col))
    return found


def snake(name: str) -> str:
    return _CAMEL.sub("_", name).lower()


def uid_base(facts: FileFacts, call: Call, api: str, ordinal: int) -> str:
    scope = facts.scopes[call.scope].qualname.replace("<lambda>", "lambda")
    target = call.target.rsplit(".", 1)[-1] if call.target and call.target != "**" else ""
    if not target:
        target = f"{snake(api)}_{ordinal}"
    local = f"{scope}.{target}" if scope else target
    return _UNSAFE_CHARS.sub("_", f"{facts.module}:{local}")


@per_index
def defined_uids(index: ProjectIndex) -> frozenset[str]:
    """The literal uids definitions already have: suggested and keyed uids avoid them."""
    return frozenset(d.uid.const for d in collect_definitions(index)
                     if d.uid is not None and d.uid.kind == "str" and isinstance(d.uid.const, str))


@per_index
def literal_uids(index: ProjectIndex) -> dict[str, tuple[str, int]]:
    """Every literal uid anywhere in the project (a `uid=` keyword of any call, a positional
    uid of a definition), and where the first one is: `apply` never writes one of them."""
    taken: dict[str, tuple[str, int]] = {}
    for facts in index.files.values():
        for call in facts.calls:
            value = call.kwarg("uid")
            if value is not None and isinstance(value.const, str):
                taken.setdefault(value.const, (facts.path, call.span.line))
    for definition in collect_definitions(index):
        value = definition.uid
        if value is not None and isinstance(value.const, str):
            taken.setdefault(value.const, (definition.facts.path, definition.call.span.line))
    return taken


def suggest_uids(index: ProjectIndex, wanted: set[tuple[str, int]]) -> dict[
        tuple[str, int], str]:
    """Suggested uids for the `wanted` definitions, unique across the whole project and
    among themselves."""
    taken = set(defined_uids(index))
    ordinals: dict[tuple[str, int, str], int] = defaultdict(int)
    suggestions: dict[tuple[str, int], str] = {}
    for definition in collect_definitions(index):
        call = definition.call
        if call.target and call.target != "**":
            ordinal = 0
        else:
            slot = (definition.facts.path, call.scope, definition.api)
            ordinals[slot] += 1
            ordinal = ordinals[slot]
        if definition.key not in wanted:
            continue
        base = uid_base(definition.facts, call, definition.api, ordinal)
        candidate, counter = base, 1
        while candidate in taken:
            counter += 1
            candidate = f"{base}-{counter}"
        taken.add(candidate)
        suggestions[definition.key] = candidate
    return suggestions
