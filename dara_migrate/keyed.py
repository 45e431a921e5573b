"""DM104 keyed uids: a definition built by code that runs more than once per process gets a
uid that differs per run and is the same on every worker.

- In a loop or comprehension over a literal collection (or a module-level name bound to one,
  or `range(<int>)`): an f-string over the loop variable, `uid=f'pkg.mod:metric.{name}'`.
- In a function, or a class's `__init__`, called from several build-time sites: a keyword-only
  `uid_prefix: str | None = None` parameter, `uid=f'{uid_prefix}.total' if uid_prefix else
  None` (callers outside the project keep today's behaviour), and at each call site a distinct
  literal from the caller's scope and target name (or its literal arguments). A site in a
  literal loop passes an f-string over its loop variable; a site in a function that already
  takes a `uid_prefix` passes one derived from it.

Anything else has no distinct stable key and is left to a person.
"""

from __future__ import annotations

import ast
import itertools
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from dara_migrate.facts import Binding, Call, FileFacts
from dara_migrate.index.definitions import (
    Definition,
    collect_definitions,
    defined_uids,
    snake,
)
from dara_migrate.index.project import ProjectIndex, ScopeRef
from dara_migrate.loop_keys import KEY_ALPHABET, distinct, distinct_keys, loop_key
from dara_migrate.tree import walk

if TYPE_CHECKING:
    from dara_migrate.edits import Edit

PREFIX = "uid_prefix"
_SLUG = re.compile(r"[^A-Za-z0-9]+")
_PARSED_KEPT = 8
"""Files whose trees a planner keeps: a file's findings come together, and a factory's call
sites are looked at once; every tree kept would hold the whole project's in memory."""
_MUTATORS = frozenset({"append", "extend", "insert", "remove", "pop", "clear", "add",
                       "update", "discard", "setdefault", "sort", "reverse", "__setitem__"})


@dataclass(frozen=True)
class KeyedUid:
    """The edits (by file) that key one definition's uid, and the literal parts the ids it
    makes start with."""

    edits: dict[str, list[Edit]]
    description: str
    prefixes: tuple[str, ...]


@dataclass
class KeyedPlanner:
    """Plans keyed uids for one round of `apply` (answers are shared between the findings of
    one factory, so that all its definitions and call sites agree). Without `text_of` (the
    audit) loops are assumed to run over literal keys: `keyable` then says whether a key may
    exist; `apply` checks the loops in the source."""

    index: ProjectIndex
    text_of: Callable[[str], str] | None = None
    quote_of: Callable[[str], str] = lambda _: "'"
    app_files: frozenset[str] | None = None
    """The files the apps import; a call site in none of them (a test's) runs for no app,
    and is left passing no prefix (its definitions keep random ids, as before)."""
    _parsed: dict[str, tuple[ast.Module, list[str]]] = field(default_factory=dict)
    """The most recently used files' trees and lines, at most `_PARSED_KEPT` (oldest first)."""
    _sites: dict[ScopeRef, dict[tuple[str, int], str] | None] = field(default_factory=dict)
    _taken: set[str] = field(default_factory=set)
    _starts: set[str] | None = None
    """`_taken` and every dotted start of a taken uid (`a.b` for `a.b.c`: keyed ids extend
    a base), made when the first base is chosen (the audit chooses none)."""
    _definitions: dict[tuple[str, int], Definition] = field(default_factory=dict)
    _writes: dict[str, _Writes] = field(default_factory=dict)
    """By path: what the audit reads of a module's names to judge loops over them."""

    def __post_init__(self) -> None:
        self._definitions = {d.key: d for d in collect_definitions(self.index)}
        self._taken = set(defined_uids(self.index))

    def tree(self, path: str) -> ast.Module | None:
        parsed = self._parse(path)
        return parsed[0] if parsed is not None else None

    def _parse(self, path: str) -> tuple[ast.Module, list[str]] | None:
        if self.text_of is None:
            return None
        parsed = self._parsed.pop(path, None)
        if parsed is None:
            text = self.text_of(path)
            try:
                parsed = (ast.parse(text), text.splitlines())
            except SyntaxError:
                return None
            if len(self._parsed) >= _PARSED_KEPT:
                del self._parsed[next(iter(self._parsed))]
        self._parsed[path] = parsed
        return parsed

    def keyable(self, facts: FileFacts, call: Call) -> bool:
        """Whether the definition made by `call` may get a keyed uid."""
        return self._shape(facts, call) is not None

    def loop_keyed(self, facts: FileFacts, call: Call) -> bool:
        """Whether every loop around `call` in its scope runs over distinct literal keys."""
        return self._loop_keys(facts, call) is not None

    def _shape(self, facts: FileFacts, call: Call
               ) -> tuple[Definition, list[str], dict[tuple[str, int], str] | None] | None:
        """The definition, its loop variables, and for a factory its call sites' prefixes."""
        definition = self._definitions.get((facts.path, call.id))
        if definition is None or self.index.when_at(facts, call.scope) not in (
                "build", "startup"):
            return None
        uid = definition.uid
        if uid is not None and call.kwarg("uid") is not uid:
            return None  # a positional uid cannot be given as a keyword too
        loops = self._loop_keys(facts, call) if call.loop else []
        if loops is None:
            return None
        function = self.index.function_scope(facts, call.scope)
        scope = facts.scopes[function]
        if function != call.scope or scope.loop:
            return None
        if self.index.runs_at(facts, function) <= 1:
            return (definition, loops, None) if loops else None
        sites = self._factory_sites(facts, function)
        return None if sites is None else (definition, loops, sites)

    def plan(self, facts: FileFacts, call: Call) -> KeyedUid | None:
        """The edits that key the uid of the definition made by `call`, if it can be."""
        from dara_migrate.edits import AddParameter, SetKeyword

        shape = self._shape(facts, call)
        if shape is None:
            return None
        definition, loops, sites = shape
        uid = definition.uid
        scope = facts.scopes[call.scope]
        quote = self.quote_of(facts.path)
        name = self._collection_name(facts, call) or _definition_name(
            facts, call, definition.api, self._definitions)
        keys = "".join(f".{{{var}}}" for var in loops)
        if sites is None:
            base = self._unique(f"{facts.module}:{scope.qualname + '.' if scope.qualname else ''}"
                                f"{name}")
            value = f"f{_quoted(base + keys, quote)}"
            edit = SetKeyword(call.span.line, call.span.col, "uid", value,
                              replace=uid is not None)
            return KeyedUid({facts.path: [edit]}, f"uid={value}", (f"{base}.",))
        value = f"f{_quoted('{' + PREFIX + '}.' + name + keys, quote)} if {PREFIX} else None"
        edits: dict[str, list[Edit]] = {facts.path: [
            AddParameter(scope.stmt_line, PREFIX, "str | None", "None"),
            SetKeyword(call.span.line, call.span.col, "uid", value, replace=uid is not None),
        ]}
        prefixes: list[str] = []
        for (path, call_id), prefix in sites.items():
            site = self.index.files[path].calls[call_id]
            edits.setdefault(path, []).append(
                SetKeyword(site.span.line, site.span.col, PREFIX, prefix))
            start = _literal_part(prefix)
            if start:
                prefixes.append(f"{start}.{name}")
        owner = scope.qualname.removesuffix(".__init__")
        sites_text = "its call site" if len(sites) == 1 else f"its {len(sites)} call sites"
        return KeyedUid(edits, f"uid from a {PREFIX} parameter of {owner}, given by "
                        f"{sites_text}", tuple(prefixes))

    def _unique(self, base: str) -> str:
        if self._starts is None:
            self._starts = set()
            for uid in self._taken:
                self._take(uid)
        candidate, counter = base, 1
        while candidate in self._starts:
            counter += 1
            candidate = f"{base}-{counter}"
        self._take(candidate)
        return candidate

    def _take(self, uid: str) -> None:
        self._taken.add(uid)
        if self._starts is not None:
            self._starts.add(uid)
            dot = uid.find(".")
            while dot >= 0:
                self._starts.add(uid[:dot])
                dot = uid.find(".", dot + 1)

    def _factory_sites(self, facts: FileFacts, function: int
                       ) -> dict[tuple[str, int], str] | None:
        """Call site -> the `uid_prefix` expression it passes, for every site that calls the
        factory; None when one of them has no distinct stable key."""
        ref = (facts.path, function)
        if ref not in self._sites:
            self._sites[ref] = self._find_sites(facts, function)
        return self._sites[ref]

    def _find_sites(self, facts: FileFacts, function: int
                    ) -> dict[tuple[str, int], str] | None:
        index = self.index
        scope = facts.scopes[function]
        parent = facts.scopes[scope.parent]
        if scope.kind != "function" or any(
                p.name == PREFIX and p.kind != "keyword" for p in scope.params):
            return None  # the factory's own `uid_prefix`, which its callers pass by position
        if parent.kind == "class":
            if scope.name != "__init__":
                return None
            made: ScopeRef = (facts.path, parent.id)
        else:
            made = (facts.path, function)
        ref = (facts.path, function)
        callers = index.callers.get(ref, [])
        if not callers:
            return None
        found: list[tuple[FileFacts, Call]] = []
        for source in dict.fromkeys(edge.source for edge in callers):
            edges = [e for e in index.edges.get(source, ()) if e.target == ref]
            if any(e.via not in ("call", "instantiation") for e in edges):
                return None  # passed as route content or a callback: no call to add to
            caller = index.files[source[0]]
            # `Panel('x')()` is two calls: the instantiation, and one of `__call__`.
            calls = [c for c in caller.calls if c.scope == source[1] and c.func_call < 0
                     and c.callee and index.resolve_call(caller, c).function == made]
            if len(calls) != len(edges):
                return None
            if any(c.keyword(PREFIX) is not None or c.starred >= 0 for c in calls):
                return None
            if not all(self._keyable_site(caller, c) for c in calls):
                if self.app_files is None or caller.path in self.app_files:
                    return None
                continue
            found += [(caller, site) for site in calls]
        # Sites of one name in one scope (`content=Page('sre')`, `content=Page('oncall')`)
        # are all told apart by their literal argument, not the first left without it.
        shared = Counter(self._site_base(caller, site) for caller, site in found)
        sites: dict[tuple[str, int], str] = {}
        used: Counter[str] = Counter()
        for caller, site in found:
            prefix = self._site_prefix(caller, site, used, shared)
            if prefix is None:
                return None
            sites[(caller.path, site.id)] = prefix
        return sites or None

    def _site_base(self, caller: FileFacts, site: Call) -> str:
        """A site's prefix before it is told apart: its scope's qualname and its name (a
        lambda's, `content=lambda: make_page('orders')`, is its named scope's)."""
        scope = ".".join(part for part in caller.scopes[
            self.index.function_scope(caller, site.scope)].qualname.split(".")
            if part != "<lambda>")
        return f"{caller.module}:{scope + '.' if scope else ''}{_site_name(site)}"

    def _keyable_site(self, caller: FileFacts, site: Call) -> bool:
        """Whether a call site can pass a prefix: made once at build time in its function."""
        index = self.index
        return (index.when_at(caller, site.scope) in ("build", "startup")
                and index.function_scope(caller, site.scope) == site.scope
                and not caller.scopes[site.scope].loop)

    def _site_prefix(self, caller: FileFacts, site: Call, used: Counter[str],
                     shared: Counter[str]) -> str | None:
        """The prefix a `_keyable_site` passes; None where it has no distinct stable one."""
        index = self.index
        function = site.scope
        loops = self._loop_keys(caller, site) if site.loop else []
        if loops is None:
            return None
        keys = "".join(f".{{{var}}}" for var in loops)
        name = _site_name(site)
        quote = self.quote_of(caller.path)
        if index.runs_at(caller, function) > 1:
            params = {p.name for p in caller.scopes[function].params}
            if PREFIX not in params:
                return None
            return (f"f{_quoted('{' + PREFIX + '}.' + name + keys, quote)} "
                    f"if {PREFIX} else None")
        base = self._site_base(caller, site)
        slug = _literal_slug(site)
        if (used[base] or shared[base] > 1) and slug:
            base = f"{base}.{slug}"
        used[base] += 1
        base = self._unique(base)
        if not KEY_ALPHABET.match(base):
            return None
        return f"f{_quoted(base + keys, quote)}" if keys else _quoted(base, quote)

    def _call_path(self, facts: FileFacts, call: Call) -> list[ast.AST] | None:
        parsed = self._parse(facts.path)
        if parsed is None:
            return None
        tree, lines = parsed
        line = lines[call.span.line - 1]
        return _path_to(tree, call.span.line, len(line[:call.span.col - 1].encode()))

    def _collection_name(self, facts: FileFacts, call: Call) -> str:
        """For a definition without a target built in a loop: the collection it goes into
        (`totals = {k: DV(...) for k in KEYS}`, `cards.append(DV(...))`)."""
        if not call.loop or (call.target and call.target != "**"):
            return ""
        path = self._call_path(facts, call) or []
        for node in reversed(path[:-1]):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda,
                                 ast.ClassDef)):
                return ""
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr in ("append", "add", "extend", "insert")):
                receiver = node.func.value
            elif isinstance(node, ast.Assign) and len(node.targets) == 1:
                receiver = node.targets[0]
            else:
                continue
            if isinstance(receiver, ast.Attribute):
                return snake(receiver.attr)
            return snake(receiver.id) if isinstance(receiver, ast.Name) else ""
        return ""

    def _loop_keys(self, facts: FileFacts, call: Call) -> list[str] | None:
        """Loop variables of the loops and comprehensions around a call, when every one
        iterates over distinct literal keys; None otherwise."""
        if self.text_of is None:
            if not all(loop.name and self._named_keys(facts, loop.name, loop.dict_only)
                       for loop in facts.loops if loop.holds(call)):
                return None
            return ["key"]
        tree = self.tree(facts.path)
        path = self._call_path(facts, call)
        if tree is None or path is None:
            return None
        variables: list[str] = []

        def literal(name: str) -> ast.expr | None:
            found = _module_literal(tree, name)
            if found is not None or any(_changes(node, name) for node in walk(tree)):
                return found
            return self._imported_literal(facts, name)

        for parent, child in itertools.pairwise(path):
            if isinstance(parent, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda,
                                   ast.ClassDef)):
                variables = []
            elif isinstance(parent, (ast.While, ast.AsyncFor)) and child in parent.body:
                return None
            elif isinstance(parent, ast.For) and child in parent.body:
                var = _literal_loop(literal, parent.target, parent.iter)
                if var is None:
                    return None
                variables.append(var)
            elif isinstance(parent, (ast.ListComp, ast.SetComp, ast.GeneratorExp,
                                     ast.DictComp)):
                if any(child is g for g in parent.generators):
                    return None
                for generator in parent.generators:
                    var = _literal_loop(literal, generator.target, generator.iter)
                    if var is None or generator.is_async:
                        return None
                    variables.append(var)
        return variables or None

    def _named_keys(self, facts: FileFacts, name: str, dict_only: bool) -> bool:
        """From the facts (the audit reads no source), what `_loop_keys` finds in it: whether
        the literal a loop's name stands for (bound in this module, else imported from a
        project module) has distinct keys."""
        keys = self._literal_keys(facts, name, dict_only)
        if keys is not None:
            return keys
        found = self.index.lookup(facts, 0, name)
        if found is None or found[0].kind != "import":
            return False
        module, rest = self.index.split_module(found[0].target, facts)
        return (module is not None and bool(rest) and "." not in rest
                and bool(self._literal_keys(module, rest, dict_only)))

    def _literal_keys(self, facts: FileFacts, name: str, dict_only: bool) -> bool | None:
        writes = self._writes.get(facts.path)
        if writes is None:
            writes = self._writes[facts.path] = _Writes.of(facts)
        return writes.literal_keys(facts, name, dict_only)

    def _imported_literal(self, facts: FileFacts, name: str) -> ast.expr | None:
        """The literal a name imported from a project module (`from app.regions import
        REGIONS`) is bound to there, once and never changed."""
        found = self.index.lookup(facts, 0, name)
        if found is None or found[0].kind != "import":
            return None
        module, rest = self.index.split_module(found[0].target, facts)
        if module is None or not rest or "." in rest:
            return None
        tree = self.tree(module.path)
        return _module_literal(tree, rest) if tree is not None else None


def _quoted(value: str, quote: str) -> str:
    """`value` as a string literal (uids and keys use only `[A-Za-z0-9_.:{}-]`)."""
    return f"{quote}{value}{quote}"


def _path_to(tree: ast.Module, line: int, column: int) -> list[ast.AST] | None:
    """The nodes from the module down to the call starting at (line, byte column)."""
    def descend(node: ast.AST, trail: list[ast.AST]) -> list[ast.AST] | None:
        trail = [*trail, node]
        if isinstance(node, ast.Call) and (node.lineno, node.col_offset) == (line, column):
            return trail
        for child in ast.iter_child_nodes(node):
            start = getattr(child, "lineno", None)
            end = getattr(child, "end_lineno", None)
            if start is not None and end is not None and not start <= line <= end:
                continue
            found = descend(child, trail)
            if found is not None:
                return found
        return None

    return descend(tree, [])


def _literal_loop(literal: Callable[[str], ast.expr | None], target: ast.expr,
                  iterable: ast.expr) -> str | None:
    """The loop variable when the loop runs over distinct keys every worker agrees on
    (`loop_key`, `distinct_keys`); a module-level name bound once to such a literal
    (`literal` gives it, or None) stands for it."""
    shape = loop_key(target, iterable)
    if shape is None:
        return None
    variable, source, dict_only = shape
    keys = literal(source) if isinstance(source, str) else source
    return variable if keys is not None and distinct_keys(keys, dict_only) else None


def _module_literal(tree: ast.Module, name: str) -> ast.expr | None:
    """The literal a module-level name is bound to once, and never changed in this module."""
    bound: list[ast.expr] = []
    for node in walk(tree):
        if isinstance(node, ast.Assign):
            bound.extend(node.value for t in node.targets
                         if isinstance(t, ast.Name) and t.id == name)
        elif _changes(node, name):
            return None
    if len(bound) != 1 or not any(
            isinstance(s, ast.Assign) and s.value is bound[0] for s in tree.body):
        return None
    return bound[0]


@dataclass(frozen=True, slots=True)
class _Writes:
    """A module's plain assignments of each name and the names it changes otherwise (an item
    or attribute store, `+=`, `del`, `global`, a mutating method call), from its facts."""

    assigned: dict[str, list[Binding]]
    changed: frozenset[str]

    @classmethod
    def of(cls, facts: FileFacts) -> _Writes:
        assigned: dict[str, list[Binding]] = {}
        changed = {call.callee.rpartition(".")[0] for call in facts.calls
                   if call.callee.rpartition(".")[2] in _MUTATORS}
        for binding in facts.bindings:
            if binding.kind == "assign" and not binding.target:
                assigned.setdefault(binding.name, []).append(binding)
            elif binding.kind in _CHANGING or binding.kind == "assign":
                changed.add(binding.name)
            elif binding.kind == "attr":
                changed.add(binding.name.partition(".")[0])
        return cls(assigned, frozenset(changed))

    def literal_keys(self, facts: FileFacts, name: str, dict_only: bool) -> bool | None:
        """`_module_literal` and `distinct_keys` from the facts: whether the literal a
        module-level name is bound to once, at the top, and never changed has distinct
        keys; None when the module neither binds nor changes the name (it may be
        imported)."""
        if name in self.changed:
            return False
        bound = self.assigned.get(name)
        if bound is None:
            return None
        value = bound[0].value
        if len(bound) != 1 or bound[0].scope != 0 or bound[0].stmt_col != 1 or value is None:
            return False
        if value.kind == "call":
            call = facts.calls[value.call]
            return (not dict_only and call.callee == "range" and len(call.args) == 1
                    and not call.kwargs and call.args[0].kind == "const"
                    and type(call.args[0].data) is int)
        if value.kind == "dict":
            # String keys are kept; others (numbers, names) may be keys too.
            return not value.text or distinct(value.text.split(","))
        if value.kind != "container" or dict_only:
            return False
        elements = []
        for item in value.items:
            if item.kind != "str" and not (item.kind == "const" and type(item.data) is int):
                return False
            elements.append(str(item.data))
        return distinct(elements)


_CHANGING = frozenset({"augassign", "subscript", "del", "global", "nonlocal"})
"""Binding kinds that change what a name holds other than by a plain assignment."""


def _changes(node: ast.AST, name: str) -> bool:
    """Whether a node rebinds or mutates `name` (other than a plain assignment)."""
    if isinstance(node, (ast.AugAssign, ast.AnnAssign)):
        return isinstance(node.target, ast.Name) and node.target.id == name
    if isinstance(node, (ast.Global, ast.Nonlocal)):
        return name in node.names
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        receiver = node.func.value
        return (isinstance(receiver, ast.Name) and receiver.id == name
                and node.func.attr in _MUTATORS)
    if isinstance(node, (ast.Subscript, ast.Attribute)) and isinstance(
            node.ctx, (ast.Store, ast.Del)):
        return isinstance(node.value, ast.Name) and node.value.id == name
    return False


def _definition_name(facts: FileFacts, call: Call, api: str,
                     definitions: dict[tuple[str, int], Definition]) -> str:
    """The definition's name inside its scope: the assigned name, else `<kind>_<n>`."""
    if call.target and call.target != "**":
        return snake(call.target.rsplit(".", 1)[-1])
    ordinal = 0
    for other in facts.calls:
        definition = definitions.get((facts.path, other.id))
        if (definition is None or other.scope != call.scope or definition.api != api
                or (other.target and other.target != "**")):
            continue
        ordinal += 1
        if other.id == call.id:
            break
    return f"{snake(api)}_{ordinal}"


def _site_name(site: Call) -> str:
    if site.target and site.target != "**":
        return site.target.rsplit(".", 1)[-1]
    return snake(site.callee.rsplit(".", 1)[-1])


def _literal_slug(site: Call) -> str:
    for value in site.args:
        if isinstance(value.const, str) and value.kind == "str":
            slug = _SLUG.sub("_", value.const).strip("_").lower()
            if slug:
                return slug
    return ""


def _literal_part(prefix: str) -> str:
    """The literal text a prefix expression's ids start with."""
    body = prefix[1:] if prefix.startswith("f") else prefix
    body = body.split(" if ")[0]
    return body[1:].split("{", 1)[0].rstrip("'\".")
