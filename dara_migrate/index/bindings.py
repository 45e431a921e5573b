"""Where a name's value comes from: the call that made what a name is bound to.

As in `ProjectIndex.lookup`, item stores and deletions (`x[k] = v`, `del x[k]`) do not count
as binding `x`: rules ask what object `x` is, not what was last written into it.
"""

from __future__ import annotations

from collections.abc import Iterator

from dara_migrate.facts import Binding, Call, FileFacts
from dara_migrate.index.project import ProjectIndex

_IMPORTS = ("import", "import_module")


def is_receiver(facts: FileFacts, binding: Binding, scope_id: int) -> bool:
    """Whether a parameter is the `self` of a method."""
    scope = facts.scopes[scope_id]
    return (binding.kind == "param" and bool(scope.params) and scope.params[0].name ==
            binding.name and scope.parent >= 0 and facts.scopes[scope.parent].kind == "class")


def _through_factory(index: ProjectIndex, facts: FileFacts, call: Call, depth: int
                     ) -> tuple[FileFacts, Call]:
    """The call that made what a project factory returns (`return ConfigurationBuilder()`,
    a local it returns, or a global it sets), when it has a single `return`; else `call`
    itself."""
    made = index.resolve_call(facts, call).function
    if made is None or depth > 8:
        return facts, call
    factory = index.files[made[0]]
    scope = factory.scopes[made[1]]
    if scope.kind != "function" or len(scope.returned) != 1:
        return facts, call
    (value,) = scope.returned
    if value.kind == "call":
        return _through_factory(index, factory, factory.calls[value.call], depth + 1)
    if value.kind in ("name", "attr"):
        found = defining_call(index, factory, made[1], value.text, depth + 1)
        if found is None and value.kind == "name":
            # A singleton: `global _CONFIG`, `_CONFIG = ConfigurationBuilder()` under `if
            # _CONFIG is None:`, `return _CONFIG`; the name is the module's, set here.
            own = [b.value.call for b in index.bindings_in(factory.path, made[1], value.text)
                   if b.kind == "assign" and b.value is not None and b.value.kind == "call"]
            if len(own) == 1:
                return _through_factory(index, factory, factory.calls[own[0]], depth + 1)
        return found or (facts, call)
    return facts, call


def star_sources(index: ProjectIndex, facts: FileFacts) -> Iterator[FileFacts]:
    """The project modules a module star-imports (`from .state import *`), in order: where a
    name it uses but binds nowhere comes from."""
    for star in index.bindings_in(facts.path, 0, "*"):
        module = index.module_named(star.target, facts)
        if module is not None and module is not facts:
            yield module


def defining_call(index: ProjectIndex, facts: FileFacts, scope_id: int, dotted: str,
                  depth: int = 0) -> tuple[FileFacts, Call] | None:
    """The call whose result `dotted` is bound to, through aliases, imports (star imports
    too) and `self.x`."""
    if not dotted or depth > 8:
        return None
    head, _, rest = dotted.partition(".")
    found = index.lookup(facts, scope_id, head)
    if found is None:
        for source in star_sources(index, facts):
            made = defining_call(index, source, 0, dotted, depth + 1)
            if made is not None:
                return made
        return None
    binding, bound_in = found
    if binding.kind in _IMPORTS:
        module, remainder = index.split_module(
            f"{binding.target}.{rest}" if rest else binding.target, facts)
        if module is None or not remainder:
            return None
        return defining_call(index, module, 0, remainder, depth + 1)
    if binding.kind == "assign" and binding.value is not None:
        value = binding.value
        if value.kind == "call" and not rest:
            return _through_factory(index, facts, facts.calls[value.call], depth)
        if value.kind in ("name", "attr") and value.text != head:
            alias = f"{value.text}.{rest}" if rest else value.text
            return defining_call(index, facts, bound_in, alias, depth + 1)
        item = index.returned_item(facts, value, depth + 1) if value.kind == "item" else None
        if item is not None:
            path, scope_id, returned = item
            dotted = f"{returned.text}.{rest}" if rest else returned.text
            return defining_call(index, index.files[path], scope_id, dotted, depth + 1)
        return None
    if is_receiver(facts, binding, bound_in) and rest and "." not in rest:
        for store in index.stores_on_self(facts, facts.scopes[bound_in].parent, rest):
            if store.value is not None and store.value.kind == "call":
                return facts, facts.calls[store.value.call]
    return None
