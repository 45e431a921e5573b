"""Loops over literal collections read as the calls they unroll to: in
`for path, page in [("/", home), ("/sales", sales)]: router.add_page(path=path, content=page)`
each element is one route, as if written out once per element."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dara_migrate.facts import Call, FileFacts, Value

if TYPE_CHECKING:
    from dara_migrate.index.project import ProjectIndex

_MUTATORS = frozenset({"append", "extend", "insert", "remove", "pop", "clear", "sort",
                       "reverse", "add", "update", "discard", "setdefault", "popitem"})
"""Methods that change a collection in place: a collection changed so is no constant."""
_RECORD_BASES = frozenset({"NamedTuple", "typing.NamedTuple"})


def loop_passes(index: ProjectIndex, facts: FileFacts, scope_id: int, dotted: str,
                line: int = 0) -> list[tuple[FileFacts, int, Value]] | None:
    """What `dotted` (`page`, `page.content`) stands for in each pass of the loop that binds
    its head, with the file and scope each value is written in, when that loop iterates once
    over a literal collection (or a module-level name bound once to one) with one pass per
    element, or over such a dict's `.items()`, `.values()` or keys; None otherwise. `line`:
    where the name is read, inside the loop that binds it there (two loops may bind one
    name: the last binding is the later loop's)."""
    head, _, rest = dotted.partition(".")
    found = index.lookup(facts, scope_id, head)
    if found is None:
        return None
    binding, bound_in = found
    if line and not binding.span.line <= line <= binding.span.end_line:
        enclosing = [b for b in index.bindings_in(facts.path, bound_in, head)
                     if b.span.line <= line <= b.span.end_line]
        if not enclosing:
            return None  # read after its loop: the last element only
        binding = enclosing[-1]
    each = binding.value
    if binding.kind != "assign" or each is None or each.kind != "each" or binding.loop:
        return None
    collection = (_named_collection(index, facts, bound_in, each.text, 0) if each.text
                  else (facts, bound_in, each.items[0]))
    if collection is None:
        return None
    owner, owner_scope, literal = collection
    position = each.const
    elements = _elements(literal, each.calls[0] if each.calls else "")
    if elements is None:
        return None
    passes: list[tuple[FileFacts, int, Value]] = []
    for element in elements:
        if isinstance(position, int) and position >= 0:
            if element.kind != "container" or len(element.items) <= position:
                return None
            element = element.items[position]
        if rest:
            field = _field_value(index, owner, element, rest)
            if field is None:
                return None
            element = field
        if element.kind == "other" or element.kind == "slice":
            return None  # `*more`, a subscript, a conditional: not one known value
        passes.append((owner, owner_scope, element))
    return passes


def _elements(literal: Value, view: str) -> tuple[Value, ...] | None:
    """What a loop over a literal collection gets on each pass: a list's or tuple's elements;
    a dict's keys (when each is written as a string), values, or (key, value) pairs."""
    if literal.kind == "container":
        return literal.items if not view else None
    if literal.kind != "dict":
        return None
    if view == "values":
        return literal.items
    keys = tuple(Value("str", data=key) for key in literal.text.split(",")) if (
        literal.text) else ()
    if len(keys) != len(literal.items):
        return None  # keys other than strings (or holding a comma) are not kept
    if view == "items":
        return tuple(Value("container", items=pair) for pair in zip(
            keys, literal.items, strict=True))
    return keys


def _named_collection(index: ProjectIndex, facts: FileFacts, scope_id: int, name: str,
                      depth: int) -> tuple[FileFacts, int, Value] | None:
    """The literal list, tuple or dict a module-level name is bound to once and never
    changed, in its own module or imported from a project module."""
    found = index.lookup(facts, scope_id, name)
    if found is None or found[1] != 0 or depth > 4:
        return None
    binding = found[0]
    if binding.kind == "import":
        module, remainder = index.split_module(binding.target, facts)
        if module is None or not remainder or "." in remainder:
            return None
        return _named_collection(index, module, 0, remainder, depth + 1)
    value = binding.value
    if (binding.kind != "assign" or value is None or value.kind not in ("container", "dict")
            or len(index.bindings_in(facts.path, 0, name)) != 1 or changed_in_place(facts, name)):
        return None
    return facts, 0, value


def changed_in_place(facts: FileFacts, name: str) -> bool:
    """Whether a file writes into what `name` holds (`PAGES[0] = ...`, `PAGES += [...]`,
    `PAGES.append(...)`, `del options["uid"]`)."""
    prefix = f"{name}."
    return any(b.name == name and b.kind in ("subscript", "augassign", "del")
               for b in facts.bindings) or any(
        c.callee.startswith(prefix) and c.callee[len(prefix):] in _MUTATORS
        for c in facts.calls)


def _field_value(index: ProjectIndex, facts: FileFacts, element: Value, attribute: str
                 ) -> Value | None:
    """The value an element made by a project record class (`PageSpec("Home", home)`: a
    dataclass, a NamedTuple, or a class whose `__init__` stores a parameter as the
    attribute) gives to `attribute`."""
    if element.kind != "call" or "." in attribute:
        return None
    call = facts.calls[element.call]
    cls = index.resolve_call(facts, call).function
    if cls is None or index.scope(cls).kind != "class":
        return None
    init = index.class_member(cls, "__init__")
    if init is not None:
        return _stored_parameter(index, init, attribute, call)
    owner = index.files[cls[0]]
    scope = owner.scopes[cls[1]]
    fields = [b.name for b in owner.bindings
              if b.scope == cls[1] and b.kind in ("assign", "field") and b.target
              and not b.target.startswith(("ClassVar", "typing.ClassVar"))]
    if attribute not in fields:
        return None
    if not is_record(index, cls):
        return None
    if scope.bases and not _RECORD_BASES.issuperset(scope.bases):
        return call.kwarg(attribute)  # a base's fields come first: positions are unknown
    return call.argument(fields.index(attribute), attribute)


def is_record(index: ProjectIndex, cls: tuple[str, int]) -> bool:
    """A dataclass or NamedTuple with no `__init__` or `__post_init__` of its own: making
    one stores its arguments and calls none of them."""
    scope = index.scope(cls)
    dataclass = any(d.text.rpartition(".")[2] == "dataclass" for d in scope.decorators)
    named_tuple = bool(scope.bases) and _RECORD_BASES.issuperset(scope.bases)
    return (dataclass or named_tuple) and index.class_member(cls, "__init__") is None and (
        index.class_member(cls, "__post_init__") is None)


def _stored_parameter(index: ProjectIndex, init: tuple[str, int], attribute: str,
                      call: Call) -> Value | None:
    """The argument of `call` that `__init__` stores as `self.<attribute>`, when it stores
    one parameter there and nothing else."""
    from dara_migrate.index.project import passed_argument

    owner = index.files[init[0]]
    scope = owner.scopes[init[1]]
    stores = index.stores_on_self(owner, scope.parent, attribute)
    if len(stores) != 1 or stores[0].scope != init[1]:
        return None
    stored = stores[0].value
    if stored is None or stored.kind != "name" or not any(
            p.name == stored.text for p in scope.params):
        return None
    return passed_argument(owner, scope, stored.text, call)
