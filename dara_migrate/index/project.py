"""The project index: names resolved across modules, call graph, and when each body runs.

"When code runs" (RULES.md) is decided here once for the whole project:

- **build**: module level and everything reached from it while the app is built (page
  builders, route content, page-class `__init__`/`__call__`, template renderers);
- **startup**: `config.on_startup` functions;
- **request**: `@py_component`/`@action` bodies, DerivedVariable/StreamVariable functions,
  endpoint, websocket, upload, registry-lookup and scheduler handlers, deprecated action
  factory callables, and everything they reach. Request wins over build;
- **unknown**: bodies nothing in the project is seen to call.
"""

from __future__ import annotations

import functools
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Iterator, Sequence, Set
from dataclasses import dataclass, field
from itertools import repeat
from typing import Any, Literal, NamedTuple, TypeVar

from dara_migrate.facts import SUBSCRIPTED, Binding, Call, FileFacts, Scope, Value
from dara_migrate.index.dara_api import DECORATORS, ROUTE_CLASSES, ROUTE_METHODS, dara_name
from dara_migrate.index.mappings import with_spelled_keywords
from dara_migrate.index.unrolled import is_record, loop_passes

When = Literal["build", "startup", "request", "unknown"]
ScopeRef = tuple[str, int]
"""A scope in the project: (file path, scope id)."""

_MAX_BASE_DEPTH = 5
"""How many levels of project base classes `class_lineage` looks through."""
_WRITES = frozenset({"subscript", "del", "augassign", "attr", "nonlocal", "field"})
"""Binding kinds that write through or to a name without rebinding what it refers to (or,
for a class's bare annotation, without binding it at all)."""

_NO_SCOPES: frozenset[int] = frozenset()

_NAMING_KINDS = frozenset({"import", "import_module", "def", "class"})
_ALIAS_KINDS = frozenset({"name", "attr", "lambda"})
"""Binding kinds, and kinds of an assigned value, that may name a function (see
`_may_name_function`)."""

REPEATED_RUNS = 2
"""Run counts saturate here: all the rules need to know is once or more than once."""

_REQUEST_CALLABLE_ARGS: dict[str, tuple[tuple[int, str], ...]] = {
    "DerivedVariable": ((0, "func"),),
    "DerivedDataVariable": ((0, "func"),),
    "StreamVariable": ((0, "func"),),
    "UpdateVariable": ((0, "resolver"),),
    "NavigateTo": ((0, "url"),),
    "DownloadContent": ((0, "resolver"),),
    "SideEffect": ((0, "function"),),
    "UploadDropzone": ((-1, "resolver"), (-1, "on_drop")),
    "action": ((0, "func"),),
    "py_component": ((0, "function"),),
}
_CONFIG_REQUEST_METHODS: dict[str, tuple[tuple[int, str], ...]] = {
    "add_endpoint": ((0, "endpoint"),),
    "add_ws_handler": ((1, "handler"),),
    "add_registry_lookup": ((0, "lookup"),),
}
_BUILD_CONTENT_METHODS: dict[str, tuple[tuple[int, str], ...]] = {
    "add_page": ((1, "content"),),
    "add_template_renderer": ((1, "renderer"),),
}
_ROUTER_CONTENT: tuple[tuple[int, str], ...] = ((-1, "content"),)
_APIS_TAKING_CALLABLES = frozenset(_REQUEST_CALLABLE_ARGS) | ROUTE_CLASSES
"""The Dara names whose calls have request or content slots (`_request_argument_slots`,
`_content_argument_slots`): a call of any other Dara name makes no edge and no root."""


class Resolved(NamedTuple):
    """What a dotted name in some scope refers to (a tuple: tens of thousands are made per
    index, and a frozen dataclass sets each field through `object.__setattr__`)."""

    qualified: str
    api: str | None = None
    """The Dara name it is (`DerivedVariable`), when it is one."""
    instance_of: str | None = None
    """The Dara class of the object the name's head is bound to (`config` -> builder)."""
    attribute: str = ""
    """The attribute path after that object (`router.add_page`)."""
    function: ScopeRef | None = None
    """The project function or class it names."""
    instance_of_project: ScopeRef | None = None
    """The project class the head object is an instance of (`page.render` -> Page)."""


@dataclass(slots=True)
class Edge:
    source: ScopeRef
    target: ScopeRef
    loop: bool
    via: str


@dataclass(slots=True)
class ProjectIndex:
    files: dict[str, FileFacts]
    modules: dict[str, FileFacts] = field(default_factory=dict)
    """Module name -> file; with one module name in several source roots, the first path."""
    importable: dict[str, list[tuple[str, FileFacts]]] = field(default_factory=dict)
    """Name -> (folder, file) for every name a file can be imported as: its module name from
    its source root, and its path from each folder in between, as when that folder is on
    `sys.path` (a service started from its own folder imports `app.pages`, not
    `services.orders.app.pages`)."""
    importable_from: dict[str, dict[str, FileFacts]] = field(default_factory=dict)
    """Name -> folder -> the first file `importable` lists under that name from that folder."""
    importable_heads: set[str] = field(default_factory=set)
    """First parts of the `importable` names: a name starting otherwise is no project's."""
    outside_project: dict[str, Resolved] = field(default_factory=dict)
    """Qualified names no project module can be (Dara's, third-party), resolved once."""
    module_bindings: dict[str, dict[str, Binding]] = field(default_factory=dict)
    """Path -> module-level name -> its last binding (`bindings_in` has them all)."""
    scope_bindings: dict[str, dict[int, dict[str, Binding]]] = field(default_factory=dict)
    """Path -> function or class scope id -> name -> its last binding there."""
    rebound: dict[str, dict[tuple[int, str], list[Binding]]] = field(default_factory=dict)
    """Path -> (scope id, name) -> every binding of a name bound more than once in a scope
    (most names are bound once: their one binding is the table's)."""
    function_names: dict[str, frozenset[str]] = field(default_factory=dict)
    """Path -> the names the file binds to something that may be a project function or
    class (`_may_name_function`) in some scope: any other bound name is not one."""
    local_names: dict[str, frozenset[str]] = field(default_factory=dict)
    """Path -> the names the file binds in a function or class body: any other name means
    the same in every scope of the file (and `lookup` finds it at module level or not at all)."""
    edges: dict[ScopeRef, list[Edge]] = field(default_factory=lambda: defaultdict(list))
    callers: dict[ScopeRef, list[Edge]] = field(default_factory=lambda: defaultdict(list))
    """Target -> the edges into it (the same objects as in `edges`)."""
    roots: dict[When, set[ScopeRef]] = field(default_factory=lambda: defaultdict(set))
    when: dict[str, list[When]] = field(default_factory=dict)
    """Path -> when each scope of the file runs, by scope id (see `when_of`)."""
    runs: dict[str, list[int]] = field(default_factory=dict)
    """Path -> how many times each scope of the file runs, by scope id (-1: not counted yet)."""
    processes: list[frozenset[str]] = field(default_factory=list)
    """The files of each app's process, where apps of a monorepo build in separate processes
    and some build-time body runs more than once (empty otherwise: one process)."""
    calls_by_api: dict[str, list[tuple[FileFacts, Call]]] = field(
        default_factory=lambda: defaultdict(list))
    method_calls: dict[tuple[str, str], list[tuple[FileFacts, Call]]] = field(
        default_factory=lambda: defaultdict(list))
    call_resolutions: dict[str, list[Resolved]] = field(default_factory=dict)
    """Every call's callee, resolved once per file (by call id)."""
    resolved_calls: list[tuple[FileFacts, Call, Resolved]] = field(default_factory=list)
    """The calls of Dara names, of project functions and classes, and of methods of Dara or
    project objects, with their callees, in path-then-call order: no other call is of the
    project or of Dara."""
    decorated: dict[str, list[tuple[FileFacts, Scope]]] = field(
        default_factory=lambda: defaultdict(list))
    """Dara decorator (`DECORATORS`, `track_progress`, `config.on_startup`,
    `config.scheduler`) -> the definitions it decorates, once per decorator, in path order."""
    imports: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    """Path -> paths of the project modules it imports."""
    import_bindings: dict[str, list[Binding]] = field(default_factory=dict)
    """Path -> the file's `import` and `import_module` bindings, in order: rules that read a
    file's imports skip the rest of its bindings."""
    outside_heads: set[str] = field(default_factory=set)
    """First parts of the modules imports load that are no project module's (`pandas`)."""
    imported_heads: set[str] = field(default_factory=set)
    """The first names of the project's imports of its own modules as written (`widgets` for
    `widgets.cards` in `shared/`): the names import sorters count as first-party."""
    memo: dict[str, dict[str | tuple[int, str], Resolved]] = field(default_factory=dict)
    """Path -> top-level resolutions in the file, by name for the module scope's (most), by
    (scope id, name) for a function's or class's: every rule resolves the same names."""
    deep_memo: dict[tuple[str, int, str, int], Resolved] = field(default_factory=dict)
    """Resolutions on the way to another (by depth): imported names, aliases, annotations."""
    query_results: dict[Callable[..., Any], Any] = field(default_factory=dict)
    """Results of `per_index` queries."""
    named_scopes: dict[str, dict[tuple[int, str], int]] = field(default_factory=dict)
    """Path -> (parent scope, name) -> the last function or class of that name there."""
    running: dict[tuple[str, When], frozenset[int]] = field(default_factory=dict)
    """(path, when) -> the ids of the file's scopes that run then (see `scopes_running`)."""
    self_stores: dict[str, dict[tuple[int, str], list[Binding]]] = field(default_factory=dict)
    """Path -> (class scope id, attribute) -> `stores_on_self`."""
    packages_run: dict[str, list[str]] = field(default_factory=dict)
    """Path -> the file and the packages above it that importing it runs."""
    run_by_imports: dict[str, frozenset[str]] = field(default_factory=dict)
    """Path -> what the file's imports of project modules run (`_run_by_imports`): every
    app's walk of its files, and every walk back to its importers, reads them."""
    split_modules: dict[tuple[str, str | None], tuple[FileFacts | None, str]] = field(
        default_factory=dict)
    """(qualified name, folder of the file it is read from) -> `split_module`'s answer."""
    importers: dict[str, list[str]] = field(default_factory=dict)
    """Path -> the files whose imports run it (`files_reaching`), filled on first use."""
    default_factories: dict[ScopeRef, list[tuple[str, ScopeRef]]] = field(default_factory=dict)
    """Project class -> `_default_factories`."""
    imported_by: dict[str, list[str]] = field(default_factory=dict)
    """Path -> the files that import it directly (`imported_from`), filled on first use."""
    dotted_reads: dict[str, frozenset[str]] = field(default_factory=dict)
    """Path -> `_dotted_reads` of the file, for the files `imported_from` asks about."""
    typing_attributes: set[tuple[ScopeRef, str]] = field(default_factory=set)
    """The (class, attribute) pairs `attribute_type` is answering now."""

    @classmethod
    def build(cls, files: Iterable[FileFacts],
              aliases: Iterable[tuple[str, str, bool, str]] = ()) -> ProjectIndex:
        """The index of `files`; `aliases` (path, module, is package, path linked to) are
        symlinks to some of them: the file they link to is imported under their name too."""
        index = cls({f.path: f for f in sorted(files, key=lambda f: f.path)})
        for facts in index.files.values():
            index.modules.setdefault(facts.module, facts)
            index._index_names(facts, facts.path, facts.module, facts.is_package)
            # Grouped by scope id first: one table per scope, not a key tuple per binding.
            by_scope: dict[int, dict[str, Binding]] = {0: {}}
            rebound: dict[tuple[int, str], list[Binding]] = {}
            functions: set[str] = set()
            imported: list[Binding] = []
            for binding in facts.bindings:
                kind = binding.kind
                if kind in _WRITES:
                    continue
                if kind in _NAMING_KINDS:
                    functions.add(binding.name)
                    if kind == "import" or kind == "import_module":
                        imported.append(binding)
                elif (kind == "assign" and binding.value is not None
                      and binding.value.kind in _ALIAS_KINDS):
                    functions.add(binding.name)
                table = by_scope.get(binding.scope)
                if table is None:
                    table = by_scope[binding.scope] = {}
                earlier = table.get(binding.name)
                if earlier is not None:
                    key = (binding.scope, binding.name)
                    if key in rebound:
                        rebound[key].append(binding)
                    else:
                        rebound[key] = [earlier, binding]
                table[binding.name] = binding
            index.function_names[facts.path] = frozenset(functions)
            index.import_bindings[facts.path] = imported
            index.module_bindings[facts.path] = by_scope.pop(0)
            index.local_names[facts.path] = frozenset().union(*by_scope.values())
            index.scope_bindings[facts.path] = by_scope
            if rebound:
                index.rebound[facts.path] = rebound
        for path, module, is_package, real in aliases:
            linked = index.files.get(real)
            if linked is not None:
                index.modules.setdefault(module, linked)
                index._index_names(linked, path, module, is_package)
        for facts in index.files.values():
            index._index_calls(facts)
            index._index_decorators(facts)
            index._index_imports(facts)
        index._classify()
        return index

    # ---------------------------------------------------------------- name resolution

    def scope(self, ref: ScopeRef) -> Scope:
        return self.files[ref[0]].scopes[ref[1]]

    def lookup(self, facts: FileFacts, scope_id: int, name: str) -> tuple[Binding, int] | None:
        """The binding of a bare name seen from a scope, following Python's scoping rules."""
        current, path = scope_id, facts.path
        local = self.local_names.get(path)
        if local is not None and name not in local:
            current = 0  # bound at module level or not at all (`len`, `str`): no scope to walk
        first = True
        tables = self.scope_bindings.get(path, {}) if current > 0 else {}
        while current > 0:
            scope = facts.scopes[current]
            if first or scope.kind != "class":
                table = tables.get(current)
                binding = table.get(name) if table is not None else None
                if binding is not None and name not in scope.globals:
                    return binding, current
            first = False
            current = scope.parent
        module_table = self.module_bindings.get(path)
        module_level = module_table.get(name) if module_table is not None else None
        if module_level is not None:
            return module_level, 0
        return None

    def bindings_in(self, path: str, scope_id: int, name: str) -> Sequence[Binding]:
        """Every binding of a name in one scope of a file, in order (item stores, deletions
        and other writes through the name are not bindings)."""
        rebound = self.rebound.get(path)
        if rebound is not None:
            found = rebound.get((scope_id, name))
            if found is not None:
                return found
        table = (self.module_bindings.get(path) if scope_id == 0
                 else self.scope_bindings.get(path, {}).get(scope_id))
        last = table.get(name) if table is not None else None
        return () if last is None else (last,)

    def resolve(self, facts: FileFacts, scope_id: int, dotted: str, depth: int = 0) -> Resolved:
        """Resolve `dotted` as written in `scope_id` of `facts`."""
        if depth:
            # Depth only matters where a chain is cut short: the answer is kept per depth.
            deep_key = (facts.path, scope_id, dotted, depth)
            found = self.deep_memo.get(deep_key)
            if found is None:
                found = self.deep_memo[deep_key] = self._resolve(facts, scope_id, dotted, depth)
            return found
        memo = self.memo.get(facts.path)
        if memo is None:
            memo = self.memo[facts.path] = {}
        key: str | tuple[int, str] = dotted
        if scope_id:
            local = self.local_names.get(facts.path)
            if local is not None and dotted.partition(".")[0] not in local:
                scope_id = 0  # bound at module level or not at all: the module scope's answer
            else:
                key = (scope_id, dotted)
        found = memo.get(key)
        if found is None:
            found = memo[key] = self._resolve(facts, scope_id, dotted, 0)
        return found

    def _resolve(self, facts: FileFacts, scope_id: int, dotted: str, depth: int) -> Resolved:
        if not dotted or depth > 8:
            return Resolved(dotted)
        head, _, rest = dotted.partition(".")
        binding: Binding | None
        if scope_id:
            found = self.lookup(facts, scope_id, head)
            if not depth and (found is None or found[1] == 0):
                # Bound at module level: the answer is the module scope's, resolved once there.
                return self.resolve(facts, 0, dotted)
            binding, bound_in = found if found is not None else (None, 0)
        else:
            # `lookup` from the module scope (most resolutions), read directly.
            table = self.module_bindings.get(facts.path)
            binding, bound_in = table.get(head) if table is not None else None, 0
        if binding is None:
            return self._unbound(facts, head, rest, depth)
        if binding.kind in ("import", "import_module"):
            qualified = f"{binding.target}.{rest}" if rest else binding.target
            return self.resolve_qualified(qualified, depth + 1, facts)
        if binding.kind in ("def", "class"):
            base = facts.module if bound_in == 0 else (
                f"{facts.module}.{facts.scopes[bound_in].qualname}")
            function = self._scope_named(facts, bound_in, head)
            if rest:
                return self._member(facts, function, rest, f"{base}.{head}.{rest}")
            builder = binding.kind == "class" and self._derives_builder(function, depth)
            return Resolved(f"{base}.{head}", api="ConfigurationBuilder" if builder else None,
                            function=function)
        if binding.kind == "assign" and binding.value is not None:
            return self._from_value(facts, bound_in, binding.value, head, rest, depth)
        if binding.kind == "param":
            return self._from_param(facts, bound_in, binding, rest, dotted, depth)
        return Resolved(dotted)

    def _derives_builder(self, cls: ScopeRef | None, depth: int) -> bool:
        """A project subclass of Dara's `ConfigurationBuilder`: its instances are apps."""
        if cls is None:
            return False
        facts = self.files[cls[0]]
        scope = facts.scopes[cls[1]]
        return any(self.resolve(facts, scope.parent, base, depth + 1).api == "ConfigurationBuilder"
                   for base in scope.bases)

    def _from_param(self, facts: FileFacts, scope_id: int, binding: Binding, rest: str,
                    dotted: str, depth: int) -> Resolved:
        scope = facts.scopes[scope_id]
        is_receiver = (scope.params and scope.params[0].name == binding.name
                       and facts.scopes[scope.parent].kind == "class")
        if is_receiver:
            return self._self_member(facts, scope_id, rest, dotted)
        annotation = binding.target.split("[")[0].split("|")[0].strip()
        if not annotation and rest.partition(".")[0] in _BUILDER_MEMBERS:
            passed = self._passed_kind(facts, scope_id, binding.name, depth)
            if passed is not None:
                return Resolved(dotted, instance_of=passed, attribute=rest)
        if not annotation or annotation in ("?", "None"):
            return Resolved(dotted)
        kind = self.resolve(facts, scope.parent, annotation, depth + 1)
        if kind.api:
            return Resolved(dotted, instance_of=kind.api, attribute=rest)
        if kind.function and self.scope(kind.function).kind == "class":
            return self._project_instance(kind.function, rest, dotted)
        return Resolved(dotted)

    def _passed_kind(self, facts: FileFacts, scope_id: int, name: str, depth: int) -> str | None:
        """The Dara builder or router every call of a function hands its unannotated
        parameter `name` (`register_pages(config)`), when they all hand the same kind."""
        scope = facts.scopes[scope_id]
        if depth > 4 or scope.kind != "function":
            return None
        kinds = set()
        target, called = (facts.path, scope_id), scope.name
        if scope.name == "__init__" and facts.scopes[scope.parent].kind == "class":
            # `Portal(config.router)` calls the class: its `__init__` takes the arguments.
            target, called = (facts.path, scope.parent), facts.scopes[scope.parent].name
        direct = [(caller, call) for caller, call in _calls_by_name(self).get(called, ())
                  if self._resolve_callee(caller, call, depth + 1).function == target]
        looped = [(caller, call) for caller, call, _ in
                  _indirect_calls(self).get((facts.path, scope_id), ())]
        for caller, call in [*direct, *looped]:
            value = passed_argument(facts, scope, name, call)
            if value is None or value.kind not in ("name", "attr"):
                return None
            found = self.lookup(caller, call.scope, value.text) if value.kind == "name" else None
            if found is not None and found[0].kind == "param" and not found[0].target:
                if found[1] == scope_id and caller is facts and value.text == name:
                    continue  # handed on to itself: the other callers decide
                kind = self._passed_kind(caller, found[1], value.text, depth + 1)
            else:
                passed = self.resolve(caller, call.scope, value.text, depth + 1)
                kind = passed.instance_of
                if passed.attribute:
                    kind = "Router" if (kind, passed.attribute) == ("ConfigurationBuilder",
                                                                    "router") else None
            if kind not in ("ConfigurationBuilder", "Router"):
                return None
            kinds.add(kind)
        return kinds.pop() if len(kinds) == 1 else None

    def _project_instance(self, cls: ScopeRef, rest: str, qualified: str) -> Resolved:
        """`rest` of an instance of a project class: a method, a Dara object the class
        stores on `self`, or something else of the instance."""
        if rest:
            attribute = rest.split(".")[0]
            if "." not in rest:
                member = self.class_member(cls, attribute)
                if member:
                    return Resolved(qualified, function=member, instance_of_project=cls)
            api = self.attribute_type(cls, attribute)
            if api:
                return Resolved(qualified, instance_of=api, attribute=rest.partition(".")[2])
        return Resolved(qualified, instance_of_project=cls)

    def returned_kind(self, function: ScopeRef, depth: int = 0) -> Resolved | None:
        """What calling a project function gives, when it says or shows it: its return
        annotation, else a Dara or project-class instance that every `return` makes or
        returns by name (`config = ConfigurationBuilder()`, ..., `return config`)."""
        facts = self.files[function[0]]
        scope = facts.scopes[function[1]]
        if scope.kind == "class" or depth > 4:
            return None
        if scope.returns:
            annotation = scope.returns.split("[")[0].split("|")[0].strip()
            kind = self.resolve(facts, scope.parent, annotation, depth + 1)
            return kind if kind.api or self._is_class(kind.function) else None
        kinds = set()
        for value in scope.returned:
            if value.kind == "name":
                held = self._held_kind(facts, function[1], value.text, depth + 1)
                if held is None:
                    return None
                kinds.add(held)
                continue
            if value.kind != "call":
                return None
            made = self.resolve_call(facts, facts.calls[value.call])
            if not (made.api or self._is_class(made.function)):
                return None
            kinds.add((made.api, made.function))
        if len(kinds) != 1:
            return None
        api, cls = kinds.pop()
        return Resolved("", api=api, function=cls)

    def returned_item(self, facts: FileFacts, value: Value, depth: int = 0
                      ) -> tuple[str, int, Value] | None:
        """For a name unpacked from a call's result (an `item` value: `config, router =
        build()`): the name or attribute the called project function returns in its place
        (`return config, config.router`), with the file and scope it is read in; None
        where the function has another `return`, or returns anything else there."""
        call = value.items[0] if value.items else None
        if call is None or call.kind != "call" or depth > 8:
            return None
        made = self._resolve_callee(facts, facts.calls[call.call], depth + 1).function
        if made is None:
            return None
        scope = self.scope(made)
        if scope.kind != "function" or len(scope.returned) != 1:
            return None
        (returned,) = scope.returned
        position = value.data
        if (returned.kind != "container" or not isinstance(position, int)
                or position >= len(returned.items)):
            return None
        item = returned.items[position]
        return (made[0], made[1], item) if item.kind in ("name", "attr") else None

    def _held_kind(self, facts: FileFacts, scope_id: int, name: str, depth: int
                   ) -> tuple[str | None, ScopeRef | None] | None:
        """The Dara class or project class of the instance a function's name holds where
        it returns it: as the name resolves there, else as every assignment to it in the
        function makes it (a singleton: `global _CONFIG`, `_CONFIG = ConfigurationBuilder()`
        under `if _CONFIG is None:`, `return _CONFIG`)."""
        held = self.resolve(facts, scope_id, name, depth)
        if not held.attribute and (held.instance_of or held.instance_of_project):
            return held.instance_of, held.instance_of_project
        made = {(resolved.api, resolved.function) for resolved in (
            self.resolve_call(facts, facts.calls[b.value.call])
            for b in self.bindings_in(facts.path, scope_id, name)
            if b.kind == "assign" and b.value is not None and b.value.kind == "call")}
        if len(made) != 1:
            return None
        api, cls = made.pop()
        return (api, None) if api else (None, cls) if self._is_class(cls) else None

    def _is_class(self, ref: ScopeRef | None) -> bool:
        return ref is not None and self.scope(ref).kind == "class"

    def resolve_qualified(self, qualified: str, depth: int = 0,
                          near: FileFacts | None = None) -> Resolved:
        """Follow a fully qualified name through project modules and their re-exports (as
        imported from `near`, whose source root comes first)."""
        found = self.outside_project.get(qualified)
        if found is not None:
            return found
        api = dara_name(qualified)
        if api is not None or qualified.partition(".")[0] not in self.importable_heads:
            found = self.outside_project[qualified] = Resolved(qualified, api=api)
            return found
        facts, remainder = self.split_module(qualified, near)
        if facts is None or not remainder:
            return Resolved(qualified)
        return self.resolve(facts, 0, remainder, depth + 1)

    def module_named(self, module: str, near: FileFacts | None = None) -> FileFacts | None:
        """The project module imported as `module` from `near`: the one importable from the
        folder nearest above `near`, else the module of that name anywhere in the project."""
        entries = self.importable.get(module)
        if not entries:
            return None
        if near is not None:
            # The folders above `near`, nearest first: a monorepo's services can all import
            # their own `app.pages`, so a name may have as many entries as there are services.
            by_folder = self.importable_from[module]
            path = near.path
            cut = path.rfind("/")
            while cut > 0:
                best = by_folder.get(path[:cut])
                if best is not None:
                    return best
                cut = path.rfind("/", 0, cut)
            best = by_folder.get("")
            if best is not None:
                return best
        found = self.modules.get(module)
        if found is None and "." in module and all(e[1] is entries[0][1] for e in entries):
            # A sibling source folder (`shared/` next to `apps/x/`, both on `sys.path` when
            # the app runs): a dotted name only one project module ends with is that module.
            return entries[0][1]
        return found

    def import_folders(self, facts: FileFacts) -> list[str]:
        """The folders a file's own imports of project modules resolve from (those that must
        be on `sys.path` for them to work), in the order of its imports."""
        folders: list[str] = []
        for binding in facts.bindings:
            if binding.kind not in ("import", "import_module"):
                continue
            parts = binding.imported_module.split(".")
            for cut in range(len(parts), 0, -1):
                name = ".".join(parts[:cut])
                imported = self.module_named(name, facts)
                if imported is not None and imported is not facts:
                    folder = _folder_importing(imported, name)
                    linked = [f for f, found in self.importable_from.get(name, {}).items()
                              if found is imported]
                    if linked and folder not in linked:
                        # Imported under a symlink's name (`alpha/shared -> libs/shared`):
                        # from the folder holding the link, not the one holding the file.
                        folder = max(linked, key=lambda f: len(f) if facts.path.startswith(
                            f + "/") else -1)
                    if folder not in folders:
                        folders.append(folder)
                    break
        return folders

    def import_root(self, facts: FileFacts) -> str | None:
        """The folder above a file that its own imports of project modules resolve from (the
        nearest, when they name several), if it imports any from a folder above it."""
        above = [folder for folder in self.import_folders(facts)
                 if not folder or facts.path.startswith(folder + "/")]
        return max(above, key=len) if above else None

    def search_path(self, paths: Iterable[str]) -> list[str]:
        """Every folder the imports of the files at `paths` resolve from, sorted: what
        `sys.path` must hold for all of them to import."""
        return sorted({folder for path in paths if path in self.files
                       for folder in self.import_folders(self.files[path])})

    def _index_names(self, facts: FileFacts, path: str, module: str, is_package: bool) -> None:
        """`facts` importable as `module`, as the file at `path` is (its own, or a link's)."""
        folder = _source_root(path, module, is_package)
        name = module
        parts = name.split(".")
        self.importable_heads.update(parts)
        for cut in range(len(parts)):
            if cut:
                folder = f"{folder}/{parts[cut - 1]}" if folder else parts[cut - 1]
                name = ".".join(parts[cut:])
            self.importable.setdefault(name, []).append((folder, facts))
            self.importable_from.setdefault(name, {}).setdefault(folder, facts)

    def split_module(self, qualified: str, near: FileFacts | None = None
                     ) -> tuple[FileFacts | None, str]:
        """The longest project module `qualified` starts with, and the rest of the name."""
        if qualified.partition(".")[0] not in self.importable_heads:
            return None, qualified
        # `module_named` reads only the folders above `near`: files side by side share answers.
        key = (qualified, near.path.rpartition("/")[0] if near is not None else None)
        found = self.split_modules.get(key)
        if found is None:
            found = self.split_modules[key] = self._split_module(qualified, near)
        return found

    def _split_module(self, qualified: str, near: FileFacts | None
                      ) -> tuple[FileFacts | None, str]:
        parts = qualified.split(".")
        for cut in range(len(parts), 0, -1):
            facts = self.module_named(".".join(parts[:cut]), near)
            if facts is not None:
                return facts, ".".join(parts[cut:])
        return None, qualified

    def _unbound(self, facts: FileFacts, head: str, rest: str, depth: int) -> Resolved:
        for star in self.bindings_in(facts.path, 0, "*"):
            candidate = f"{star.target}.{head}"
            resolved = self.resolve_qualified(f"{candidate}.{rest}" if rest else candidate,
                                              depth + 1, facts)
            if resolved.api or resolved.function or resolved.instance_of:
                return resolved
        return Resolved(f"{head}.{rest}" if rest else head)

    def _scope_named(self, facts: FileFacts, parent: int, name: str) -> ScopeRef | None:
        named = self.named_scopes.get(facts.path)
        if named is None:
            # The last definition of a name wins, as when the module runs.
            named = self.named_scopes[facts.path] = {
                (scope.parent, scope.name): scope.id for scope in facts.scopes
                if scope.kind == "function" or scope.kind == "class"}
        found = named.get((parent, name))
        return None if found is None else (facts.path, found)

    def _member(self, facts: FileFacts, owner: ScopeRef | None, rest: str,
                qualified: str) -> Resolved:
        if owner is None:
            return Resolved(qualified)
        member = self.class_member(owner, rest.split(".")[0])
        return Resolved(qualified, function=member if "." not in rest else None)

    def class_member(self, cls: ScopeRef, name: str) -> ScopeRef | None:
        """A method of a project class, looking through project base classes."""
        for owner in self.class_lineage(cls):
            found = self._scope_named(self.files[owner[0]], owner[1], name)
            if found:
                return found
        return None

    def class_lineage(self, cls: ScopeRef) -> Iterator[ScopeRef]:
        """A project class, then its project base classes, depth first and each once, down to
        `_MAX_BASE_DEPTH`: where what its instances hold is looked up."""
        seen: set[ScopeRef] = set()
        pending = [(cls, 0)]
        while pending:
            current, depth = pending.pop()
            facts = self.files[current[0]]
            scope = facts.scopes[current[1]]
            if scope.kind != "class" or depth > _MAX_BASE_DEPTH or current in seen:
                continue
            seen.add(current)
            yield current
            bases = [self.resolve(facts, scope.parent, base).function for base in scope.bases]
            pending += [(base, depth + 1) for base in reversed(bases) if base is not None]

    def _self_member(self, facts: FileFacts, method_scope: int, rest: str,
                     dotted: str) -> Resolved:
        cls = facts.scopes[method_scope].parent
        if not rest or facts.scopes[cls].kind != "class":
            return Resolved(dotted)
        owner = (facts.path, cls)
        attribute = rest.split(".")[0]
        if "." not in rest:
            member = self.class_member(owner, attribute)
            if member:
                return Resolved(f"{facts.module}.{facts.scopes[cls].qualname}.{rest}",
                                function=member)
        api = self.attribute_type(owner, attribute)
        if api:
            return Resolved(dotted, instance_of=api, attribute=rest.partition(".")[2])
        if self._derives_builder(owner, 0):
            return Resolved(dotted, instance_of="ConfigurationBuilder", attribute=rest)
        return Resolved(f"{facts.module}.{facts.scopes[cls].qualname}.{rest}",
                        instance_of_project=owner)

    def attribute_type(self, cls: ScopeRef, attribute: str) -> str | None:
        """The Dara class assigned to `self.<attribute>` anywhere in a project class: made
        there, or a Dara object (or a builder's router) the method reads
        (`self.router = self.config.router`)."""
        facts = self.files[cls[0]]
        asked = (cls, attribute)
        if asked in self.typing_attributes:
            return None  # `self.im = self.im.crop()`: its type is asked while it is made
        self.typing_attributes.add(asked)
        try:
            for binding in self.stores_on_self(facts, cls[1], attribute):
                value = binding.value
                if value is not None and value.kind == "call":
                    resolved = self.resolve(facts, binding.scope, value.text)
                    if resolved.api:
                        return resolved.api
                elif value is not None and value.kind in ("name", "attr"):
                    found = (self.lookup(facts, binding.scope, value.text)
                             if value.kind == "name" else None)
                    if found is not None and found[0].kind == "param" and not found[0].target:
                        # `self.router = router`: what every caller hands the parameter.
                        passed = self._passed_kind(facts, found[1], value.text, 0)
                        if passed is not None:
                            return passed
                        continue
                    held = self.resolve(facts, binding.scope, value.text)
                    if held.instance_of and not held.attribute:
                        return held.instance_of
                    if (held.instance_of, held.attribute) == ("ConfigurationBuilder", "router"):
                        return "Router"
            return None
        finally:
            self.typing_attributes.discard(asked)

    def stores_on_self(self, facts: FileFacts, cls: int, attribute: str) -> list[Binding]:
        """The `self.<attribute> = ...` bindings in the methods of class `cls` of a file, in
        order (grouped once per file: asking for each attribute of each class of a large
        module must not scan the module each time)."""
        stores = self.self_stores.get(facts.path)
        if stores is None:
            stores = self.self_stores[facts.path] = {}
            for binding in facts.bindings:
                if binding.kind == "attr" and binding.name.startswith("self."):
                    owner = facts.scopes[binding.scope].parent
                    stores.setdefault((owner, binding.name[5:]), []).append(binding)
        return stores.get((cls, attribute), [])

    def _from_value(self, facts: FileFacts, scope_id: int, value: Value, head: str, rest: str,
                    depth: int) -> Resolved:
        base = facts.module
        if scope_id:
            base = f"{base}.{facts.scopes[scope_id].qualname}"
        qualified = f"{base}.{head}.{rest}" if rest else f"{base}.{head}"
        if value.kind == "call" and value.text:
            preset = facts.calls[value.call]
            # `AppFactory(...).build()` is called on a call's result: `_resolve_callee` says.
            made_by = (self._resolve_callee(facts, preset, depth + 1) if value.text[0] == "."
                       else self.resolve(facts, scope_id, value.text, depth + 1))
            if made_by.qualified == "functools.partial" and not rest and (
                    preset.kwarg("uid") is None and preset.kwarg("**") is None):
                # `make = partial(DerivedVariable, ...)`: a call of `make` calls what it wraps.
                # One presetting the uid (or maybe: `**options`) is left unresolved: its calls
                # have a uid no call shows, which a fix must never write over.
                wrapped = preset.argument(0, "func")
                if wrapped is not None and wrapped.kind in ("name", "attr"):
                    return self.resolve(facts, scope_id, wrapped.text, depth + 1)
            return self._made_member(made_by, rest, qualified, depth)
        if value.kind in ("name", "attr") and value.text != head:
            aliased = self.resolve(facts, scope_id, value.text, depth + 1)
            if rest:
                return self._extend(aliased, rest, facts, scope_id, depth)
            return aliased
        if value.kind == "item":
            item = self.returned_item(facts, value, depth + 1)
            if item is not None:
                held = self.resolve(self.files[item[0]], item[1], item[2].text, depth + 1)
                return self._extend(held, rest, facts, scope_id, depth) if rest else held
        if value.kind == "lambda" and not rest:
            return Resolved(qualified, function=(facts.path, value.scope))
        return Resolved(qualified)

    def _made_member(self, made_by: Resolved, rest: str, qualified: str,
                     depth: int) -> Resolved:
        """`rest` of what a call of `made_by` gives: a Dara object, a route, an instance of
        a project class (its class's or its factory's)."""
        if made_by.api:
            if made_by.function is not None and rest and "." not in rest:
                # A method of a project subclass of a Dara class (`config.register_pages()`).
                member = self.class_member(made_by.function, rest)
                if member:
                    return Resolved(qualified, function=member)
            kind = "Router" if made_by.api in ROUTE_CLASSES else made_by.api
            return Resolved(qualified, instance_of=kind, attribute=rest)
        if _makes_route(made_by):
            return Resolved(qualified, instance_of="Router", attribute=rest)
        made = made_by.function
        if made is not None and self._is_class(made):
            return self._project_instance(made, rest, qualified)
        if made is not None:
            returned = self.returned_kind(made, depth + 1)
            if returned is not None and returned.api:
                return Resolved(qualified, instance_of=returned.api, attribute=rest)
            if returned is not None and returned.function:
                return self._project_instance(returned.function, rest, qualified)
        return Resolved(qualified)

    def _extend(self, base: Resolved, rest: str, facts: FileFacts, scope_id: int,
                depth: int) -> Resolved:
        if base.api:
            return Resolved(f"{base.qualified}.{rest}", api=dara_name(f"{base.qualified}.{rest}"))
        if base.instance_of:
            attribute = f"{base.attribute}.{rest}" if base.attribute else rest
            return Resolved(f"{base.qualified}.{rest}", instance_of=base.instance_of,
                            attribute=attribute)
        return self.resolve_qualified(f"{base.qualified}.{rest}", depth + 1, facts)

    def resolve_call(self, facts: FileFacts, call: Call) -> Resolved:
        resolutions = self.call_resolutions.get(facts.path)
        if resolutions is not None:
            return resolutions[call.id]
        return self._resolve_callee(facts, call)

    def _resolve_callee(self, facts: FileFacts, call: Call, depth: int = 0) -> Resolved:
        """What a call calls; `depth` > 0 for a call met while resolving another name."""
        if call.func_call >= 0 and call.callee.startswith("."):
            if facts.calls[call.func_call].callee == "super":
                return self._super_member(facts, call)
            # `InsightsApp().build()`: a method of the call's result, as if it had been bound
            # to a name first (`app = InsightsApp(); app.build()`).
            made_by = self._resolve_callee(facts, facts.calls[call.func_call], depth)
            return self._made_member(made_by, call.callee[1:], call.callee, depth)
        return (self.resolve(facts, call.scope, call.callee, depth) if call.callee
                else Resolved(""))

    def _super_member(self, facts: FileFacts, call: Call) -> Resolved:
        """`super().__init__(...)` in a method: that method of the class's project bases."""
        method = facts.scopes[call.scope]
        cls = facts.scopes[method.parent] if method.kind == "function" else None
        if cls is None or cls.kind != "class" or "." in call.callee[1:]:
            return Resolved(call.callee)
        for base in cls.bases:
            resolved = self.resolve(facts, cls.parent, base)
            member = self.class_member(resolved.function, call.callee[1:]) if (
                resolved.function) else None
            if member:
                return Resolved(call.callee, function=member)
        return Resolved(call.callee)

    def value_api(self, facts: FileFacts, scope_id: int, value: Value | None) -> str | None:
        """The Dara name a value is a call to, or is bound to (`store=my_store`)."""
        if value is None:
            return None
        if value.kind == "call":
            return self.resolve_call(facts, facts.calls[value.call]).api
        if value.kind in ("name", "attr"):
            resolved = self.resolve(facts, scope_id, value.text)
            return resolved.instance_of if not resolved.attribute else None
        return None

    # ---------------------------------------------------------------- indexing

    def _index_calls(self, facts: FileFacts) -> None:
        # `resolve`'s memo read inline: most callees of a file were resolved before (`df.x`,
        # `html.Div` again and again), and two calls per call site cost more than the lookup.
        memo = self.memo.get(facts.path)
        if memo is None:
            memo = self.memo[facts.path] = {}
        local = self.local_names[facts.path]
        resolutions: list[Resolved] = []
        resolved_calls, calls_by_api = self.resolved_calls, self.calls_by_api
        for call in facts.calls:
            callee = call.callee
            if not callee or (callee[0] == "." and call.func_call >= 0):
                found = self._resolve_callee(facts, call)
            else:
                scope_id = call.scope
                key: str | tuple[int, str] = callee
                if scope_id and callee.partition(".")[0] in local:
                    key = (scope_id, callee)
                else:
                    scope_id = 0  # bound at module level or not at all, as `resolve` keys it
                known = memo.get(key)
                if known is None:
                    # What `resolve` does on a miss, without working out the key again.
                    known = memo[key] = self._resolve(facts, scope_id, callee, 0)
                found = known
            resolutions.append(found)
            api, instance_of = found.api, found.instance_of
            if (api is not None or instance_of is not None or found.function is not None
                    or found.instance_of_project is not None):
                resolved_calls.append((facts, call, found))
                if api:
                    calls_by_api[api].append((facts, call))
                elif instance_of:
                    self.method_calls[(instance_of, found.attribute)].append((facts, call))
        self.call_resolutions[facts.path] = resolutions

    def _index_decorators(self, facts: FileFacts) -> None:
        for scope in facts.scopes:
            for decorator in scope.decorators:
                name = decorator.text
                resolved = self.resolve(facts, scope.parent, name) if name else None
                if resolved is None:
                    continue
                if resolved.api in DECORATORS or resolved.api == "track_progress":
                    self.decorated[resolved.api].append((facts, scope))
                elif resolved.instance_of == "ConfigurationBuilder" and resolved.attribute in (
                        "on_startup", "scheduler"):
                    self.decorated[f"config.{resolved.attribute}"].append((facts, scope))

    def _index_imports(self, facts: FileFacts) -> None:
        for binding in self.import_bindings[facts.path]:
            imported, _ = self.split_module(binding.imported_module, facts)
            if imported is not None and imported is not facts:
                self.imports[facts.path].add(imported.path)
                self.imported_heads.add(binding.target.partition(".")[0])
            elif imported is None:
                self.outside_heads.add(binding.target.partition(".")[0])
        # Modules imported by name are imported all the same: the app runs them.
        for modules in _named_imports(self).get(facts.path, {}).values():
            self.imports[facts.path].update(m.path for m in modules if m is not facts)

    def removable_import(self, facts: FileFacts, written: str) -> tuple[str, str] | None:
        """(module, name) of the module-level `from module import name [as written]` a call
        was written through (`MemoryBackend(...)`), for an edit that removes the call to drop
        when nothing else uses it; None for another name, or one another module imports from
        this one."""
        found = self.lookup(facts, 0, written) if "." not in written else None
        if found is None or found[0].kind != "import" or "." not in found[0].target or (
                self.imported_from(facts, written)):
            return None
        return found[0].target.rsplit(".", 1)[0], written

    def direct_importers(self, path: str) -> Sequence[str]:
        """The files that import the module at `path` themselves."""
        if not self.imported_by:
            for importer, imported in self.imports.items():
                for target in imported:
                    self.imported_by.setdefault(target, []).append(importer)
        return self.imported_by.get(path, ())

    def imported_from(self, facts: FileFacts, name: str) -> bool:
        """Whether another project module imports `name` from the module of `facts`: an
        import an edit leaves unused there is still another module's."""
        for path in self.direct_importers(facts.path):
            if path == facts.path:
                continue
            importer = self.files[path]
            for binding in self.import_bindings[path]:
                found, rest = self.split_module(binding.imported_module, importer)
                if found is not facts:
                    continue
                if rest.partition(".")[0] == name:
                    return True
                # The module itself (`from app import common`): `common.UpdateVariable`.
                if not rest:
                    read = self.dotted_reads.get(path)
                    if read is None:
                        read = self.dotted_reads[path] = _dotted_reads(importer)
                    if (f"{binding.name}.{name}" in read
                            or f"{binding.imported_module}.{name}" in read):
                        return True
        return False

    def files_reachable(self, start: FileFacts) -> set[str]:
        """Paths of the project modules `start` imports, directly or not, with the packages
        that importing them runs (and `start` itself)."""
        seen = {start.path}
        queue = deque([start.path])
        while queue:
            for path in self._run_by_imports(queue.popleft()):
                if path not in seen:
                    seen.add(path)
                    queue.append(path)
        return seen

    def files_reaching(self, targets: Set[str]) -> set[str]:
        """Paths of the files whose `files_reachable` holds one of `targets` (the targets
        too): one walk back along the imports, not one walk forward from every file."""
        importers = self.importers
        if not importers and self.imports:
            for path in self.files:
                for run in self._run_by_imports(path):
                    importers.setdefault(run, []).append(path)
        seen = set(targets)
        queue = deque(seen)  # what is reached does not depend on the order
        while queue:
            for path in importers.get(queue.popleft(), ()):
                if path not in seen:
                    seen.add(path)
                    queue.append(path)
        return seen

    def _run_by_imports(self, path: str) -> frozenset[str]:
        """The project modules a file imports, each with the packages importing it runs."""
        found = self.run_by_imports.get(path)
        if found is None:
            run: set[str] = set()
            for imported in self.imports.get(path, ()):
                packages = self.packages_run.get(imported)
                if packages is None:
                    facts = self.files[imported]
                    parts = facts.module.split(".")
                    packages = self.packages_run[imported] = [
                        package.path for package in (
                            self.module_named(".".join(parts[:cut]), facts)
                            for cut in range(1, len(parts) + 1)) if package is not None]
                run.update(packages)
            found = self.run_by_imports[path] = frozenset(run)
        return found

    # ---------------------------------------------------------------- when code runs

    def _classify(self) -> None:
        for facts in self.files.values():
            self.roots["build"].add((facts.path, 0))
            for scope in facts.scopes[1:]:
                if scope.kind == "class":
                    self._edge((facts.path, scope.parent), (facts.path, scope.id), scope.loop,
                               "class body")
            # None where a star import may bind any name to a function.
            naming = None if "*" in self.module_bindings[facts.path] else (
                self.function_names[facts.path])
            for call, resolved in zip(facts.calls, self.call_resolutions[facts.path],
                                      strict=True):
                api = resolved.api
                if (api is not None and api not in _APIS_TAKING_CALLABLES
                        and resolved.instance_of is None and resolved.function is None
                        and resolved.instance_of_project is None and call.func_call < 0):
                    continue  # a component or other Dara call: no slot reaches a function
                if (api is None and resolved.instance_of is None
                        and resolved.function is None and resolved.instance_of_project is None
                        and call.func_call < 0):
                    # Most calls are of code outside Dara and the project: their edges are
                    # the project functions they are handed (what `_call_edges` makes of it).
                    qualified = resolved.qualified
                    self._callback_edges(facts, call, naming, qualified == "dataclasses.field",
                                         qualified in _CALLING_PER_ITEM)
                    if call.packed & SUBSCRIPTED:
                        self._dispatch_edges(facts, call)
                elif api is None and resolved.instance_of is None:
                    self._project_call_edges(facts, call, resolved, naming)
                else:
                    self._call_edges(facts, call, resolved)
        # `for register in REGISTRARS: register(...)` calls each element once, as if the
        # loop were unrolled, and `module.register(...)` each module `module` may be imported
        # as; a `partial(f, ...)` element has the callback edge `partial` already gives `f`.
        for function, looped in _indirect_calls(self).items():
            for facts, call, through_partial in looped:
                if not through_partial:
                    self._edge((facts.path, call.scope), function, False, "call")
        for api in DECORATORS:
            for facts, scope in self.decorated[api]:
                self.roots["request"].add((facts.path, scope.id))
        for facts, scope in self.decorated["config.scheduler"]:
            self.roots["request"].add((facts.path, scope.id))
        for facts, scope in self.decorated["config.on_startup"]:
            self.roots["startup"].add((facts.path, scope.id))
        reached: dict[When, set[ScopeRef]] = {}
        for when in ("request", "startup", "build"):
            reached[when] = self._reach(self.roots[when])
        request, startup, build = reached["request"], reached["startup"], reached["build"]
        by_path = self.when
        for facts in self.files.values():
            path = facts.path
            by_path[path] = ["build" if ref in build else "unknown"
                             for ref in zip(repeat(path), range(len(facts.scopes)))]
        # Few bodies run at startup or per request: set over the build answer, request last
        # (it wins).
        for path, scope_id in startup:
            by_path[path][scope_id] = "startup"
        for path, scope_id in request:
            by_path[path][scope_id] = "request"
        self._count_runs()

    def _edge(self, source: ScopeRef, target: ScopeRef, loop: bool, via: str) -> None:
        edge = Edge(source, target, loop, via)
        self.edges[source].append(edge)
        self.callers[target].append(edge)

    def _callable_targets(self, facts: FileFacts, scope_id: int, value: Value,
                          partials: bool = False) -> Iterator[tuple[ScopeRef, bool]]:
        """Project functions a value passed as an argument stands for (and if it is a class);
        with `partials`, also the function a `functools.partial(...)` wraps."""
        if value.kind == "lambda":
            yield (facts.path, value.scope), False
        elif value.kind == "attr" or (
                value.kind == "name" and self._may_name_function(facts, scope_id, value.text)):
            resolved = self.resolve(facts, scope_id, value.text)
            if resolved.function:
                yield resolved.function, self.scope(resolved.function).kind == "class"
        elif value.kind in ("container", "dict"):
            for item in value.items:
                yield from self._callable_targets(facts, scope_id, item, partials)
        elif partials and value.kind == "call":
            wrapped = facts.calls[value.call]
            if wrapped.args and self.resolve_call(facts, wrapped).qualified == "functools.partial":
                yield from self._callable_targets(facts, scope_id, wrapped.args[0], partials)

    def _instance_targets(self, facts: FileFacts, scope_id: int, value: Value
                          ) -> Iterator[ScopeRef]:
        """`__call__` of page-class instances given as route content (`content=Page()`)."""
        cls: ScopeRef | None = None
        if value.kind == "call":
            made = self.resolve_call(facts, facts.calls[value.call])
            cls = made.function if made.function and self.scope(
                made.function).kind == "class" else None
        elif value.kind in ("name", "attr"):
            cls = self.resolve(facts, scope_id, value.text).instance_of_project
        if cls is not None:
            member = self.class_member(cls, "__call__")
            if member:
                yield member

    def _callback_edges(self, facts: FileFacts, call: Call,
                        naming: frozenset[str] | None, declares_field: bool = False,
                        per_item: bool = False) -> None:
        """The callback edges of the project functions a call is handed. A bare name outside
        `naming` (the file's `function_names`; None: any name) is no function (most are).
        A dataclass field's `default_factory` runs where its dataclass is made, not here.
        `per_item`: the callee calls what it is handed once per item (`map`), as a loop."""
        for value in call.args:
            kind = value.kind
            if kind in _CALLABLE_KINDS and (
                    kind != "name" or naming is None or value.text in naming):
                self._callback_edge(facts, call, value, per_item)
        for keyword, value in call.kwargs:
            kind = value.kind
            if kind in _CALLABLE_KINDS and (
                    kind != "name" or naming is None or value.text in naming) and not (
                    declares_field and keyword == "default_factory"):
                self._callback_edge(facts, call, value, per_item)

    def _project_call_edges(self, facts: FileFacts, call: Call, resolved: Resolved,
                            naming: frozenset[str] | None) -> None:
        """`_call_edges` of a call that is neither of a Dara name nor of a method of a Dara
        object: it has no request or content slots."""
        source = (facts.path, call.scope)
        # A record (`PageSpec("Home", home)`) keeps the functions it is given.
        if not self._callee_edges(source, call, resolved):
            self._callback_edges(facts, call, naming)
        if call.func_call >= 0:
            maker = self.resolve_call(facts, facts.calls[call.func_call])
            if (maker.instance_of, maker.attribute) == ("ConfigurationBuilder", "scheduler"):
                for value in call.args:  # `config.scheduler(job)(fn)`: a job every worker runs
                    for target, _ in self._callable_targets(facts, call.scope, value, True):
                        self.roots["request"].add(target)
            elif not call.callee:  # `make_page('orders')()`: runs the function returned
                for target in self._returned_functions(facts, facts.calls[call.func_call]):
                    self._edge(source, target, call.loop, "call")

    def _callee_edges(self, source: ScopeRef, call: Call, resolved: Resolved) -> bool:
        """The edges to the project code a call runs: a function, a class's `__init__` and
        default factories, an instance's `__call__`. Whether the callee is a record class
        (it keeps the functions it is given and calls none)."""
        record = False
        if resolved.function:
            target = resolved.function
            if self.scope(target).kind == "class":
                self._instantiation_edges(source, target, call)
                record = is_record(self, target)
            else:
                self._edge(source, target, call.loop, "call")
        if resolved.instance_of_project and not resolved.function and not resolved.attribute:
            member = self.class_member(resolved.instance_of_project, "__call__")
            if member:
                self._edge(source, member, call.loop, "call")
        return record

    def _instantiation_edges(self, source: ScopeRef, cls: ScopeRef, call: Call) -> None:
        """A call that makes an instance of a project class runs its `__init__`, and the
        default factory of every dataclass field the call does not give."""
        init = self.class_member(cls, "__init__")
        if init:
            self._edge(source, init, call.loop, "instantiation")
        for field_name, factory in self._default_factories(cls):
            if call.kwarg(field_name) is None:
                self._edge(source, factory, call.loop, "default factory")

    def _callback_edge(self, facts: FileFacts, call: Call, value: Value,
                       per_item: bool) -> None:
        if value.kind == "lambda":
            self._edge((facts.path, call.scope), (facts.path, value.scope),
                       per_item or call.loop, "callback")
        elif value.kind == "attr" or (
                value.kind == "name" and self._may_name_function(facts, call.scope, value.text)):
            target = self.resolve(facts, call.scope, value.text).function
            if target is not None and self.files[target[0]].scopes[target[1]].kind != "class":
                self._edge((facts.path, call.scope), target, per_item or call.loop, "callback")
        else:
            for target, is_class in self._callable_targets(facts, call.scope, value):
                if not is_class:
                    self._edge((facts.path, call.scope), target, per_item or call.loop,
                               "callback")

    def _dispatch_edges(self, facts: FileFacts, call: Call) -> None:
        """`VIEWS[kind]()` runs one of the callables the name holds (`_held_values`; the name
        bound in the call's scopes, or imported from a project module): an edge to each, as
        for a call of it."""
        if not call.callee or "." in call.callee:
            return
        found = self.lookup(facts, call.scope, call.callee)
        if found is None:
            return
        binding, bound_in = found
        owner = facts
        if binding.kind == "import":
            module, rest = self.split_module(binding.target, facts)
            imported = self.module_bindings[module.path].get(rest) if (
                module is not None and rest and "." not in rest) else None
            if module is None or imported is None:
                return
            owner, binding, bound_in = module, imported, 0
        source = (facts.path, call.scope)
        for held in self._held_values(owner, bound_in, binding.name):
            for target, is_class in self._callable_targets(owner, bound_in, held):
                if is_class:
                    self._instantiation_edges(source, target, call)
                else:
                    self._edge(source, target, call.loop, "dispatch")

    def _held_values(self, facts: FileFacts, scope_id: int, name: str) -> Iterator[Value]:
        """What a name's bindings in one scope put into what it holds: literal dicts, lists
        and tuples, the arguments of `dict(...)` (`VIEWS = dict(VIEWS, extra=view)`), and
        items stored into it there (`VIEWS['extra'] = view`); not what other code adds."""
        for binding in self.bindings_in(facts.path, scope_id, name):
            value = binding.value
            if binding.kind != "assign" or value is None:
                continue
            if value.kind in ("dict", "container"):
                yield value
            elif value.kind == "call":
                made = facts.calls[value.call]
                if self.resolve_call(facts, made).qualified == "dict":
                    yield from made.args
                    yield from (given for _, given in made.kwargs)
        for binding in facts.bindings:
            if (binding.kind == "subscript" and binding.name == name
                    and binding.scope == scope_id and binding.value is not None):
                yield binding.value

    def _may_name_function(self, facts: FileFacts, scope_id: int, name: str) -> bool:
        """False where a bare name cannot resolve to a project function or class (a
        parameter, or a variable not bound to a function or an alias): most arguments."""
        found = self.lookup(facts, scope_id, name)
        if found is None:
            return True  # a star import may provide it
        binding = found[0]
        if binding.kind == "assign":
            return binding.value is not None and binding.value.kind in _ALIAS_KINDS
        return binding.kind in _NAMING_KINDS

    def _call_edges(self, facts: FileFacts, call: Call, resolved: Resolved) -> None:
        source = (facts.path, call.scope)
        self._callee_edges(source, call, resolved)
        request_args: tuple[tuple[int, str], ...] = ()
        content_args: tuple[tuple[int, str], ...] = ()
        if resolved.api is not None or resolved.instance_of is not None:
            request_args = self._request_argument_slots(resolved)
            content_args = self._content_argument_slots(resolved)
        # A record (`PageSpec("Home", home)`) keeps the functions it is given: calls none.
        stores_only = resolved.function is not None and self._is_class(
            resolved.function) and is_record(self, resolved.function)
        # A Dara call reaches the functions it is given only through these slots.
        arguments = _arguments(with_spelled_keywords(self, facts, call)) if (
            resolved.api is None or request_args or content_args) else ()
        for position, keyword, value in arguments:
            callable_kind = value.kind in _CALLABLE_KINDS
            if not callable_kind and not content_args and not (
                    request_args and value.kind == "call"):
                continue  # a constant or a call result: no function to reach (most arguments)
            slot_request = bool(request_args) and _matches(request_args, position, keyword)
            if not callable_kind and not content_args and not slot_request:
                continue  # a call outside a request slot, where it may be `partial(f, ...)`
            slot_content = bool(content_args) and _matches(content_args, position, keyword)
            if slot_content and call.loop and value.kind in ("name", "attr"):
                passes = loop_passes(self, facts, call.scope, value.text, call.line)
                if passes is not None:
                    # One route per element of a literal collection, as if unrolled.
                    for owner, owner_scope, element in passes:
                        self._route_content_edges(source, owner, owner_scope, element)
                    continue
            # A request slot's `partial(f, ...)` runs `f` per request; route content is left
            # to the callback edge `partial` already gives `f`, so that it is counted once.
            for target, is_class in self._callable_targets(facts, call.scope, value,
                                                           slot_request):
                if slot_request:
                    self.roots["request"].add(target)
                elif slot_content:
                    entry = self.class_member(target, "__init__") if is_class else target
                    if entry:
                        self._edge(source, entry, call.loop, "route content")
                    if is_class:
                        member = self.class_member(target, "__call__")
                        if member:
                            self._edge(source, member, call.loop, "route content")
                elif resolved.api is None and not is_class and not stores_only:
                    # A function handed to code outside Dara runs when that code runs.
                    self._edge(source, target, call.loop, "callback")
            if slot_content:
                for member in self._instance_targets(facts, call.scope, value):
                    self._edge(source, member, call.loop, "route content")
                if value.kind == "call":
                    for target in self._returned_functions(facts, facts.calls[value.call]):
                        self._edge(source, target, call.loop, "route content")
        root: When | None = None
        if call.func_call >= 0:
            maker = self.resolve_call(facts, facts.calls[call.func_call])
            if (maker.instance_of, maker.attribute) == ("ConfigurationBuilder", "scheduler"):
                root = "request"  # `config.scheduler(job)(fn)`: a job every worker runs
        elif (resolved.instance_of, resolved.attribute) == ("ConfigurationBuilder", "on_startup"):
            root = "startup"
        if root is not None:
            for value in call.args:
                for target, _ in self._callable_targets(facts, call.scope, value, True):
                    self.roots[root].add(target)

    def _default_factories(self, cls: ScopeRef) -> list[tuple[str, ScopeRef]]:
        """(field, function) for each `field(default_factory=...)` of a project dataclass and
        of its project bases: what making an instance calls for each field it is not given."""
        found = self.default_factories.get(cls)
        if found is not None:
            return found
        self.default_factories[cls] = []  # a class that names itself as a base ends here
        facts = self.files[cls[0]]
        scope = facts.scopes[cls[1]]
        found = []
        for base in scope.bases:
            parent = self.resolve(facts, scope.parent, base).function
            if parent is not None and parent != cls and self._is_class(parent):
                found += self._default_factories(parent)
        if any(d.text.rpartition(".")[2] == "dataclass" for d in scope.decorators):
            for call, resolved in zip(facts.calls, self.call_resolutions[facts.path],
                                      strict=True):
                value = call.kwarg("default_factory")
                if (call.scope != cls[1] or value is None
                        or resolved.qualified != "dataclasses.field"):
                    continue
                for target, is_class in self._callable_targets(facts, cls[1], value):
                    entry = self.class_member(target, "__init__") if is_class else target
                    if entry:
                        found.append((call.target, entry))
        self.default_factories[cls] = found
        return found

    def _route_content_edges(self, source: ScopeRef, facts: FileFacts, scope_id: int,
                             value: Value) -> None:
        """Edges from `source` to what one route's content runs (a function, a page class's
        `__init__` and `__call__`, a page instance's `__call__`), for one route."""
        for target, is_class in self._callable_targets(facts, scope_id, value):
            entry = self.class_member(target, "__init__") if is_class else target
            if entry:
                self._edge(source, entry, False, "route content")
            if is_class:
                member = self.class_member(target, "__call__")
                if member:
                    self._edge(source, member, False, "route content")
        for member in self._instance_targets(facts, scope_id, value):
            self._edge(source, member, False, "route content")
        if value.kind == "call":
            for target in self._returned_functions(facts, facts.calls[value.call]):
                self._edge(source, target, False, "route content")

    def _returned_functions(self, facts: FileFacts, made: Call) -> Iterator[ScopeRef]:
        """The project functions a call's result stands for: those its project function
        returns (`make_page('orders')`, where `make_page` returns the page function it
        defines), which route content or a call of the result runs."""
        maker = self.resolve_call(facts, made).function
        if maker is None or self.scope(maker).kind != "function":
            return
        made_in = self.files[maker[0]]
        for returned in self.scope(maker).returned:
            for target, is_class in self._callable_targets(made_in, maker[1], returned):
                if not is_class:
                    yield target

    def _request_argument_slots(self, resolved: Resolved) -> tuple[tuple[int, str], ...]:
        if resolved.api in _REQUEST_CALLABLE_ARGS:
            return _REQUEST_CALLABLE_ARGS[resolved.api]
        if resolved.api in ROUTE_CLASSES or (resolved.instance_of in ("Router",) and
                                             resolved.attribute in ROUTE_METHODS):
            return ((-1, "on_load"),)
        if resolved.instance_of == "ConfigurationBuilder":
            if resolved.attribute in _CONFIG_REQUEST_METHODS:
                return _CONFIG_REQUEST_METHODS[resolved.attribute]
            if resolved.attribute.startswith("router.") and resolved.attribute[7:] in ROUTE_METHODS:
                return ((-1, "on_load"),)
        return ()

    def _content_argument_slots(self, resolved: Resolved) -> tuple[tuple[int, str], ...]:
        if resolved.api in ROUTE_CLASSES:
            return _ROUTER_CONTENT
        if resolved.instance_of == "Router" and resolved.attribute in ROUTE_METHODS:
            return _ROUTER_CONTENT
        if resolved.instance_of == "ConfigurationBuilder":
            if resolved.attribute in _BUILD_CONTENT_METHODS:
                return _BUILD_CONTENT_METHODS[resolved.attribute]
            if resolved.attribute.startswith("router.") and resolved.attribute[7:] in ROUTE_METHODS:
                return _ROUTER_CONTENT
        return ()

    def _reach(self, roots: set[ScopeRef]) -> set[ScopeRef]:
        seen = set(roots)
        queue = deque(roots)  # what is reached does not depend on the order
        while queue:
            for edge in self.edges.get(queue.popleft(), ()):
                if edge.target not in seen:
                    seen.add(edge.target)
                    queue.append(edge.target)
        return seen

    def _count_runs(self) -> None:
        """How many times per process each build-time body runs (1 or REPEATED_RUNS)."""
        counting: set[ScopeRef] = set()
        for path, when in self.when.items():
            self.runs[path] = [-1] * len(when)
        callers = self.callers
        for path, when in self.when.items():  # filled file by file in path order: sorted
            runs, scopes = self.runs[path], self.files[path].scopes
            runs[0] = 1
            for scope_id in range(1, len(when)):
                if runs[scope_id] >= 0:
                    continue
                if (path, scope_id) not in callers:
                    # What `_count` answers for a body nothing calls (most), without the call.
                    runs[scope_id] = REPEATED_RUNS if scopes[scope_id].loop else 0
                    continue
                self._count((path, scope_id), counting)
        self._count_per_process()

    def _count_per_process(self) -> None:
        """Separate apps of a monorepo run in separate processes: a body that each of them
        runs once runs once per process. A process is what an unimported module that builds
        an app imports, with the modules no such process imports (tests, scripts)."""
        repeated = [(path, scope_id) for path, runs in self.runs.items()
                    for scope_id, count in enumerate(runs) if count >= REPEATED_RUNS
                    and self.when[path][scope_id] in ("build", "startup")
                    and not self.files[path].scopes[scope_id].loop]
        if not repeated:
            return
        imported = set().union(*self.imports.values())
        made = self.calls_by_api.get("ConfigurationBuilder", ())
        builders = {facts.path for facts, _ in made}
        entries = sorted(self.files_reaching(builders) - imported)
        if len(entries) < 2:
            return
        reached = [self.files_reachable(self.files[path]) for path in entries]
        # Only an entry whose import builds an app is a process of its own; one that makes
        # apps only in its functions (tests calling `create_app()`, one pytest process for
        # all of them) runs in every process, as modules no process imports do.
        builds = [self._builds_an_app(files, made) for files in reached]
        entries = [path for path, app in zip(entries, builds, strict=True) if app]
        reached = [files for files, app in zip(reached, builds, strict=True) if app]
        if len(entries) < 2:
            return
        shared = set(self.files).difference(*reached)
        processes: list[tuple[frozenset[str], dict[ScopeRef, int]]] = [
            (frozenset(files | shared), {}) for files in reached]
        self.processes = [files for files, _ in processes]
        # The processes that run each file, in order: all of them for a file none imports.
        running: dict[str, list[tuple[frozenset[str], dict[ScopeRef, int]]]] = defaultdict(list)
        for files, process in zip(reached, processes, strict=True):
            for path in files:
                running[path].append(process)
        for ref in repeated:
            most = max(self._count(ref, set(), files, memo)
                       for files, memo in (processes if ref[0] in shared else running[ref[0]]))
            self.runs[ref[0]][ref[1]] = most

    def _builds_an_app(self, files: set[str], made: Sequence[tuple[FileFacts, Call]]) -> bool:
        """Whether importing `files` (what an entry module imports) makes a builder: one made
        at module level, or in code their module-level code calls."""
        sites = {(facts.path, call.scope) for facts, call in made if facts.path in files}
        if any(scope == 0 for _, scope in sites):
            return True
        return bool(sites) and not sites.isdisjoint(self._reach({(path, 0) for path in files}))

    def _count(self, ref: ScopeRef, counting: set[ScopeRef],
               within: frozenset[str] | None = None,
               memo: dict[ScopeRef, int] | None = None) -> int:
        """Runs of `ref`, by its callers in the files `within` only when given (with `memo`)."""
        # A method, not a closure: a recursive closure is a reference cycle that would keep
        # the whole index alive until a full garbage collection.
        counted = self.runs[ref[0]]
        if memo is None:
            if counted[ref[1]] >= 0:
                return counted[ref[1]]
        elif ref in memo:
            return memo[ref]
        elif 0 <= counted[ref[1]] < REPEATED_RUNS:
            return counted[ref[1]]  # callers in fewer files run it no more often
        if ref in counting:
            return REPEATED_RUNS
        counting.add(ref)
        if ref[1] == 0:
            total = 1
        else:
            total = 0
            for edge in self.callers.get(ref, ()):
                caller = edge.source
                if within is not None and caller[0] not in within:
                    continue
                runs = (self._count(caller, counting, within, memo)
                        if self.when[caller[0]][caller[1]] != "unknown" else 1)
                total += REPEATED_RUNS if edge.loop else runs
                if total >= REPEATED_RUNS:
                    break
            if self.scope(ref).loop:
                total = REPEATED_RUNS
        counting.discard(ref)
        total = min(total, REPEATED_RUNS)
        if memo is None:
            counted[ref[1]] = total
        else:
            memo[ref] = total
        return total

    # ---------------------------------------------------------------- queries

    def when_at(self, facts: FileFacts, scope_id: int) -> When:
        """When code directly in this scope runs (class bodies run with their parent)."""
        when = self.when.get(facts.path)
        return when[scope_id] if when is not None else "unknown"

    def when_of(self, ref: ScopeRef) -> When:
        """When code directly in the scope `ref` runs (as `when_at` says)."""
        when = self.when.get(ref[0])
        return when[ref[1]] if when is not None else "unknown"

    def scopes_running(self, facts: FileFacts, when: When) -> frozenset[int]:
        """The ids of the file's scopes whose code runs `when` (as `when_at` says): rules
        that look only at request-time code skip the rest of a file, or all of it."""
        key = (facts.path, when)
        found = self.running.get(key)
        if found is None:
            found = frozenset(
                scope_id for scope_id, scope_when in enumerate(self.when.get(facts.path, ()))
                if scope_when == when)
            # Most files run nothing at request time: one empty set for all of them.
            found = self.running[key] = found or _NO_SCOPES
        return found

    def runs_at(self, facts: FileFacts, scope_id: int) -> int:
        runs = self.runs.get(facts.path)
        return runs[scope_id] if runs is not None else 1

    def function_scope(self, facts: FileFacts, scope_id: int) -> int:
        """The innermost function (or module) around a scope, skipping class bodies."""
        while scope_id > 0 and facts.scopes[scope_id].kind == "class":
            scope_id = facts.scopes[scope_id].parent
        return scope_id

    def enclosing_request_root(self, facts: FileFacts, scope_id: int) -> bool:
        return (facts.path, scope_id) in self.roots["request"]


_T = TypeVar("_T")


def per_index(query: Callable[[ProjectIndex], _T]) -> Callable[[ProjectIndex], _T]:
    """A whole-project query that several rules ask, answered once per index (callers share
    the result and must not change it)."""
    @functools.wraps(query)
    def once(index: ProjectIndex) -> _T:
        if query not in index.query_results:
            index.query_results[query] = query(index)
        result: _T = index.query_results[query]
        return result
    return once


def source_root(facts: FileFacts) -> str:
    """The folder a file's module name is relative to (`services/a` for
    `services/a/app/main.py` imported as `app.main`)."""
    return _source_root(facts.path, facts.module, facts.is_package)


def _source_root(path: str, module: str, is_package: bool) -> str:
    depth = module.count(".") + (1 if is_package else 0)
    # Paths are relative and normalised (`relative_to(root).as_posix()`): cut as strings.
    parts = path.split("/")
    cut = len(parts) - 1 - depth
    return "/".join(parts[:cut]) if cut > 0 else ""


def _dotted_reads(facts: FileFacts) -> frozenset[str]:
    """Every dotted name the file reads in a call or a value its facts hold, with each of its
    leading parts (`common.UpdateVariable` for `common.UpdateVariable.x`)."""
    texts: set[str] = set()
    pending: list[Value] = []
    for call in facts.calls:
        texts.add(call.callee)
        pending += call.args
        pending += (value for _, value in call.kwargs)
    pending += (binding.value for binding in facts.bindings if binding.value is not None)
    while pending:
        value = pending.pop()
        if value.kind == "attr":
            texts.add(value.text)
        texts.update(value.calls)
        pending += value.items
    read: set[str] = set()
    for text in texts:
        while "." in text:
            read.add(text)
            text = text.rpartition(".")[0]
    return frozenset(read)


def _folder_importing(facts: FileFacts, name: str) -> str:
    """The folder from which a file is importable as `name` (its `importable` entry under
    that name), worked out from its module name rather than looked up among the entries of
    every file of that name."""
    parts = facts.module.split(".")
    above = parts[:len(parts) - name.count(".") - 1]
    root = source_root(facts)
    return "/".join([root, *above] if root else above)


def _makes_route(made_by: Resolved) -> bool:
    """Router methods return the new route, which takes child routes in turn."""
    attribute = made_by.attribute.removeprefix("router.")
    return attribute in ROUTE_METHODS and (
        made_by.instance_of == "Router"
        or (made_by.instance_of == "ConfigurationBuilder" and made_by.attribute != attribute))


def passed_argument(facts: FileFacts, scope: Scope, name: str, call: Call) -> Value | None:
    """What a call of the function `scope` gives its parameter `name`: by keyword or by
    position (a method is called on its instance or class: the receiver is not passed)."""
    params = scope.params
    if params and params[0].name in ("self", "cls") and facts.scopes[scope.parent].kind == "class":
        params = params[1:]
    position = next((i for i, param in enumerate(params)
                     if param.name == name and param.kind == "positional"), -1)
    return call.argument(position, name) if position >= 0 else call.kwarg(name)


_BUILDER_MEMBERS = frozenset({
    "router", *ROUTE_METHODS, "set_children", "add_ws_handler", "add_endpoint",
    "add_registry_lookup", "add_template_renderer", "add_auth", "add_encoder", "on_startup",
    "scheduler", "task_module", "auth_session_backend", "configure_runtime",
})
"""What Dara's builder and router have that rules ask about: an unannotated parameter used
so is looked up among its callers' arguments (`def register_pages(config)`)."""


@per_index
def project_calls(index: ProjectIndex) -> dict[ScopeRef, list[tuple[FileFacts, Call]]]:
    """The calls of each project function, by the function (shared: read only)."""
    calls: dict[ScopeRef, list[tuple[FileFacts, Call]]] = {}
    for facts, call, resolved in index.resolved_calls:
        if resolved.function is not None:
            calls.setdefault(resolved.function, []).append((facts, call))
    return calls


@per_index
def _calls_by_name(index: ProjectIndex) -> dict[str, list[tuple[FileFacts, Call]]]:
    """Every call of the project by the last name of its callee (`pages.register` under
    `register`): where a function may be called from."""
    calls: dict[str, list[tuple[FileFacts, Call]]] = defaultdict(list)
    for facts in index.files.values():
        for call in facts.calls:
            calls[call.callee.rpartition(".")[2]].append((facts, call))
    return calls


@per_index
def _indirect_calls(index: ProjectIndex) -> dict[ScopeRef, list[tuple[FileFacts, Call, bool]]]:
    """Calls of project functions that name no function where they are made: through a loop
    over a literal collection of them (`for register in REGISTRARS: register(config.router)`,
    each element a function or a `functools.partial` of one that presets keywords only: the
    arguments keep their places, the flag says so), and of a function of a module imported
    by name (`module = importlib.import_module(f'app.pages.{name}')`, then
    `module.register(config.router)`: every module the name may be)."""
    found: dict[ScopeRef, list[tuple[FileFacts, Call, bool]]] = defaultdict(list)
    for facts in index.files.values():
        looped = {(b.scope, b.name) for b in facts.bindings
                  if b.value is not None and b.value.kind == "each" and "." not in b.name}
        named = _named_imports(index).get(facts.path)
        imported = _bound_modules(facts, named) if named else {}
        if not looped and not named:
            continue
        for call in facts.calls:
            modules: list[FileFacts] = []
            head, _, attribute = call.callee.partition(".")
            if head and imported and attribute and "." not in attribute:
                bound = index.lookup(facts, call.scope, head)
                modules = imported.get(id(bound[0]), []) if bound else []
            elif named and not head and call.func_call >= 0 and "." not in attribute:
                # `importlib.import_module('app.pages.sales').register(...)`
                modules = named.get(call.func_call, [])
            for module in modules:
                function = index.resolve(module, 0, attribute).function
                if function is not None and index.scope(function).kind == "function":
                    found[function].append((facts, call, False))
            if (call.scope, call.callee) not in looped:
                continue
            for owner, scope_id, element in loop_passes(index, facts, call.scope, call.callee,
                                                        call.line) or ():
                function = _looped_function(index, owner, scope_id, element)
                if function is not None:
                    found[function].append((facts, call, element.kind == "call"))
    return found


@per_index
def _named_imports(index: ProjectIndex) -> dict[str, dict[int, list[FileFacts]]]:
    """Path -> id of an `importlib.import_module(...)` call -> the project modules it may
    import (`_named_modules`), for the files that have such calls: read while the index is
    built (the imports) and after (the calls), the same whatever file is indexed first."""
    found: dict[str, dict[int, list[FileFacts]]] = {}
    for facts in index.files.values():
        # Only a module importing `importlib` imports modules by name, and most import none.
        if not any(binding.target.partition(".")[0] == "importlib"
                   for binding in index.import_bindings.get(facts.path, ())):
            continue
        named = {call.id: modules for call in facts.calls
                 for modules in [_named_modules(index, facts, call)] if modules}
        if named:
            found[facts.path] = named
    return found


def _bound_modules(facts: FileFacts, named: dict[int, list[FileFacts]]
                   ) -> dict[int, list[FileFacts]]:
    """The names a module binds to a module it imports by name, by the identity of the
    binding, with the project modules each may be (`_named_imports`)."""
    return {id(binding): named[binding.value.call] for binding in facts.bindings
            if binding.kind == "assign" and binding.value is not None
            and binding.value.kind == "call" and binding.value.call in named}


def _named_modules(index: ProjectIndex, facts: FileFacts, call: Call) -> list[FileFacts]:
    """The project modules `importlib.import_module(...)` may import: the one a constant
    names, or every module one level below the package an f-string names first
    (`f'app.pages.{name}'`); none for any other call."""
    if not call.callee.endswith("import_module") or (
            index.resolve_call(facts, call).qualified != "importlib.import_module"):
        return []
    name = call.argument(0, "name")
    if name is None:
        return []
    if name.kind == "str" and isinstance(name.const, str):
        module = index.module_named(name.const, facts)
        return [module] if module is not None else []
    prefix = name.items[0].const if name.kind == "fstring" and len(name.items) == 2 else None
    if not isinstance(prefix, str) or not prefix.endswith("."):
        return []
    return [module for dotted in index.importable
            if dotted.startswith(prefix) and "." not in dotted[len(prefix):]
            for module in [index.module_named(dotted, facts)] if module is not None]


def _looped_function(index: ProjectIndex, facts: FileFacts, scope_id: int, element: Value
                     ) -> ScopeRef | None:
    """The project function an element of a collection of callables calls: a function, or
    one a `functools.partial` presets keywords of (the arguments keep their places)."""
    if element.kind == "call":
        preset = facts.calls[element.call]
        if index.resolve_call(facts, preset).qualified != "functools.partial" or (
                len(preset.args) != 1 or preset.starred >= 0):
            return None
        element = preset.args[0]
    if element.kind not in ("name", "attr"):
        return None
    function = index.resolve(facts, scope_id, element.text).function
    return function if function is not None and index.scope(function).kind == "function" \
        else None


_CALLING_PER_ITEM = frozenset({
    "map", "filter", "sorted", "min", "max", "functools.reduce", "itertools.starmap",
    "itertools.filterfalse", "itertools.takewhile", "itertools.dropwhile",
    "itertools.groupby", "itertools.accumulate",
})
"""Callables that call the function they are handed once per item of an iterable."""

_CALLABLE_KINDS = frozenset({"lambda", "name", "attr", "container", "dict"})
"""Value kinds `_callable_targets` can find a function in."""


def _arguments(call: Call) -> Iterator[tuple[int, str, Value]]:
    """(position, keyword, value) of every argument; keyword arguments have position -1."""
    for position, value in enumerate(call.args):
        yield position, "", value
    for keyword, value in call.kwargs:
        yield -1, keyword, value


def _matches(slots: tuple[tuple[int, str], ...], position: int, keyword: str) -> bool:
    return any((keyword and keyword == name) or (position >= 0 and position == index)
               for index, name in slots)
