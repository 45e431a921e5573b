"""Server-resolved definitions in the project, and the stable uid scheme (RULES.md).

Scheme: `<module>:<scope>.<target>`; scope is the enclosing qualname (omitted at module
level), target the assigned name, attribute or keyword, else `<callee_snake>_<n>`. A clash
gets `-2`, `-3`, ... in path-then-position order, checked against every Python file under
the project root.
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from collections import Counter, defaultdict
from typing import NamedTuple

from dara_migrate.facts import Call, FileFacts, Param, Value
from dara_migrate.index.dara_api import (
    BROWSER_STORES,
    DEFINITION_KINDS,
    UID_POSITIONS,
    VARIABLE,
)
from dara_migrate.index.mappings import with_spelled_keywords
from dara_migrate.index.project import (
    ProjectIndex,
    ScopeRef,
    passed_argument,
    per_index,
    project_calls,
)
from dara_migrate.index.unrolled import changed_in_place

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
    through: str = ""
    """For a call of a project function that makes the definition with the uid it is passed
    (`derived(fn, [x])` of `def derived(fn, deps, **kwargs): return DerivedVariable(fn,
    deps, **kwargs)`): the keyword that carries the uid to it. Empty for the constructor
    call itself."""


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
                (facts.path, call.id), "")))
    for facts, call in index.calls_by_api.get(VARIABLE, ()):
        read = with_spelled_keywords(index, facts, call)
        if _needs_uid_variable(index, facts, read):
            found.append(Definition(facts, call, VARIABLE, "variable",
                                    read.argument(UID_POSITIONS[VARIABLE], "uid"),
                                    (facts.path, call.id)))
    found.sort(key=_position)
    return found


_WRAPPING_DEPTH = 3
"""Helpers calling helpers that pass a uid on: how many levels are followed."""


@per_index
def wrapped_definitions(index: ProjectIndex) -> list[Definition]:
    """The calls of project functions that make a definition with the uid they are given,
    each as the definition it makes (`through`), with the uid it passes: None where it
    passes none and the parameter's default is None (the definition then gets a random id),
    the default where that is a literal; in path-then-position order. A helper that passes
    its own parameter on is followed up to `_WRAPPING_DEPTH` levels."""
    made: list[Definition] = []
    level = collect_definitions(index)
    seen: set[tuple[str, int]] = set()
    for _ in range(_WRAPPING_DEPTH):
        carried = [(definition, found) for definition in level
                   if definition.uid is not None and definition.uid.kind in _CARRIED_KINDS
                   and (found := _uid_parameter(index, definition)
                        or _uid_template(index, definition)) is not None
                   and _passes_on(index, definition, found[0])]
        # One uid given to two definitions of one registry collides whatever it is: a
        # person splits it (`uid=` and `filter_uid=`).
        shared = Counter((found[0], found[2], d.registry) for d, found in carried)
        carried = [(d, found) for d, found in carried
                   if shared[(found[0], found[2], d.registry)] == 1]
        if not carried:
            break
        calls = project_calls(index)
        made_by = _classes_by_initialiser(index) if any(
            index.scope(found[0]).name == "__init__" for _, found in carried) else {}
        level = []
        for definition, (function, carrier, keyword) in carried:
            sites = calls.get(function, [])
            # A class is called to run its initialiser, also one a subclass inherits.
            for cls in made_by.get(function, ()):
                sites = [*sites, *calls.get(cls, ())]
            for facts, call in sites:
                if (facts.path, call.id) in seen:
                    continue
                given = (_passed_uid(index, function, carrier, keyword, facts, call)
                         if isinstance(carrier, Param)
                         else _filled(index, function, carrier, facts, call))
                if given is False:
                    continue
                seen.add((facts.path, call.id))
                level.append(tuple.__new__(Definition, (
                    facts, call, definition.api, definition.registry, given,
                    (facts.path, call.id), keyword)))
        made += level
    made.sort(key=_position)
    return made


def _classes_by_initialiser(index: ProjectIndex) -> dict[ScopeRef, list[ScopeRef]]:
    """Each project `__init__` -> the called classes it initialises (its own, subclasses')."""
    found: dict[ScopeRef, list[ScopeRef]] = defaultdict(list)
    for called in project_calls(index):
        if index.scope(called).kind == "class":
            init = index.class_member(called, "__init__")
            if init is not None:
                found[init].append(called)
    return found


_CARRIED_KINDS = frozenset({"name", "fstring"})
"""The kinds of uid a helper's caller may decide: a parameter, or an f-string over them."""
_PLAIN_DECORATORS = frozenset({"staticmethod", "classmethod"})


def _passes_on(index: ProjectIndex, definition: Definition, function: ScopeRef) -> bool:
    """Whether each call of `function` makes the definition once, with what the call gives:
    not in a loop, not under a decorator that may call it otherwise (`@named('metric')`
    passing its own uid), not where `**kwargs` is changed first (`kwargs.pop('uid')`)."""
    call, facts = definition.call, definition.facts
    scope = facts.scopes[function[1]]
    if call.loop or any(facts.scopes[s].loop for s in _scopes_between(facts, call.scope,
                                                                       function[1])):
        return False
    if any(d.text not in _PLAIN_DECORATORS for d in scope.decorators):
        return False
    return not any(p.kind == "kwarg" and changed_in_place(facts, p.name) for p in scope.params)


def _scopes_between(facts: FileFacts, inner: int, outer: int) -> list[int]:
    """The scopes from `inner` up to and without `outer` (lambdas, comprehensions' bodies)."""
    found = []
    while inner != outer and inner > 0:
        found.append(inner)
        inner = facts.scopes[inner].parent
    return found


def _uid_parameter(index: ProjectIndex, definition: Definition
                   ) -> tuple[ScopeRef, Param, str] | None:
    """The function whose parameter gives the definition its uid, that parameter, and the
    keyword its callers pass the uid as: `uid=uid` (any name), or the function's
    `**kwargs` passed on whole, which carries `uid=` then."""
    uid, facts, call = definition.uid, definition.facts, definition.call
    if uid is None or uid.kind != "name" or call.starred >= 0:
        return None
    found = index.lookup(facts, call.scope, uid.text)
    if found is None or found[0].kind != "param" or len(
            index.bindings_in(facts.path, found[1], uid.text)) != 1:
        return None
    scope = facts.scopes[found[1]]
    param = next((p for p in scope.params if p.name == uid.text), None)
    if scope.kind != "function" or param is None:
        return None
    if param.kind == "kwarg":
        # Passed on whole, and no parameter of the helper's own takes the keyword first: the
        # constructor's `uid=`, or the keyword of the helper it calls (`key=`).
        keyword = definition.through or "uid"
        if call.kwarg("**") is not uid or any(p.name == keyword and p.kind != "vararg"
                                              for p in scope.params):
            return None
        return (facts.path, scope.id), param, keyword
    return ((facts.path, scope.id), param, param.name) if param.kind != "vararg" else None


def _uid_template(index: ProjectIndex, definition: Definition
                  ) -> tuple[ScopeRef, tuple[str | Param, ...], str] | None:
    """For a uid written as an f-string of text and parameters of the function around the
    definition (`uid=f'{prefix}-total'`): that function, the f-string's parts (text, or the
    parameter), and the first parameter's name (what each call may pass to differ)."""
    uid, facts, call = definition.uid, definition.facts, definition.call
    if uid is None or uid.kind != "fstring" or not uid.items:
        return None
    function = index.function_scope(facts, call.scope)
    scope = facts.scopes[function]
    if scope.kind != "function":
        return None
    params = {p.name: p for p in scope.params if p.kind in ("positional", "keyword")}
    parts: list[str | Param] = []
    for part in uid.items:
        if part.kind == "str" and isinstance(part.const, str):
            parts.append(part.const)
            continue
        param = params.get(part.text) if part.kind == "name" else None
        found = index.lookup(facts, call.scope, part.text) if param is not None else None
        if found is None or found[1] != function or len(
                index.bindings_in(facts.path, function, part.text)) != 1:
            return None  # not the parameter itself: rebound, or another name
        parts.append(param)  # type: ignore[arg-type]
    first = next((p for p in parts if isinstance(p, Param)), None)
    return ((facts.path, function), tuple(parts), first.name) if first is not None else None


def _filled(index: ProjectIndex, function: ScopeRef, parts: tuple[str | Param, ...],
            facts: FileFacts, call: Call) -> Value | bool:
    """The uid a call of `function` makes of the template `parts`, as a literal, when each
    parameter in it is given a literal (or left to a literal or None default); else False."""
    text = []
    for part in parts:
        if isinstance(part, str):
            text.append(part)
            continue
        given = _passed_uid(index, function, part, part.name, facts, call)
        if given is None:
            text.append("None")  # f'{None}': a default of None is written out so
        elif isinstance(given, Value) and given.kind in ("str", "const") and isinstance(
                given.const, (str, int)) and not isinstance(given.const, bool):
            text.append(str(given.const))
        else:
            return False
    return Value("str", "", "".join(text))


def _passed_uid(index: ProjectIndex, function: ScopeRef, param: Param, keyword: str,
                facts: FileFacts, call: Call) -> Value | bool | None:
    """What a call of `function` gives the definition it makes as its uid: the value, None
    when nothing (no argument, a None default), False when it cannot be told."""
    read = with_spelled_keywords(index, facts, call)
    if param.kind == "kwarg":
        return read.kwarg(keyword) or read.kwarg("**")
    given = passed_argument(index.files[function[0]], index.scope(function), param.name, read)
    if given is not None:
        return given
    if not param.has_default:
        return False  # a TypeError, or passed in a way not seen here
    default = index.bindings_in(function[0], function[1], param.name)[0].value
    if default is not None and default.kind == "name":
        # A module-level constant of the helper's module bound once (`uid=DEFAULT_KEY`).
        bound = index.bindings_in(function[0], 0, default.text)
        default = bound[0].value if len(bound) == 1 and bound[0].kind == "assign" else None
    if default is None:
        return False
    if default.kind == "const" and default.const is None:
        return None
    return default if default.kind == "str" else False


def snake(name: str) -> str:
    return _CAMEL.sub("_", name).lower()


def uid_base(facts: FileFacts, call: Call, api: str, ordinal: int) -> str:
    scope = facts.scopes[call.scope].qualname.replace("<lambda>", "lambda")
    target = call.target.rsplit(".", 1)[-1] if call.target and call.target != "**" else ""
    if not target:
        target = f"{snake(api)}_{ordinal}"
    local = f"{scope}.{target}" if scope else target
    return _uid_text(f"{facts.module}:{local}")


def _uid_text(text: str) -> str:
    """`text` in the uid alphabet: accents dropped (`données` -> `donnees`), other letters
    outside ASCII spelled by their code point (`数据` -> `u6570u636e`), so that names that
    differ stay apart; other characters become `_`."""
    if not text.isascii():
        text = "".join(
            char if char.isascii() else f"u{ord(char):04x}" if char.isalnum() else "_"
            for char in unicodedata.normalize("NFKD", text) if not unicodedata.combining(char))
    return _UNSAFE_CHARS.sub("_", text)


@per_index
def defined_uids(index: ProjectIndex) -> frozenset[str]:
    """The literal uids definitions already have: suggested and keyed uids avoid them."""
    return frozenset(d.uid.const for d in all_definitions(index)
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


@per_index
def all_definitions(index: ProjectIndex) -> list[Definition]:
    """`collect_definitions` and `wrapped_definitions`, in path-then-position order."""
    merged = collect_definitions(index)
    wrapped = wrapped_definitions(index)
    if wrapped:
        merged = list(merged)
        for definition in wrapped:  # a few among thousands: each put in its place
            merged.insert(bisect.bisect_right(merged, _position(definition), key=_position),
                          definition)
    return merged


def _position(definition: Definition) -> tuple[str, int, int]:
    return definition.facts.path, definition.call.line, definition.call.col


def suggest_uids(index: ProjectIndex, wanted: set[tuple[str, int]]) -> dict[
        tuple[str, int], str]:
    """Suggested uids for the `wanted` definitions, unique across the whole project and
    among themselves."""
    taken = set(defined_uids(index))
    ordinals: dict[tuple[str, int, str], int] = defaultdict(int)
    suggestions: dict[tuple[str, int], str] = {}
    for definition in all_definitions(index):
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
