"""Facts are built without their named-tuple constructors (for speed): every fact extracted
from the realistic apps must still be a well-formed instance of its type."""

from __future__ import annotations

import ast
import hashlib
import pickle
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dara_migrate.facts import (
    Binding,
    Call,
    Param,
    Scope,
    Span,
    Value,
    extract_facts,
    squeezed,
)

APPS = Path(__file__).parent / "fixtures" / "apps"
EXAMPLE = Path(__file__).parent.parent / "examples" / "sales_dashboard"
SOURCES = sorted([*APPS.rglob("*.py"), *EXAMPLE.rglob("*.py")])

FIELD_TYPES: dict[type[Any], dict[str, type | tuple[type, ...]]] = {
    Span: {"line": int, "col": int, "end_line": int, "end_col": int},
    Value: {"kind": str, "text": str, "call": int, "scope": int, "calls": tuple,
            "names": tuple, "items": tuple},
    Call: {"id": int, "callee": str, "scope": int, "span": Span, "stmt_line": int,
           "packed": int, "stmt_col": int, "stmt_digest": int, "stmt_hash": str,
           "args": tuple, "kwargs": tuple, "target": str, "parent": int, "loop": bool,
           "awaited": bool, "func_call": int, "starred": int},
    Binding: {"scope": int, "name": str, "kind": str, "span": Span, "target": str,
              "value": (Value, type(None)), "stmt_line": int, "packed": int, "loop": bool,
              "memo": bool, "stmt_col": int},
    Scope: {"span": Span, "stmt_digest": int, "stmt_hash": str, "decorators": tuple,
            "params": tuple, "returned": tuple},
    Param: {"name": str, "has_default": bool},
}


def _facts_in(value: object) -> Iterator[NamedTuple]:
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        yield value  # type: ignore[misc]
    if isinstance(value, (tuple, list)):
        for item in value:
            yield from _facts_in(item)


@pytest.mark.parametrize("path", SOURCES, ids=[p.relative_to(SOURCES[0].parents[3]).as_posix()
                                               for p in SOURCES])
def test_every_fact_has_exactly_its_fields_of_their_types(path: Path) -> None:
    _check_fields(path.read_text(encoding="utf-8"), path.stem)


def test_facts_of_imports_and_loops_have_all_their_fields() -> None:
    # A dotted import's binding once held a value of two fields: every rule reading it failed.
    _check_fields(
        "import os.path\nimport dara.core\nimport dara.core as dc\nfrom dara.core import *\n"
        "from . import sibling\n"
        "for key, (a, b) in {'k': (1, 2)}.items():\n    print(key, a, b, os.path.sep)\n"
        "total = [dc.Variable(x) for x in range(3)]\n", "pkg.m")


def _check_fields(text: str, module: str) -> None:
    facts = extract_facts(ast.parse(text), text, "m.py", module, False)
    seen: set[type[Any]] = set()
    for fact in _facts_in([facts.scopes, facts.calls, facts.bindings]):
        kind = type(fact)
        seen.add(kind)
        assert len(fact) == len(kind._fields), (kind.__name__, fact)
        assert kind(*fact) == fact
        for name, expected in FIELD_TYPES.get(kind, {}).items():
            assert isinstance(getattr(fact, name), expected), (kind.__name__, name, fact)
    if facts.calls:
        assert {Span, Value, Call, Binding, Scope} <= seen


def _call_args(source: str) -> tuple[Value, ...]:
    facts = extract_facts(ast.parse(source), source, "m.py", "m", False)
    return facts.calls[0].args


def test_equal_constants_of_other_types_or_signs_stay_apart() -> None:
    # Values are shared within a file, and 1, 1.0 and True are equal dict keys.
    consts = [v.const for v in _call_args("f(1, 1.0, True, 0.0, 0, '1', 1, None, ..., True)")]
    assert [(type(c), repr(c)) for c in consts] == [
        (int, "1"), (float, "1.0"), (bool, "True"), (float, "0.0"), (int, "0"),
        (str, "'1'"), (int, "1"), (type(None), "None"), (type(None), "None"),
        (bool, "True"),
    ]
    assert [v.kind for v in _call_args("f(1, '1', 'x', x)")] == ["const", "str", "str", "name"]


def test_equal_keyword_constants_of_other_types_stay_apart() -> None:
    # Keyword arguments are shared within a file too: `k=1` must not stand for `k=True`.
    source = "f(k=1)\nf(k=True)\nf(k=1.0)\nf(k=0)\nf(k=False)\nf(k=True)\n"
    facts = extract_facts(ast.parse(source), source, "m.py", "m", False)
    consts = [call.kwarg("k").const for call in facts.calls]  # type: ignore[union-attr]
    assert [(type(c), repr(c)) for c in consts] == [
        (int, "1"), (bool, "True"), (float, "1.0"), (int, "0"), (bool, "False"),
        (bool, "True")]
    assert facts.calls[1].kwargs[0] is facts.calls[5].kwargs[0]


def test_a_run_as_task_flag_is_read_as_written_after_an_equal_number() -> None:
    source = ("from dara.core import DerivedVariable, Variable\n"
              "x = Variable(1)\n"
              "a = DerivedVariable(lambda v: v, variables=[x], run_as_task=1, uid='a')\n"
              "b = DerivedVariable(lambda v: v, variables=[x], run_as_task=True, uid='b')\n")
    facts = extract_facts(ast.parse(source), source, "m.py", "m", False)
    flags = [c.kwarg("run_as_task") for c in facts.calls if c.callee == "DerivedVariable"]
    assert [flag.const is True for flag in flags if flag is not None] == [False, True]


def test_names_and_callees_keep_their_order_and_repeats() -> None:
    source = "g(a, h(a, b), a.x, k=a, *c)\nh(b)\ng(a, h(a, b), a.x, k=a, *c)\n"
    facts = extract_facts(ast.parse(source), source, "m.py", "m", False)
    outer = facts.calls[0]
    assert [v.names for v in outer.args] == [("a",), ("a", "b", "h"), ("a",), ("c",)]
    assert outer.kwargs == (("k", Value("name", "a", names=("a",))),)
    assert outer.args[1].calls == ("h",)
    assert outer.starred == 3
    again = facts.calls[3]
    assert again.callee == "g" and again.kwargs == outer.kwargs
    assert [a for i, a in enumerate(again.args) if i != 1] == [
        a for i, a in enumerate(outer.args) if i != 1]
    assert again.args[1]._replace(data=1) == outer.args[1]


def test_facts_survive_pickling_unchanged() -> None:
    # As they cross to the cache and back from worker processes, values shared or not.
    for path in SOURCES:
        text = path.read_text(encoding="utf-8")
        facts = extract_facts(ast.parse(text), text, path.name, path.stem, False)
        again = pickle.loads(pickle.dumps(facts, protocol=pickle.HIGHEST_PROTOCOL))
        assert again == facts
        # Equality alone would pass for plain tuples: each fact must come back as its type.
        before = list(_facts_in([facts.scopes, facts.calls, facts.bindings, facts.markers]))
        after = list(_facts_in([again.scopes, again.calls, again.bindings, again.markers]))
        assert [type(f) for f in after] == [type(f) for f in before] and before


def test_calls_with_the_same_argument_objects_share_one_tuple_and_only_those() -> None:
    source = "f(1, x)\nf(1, x)\nf(True, x)\nf(y)\nf(y)\ng(k=x, n='a')\ng(k=x, n='a')\ng(k=x)\n"
    calls = extract_facts(ast.parse(source), source, "m.py", "m", False).calls
    assert calls[0].args is calls[1].args
    assert calls[2].args == calls[0].args and calls[2].args is not calls[0].args
    assert calls[2].args[0].const is True and calls[0].args[0].const == 1
    assert calls[3].args is calls[4].args
    assert calls[5].kwargs is calls[6].kwargs and calls[7].kwargs == (("k", calls[0].args[1]),)


@pytest.mark.parametrize("source, span", [
    ("x = 'é'; f(a,\n  b)\n", Span(1, 10, 2, 5)),
    ("x = 1; f(a,\n  b)\n", Span(1, 8, 2, 5)),
])
def test_a_call_keeps_its_span_as_position_fields(source: str, span: Span) -> None:
    call = extract_facts(ast.parse(source), source, "m.py", "m", False).calls[0]
    assert type(call.span) is Span and call.span == span
    assert (call.line, call.col, call.end_line, call.end_col) == span


def test_packed_fields_read_back_as_statement_column_loop_awaited_and_memo() -> None:
    source = (
        "async def f(cache, items):\n"
        "    for item in items:\n"
        "        await g(item)\n"
        "        if item not in cache:\n"
        "            cache[item] = h(item, 'x')\n"
        "    k = [m(x) for x in items]\n"
        "    return lambda: n()\n"
        "a = 1;" + " " * 80 + "b = p()\n"
    )
    facts = extract_facts(ast.parse(source), source, "m.py", "m", False)
    calls = {c.callee: c for c in facts.calls}
    assert [(c.stmt_line, c.stmt_col, c.loop, c.awaited) for c in calls.values()] == [
        (3, 9, True, True), (5, 13, True, False), (6, 5, True, False), (7, 5, False, False),
        (8, 87, False, False)]
    bindings = {(b.name, b.kind): b for b in facts.bindings}
    memo = bindings[("cache", "subscript")]
    assert (memo.stmt_line, memo.stmt_col, memo.loop, memo.memo) == (5, 13, True, True)
    b = bindings[("b", "assign")]
    assert (b.stmt_line, b.stmt_col, b.loop, b.memo) == (8, 87, False, False)
    assert not bindings[("k", "assign")].loop and not bindings[("item", "assign")].loop
    made = memo.value
    assert made is not None and (made.call, made.scope, made.const) == (calls["h"].id, -1, None)
    assert [(v.kind, v.call, v.scope, v.const) for v in calls["h"].args] == [
        ("name", -1, -1, None), ("str", -1, -1, "x")]
    (returned,) = facts.scopes[1].returned
    assert returned.kind == "lambda" and facts.scopes[returned.scope].kind == "lambda"
    assert (returned.call, returned.const) == (-1, None)


def test_statement_hashes_are_the_hex_digests_of_the_statements_without_whitespace() -> None:
    source = "import x\n@deco(a)\ndef f(\n    b,\n):\n    return g(b,\n             c)\n"
    facts = extract_facts(ast.parse(source), source, "m.py", "m", False)

    def digest(text: str) -> str:
        return hashlib.blake2b("".join(text.split()).encode(), digest_size=6).hexdigest()

    assert [c.stmt_hash for c in facts.calls] == [
        digest("@deco(a)\ndef f(\n    b,\n):\n"), digest("    return g(b,\n             c)\n")]
    assert [s.stmt_hash for s in facts.scopes] == ["", digest("@deco(a)\ndef f(\n    b,\n):\n")]
    assert all(len(c.stmt_hash) == 12 for c in facts.calls)


def test_a_slice_of_a_dotted_name_names_it_and_other_subscripts_are_their_children() -> None:
    source = ("a = self.rows[1:]\n"
              "b = rows[::2]\n"
              "c = rows[i]\n"
              "d = load()[:]\n"
              "e = rows[0].cells[:n]\n")
    facts = extract_facts(ast.parse(source), source, "m.py", "m", False)
    values = {b.name: b.value for b in facts.bindings}
    assert values["a"] == Value("slice", "self.rows", names=("self",))
    assert values["b"] == Value("slice", "rows", names=("rows",))
    assert values["c"] == Value("other", names=("rows", "i"))
    assert values["d"] is not None and (values["d"].kind, values["d"].calls) == ("other",
                                                                                 ("load",))
    assert values["e"] is not None and values["e"].kind == "other"


def test_a_bare_annotation_is_a_field_in_a_class_body_only() -> None:
    source = ("from dataclasses import dataclass\n\n"
              "def build(flag):\n"
              "    if flag:\n"
              "        total: int\n"
              "    @dataclass\n"
              "    class Row:\n"
              "        name: str\n"
              "    return Row\n")
    facts = extract_facts(ast.parse(source), source, "m.py", "m", False)
    assert [(b.name, facts.scopes[b.scope].name) for b in facts.bindings
            if b.kind == "field"] == [("name", "Row")]


@given(st.text(alphabet=st.characters(codec="utf-8") | st.sampled_from(
    " \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x85\xa0\u2028\u3000x=(")))
def test_a_statement_is_hashed_without_exactly_the_whitespace_split_drops(text: str) -> None:
    # Statement hashes key findings' fingerprints: the fast path must give the same bytes.
    assert squeezed(text) == "".join(text.split()).encode()


def test_text_joined_with_names_keeps_its_parts_and_reads_each_call_once() -> None:
    source = ("a = f'{REGION}-{ids.KIND}'\nb = 'x-' + REGION + '-y'\nc = 'x' + str(n)\n"
              "d = f'{load()}-total'\n")
    facts = extract_facts(ast.parse(source), source, "m.py", "m", False)
    values = {b.name: b.value for b in facts.bindings}
    assert [(p.kind, p.text or p.data) for p in values["a"].items] == [
        ("name", "REGION"), ("str", "-"), ("attr", "ids.KIND")]
    # One flat value for the whole chain, as an f-string's parts.
    assert [(p.kind, p.text or p.data) for p in values["b"].items] == [
        ("str", "x-"), ("name", "REGION"), ("str", "-y")]
    assert values["c"].items == () and values["d"].items == ()
    assert [call.callee for call in facts.calls] == ["str", "load"]
