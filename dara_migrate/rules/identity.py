"""DM1xx: identity. Every server-resolved definition needs an id that all workers agree on."""

from __future__ import annotations

import bisect
import builtins
import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, NamedTuple, cast

from dara_migrate.autofix import Applicability, Carried, Fix, FixRound, PlannedFix
from dara_migrate.facts import Binding, Call, FileFacts, Value
from dara_migrate.index.apps import ProjectApps
from dara_migrate.index.dara_api import ROUTE_CLASSES, ROUTE_METHODS
from dara_migrate.index.definitions import (
    Definition,
    all_definitions,
    snake,
    suggest_uids,
)
from dara_migrate.index.project import (
    ProjectIndex,
    Resolved,
    ScopeRef,
    passed_argument,
    per_index,
    project_calls,
)
from dara_migrate.index.queries import FACTORY_SLOTS, action_factory_calls, route_calls
from dara_migrate.index.unrolled import loop_passes
from dara_migrate.models import Finding, Related
from dara_migrate.rules._helpers import (
    constant_string,
    module_assignment,
    related_lines,
    variable_constructor,
    variable_kind,
)
from dara_migrate.rules.base import Context, Example, Rule, RuleDocs
from dara_migrate.target import LIBRARY_MADE_DEFINITIONS

if TYPE_CHECKING:
    from dara_migrate.action_rewrite import ActionRewriter

_UNSTABLE_CALLS = frozenset({
    "uuid.uuid1", "uuid.uuid4", "id", "hash", "os.getpid", "os.urandom", "socket.gethostname",
    "platform.node", "time.time", "time.time_ns", "time.monotonic", "time.perf_counter",
    "datetime.datetime.now", "datetime.datetime.utcnow", "datetime.datetime.today",
    "datetime.date.today",
})
_UNSTABLE_MODULES = ("random.", "secrets.")
_ROUTE_SLUG = re.compile(r"[^a-zA-Z0-9]+")
_CARRIED = {"DownloadContent": "DM403"}
"""Factories whose call is flagged for what their action does, which the rewritten action
still does (`ctx.download_file`)."""


def unstable_source(index: ProjectIndex, facts: FileFacts, scope: int, value: Value,
                    depth: int = 0) -> str | None:
    """The call that makes a uid differ between processes, if any (through bound names too)."""
    for callee in value.calls:
        resolved = index.resolve(facts, scope, callee)
        if resolved.function:
            continue
        name = resolved.qualified
        if name in _UNSTABLE_CALLS or name.startswith(_UNSTABLE_MODULES):
            return name
    if depth > 2:
        return None
    for name in value.names:
        found = index.lookup(facts, scope, name)
        if found and found[0].kind == "assign" and found[0].value is not None:
            source = unstable_source(index, facts, found[1], found[0].value, depth + 1)
            if source:
                return source
        elif found and found[0].kind == "import":
            imported = module_assignment(index, facts, scope, name)
            if imported is not None:
                source = unstable_source(index, imported[0], 0, imported[1], depth + 1)
                if source:
                    return source
    if value.kind == "attr":
        imported = module_assignment(index, facts, scope, value.text)
        if imported is not None:
            return unstable_source(index, imported[0], 0, imported[1], depth + 1)
    return None


def made_by(index: ProjectIndex, definition: Definition) -> str:
    """What messages call a definition: its constructor, or the helper that makes it (by its
    own name, not an alias it is imported as)."""
    if not definition.through:
        return definition.api
    helper = index.resolve_call(definition.facts, definition.call).function
    name = index.scope(helper).name if helper is not None else (
        definition.call.callee.rpartition(".")[2])
    return f"{definition.api} made by {name}()"


def _missing(uid: Value | None, registry: str) -> bool:
    """No uid, or `uid=None`: Dara makes a random one; `uid=''` too for a BackendStore (`if
    uid:`). A variable keeps `''` (AnyVariable replaces only None): a uid like any literal,
    and two of them collide."""
    return uid is None or (uid.kind == "const" and uid.const is None) or (
        registry == "backend_store" and uid.kind == "str" and uid.const == "")


def _repeated(index: ProjectIndex, definition: Definition) -> bool:
    call = definition.call
    return call.loop or index.runs_at(definition.facts, call.scope) > 1


def _run_from(index: ProjectIndex, facts: FileFacts, call: Call) -> list[Related]:
    """The calls of the function a definition is made in (of its class, for `__init__`):
    why it runs more than once (a test's call, a call in a loop, a route's content besides)."""
    function = index.function_scope(facts, call.scope)
    if function == 0:
        return []
    scope = facts.scopes[function]
    target = (facts.path, function)
    if scope.name == "__init__" and facts.scopes[scope.parent].kind == "class":
        target = (facts.path, scope.parent)
    return related_lines((caller, site, "runs it")
                         for caller, site in project_calls(index).get(target, ()))


def _content_of_routes(index: ProjectIndex, facts: FileFacts, scope_id: int) -> int:
    """How many routes take the function around a scope as their content, in the app
    process that adds the most of them (apps of a monorepo build in separate processes)."""
    ref = (facts.path, index.function_scope(facts, scope_id))
    sources = {edge.source for edge in index.callers.get(ref, ())}
    adding = [source[0] for source in sources for edge in index.edges.get(source, ())
              if edge.target == ref and edge.via == "route content"]
    return max((sum(path in files for path in adding) for files in index.processes
                if facts.path in files), default=len(adding))


def _is_literal(uid: Value | None) -> bool:
    return uid is not None and uid.kind == "str"


def _uid_fix_kind(index: ProjectIndex, definition: Definition) -> Applicability | None:
    """How DM101 writes a missing uid: safe where the index knows the site runs once at
    build time, unsafe where it cannot tell; None where a literal would be wrong."""
    if not _missing(definition.uid, definition.registry):
        return None
    when = index.when_at(definition.facts, definition.call.scope)
    # Code no app runs may still run repeatedly (a loop, several calls from tests): DM104's.
    if when == "request" or _repeated(index, definition):
        return None
    return "safe" if when != "unknown" else "unsafe"


def _replacement_kind(index: ProjectIndex, definition: Definition) -> Applicability | None:
    """How DM102 replaces an unstable `uid=`: only a keyword can be replaced (a positional
    one would be passed twice), safely where the site runs once at build time."""
    if definition.call.kwarg(definition.through or "uid") is not definition.uid:
        return None
    when = index.when_at(definition.facts, definition.call.scope)
    if _repeated(index, definition):
        return None
    if when == "unknown":
        return "unsafe"
    return "safe" if when == "build" else None


@per_index
def unstable_uids(index: ProjectIndex) -> dict[tuple[str, int], str]:
    """Definitions whose uid differs between processes, and the call that makes it so; also
    a helper's call passing such a uid on to the definition it makes."""
    found: dict[tuple[str, int], str] = {}
    for definition in all_definitions(index):
        if definition.uid is not None:
            source = unstable_source(index, definition.facts, definition.call.scope,
                                     definition.uid)
            if source is not None:
                found[definition.key] = source
    return found


@per_index
def uid_fix_kinds(index: ProjectIndex) -> dict[tuple[str, int], Applicability | None]:
    """`_uid_fix_kind` of every definition, by its key (DM101 and its suggestions ask)."""
    return {d.key: _uid_fix_kind(index, d) for d in all_definitions(index)}


@per_index
def suggested_uids(index: ProjectIndex) -> dict[tuple[str, int], str]:
    """The uid DM101 and DM102 propose for each definition they can fix: one scheme, unique
    across the project and between the two rules (each rule asking on its own once gave a
    missing uid and an unstable one the same suggestion)."""
    unstable = unstable_uids(index)
    kinds = uid_fix_kinds(index)
    wanted = {d.key for d in all_definitions(index)
              if (kinds[d.key] if d.key not in unstable
                  else _replacement_kind(index, d)) is not None}
    return suggest_uids(index, wanted)


@dataclass(frozen=True, slots=True, eq=False)
class SetId(Fix):
    """`uid=` or `id=` with the literal the rule proposes (DM101, DM102, DM108)."""

    call: Call
    keyword: str
    proposed_id: str
    applicability: Applicability = "safe"
    replace: bool = False
    """Replace the keyword's value (DM102) rather than add the keyword."""

    def written_uid(self, finding: Finding, planning: FixRound) -> str | None:
        return planning.chosen_id(finding, self.proposed_id) if self.keyword == "uid" else None

    def plan(self, finding: Finding, planning: FixRound) -> PlannedFix:
        from dara_migrate.edits import SetKeyword, literal

        value = planning.chosen_id(finding, self.proposed_id)
        written = literal(value, planning.quote_of(finding.path))
        replaced = self.call.kwarg(self.keyword) if self.replace else None
        unused = () if replaced is None else _module_imports(
            planning.index, planning.index.files[finding.path], self.call.scope, replaced)
        edit = SetKeyword(self.call.span.line, self.call.span.col, self.keyword, written,
                          replace=self.replace, unused_imports=unused,
                          depth=chain_depth(planning.index.files[finding.path], self.call))
        return PlannedFix(finding, [edit], f"{self.keyword}={written}", ids=(value,))


def _module_imports(index: ProjectIndex, facts: FileFacts, scope: int, value: Value
                    ) -> tuple[tuple[str, str], ...]:
    """(module, name) of the module-level imports `value` reads names through: a replaced
    `uid=str(uuid4())` may leave `from uuid import uuid4` (or `import uuid`) unused; not
    those another module imports from this one."""
    found: list[tuple[str, str]] = []
    for name in value.names:
        bound = index.lookup(facts, scope, name)
        if bound is None or bound[1] != 0:
            continue
        if bound[0].kind == "import":
            removable = index.removable_import(facts, name)
            if removable is not None:
                found.append(removable)
        elif bound[0].kind == "import_module" and not index.imported_from(facts, name):
            found.append((bound[0].target, name))
    return tuple(found)


@dataclass(frozen=True, slots=True, eq=False)
class KeyUid(Fix):
    """DM104: a uid keyed by the loop variable, or by a uid prefix the call sites pass."""

    call: Call
    applicability: Applicability = "safe"

    def plan(self, finding: Finding, planning: FixRound) -> PlannedFix | None:
        plan = planning.keyed.plan(planning.index.files[finding.path], self.call)
        if plan is None:
            return None
        edits = dict(plan.edits)
        return PlannedFix(finding, edits.pop(finding.path, []), plan.description,
                          ids=plan.prefixes, keyed=True, elsewhere=edits)


_ROUTE_ID = re.compile(r"^[a-zA-Z0-9-_]+$")
"""Dara's pattern for a route id (after `BaseRoute.convert_id`)."""

Piece = tuple[bool, str]
"""Part of an id written of a loop variable: (True, `name` or `spec.path`) or (False,
text)."""


@dataclass(frozen=True, slots=True, eq=False)
class KeyRouteId(Fix):
    """DM108 in a loop over a literal collection: `id=` written of the loop variable as the
    route's path is (`id=name`, `id=f'regions-{region}-summary'`)."""

    call: Call
    pieces: tuple[Piece, ...]
    ids: tuple[str, ...]
    """The id of each pass, as Dara will hold it."""
    applicability: Applicability = "safe"

    def expression(self, quote: str = "'") -> str:
        if len(self.pieces) == 1 and self.pieces[0][0]:
            return self.pieces[0][1]
        body = "".join(f"{{{text}}}" if named else text.replace("{", "{{").replace("}", "}}")
                       for named, text in self.pieces)
        return f"f{quote}{body}{quote}"

    def plan(self, finding: Finding, planning: FixRound) -> PlannedFix:
        from dara_migrate.edits import SetKeyword

        value = self.expression(planning.quote_of(finding.path))
        edit = SetKeyword(self.call.span.line, self.call.span.col, "id", value,
                          depth=chain_depth(planning.index.files[finding.path], self.call))
        return PlannedFix(finding, [edit], f"id={value}", ids=self.ids)


def chain_depth(facts: FileFacts, call: Call) -> int:
    """How many calls `call` is chained on that start where it does (`add_page` in
    `router.add_layout(...).add_page(...)` is 1): the `depth` its keyword edit gives."""
    depth, inner = 0, call
    while inner.func_call >= 0:
        inner = facts.calls[inner.func_call]
        if (inner.span.line, inner.span.col) != (call.span.line, call.span.col):
            break
        depth += 1
    return depth


_ROUTER_MAKERS = frozenset({"ConfigurationBuilder", "Router"})


def _router_made_per_run(index: ProjectIndex, facts: FileFacts, call: Call) -> bool:
    """Whether a route call adds to a router its own scope makes on each run: an app factory's
    `cfg = ConfigurationBuilder()` (`cfg.router.add_page(...)`), a `Router()`, or a prefix or
    layout added to one; or one every caller hands it so made (`add_admin(cfg.router)`). A
    factory that runs twice (the app, then its tests) adds each route once to each router it
    makes, so one literal id serves every run."""
    return _made_per_run(index, facts, call.scope, call.callee.partition(".")[0], 0)


def _made_per_run(index: ProjectIndex, facts: FileFacts, scope_id: int, name: str,
                  depth: int) -> bool:
    """`_router_made_per_run` of the router `name` holds in `scope_id`."""
    while depth < _MAX_ROUTER_DEPTH:
        depth += 1
        found = index.lookup(facts, scope_id, name)
        if found is None or found[1] != scope_id:
            return False
        if found[0].kind == "param":
            return _handed_per_run(index, facts, scope_id, name, depth)
        value = found[0].value
        if found[0].kind != "assign" or value is None:
            return False
        if value.kind in ("name", "attr"):
            name = value.text.partition(".")[0]  # `router = cfg.router`: what `cfg` is
            continue
        if value.kind != "call":
            return False
        made = facts.calls[value.call]
        resolved = index.resolve_call(facts, made)
        if resolved.api in _ROUTER_MAKERS:
            return True
        route_method = resolved.attribute.rpartition(".")[2] in ROUTE_METHODS and (
            resolved.instance_of in _ROUTER_MAKERS)
        if not route_method:
            return False
        name = made.callee.partition(".")[0]
    return False


def _handed_per_run(index: ProjectIndex, facts: FileFacts, scope_id: int, name: str,
                    depth: int) -> bool:
    """Whether every call of the function `scope_id` hands its parameter `name` a router the
    caller makes on each run (`add_admin(cfg.router)`, `add_admin(Router())` in a test), once
    per run of the caller (one call in its scope, outside a loop: two would add each route
    twice to one router tree), and nothing else runs the function (a reference handed
    elsewhere may call it anyhow)."""
    ref = (facts.path, scope_id)
    scope = facts.scopes[scope_id]
    calls = project_calls(index).get(ref, ())
    callers = [(caller.path, site.scope) for caller, site in calls]
    if not calls or scope.kind != "function" or len(set(callers)) != len(callers) or any(
            edge.via != "call" for edge in index.callers.get(ref, ())):
        return False
    for caller, site in calls:
        given = passed_argument(facts, scope, name, site)
        if site.loop or given is None:
            return False
        if given.kind == "call":
            if index.resolve_call(caller, caller.calls[given.call]).api not in _ROUTER_MAKERS:
                return False
        elif given.kind not in ("name", "attr") or not _made_per_run(
                index, caller, site.scope, given.text.partition(".")[0], depth):
            return False
    return True


_MAX_ROUTER_DEPTH = 8
"""Prefixes nested in prefixes followed back to the router that holds them."""


def _keyed_route_id(index: ProjectIndex, facts: FileFacts, call: Call, method: str,
                    routers: list[set[str]]) -> KeyRouteId | None:
    """For a route added in a loop (a page registry: `for name, page in PAGES.items():
    router.add_page(path=name, content=page)`, a list of `(path, page)` tuples, records'
    `spec.path`, the pages of a prefix each pass adds), whose path, with the paths of the
    routes it is added to, is written of the loops' variables: the id written the same way,
    when every pass's is a valid id no other route has."""
    loops = _loops_around(index, facts, call)
    if not loops or method not in _KEYED_ROUTES or (
            index.runs_at(facts, call.scope) > 1
            and not _router_made_per_run(index, facts, call)):
        return None
    segments = _route_segments(index, facts, call)
    if segments is None:
        return None
    pieces = _id_pieces(segments, method)
    passes: dict[str, list[str]] = {}
    numbers = unknown = False
    covered: set[tuple[int, int]] = set()
    for named, text in pieces:
        if not named:
            continue
        values = _pass_values(index, facts, call, text) if len(loops) == 1 else None
        if values is None:
            bound = _binding_loop(index, facts, call, text)
            if bound is None:
                return None
            covered.add(bound)
            unknown = True
        else:
            covered.update(loops)
            passes[text] = [str(value) for value in values]
            numbers = numbers or any(isinstance(value, int) for value in values)
    if covered != set(loops):
        return None  # a loop none of the id's names comes from would repeat every id
    if unknown:
        # A loop over what the code does not spell (`settings.sections`), or loops in loops:
        # each pass's id is its path, unique as the paths are; whether each is a valid id,
        # the build tells. Not where an id of another route starts as these do
        # (`reports-north`, beside `f'reports-{section}'`): a pass could take it.
        start = pieces[0][1] if pieces and not pieces[0][0] else ""
        if start and any(i.startswith(start) for taken in routers for i in taken):
            return None
        return KeyRouteId(call, tuple(pieces), (), "unsafe")
    ids = _pass_ids(pieces, passes)
    if ids is None or len(set(ids)) != len(ids) or any(
            not _ROUTE_ID.match(i) or any(i in taken for taken in routers) for i in ids):
        return None
    if numbers and len(pieces) == 1:
        pieces = [(False, ""), *pieces]  # Dara takes text only: `id=f'{n}'`, not `id=n`
    for taken in routers:
        taken.update(ids)
    return KeyRouteId(call, tuple(pieces), ids)


def _param_route_id(index: ProjectIndex, facts: FileFacts, call: Call, method: str,
                    routers: list[set[str]]) -> KeyRouteId | None:
    """For a route a helper adds with a path written of its parameters (`def add_report(
    router, path): router.add_page(path=path, ...)`), called once per call site: the id
    written the same way, when every call site passes constants that make valid ids no
    other route has (`add_report(config.router, 'sales')`: `id=path`)."""
    scope = facts.scopes[call.scope]
    if call.loop or method not in _KEYED_ROUTES or scope.kind != "function":
        return None
    # What the call graph says first: the path is worked out only for a helper run once per
    # call site.
    sites = project_calls(index).get((facts.path, call.scope), ())
    if not sites or index.runs_at(facts, call.scope) != len(sites):
        return None
    segments = _route_segments(index, facts, call)
    if segments is None:
        return None
    pieces = _id_pieces(segments, method)
    names = {text for named, text in pieces if named}
    if not names:
        return None
    passes: dict[str, list[str]] = {name: [] for name in names}
    for name in names:
        found = index.lookup(facts, call.scope, name)
        if found is None or found[0].kind != "param" or found[1] != call.scope:
            return None
        for caller, site in sites:
            if site.loop or index.runs_at(caller, site.scope) != 1:
                return None
            given = passed_argument(facts, scope, name, site)
            if given is None or given.kind != "str" or not isinstance(given.const, str):
                return None
            passes[name].append(given.const.strip("/"))
    ids = _pass_ids(pieces, passes)
    if ids is None or len(set(ids)) != len(ids) or any(
            not _ROUTE_ID.match(i) or any(i in taken for taken in routers) for i in ids):
        return None
    for taken in routers:
        taken.update(ids)
    return KeyRouteId(call, tuple(pieces), ids)


def _id_pieces(segments: list[list[Piece]], method: str) -> list[Piece]:
    """The id a route's path segments give it, as pieces, made as `_route_slug` makes a
    literal path's."""
    texts: list[str] = []
    pieces: list[Piece] = []

    def text(part: str) -> None:
        if part:
            texts.append(part)

    def name(part: str) -> None:
        if texts:
            pieces.append((False, "".join(texts)))
            texts.clear()
        pieces.append((True, part))

    written = [segment for segment in segments if any(part for _, part in segment)]
    if method in ("add_layout", "LayoutRoute"):
        text("layout-" if written else "layout")
    for number, segment in enumerate(written):
        text("-" if number else "")
        for named, part in segment:
            if named:
                name(part)
            else:
                text(_ROUTE_SLUG.sub("-", part))
    if method in ("add_index", "IndexRoute"):
        text("-index" if written else "index")
    if texts:
        pieces.append((False, "".join(texts)))
    return pieces


def _pass_values(index: ProjectIndex, facts: FileFacts, call: Call, dotted: str
                 ) -> list[str | int] | None:
    """What `dotted` holds on each pass of the loop around `call` that binds it, when each is
    text or a number and nothing in the loop rebinds or changes it before the call."""
    values = loop_passes(index, facts, call.scope, dotted, call.line)
    if values is None or any(not isinstance(v.const, (str, int)) or isinstance(
            v.const, bool) for _, _, v in values) or _binding_loop(
            index, facts, call, dotted) is None:
        return None
    return [cast(str | int, v.const) for _, _, v in values]


def _binding_loop(index: ProjectIndex, facts: FileFacts, call: Call, dotted: str
                  ) -> tuple[int, int] | None:
    """Where the loop around `call` that binds `dotted`'s variable (`section`, `spec.path`)
    starts, when nothing in that loop rebinds or changes it before the call (`if name ==
    'index': name = 'about'`, `spec.path = ...`: a pass's value is not its key then)."""
    head = dotted.partition(".")[0]
    looped = [b for b in index.bindings_in(facts.path, call.scope, head)
              if b.span.line <= call.line <= b.span.end_line]
    if not looped or looped[-1].kind != "assign":
        return None
    # The loop's own target: bound where the loop statement starts.
    start = (looped[-1].span.line, looped[-1].span.col)
    written = _file_loops(index, facts).writes.get((call.scope, head), [])
    after = bisect.bisect_right(written, start[0])
    if start not in _loops_around(index, facts, call) or (
            after < len(written) and written[after] <= call.line):
        return None
    return start


def _loops_around(index: ProjectIndex, facts: FileFacts, call: Call) -> list[tuple[int, int]]:
    """Where the loops around `call` in its scope start, outermost first."""
    nest = _file_loops(index, facts).loops.get(call.scope)
    return nest.around((call.line, call.col)) if nest is not None else []


class _Nest:
    """A scope's loops: the facts' own (over a name, or without literal keys) and those over
    a collection written in place (`for section in ['sales', 'costs']:`), which only their
    variables' `each` bindings record. Loops nest, so each knows the one around it: what is
    around a place is a short walk up from the last loop that starts before it, however
    many loops the scope has."""

    def __init__(self, spans: set[tuple[int, int, int, int]]) -> None:
        # Outer before inner where two start together.
        self.spans = sorted(spans, key=lambda s: (s[0], s[1], -s[2], -s[3]))
        self.starts = [(line, col) for line, col, _, _ in self.spans]
        self.parents: list[int] = []
        open_: list[int] = []
        for line, col, _, _ in self.spans:
            while open_ and self.spans[open_[-1]][2:] <= (line, col):
                open_.pop()
            self.parents.append(open_[-1] if open_ else -1)
            open_.append(len(self.parents) - 1)

    def around(self, at: tuple[int, int]) -> list[tuple[int, int]]:
        found: list[tuple[int, int]] = []
        current = bisect.bisect_right(self.starts, at) - 1
        while current >= 0:
            if at < self.spans[current][2:] and self.starts[current] not in found:
                found.append(self.starts[current])
            current = self.parents[current]
        return found[::-1]


class _FileLoops(NamedTuple):
    loops: dict[int, _Nest]
    """By scope."""
    writes: dict[tuple[int, str], list[int]]
    """By scope and name: the lines, in order, where the name, or an attribute of it, is
    bound (`spec`, `spec.path = ...`)."""


@per_index
def _loops_by_file(index: ProjectIndex) -> dict[str, _FileLoops]:
    """`_file_loops` of the files asked for so far (filled as rules ask: most files have no
    route in a loop)."""
    return {}


def _file_loops(index: ProjectIndex, facts: FileFacts) -> _FileLoops:
    """A file's loops and name writes by scope, gathered once: a file of many routes in
    loops asks for them at each route."""
    known = _loops_by_file(index)
    found = known.get(facts.path)
    if found is None:
        spans: dict[int, set[tuple[int, int, int, int]]] = defaultdict(set)
        for loop in facts.loops:
            spans[loop.scope].add((loop.line, loop.col, loop.end_line, loop.end_col))
        writes: dict[tuple[int, str], list[int]] = defaultdict(list)
        for binding in facts.bindings:
            span = binding.span
            if binding.value is not None and binding.value.kind == "each":
                spans[binding.scope].add((span.line, span.col, span.end_line, span.end_col))
            writes[(binding.scope, binding.name.partition(".")[0])].append(span.line)
        found = known[facts.path] = _FileLoops(
            {scope: _Nest(scope_spans) for scope, scope_spans in spans.items()},
            {key: sorted(lines) for key, lines in writes.items()})
    return found


def _pass_ids(pieces: list[Piece], passes: dict[str, list[str]]) -> tuple[str, ...] | None:
    """The id each pass makes of `pieces`, as Dara holds it."""
    counts = {len(values) for values in passes.values()}
    if len(counts) != 1:
        return None
    (count,) = counts
    return tuple(_converted("".join(passes[text][i] if named else text
                                    for named, text in pieces)) for i in range(count))


def _written_pieces(value: Value) -> list[Piece] | None:
    """A path or id written of names (`name`, `spec.path`, `f'regions/{region}'`) as its
    pieces: (True, the name) or (False, the text); None for anything else."""
    if value.kind in ("name", "attr"):
        return [(True, value.text)]
    if value.kind == "fstring" and value.items and all(
            part.kind in ("name", "attr") or (part.kind == "str" and isinstance(part.data, str))
            for part in value.items):
        return [(True, part.text) if part.kind != "str" else (False, cast(str, part.data))
                for part in value.items]
    return None


def _given_pass_ids(index: ProjectIndex, facts: FileFacts, call: Call,
                    given: Value) -> tuple[str, ...]:
    """The ids an `id=` written of a loop variable gives (`id=name`, a fix's of an earlier
    run): taken like literal ones, so that no route gets one of them again."""
    written = _written_pieces(given)
    if written is None:
        return ()
    passes: dict[str, list[str]] = {}
    for named, text in written:
        if named:
            values = _pass_values(index, facts, call, text)
            if values is None:
                return ()
            passes[text] = [str(value) for value in values]
    return _pass_ids(written, passes) or ()


_KEYED_ROUTES = frozenset({"add_page", "add_layout", "add_prefix", "add_index", "PageRoute",
                           "LayoutRoute", "PrefixRoute", "IndexRoute"})


def _converted(route_id: str) -> str:
    """`BaseRoute.convert_id`: how Dara holds a route id."""
    return route_id.lower().strip().replace(" ", "-")


def _action_rewriter(planning: FixRound, path: str) -> ActionRewriter:
    """The round's DM105 rewriter for the file at `path` (one at a time: the names it picks
    stay unique within the file)."""
    from dara_migrate.action_rewrite import ActionRewriter

    facts = planning.index.files[path]
    if planning.action is None or planning.action.facts is not facts:
        planning.action = ActionRewriter(planning.index, facts, planning.text_of(path),
                                         planning.action_names.setdefault(path, set()))
    return planning.action


@dataclass(frozen=True, slots=True, eq=False)
class DefineAction(Fix):
    """DM105: the factory call becomes a call of one module-level `@action`."""

    call: Call
    api: str
    applicability: Applicability = "safe"
    moved: Binding | None = None
    """The variable's binding, local to a page built once, whose statement moves to module
    level with the rewrite (`_movable_variable`)."""

    def plan(self, finding: Finding, planning: FixRound) -> PlannedFix | None:
        rewrite = _action_rewriter(planning, finding.path).plan(self.call, self.api,
                                                                self.moved)
        if rewrite is None:
            return None
        carried = _CARRIED.get(self.api)
        return PlannedFix(finding, rewrite.edits,
                          f"{self.api}(...) -> module-level @action {rewrite.name}",
                          carries=(Carried(carried, rewrite.name, rewrite.result_statement),)
                          if carried else ())


@dataclass(frozen=True, slots=True, eq=False)
class StaticUpdate(Fix):
    """DM105: `UpdateVariable(<resolver>, variable=v)` becomes the static action it amounts to,
    which defines nothing: `v.update(value=<constant>)`, `v.sync()` or `v.toggle()`; so does
    `NavigateTo(lambda ctx: '/x')`: `NavigateTo('/x')`."""

    call: Call
    form: str
    applicability: Applicability = "safe"

    def plan(self, finding: Finding, planning: FixRound) -> PlannedFix | None:
        rewrite = _action_rewriter(planning, finding.path).plan_static(self.call, self.form)
        if rewrite is None:
            return None
        api = "NavigateTo" if self.form == "url" else "UpdateVariable"
        return PlannedFix(finding, rewrite.edits, f"{api}(...) -> {rewrite.name}")


class MissingStableUid(Rule):
    code = "DM101"
    name = "missing-stable-uid"
    severity = "error"
    fix = "safe"
    summary = "server-resolved definition without a stable uid="
    docs = RuleDocs(
        what="A DerivedVariable, DerivedDataVariable, ServerVariable, DataVariable, "
        "StreamVariable or BackendStore created while the app is built, without `uid=`; "
        "and a `Variable` with `store=BackendStore(...)`, `store=BrowserStore()` or "
        "`persist_value=True` without `uid=`. Every spelling is found: aliases, `dc.X`, "
        "deep module paths, `DerivedVariable[str](...)`, re-exports. A project helper that "
        "passes its `uid=None` parameter or its `**kwargs` on to the constructor is reported "
        "where it is called without one, and `apply` passes the uid there.",
        why="Dara gives such a definition `str(uuid4())` when no uid is passed. Each worker "
        "builds the app with different random ids, so a request that lands on another worker "
        "asks for an id that worker never registered and fails. A browser-persisted Variable "
        "also loses its saved value, because the storage key contains the uid.",
        use_instead="Pass a literal uid that is unique in the project. dara-migrate suggests "
        "`<module>:<scope>.<name>` and `apply` writes it.",
        fix_safety="Safe at build time (module level, page builders called once): the "
        "definition is created once per process, so a literal cannot collide. Unsafe where "
        "the index cannot tell when the code runs. Never applied to request-time definitions "
        "(DM301) or to factories that run several times (DM104): a literal there raises "
        "`ValueError` on the second call.",
        confidence="High: constructor calls are resolved through imports across modules.",
    )
    VALID = [
        Example.module(
            "from dara.core import DerivedVariable, Variable\n\n"
            "count = Variable(0)\n"
            "double = DerivedVariable(lambda c: c * 2, variables=[count], "
            "uid='app.main:double')\n"
        ),
    ]
    INVALID = [
        Example.module(
            "import dara.core as dc\n"
            "from dara.core import DerivedVariable as DV, ServerVariable, Variable\n"
            "from dara.core.persistence import BackendStore\n\n"
            "count = Variable(0)\n"
            "double = DV[int](lambda c: c * 2, variables=[count])  # expect: DM101\n"
            "rows = ServerVariable(default=[])  # expect: DM101\n"
            "prefs = dc.Variable(store=BackendStore())  # expect: DM101 DM101\n",
            fixed=(
                "import dara.core as dc\n"
                "from dara.core import DerivedVariable as DV, ServerVariable, Variable\n"
                "from dara.core.persistence import BackendStore\n\n"
                "count = Variable(0)\n"
                "double = DV[int](\n"
                "    lambda c: c * 2,\n"
                "    variables=[count],\n"
                "    uid='app.main:double',\n"
                ")\n"
                "rows = ServerVariable(default=[], uid='app.main:rows')\n"
                "prefs = dc.Variable(\n"
                "    store=BackendStore(uid='app.main:store'),\n"
                "    uid='app.main:prefs',\n"
                ")\n"
            )
        ),
    ]

    def check(self, ctx: Context) -> Iterator[Finding]:
        suggestions = suggested_uids(ctx.index)
        kinds = uid_fix_kinds(ctx.index)
        for definition in all_definitions(ctx.index):
            facts, call = definition.facts, definition.call
            if not ctx.is_selected(facts):
                continue
            kind = kinds[definition.key]
            if kind is None:
                continue
            uid = suggestions[definition.key]
            where = "" if kind == "safe" else " (nothing in the project calls this code; check it)"
            given = definition.uid
            keyword = definition.through or "uid"
            # `uid=None` written out is replaced; given by position, it cannot also
            # be given as a keyword, and a person moves it.
            fix: Fix | str = SetId(call, keyword, uid, kind, replace=given is not None) if (
                given is None or call.kwarg(keyword) is given) else "manual"
            yield ctx.at_call(
                self, facts, call,
                f"{made_by(ctx.index, definition)} without {keyword}= gets a random id per worker; "
                f"add {keyword}='{uid}'{where}",
                fix=fix,
            )


class UnstableUid(Rule):
    code = "DM102"
    name = "unstable-uid"
    severity = "error"
    fix = "safe"
    summary = "uid= that differs between processes or hosts"
    docs = RuleDocs(
        what="A `uid=` built from `uuid1`/`uuid4`, `random`, `secrets`, `time`, "
        "`datetime.now`, `id()`, `hash()`, `os.getpid`, `socket.gethostname`, or an f-string, "
        "concatenation or name bound to one of them; also one given to a project helper that "
        "passes it on to the definition it makes, reported at the helper's call.",
        why="The point of a uid is that every worker computes the same one. A random, "
        "time-, process- or host-based uid differs on each worker (and `hash()` of a str "
        "differs per process unless PYTHONHASHSEED is fixed).",
        use_instead="A literal, or an f-string over a parameter of the factory "
        "(`uid=f'{prefix}-total'`).",
        fix_safety="Safe where the site runs once per process (module level, a page builder "
        "called once): the `uid=` value is replaced by the scheme's literal, which cannot "
        "collide. Unsafe where the index cannot tell when the code runs; manual where it "
        "runs more than once or at request time, or where the uid is passed positionally.",
        confidence="High for direct calls; names are followed one assignment deep.",
    )
    VALID = [
        Example.module(
            "from dara.core import DerivedVariable, Variable\n\n"
            "def build(prefix: str):\n"
            "    v = Variable(0)\n"
            "    return DerivedVariable(lambda x: x, variables=[v], uid=f'{prefix}-total')\n"
        ),
    ]
    INVALID = [
        Example.module(
            "import uuid\n"
            "from dara.core import DerivedVariable, Variable\n\n"
            "v = Variable(0)\n"
            "RUN_ID = uuid.uuid4().hex\n"
            "a = DerivedVariable(lambda x: x, variables=[v], uid=str(uuid.uuid4()))  "
            "# expect: DM102\n"
            "b = DerivedVariable(lambda x: x, variables=[v], uid=f'b-{RUN_ID}')  "
            "# expect: DM102\n",
            fixed=(
                "import uuid\n"
                "from dara.core import DerivedVariable, Variable\n\n"
                "v = Variable(0)\n"
                "RUN_ID = uuid.uuid4().hex\n"
                "a = DerivedVariable(lambda x: x, variables=[v], uid='app.main:a')\n"
                "b = DerivedVariable(lambda x: x, variables=[v], uid='app.main:b')\n"
            )
        ),
    ]

    def check(self, ctx: Context) -> Iterator[Finding]:
        unstable = unstable_uids(ctx.index)
        suggestions = suggested_uids(ctx.index)
        for definition in all_definitions(ctx.index):
            source = unstable.get(definition.key)
            if source is None or not ctx.is_selected(definition.facts):
                continue
            kind = _replacement_kind(ctx.index, definition)
            keyword = definition.through or "uid"
            yield ctx.at_call(
                self, definition.facts, definition.call,
                f"{keyword} of this {made_by(ctx.index, definition)} comes from {source}() and "
                "differs on every worker; use a literal or a factory parameter",
                fix="manual" if kind is None else SetId(
                    definition.call, keyword, suggestions[definition.key], kind, replace=True),
            )


class DuplicateUid(Rule):
    code = "DM103"
    name = "duplicate-uid"
    severity = "error"
    fix = "manual"
    summary = "two definitions with the same uid"
    docs = RuleDocs(
        what="Two distinct constructor calls of one registry (DerivedVariable, ServerVariable, "
        "StreamVariable, BackendStore, persisted Variable) whose literal uids are equal and "
        "that belong to the same app.",
        why="DerivedVariable, ServerVariable and StreamVariable raise `ValueError` at the "
        "second registration; BackendStore silently keeps the first store, so two variables "
        "share one value. One instance referenced twice is one definition and is fine.",
        use_instead="Give each definition its own uid; the scheme `<module>:<scope>.<name>` "
        "is unique by construction.",
        fix_safety="Manual: which of the two keeps the id is a decision.",
        confidence="High for literal uids and module-level string constants; uids computed "
        "at run time are checked by `verify`.",
    )
    VALID = [
        Example({
            "app/a.py": "from dara.core import ServerVariable\n\n"
            "rows = ServerVariable(default=[], uid='rows')\n",
            "app/b.py": "from dara.core import DerivedVariable, Variable\n\n"
            "v = Variable(0)\n"
            "rows = DerivedVariable(lambda x: x, variables=[v], uid='rows')\n",
        }, note="different registries do not collide"),
        Example({
            "sales/__init__.py": "",
            "hr/__init__.py": "",
            "sales/main.py": "from dara.core import ConfigurationBuilder, ServerVariable\n\n"
            "config = ConfigurationBuilder()\n"
            "rows = ServerVariable(default=[], uid='rows')\n",
            "hr/main.py": "from dara.core import ConfigurationBuilder, ServerVariable\n\n"
            "config = ConfigurationBuilder()\n"
            "rows = ServerVariable(default=[], uid='rows')\n",
        }, note="equal uids in two separate apps (reported as info)"),
    ]
    INVALID = [
        Example({
            "app/a.py": "from dara.core import DerivedVariable, Variable\n\n"
            "v = Variable(0)\n"
            "total = DerivedVariable(lambda x: x, variables=[v], uid='total')  "
            "# expect: DM103\n",
            "app/b.py": "from dara.core import DerivedVariable, Variable\n\n"
            "w = Variable(0)\n"
            "total = DerivedVariable(lambda x: x + 1, variables=[w], uid='total')  "
            "# expect: DM103\n",
        }),
    ]

    def check(self, ctx: Context) -> Iterator[Finding]:
        groups: dict[tuple[str, str], list[Definition]] = defaultdict(list)
        for definition in all_definitions(ctx.index):
            uid = constant_uid(ctx.index, definition)
            # `''` too, where Dara keeps it (`_missing`): a second one collides.
            if uid is not None and not _missing(definition.uid, definition.registry):
                groups[(definition.registry, uid)].append(definition)
        apps = _apps_by_file(ctx.apps)
        for (registry, shared), sites in sorted(groups.items()):
            if len(sites) < 2:
                continue
            for site in sites:
                if not ctx.is_selected(site.facts):
                    continue
                mine = apps.get(site.facts.path, frozenset())
                clashing = [s for s in sites if s is not site
                            and _may_share_process(mine, apps.get(s.facts.path, frozenset()))]
                others = clashing or [s for s in sites if s is not site]
                related = [Related(o.facts.path, o.call.span.line, f"also uid '{shared}'")
                           for o in others]
                if clashing:
                    # Dara's BackendStore swallows the registry's error: the server looks
                    # the uid up and finds the first store, whatever backend the second has.
                    outcome = ("the second store is silently never registered and the server "
                               "serves the first one for both" if registry == "backend_store"
                               else "the second registration fails")
                    yield ctx.at_call(
                        self, site.facts, site.call,
                        f"uid '{shared}' is also used by {len(others)} other {registry} "
                        f"definition(s); {outcome}", related=related)
                else:
                    yield ctx.at_call(
                        self, site.facts, site.call,
                        f"uid '{shared}' is also used in another app ({registry}); fine while "
                        "the apps run in separate processes", severity="info", related=related)


def constant_uid(index: ProjectIndex, definition: Definition) -> str | None:
    """A definition's uid where it is a constant string: a literal, or a constant's name."""
    given = definition.uid
    if given is None:
        return None  # most definitions (and a literal's test is inline): no call
    uid = given.const if given.kind == "str" else _constant_uid(
        index, definition.facts, definition.call.scope, given)
    return uid if isinstance(uid, str) else None


def _constant_uid(index: ProjectIndex, facts: FileFacts, scope: int, uid: Value,
                  depth: int = 0) -> str | None:
    """The value of a uid given by name, when the name is a module-level constant bound once
    to a string (`uid=TOTAL`, `uid=ids.TOTAL`, also from another module), or written of
    such names and text (`f'{REGION}-total'`, `'sales-' + REGION`); a literal uid is read by
    its caller."""
    if uid.kind in ("fstring", "binop") and uid.items and depth < 8:
        parts = []
        for part in uid.items:
            text = part.const if part.kind == "str" else _constant_uid(index, facts, scope,
                                                                       part, depth + 1)
            if not isinstance(text, str):
                return None
            parts.append(text)
        return "".join(parts)
    if uid.kind not in ("name", "attr"):
        return None
    bound = module_assignment(index, facts, scope, uid.text)
    if bound is None:
        return None
    owner, value, _ = bound
    if value.kind == "str" and isinstance(value.const, str):
        return value.const
    if depth and value.kind == "const" and type(value.const) is int:
        return str(value.const)  # a number written into a uid (`f'{YEAR}-sales'`)
    return _constant_uid(index, owner, 0, value, depth + 1) if value.kind in (
        "fstring", "binop") and depth < 8 else None


def _apps_by_file(apps: ProjectApps) -> dict[str, frozenset[str]]:
    """The apps (their keys) that import each project file."""
    owners: dict[str, set[str]] = defaultdict(set)
    for app in apps.apps:
        for path in app.files:
            owners[path].add(app.key)
    return {path: frozenset(keys) for path, keys in owners.items()}


def _may_share_process(first: frozenset[str], second: frozenset[str]) -> bool:
    """Definitions of disjoint apps never meet in one registry; unknown owners might."""
    return not first or not second or bool(first & second)


class RepeatedFactory(Rule):
    code = "DM104"
    name = "repeated-factory"
    severity = "error"
    fix = "safe"
    summary = "definition in code that runs more than once per process"
    docs = RuleDocs(
        what="A definition (any DM101 kind) without a uid, or with a fixed literal uid, in a "
        "function that runs more than once per process: called from several places (tests "
        "included), in a loop or comprehension, `__init__`/`__call__` of a class "
        "instantiated more than once, or content of several routes.",
        why="Without a uid every call makes a new random id; with a fixed literal the second "
        "call raises `ValueError` (duplicate uid). Neither survives many workers.",
        use_instead="Key the uid by what differs between runs: in a loop over literal keys, "
        "`uid=f'pkg.mod:metric.{name}'`; in a factory, a uid prefix parameter and "
        "`uid=f'{uid_prefix}.total'`, with a distinct literal at each call site.",
        fix_safety="Safe where a distinct stable key exists (behaviour on one worker is "
        "unchanged: the same definitions are built, with ids every worker agrees on): a loop "
        "or comprehension over a literal collection or a literal dict's keys (`.items()` "
        "too), a module-level name bound to one, or `range(<int>)` gets an f-string uid over "
        "its loop variable; a function or class "
        "`__init__` called directly from build-time sites that each run once (or in such a "
        "loop, or in a function that takes a `uid_prefix` itself) gets a keyword-only "
        "`uid_prefix: str | None = None` (callers outside the project keep random ids), "
        "`uid=f'{uid_prefix}.total' if uid_prefix else None`, and a distinct literal at each "
        "site from its scope and target name. `apply` builds the result before writing. "
        "Anything else is manual.",
        confidence="High for calls resolved in the project; calls from outside the project "
        "are not counted.",
    )
    VALID = [
        Example.module(
            "from dara.core import DerivedVariable, Variable\n\n"
            "def card(prefix: str):\n"
            "    v = Variable(0)\n"
            "    return DerivedVariable(lambda x: x, variables=[v], uid=f'{prefix}-total')\n\n"
            "north = card('north')\n"
            "south = card('south')\n"
        ),
    ]
    INVALID = [
        Example.module(
            "from dara.core import DerivedVariable, Variable\n\n"
            "def card():\n"
            "    v = Variable(0)\n"
            "    return DerivedVariable(lambda x: x, variables=[v])  # expect: DM104\n\n"
            "north = card()\n"
            "south = card()\n"
            "regions = [DerivedVariable(lambda x: x, variables=[Variable(r)]) "
            "for r in range(3)]  # expect: DM104\n",
            fixed=(
                "from dara.core import DerivedVariable, Variable\n\n"
                "def card(*, uid_prefix: str | None = None):\n"
                "    v = Variable(0)\n"
                "    return DerivedVariable(\n"
                "        lambda x: x,\n"
                "        variables=[v],\n"
                "        uid=f'{uid_prefix}.derived_variable_1' if uid_prefix else None,\n"
                "    )\n\n"
                "north = card(uid_prefix='app.main:north')\n"
                "south = card(uid_prefix='app.main:south')\n"
                "regions = [DerivedVariable(\n"
                "    lambda x: x,\n"
                "    variables=[Variable(r)],\n"
                "    uid=f'app.main:regions.{r}',\n"
                ") for r in range(3)]\n"
            )
        ),
    ]

    def check(self, ctx: Context) -> Iterator[Finding]:
        # Imported here: only apps with repeated factories pay for the planner.
        from dara_migrate.keyed import KeyedPlanner

        planner: KeyedPlanner | None = None
        for definition in all_definitions(ctx.index):
            facts, call = definition.facts, definition.call
            if not ctx.is_selected(facts):
                continue
            uid = definition.uid
            named = uid is not None and uid.kind in ("name", "attr")
            missing = _missing(uid, definition.registry)
            if not (missing or _is_literal(uid) or named):
                continue
            when = ctx.index.when_at(facts, call.scope)
            if when == "request" or not _repeated(ctx.index, definition):
                continue
            if uid is not None and named and _constant_uid(ctx.index, facts, call.scope,
                                                           uid) is None:
                continue  # a parameter or a computed name: it may differ at each run
            looped = call.loop or facts.scopes[call.scope].loop
            why = "in code that runs more than once per process"
            if looped:
                why = f"in a loop {why}" if ctx.index.runs_at(facts, call.scope) > 1 else (
                    "in a loop")
            problem = ("a fixed uid collides on the second run" if not missing
                       else "each run gets a new random id")
            remedy = ("key its uid by the loop variable or a uid prefix parameter"
                      if looped else "take a uid prefix parameter")
            if definition.through:
                # The keyed fixes rewrite the constructor call; a helper's is not theirs.
                keyed = ", keyed by the loop variable" if call.loop else ""
                yield ctx.at_call(
                    self, facts, call, f"{made_by(ctx.index, definition)} {why}: {problem}; "
                    f"pass each call its own {definition.through}={keyed}", fix="manual")
                continue
            planner = planner or KeyedPlanner(ctx.index, app_files=frozenset().union(
                *(app.files for app in ctx.apps.apps)))
            # A constant's name is left for a person to key: it may be used elsewhere.
            keyable = not named and planner.keyable(facts, call)
            if not keyable and call.loop and not planner.loop_keyed(facts, call):
                remedy = ("its loop does not run over keys written in the code: give it a uid "
                          "keyed by a value each pass has, the same on every worker")
            elif not keyable and not (call.loop and when == "unknown"):
                routes = _content_of_routes(ctx.index, facts, call.scope)
                remedy = (f"it is the content of {routes} routes, which call it without "
                          "arguments: create it once at module level if it uses no local name, "
                          "else give each route its own content function passing a distinct "
                          "uid prefix" if routes > 1 else "take a uid prefix parameter")
            yield ctx.at_call(
                self, facts, call, f"{definition.api} created {why}: {problem}; {remedy}",
                fix=KeyUid(call) if keyable else "manual",
                related=_run_from(ctx.index, facts, call) if why != "in a loop" else [],
            )


class MissingRouteId(Rule):
    code = "DM108"
    name = "missing-route-id"
    severity = "error"
    fix = "safe"
    summary = "router route without id="
    docs = RuleDocs(
        what="A route added with `add_page`/`add_layout`/`add_index`/`add_prefix` on a Dara "
        "`Router` (or `config.router`), or built with `PageRoute/LayoutRoute/IndexRoute/"
        "PrefixRoute(...)`, without `id=`. Methods of the same name on other objects "
        "(bokeh's `p.add_layout`) are not routes.",
        why="Dara gives such a route `path + uuid4().hex`. The browser fetches "
        "`/api/core/route/{id}`; another worker built different ids, so navigation 404s.",
        use_instead="`id='<slug>'` from the full path: `index` for `/`, a `layout-` prefix "
        "for layouts; unique per router and matching `^[a-zA-Z0-9-_]+$`.",
        fix_safety="Safe: the id is only used to address the route. In a loop over keys "
        "written in the code (a page registry: `for name, page in PAGES.items(): "
        "router.add_page(path=name, content=page)`), safe too: the id is written of the loop "
        "variable as the path is (`id=name`, `id=f'reports-{name}'`) where every key makes "
        "a valid id no other route has. Unsafe in a loop over values not written in the code, "
        "or in loops in loops, where the id is each pass's full path written of every loop's "
        "variable (`id=f'{category.slug}-{product.slug}'`, the index of a prefix each pass "
        "adds: `id=f'{category.slug}-index'`): whether each is a valid id, the build tells. "
        "Safe in a helper whose parameter gives the path (`def add_report(router, path): "
        "router.add_page(path=path, ...)`), called once per call site, each passing a "
        "constant: `id=path`, where every call's makes a valid id no other route has. "
        "Manual where the call otherwise runs more than once per process (a helper called "
        "twice with computed paths, a loop whose variable the path does not use): Dara keys "
        "routes by id, so one literal would make them replace each other. Unsafe where "
        "nothing in the project is "
        "seen calling the code (a registering decorator).",
        confidence="High: the receiver must resolve to a Dara router or route.",
    )
    VALID = [
        Example.module(
            "from dara.core import ConfigurationBuilder\n"
            "from dara.components import Text\n\n"
            "config = ConfigurationBuilder()\n"
            "config.router.add_page(path='/', content=lambda: Text('hi'), id='index')\n\n"
            "class Figure:\n"
            "    def add_layout(self, item): ...\n\n"
            "p = Figure()\n"
            "p.add_layout('legend')\n"
        ),
    ]
    INVALID = [
        Example.module(
            "from dara.core import ConfigurationBuilder, PageRoute\n"
            "from dara.components import Text\n\n"
            "config = ConfigurationBuilder()\n"
            "config.router.add_page(path='/', content=lambda: Text('hi'))  # expect: DM108\n"
            "reports = config.router.add_prefix(path='reports')  # expect: DM108\n"
            "reports.add_page(path='sales', content=lambda: Text('s'))  # expect: DM108\n",
            fixed=(
                "from dara.core import ConfigurationBuilder, PageRoute\n"
                "from dara.components import Text\n\n"
                "config = ConfigurationBuilder()\n"
                "config.router.add_page(\n"
                "    path='/',\n"
                "    content=lambda: Text('hi'),\n"
                "    id='index',\n"
                ")\n"
                "reports = config.router.add_prefix(path='reports', id='reports')\n"
                "reports.add_page(\n"
                "    path='sales',\n"
                "    content=lambda: Text('s'),\n"
                "    id='reports-sales',\n"
                ")\n"
            )
        ),
    ]

    def check(self, ctx: Context) -> Iterator[Finding]:
        routes = route_calls(ctx.index)
        # Ids must differ within each app's router; apps build in separate processes. Dara
        # lowercases route ids (`BaseRoute.convert_id`) and keys its route map by them: ids
        # are compared, and made, as Dara will hold them.
        taken: dict[str, set[str]] = defaultdict(set)
        routers: dict[str, list[set[str]]] = {}

        def routers_of(path: str) -> list[set[str]]:
            found = routers.get(path)
            if found is None:
                found = routers[path] = [
                    taken[app.key] for app in ctx.apps.owning(path)] or [taken[""]]
            return found

        for facts, call, _ in routes:
            value = call.kwarg("id")
            if value is not None and isinstance(value.const, str):
                for ids in routers_of(facts.path):
                    ids.add(value.const.lower().strip().replace(" ", "-"))
            elif value is not None and call.loop:
                for ids in routers_of(facts.path):
                    ids.update(_given_pass_ids(ctx.index, facts, call, value))
        for facts, call, method in routes:
            given = call.keyword("id")
            # `id=None` written out is no id: Dara makes path + uuid4 then too.
            if ((given is not None and not (given.kind == "const" and given.const is None))
                    or not ctx.is_selected(facts)):
                continue
            params = _param_route_id(ctx.index, facts, call, method, routers_of(facts.path))
            if params is not None:
                yield ctx.at_call(
                    self, facts, call,
                    "route without id= gets path + uuid4 per worker and 404s elsewhere; it "
                    "is added once per call of the function, each giving its path: add "
                    f"id={params.expression()}", fix=params)
                continue
            if call.loop or (ctx.index.runs_at(facts, call.scope) > 1
                             and not _router_made_per_run(ctx.index, facts, call)):
                keyed = _keyed_route_id(ctx.index, facts, call, method, routers_of(facts.path))
                if keyed is not None:
                    each = ("once per element of a collection written in the code: add "
                            f"id={keyed.expression()}" if keyed.ids else
                            "once per pass of a loop over values the code does not spell: add "
                            f"id={keyed.expression()} (each pass's path) if every such path is "
                            "a valid id (letters, digits, - and _)")
                    yield ctx.at_call(
                        self, facts, call,
                        "route without id= gets path + uuid4 per worker and 404s elsewhere; "
                        f"it is added {each}", fix=keyed)
                    continue
                # Dara keys its route map by id: routes sharing one replace each other.
                yield ctx.at_call(
                    self, facts, call,
                    "route without id= gets path + uuid4 per worker and 404s elsewhere; it is "
                    "added more than once per process, so one literal id would be shared by "
                    "every route it adds: give each its own, e.g. an f-string over what "
                    "tells them apart", fix="manual")
                continue
            slug = _route_slug(ctx.index, facts, call, method)
            if slug is None:
                yield ctx.at_call(
                    self, facts, call,
                    "route without id= gets path + uuid4 per worker and 404s elsewhere; its "
                    "path is computed, so give it an id= that names the page", fix="manual")
                continue
            candidate, counter, mine = slug, 1, routers_of(facts.path)
            while any(candidate in ids for ids in mine):
                counter += 1
                candidate = f"{slug}-{counter}"
            for ids in mine:
                ids.add(candidate)
            # As for DM101: where the index cannot tell how often the code runs (a
            # registering decorator), a literal may be shared; a person decides.
            kind: Applicability = (
                "unsafe" if ctx.index.when_at(facts, call.scope) == "unknown" else "safe")
            where = "" if kind == "safe" else " (nothing in the project calls this code; check it)"
            yield ctx.at_call(
                self, facts, call,
                f"route without id= gets path + uuid4 per worker and 404s elsewhere; "
                f"add id='{candidate}'{where}",
                fix=SetId(call, "id", candidate, kind, replace=given is not None),
            )


def _route_path(index: ProjectIndex, facts: FileFacts, call: Call) -> list[str] | None:
    """Path segments from the router root down to this route; None where a path on the way
    is computed (not a literal, nor a module-level constant)."""
    segments = _route_segments(index, facts, call)
    if segments is None or any(named for segment in segments for named, _ in segment):
        return None
    return ["".join(part for _, part in segment) for segment in segments]


def _route_segments(index: ProjectIndex, facts: FileFacts, call: Call,
                    depth: int = 0) -> list[list[Piece]] | None:
    """Path segments from the router root down to this route, as pieces: a literal or a
    module-level constant is one text piece, a path written of names (`category.slug`,
    `f'regions/{region}'`) is `_written_pieces`; None where a path on the way is computed
    otherwise."""
    own = call.kwarg("path")
    segments: list[list[Piece]] = []
    if own is not None:
        written = own.const if own.kind == "str" else _constant_uid(index, facts, call.scope,
                                                                     own)
        pieces = [(False, written)] if isinstance(written, str) else _written_pieces(own)
        if pieces is None:
            return None
        segments.append(_stripped(pieces))
    if depth > 8:
        return segments
    parent = _parent_route(index, facts, call)
    above = [] if parent is None else _route_segments(index, facts, parent, depth + 1)
    return None if above is None else [*above, *segments]


def _stripped(pieces: list[Piece]) -> list[Piece]:
    """A path's pieces without the slashes it starts or ends with."""
    out = list(pieces)
    if out and not out[0][0]:
        out[0] = (False, out[0][1].lstrip("/"))
    if out and not out[-1][0]:
        out[-1] = (False, out[-1][1].rstrip("/"))
    return out


def _parent_route(index: ProjectIndex, facts: FileFacts, call: Call) -> Call | None:
    """The route a route is added to (None: the router root)."""
    parent: Call | None = None
    if call.parent >= 0:
        parent = facts.calls[call.parent]
    elif call.callee.rsplit(".", 1)[-1] in ROUTE_CLASSES and (
            holder := _children_holder(facts, call)) is not None:
        parent = holder  # only a route object can be one of a route's children
    elif "." in call.callee:
        receiver = call.callee.rsplit(".", 1)[0]
        found = index.lookup(facts, call.scope, receiver.split(".")[0])
        if "." not in receiver and found and found[0].value and found[0].value.kind == "call":
            parent = facts.calls[found[0].value.call]
    if (parent is not None and parent.kwarg("path") is not None) or (
            parent is not None and parent.callee.rsplit(".", 1)[-1] in
            (*ROUTE_CLASSES, *ROUTE_METHODS, "set_children")):
        return parent
    return None


def _children_holder(facts: FileFacts, call: Call) -> Call | None:
    """The route whose list of children holds `call` as written (`PrefixRoute(path='docs',
    children=[...])`, `route.set_children([...])`): an element of a list is no argument of
    the call, so `call.parent` does not say. A call's parents come before it in the file."""
    for holder in reversed(facts.calls[:call.id]):
        method = holder.callee.rsplit(".", 1)[-1]
        if method == "set_children":
            children = holder.argument(0, "children")
        elif method in ROUTE_CLASSES:
            children = holder.kwarg("children")
        else:
            continue
        if children is not None and any(item.call == call.id for item in children.items):
            return holder
    return None


def _route_slug(index: ProjectIndex, facts: FileFacts, call: Call, method: str) -> str | None:
    """The id the route's full path gives it; None where the path is computed."""
    path = _route_path(index, facts, call)
    if path is None:
        return None
    segments = [s for s in path if s]
    slug = _ROUTE_SLUG.sub("-", "-".join(segments)).strip("-").lower() or "index"
    if method in ("add_layout", "LayoutRoute"):
        return f"layout-{slug}" if segments else "layout"
    if method in ("add_index", "IndexRoute") and segments:
        return f"{slug}-index"
    return slug


_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _extra_names(extras: Value | None) -> tuple[list[str], list[str]]:
    """Parameter names and call arguments for the `extras` of a factory call."""
    if extras is None:
        return [], []
    if extras.kind != "container":
        return ["..."], ["..."]
    params: list[str] = []
    args: list[str] = []
    for position, item in enumerate(extras.items, 1):
        text = item.text if item.kind in ("name", "attr") else ""
        name = snake(text.rsplit(".", 1)[-1]) if text else ""
        if not _IDENTIFIER.match(name) or name in params or name in ("ctx", "old"):
            name = f"extra_{position}"
        params.append(name)
        args.append(text or "<extra>")
    return params, args


def _variable_name(call: Call) -> str:
    """The `variable=` of an `UpdateVariable` call as written, when it is a (dotted) name."""
    variable = call.argument(1, "variable")
    return variable.text if variable is not None and variable.kind in ("name", "attr") else ""


def action_equivalent(call: Call, api: str) -> str:
    """The module-level `@action` that replaces one deprecated factory call, on one line,
    named as `apply` names it."""
    from dara_migrate.action_rewrite import action_name

    callable_slot, extras_slot = FACTORY_SLOTS[api]
    function = call.argument(*callable_slot)
    params, args = _extra_names(call.argument(*extras_slot))
    named = function.text if function is not None and function.kind in ("name", "attr") else ""
    written = _variable_name(call) if api == "UpdateVariable" else ""
    name = action_name(api, named, written)
    if api == "UpdateVariable":
        target = written or "<variable>"
        params, args = ["old", *params], [target, *args]
        body = f"await ctx.update({target}, <new value from old and ctx.input>)"
    elif api == "NavigateTo":
        new_tab = call.argument(1, "new_tab")
        tab = ", new_tab=True" if new_tab is not None and new_tab.const is True else ""
        body = f"await ctx.navigate(<url from ctx.input>{tab})"
    elif api == "DownloadContent":
        cleanup = call.argument(2, "cleanup_file")
        clean = ", cleanup=True" if cleanup is not None and cleanup.const is True else ""
        body = f"await ctx.download_file(<path>{clean})"
    else:
        body = "<the side effect; ctx.input is the component value>"
    signature = ", ".join(["ctx: action.Ctx", *params])
    return (f"`@action async def {name}({signature}): {body}`, "
            f"used as `{name}({', '.join(args)})`")


class PerCallActionDefinition(Rule):
    code = "DM105"
    name = "per-call-action-definition"
    severity = "error"
    fix = "safe"
    summary = "deprecated factory that defines a new @action on every call"
    docs = RuleDocs(
        what="Calls of the deprecated action factories that wrap a callable in a fresh "
        "`@action`: `UpdateVariable(<resolver>, ...)`, `NavigateTo(<callable>)`, "
        "`DownloadContent(...)` and `SideEffect(...)`. Static forms define nothing and are not "
        "reported: `var.update(value=...)`, `var.sync()`, `var.toggle()`, `UpdateVariableImpl`, "
        "`NavigateTo('/x')` (a string or f-string url), `ResetVariables`, `TriggerVariable`, "
        "`Notify`.",
        why="Each call runs `action(closure)`: a new definition with a random `uuid4` id, and "
        "every such definition shares one qualname inside dara "
        "(`UpdateVariable.__init__.<locals>._update`), so not even a qualname-based id scheme "
        "can tell them apart. Another worker never registered this worker's id, so clicking "
        "the button there fails.",
        use_instead="One module-level `@action` per behaviour, called where the factory was: "
        "`@action async def set_total(ctx: action.Ctx, old): await ctx.update(total, old + 1)` "
        "and `onclick=set_total(total)`. A top-level `@action` can get a stable id.",
        fix_safety="A resolver that returns a constant (`UpdateVariable(lambda ctx: True, "
        "variable=v)`) becomes the static `v.update(value=True)`, which defines nothing and "
        "does the same, wherever the variable lives (`self.x` too). On a plain `Variable`, "
        "`onchange=UpdateVariable(lambda ctx: ctx.inputs.new, v)` becomes `v.sync()` (the "
        "browser sets the component's value, which the resolver got and returned as JSON; "
        "an `onclick` sends a click event instead), and `lambda ctx: not ctx.inputs.old` becomes "
        "`v.toggle()` when `v` was created with a `True`/`False` default (the browser's `!` "
        "and Python's `not` differ only on an empty list or dict). "
        "`NavigateTo(lambda ctx: '/incidents')` becomes `NavigateTo('/incidents')`, for which "
        "dara makes a static action (with extras, which only the resolver read, the `@action` "
        "rewrite is kept); so does `lambda ctx: HOME` where `HOME` is a module-level name "
        "bound once to a string (here or where it is imported from) that nothing rebinds. "
        "Only `lambda ctx:` is removed: the url keeps its brackets and comments. "
        "A `ServerVariable` has "
        "neither method, and a variable the analysis cannot trace keeps the `@action` "
        "rewrite. Otherwise: "
        "safe when the callable and the variable are module-level (or imported) "
        "names, or a lambda over such names: `apply` defines one module-level `@action` per "
        "call that does exactly what the factory's inner action did (the same old-style "
        "context, the callable run through `run_user_handler`, then `ctx.update`, "
        "`ctx.navigate` or `ctx.download_file`) and calls it with the variable and the "
        "extras, so instance state in `extras=[self.x]` is passed as inputs. The browser gets "
        "the same action; only Python code that reads `.variable` or `.extras` off an "
        "`UpdateVariable(...)` object would notice. A plain `Variable` of literals local to a "
        "module-level page function that runs once, at build (`selected = Variable()` in "
        "`def page():`), moves to module level with the rewrite, where the action can name it: "
        "the one instance is made at import rather than when the page is built, which "
        "nothing else sees. Anything else is manual; the message shows the rewrite.",
        confidence="High: calls are resolved through imports. `NavigateTo` is reported only when "
        "its url is visibly a callable (a lambda, a project function or a parameter annotated "
        "`Callable`); an argument the analysis cannot see into is left alone.",
    )
    VALID: ClassVar[list[Example]] = [
        Example.module(
            "from dara.core import NavigateTo, ResetVariables, Variable, action\n"
            "from dara.components import Button, Stack\n\n"
            "count = Variable(0)\n"
            "HOME = '/home'\n\n"
            "@action\n"
            "async def increment(ctx: action.Ctx, old: int):\n"
            "    await ctx.update(count, old + 1)\n\n"
            "def page(section: str):\n"
            "    return Stack(\n"
            "        Button('+1', onclick=increment(count)),\n"
            "        Button('zero', onclick=count.update(value=0)),\n"
            "        Button('reset', onclick=ResetVariables(variables=[count])),\n"
            "        Button('home', onclick=NavigateTo(HOME)),\n"
            "        Button('docs', onclick=NavigateTo(f'/docs/{section}')),\n"
            "    )\n"
        ),
    ]
    INVALID: ClassVar[list[Example]] = [
        Example.module(
            "import dara.core as dc\n"
            "from dara.core.actions import UpdateVariable as UV, SideEffect\n"
            "from dara.components import Button, Select, Stack\n\n"
            "count = dc.Variable(0)\n"
            "choice = dc.Variable('/home')\n\n"
            "def log_click(ctx):\n"
            "    print(ctx.inputs.value)\n\n"
            "def page():\n"
            "    return Stack(\n"
            "        Button('+1', onclick=UV(lambda ctx: ctx.inputs.old + 1, count)),  "
            "# expect: DM105\n"
            "        Button('log', onclick=SideEffect(log_click, extras=[count])),  "
            "# expect: DM105\n"
            "        Select(value=choice, items=['/a', '/b'],\n"
            "               onchange=dc.NavigateTo(lambda ctx: ctx.inputs.value)),  "
            "# expect: DM105\n"
            "        Button('csv', onclick=dc.DownloadContent(lambda ctx: 'out.csv')),  "
            "# expect: DM105\n"
            "    )\n",
            fixed=(
                "import dara.core as dc\n"
                "from dara.core import action\n"
                "from dara.components import Button, Select, Stack\n"
                "from dara.core.interactivity.actions import (\n"
                "    ComponentActionContext,\n"
                "    ComponentActionInputs,\n"
                "    UpdateVariableContext,\n"
                "    UpdateVariableInputs,\n"
                ")\n"
                "from dara.core.internal.utils import run_user_handler\n\n"
                "count = dc.Variable(0)\n"
                "choice = dc.Variable('/home')\n\n\n"
                "@action\n"
                "async def update_count(ctx: action.Ctx, old):\n"
                "    \"\"\"Defined once: the deprecated helper defined it on every call.\"\"\"\n"
                "    context = UpdateVariableContext(\n"
                "        inputs=UpdateVariableInputs(old=old, new=ctx.input),\n"
                "        extras=[],\n"
                "    )\n"
                "    value = await run_user_handler(\n"
                "        lambda ctx: ctx.inputs.old + 1,\n"
                "        args=(context,),\n"
                "    )\n"
                "    await ctx.update(count, value)\n\n\n"
                "@action\n"
                "async def navigate_to(ctx: action.Ctx):\n"
                "    \"\"\"Defined once: the deprecated helper defined it on every call.\"\"\"\n"
                "    context = ComponentActionContext(\n"
                "        inputs=ComponentActionInputs(value=ctx.input),\n"
                "        extras=[],\n"
                "    )\n"
                "    value = await run_user_handler(\n"
                "        lambda ctx: ctx.inputs.value,\n"
                "        args=(context,),\n"
                "    )\n"
                "    await ctx.navigate(value, False)\n\n\n"
                "@action\n"
                "async def download_content(ctx: action.Ctx):\n"
                "    \"\"\"Defined once: the deprecated helper defined it on every call.\"\"\"\n"
                "    context = ComponentActionContext(\n"
                "        inputs=ComponentActionInputs(value=ctx.input),\n"
                "        extras=[],\n"
                "    )\n"
                "    value = await run_user_handler(\n"
                "        lambda ctx: 'out.csv',\n"
                "        args=(context,),\n"
                "    )\n"
                "    await ctx.download_file(value, False)\n\n\n"
                "def log_click(ctx):\n"
                "    print(ctx.inputs.value)\n\n\n"
                "@action\n"
                "async def log_click_effect(ctx: action.Ctx, extra_1):\n"
                "    \"\"\"Defined once: the deprecated helper defined it on every call.\"\"\"\n"
                "    context = ComponentActionContext(\n"
                "        inputs=ComponentActionInputs(value=ctx.input),\n"
                "        extras=[extra_1],\n"
                "    )\n"
                "    await run_user_handler(\n"
                "        log_click,\n"
                "        args=(context,),\n"
                "    )\n\n\n"
                "def page():\n"
                "    return Stack(\n"
                "        Button('+1', onclick=update_count(count)),\n"
                "        Button('log', onclick=log_click_effect(count)),\n"
                "        Select(value=choice, items=['/a', '/b'],\n"
                "               onchange=navigate_to()),\n"
                "        Button('csv', onclick=download_content()),\n"
                "    )\n"
            )
        ),
        Example.module(
            "from dara.core import UpdateVariable, Variable\n"
            "from dara.components import Button\n\n\n"
            "class Drawer:\n"
            "    def __init__(self):\n"
            "        self.open = Variable(False)\n\n"
            "    def toggle_button(self):\n"
            "        return Button(\n"
            "            'Open',\n"
            "            onclick=UpdateVariable(lambda ctx: True, variable=self.open),  "
            "# expect: DM105\n"
            "        )\n",
            note="A resolver that returns a constant is the static form of the variable's "
            "`update`, which defines nothing, wherever the variable lives.",
            fixed=(
                "from dara.core import Variable\n"
                "from dara.components import Button\n\n\n"
                "class Drawer:\n"
                "    def __init__(self):\n"
                "        self.open = Variable(False)\n\n"
                "    def toggle_button(self):\n"
                "        return Button(\n"
                "            'Open',\n"
                "            onclick=self.open.update(value=True),\n"
                "        )\n"
            )
        ),
        Example.module(
            "from dara.core import UpdateVariable, Variable\n"
            "from dara.components import Button, Stack\n\n\n"
            "class CountryPicker:\n"
            "    def __init__(self):\n"
            "        self.countries = Variable(['France'])\n"
            "        self.filters = Variable({'year': 2020})\n\n"
            "    def __call__(self):\n"
            "        return Stack(\n"
            "            Button('Clear', onclick=UpdateVariable(lambda ctx: [], self.countries)),  "
            "# expect: DM105\n"
            "            Button('Reset', onclick=UpdateVariable(  # expect: DM105\n"
            "                lambda ctx: {'year': 2020, 'regions': ('emea', 'apac')},\n"
            "                self.filters)),\n"
            "        )\n",
            note="A resolver that returns a literal list, tuple or dict of constants returns "
            "equal data every time: its static `update` defines nothing.",
            fixed=(
                "from dara.core import Variable\n"
                "from dara.components import Button, Stack\n\n\n"
                "class CountryPicker:\n"
                "    def __init__(self):\n"
                "        self.countries = Variable(['France'])\n"
                "        self.filters = Variable({'year': 2020})\n\n"
                "    def __call__(self):\n"
                "        return Stack(\n"
                "            Button('Clear', onclick=self.countries.update(value=[])),\n"
                "            Button('Reset', onclick=self.filters.update(value={'year': 2020, "
                "'regions': ('emea', 'apac')})),\n"
                "        )\n"
            )
        ),
        Example.module(
            "import dara.core as dc\n"
            "from dara.core import UpdateVariable\n"
            "from dara.components import Button, Select, Stack\n\n"
            "region = dc.Variable('emea')\n\n\n"
            "class Filters:\n"
            "    def __init__(self):\n"
            "        self.expanded = dc.Variable[bool](False)\n\n"
            "    def __call__(self):\n"
            "        return Stack(\n"
            "            Select(items=['emea', 'apac'],\n"
            "                   onchange=UpdateVariable(lambda ctx: ctx.inputs.new, region)),  "
            "# expect: DM105\n"
            "            Button('More',\n"
            "                   onclick=UpdateVariable(lambda c: not c.inputs.old, "
            "self.expanded)),  "
            "# expect: DM105\n"
            "        )\n",
            note="Copying the component's value into a `Variable` is its `sync()`; negating a "
            "`Variable` created with `True`/`False` is its `toggle()`. Both run in the browser "
            "and define nothing.",
            fixed=(
                "import dara.core as dc\n"
                "from dara.components import Button, Select, Stack\n\n"
                "region = dc.Variable('emea')\n\n\n"
                "class Filters:\n"
                "    def __init__(self):\n"
                "        self.expanded = dc.Variable[bool](False)\n\n"
                "    def __call__(self):\n"
                "        return Stack(\n"
                "            Select(items=['emea', 'apac'],\n"
                "                   onchange=region.sync()),\n"
                "            Button('More',\n"
                "                   onclick=self.expanded.toggle()),\n"
                "        )\n"
            )
        ),
    ]

    def check(self, ctx: Context) -> Iterator[Finding]:
        from dara_migrate.action_rewrite import static_form

        for facts, call, api in action_factory_calls(ctx.index):
            if not ctx.is_selected(facts):
                continue
            prefix = (f"{api}(...) defines a new @action with a random id each time it runs, "
                      "all sharing one qualname; ")
            fix = factory_fix(ctx.index, facts, call, api)
            if isinstance(fix, StaticUpdate) and fix.form == "url":
                url = _constant_text(facts, call, api)
                yield ctx.at_call(
                    self, facts, call, f"{prefix}it only navigates to {url}: use the static "
                    f"form, which defines nothing: `NavigateTo({url})`", fix=fix)
                continue
            if isinstance(fix, StaticUpdate):
                target = _variable_name(call) or "<variable>"
                does, method = _STATIC_FORMS[fix.form]
                method = method.format(_constant_text(facts, call, api))
                yield ctx.at_call(
                    self, facts, call, f"{prefix}it only {does.format(target)}: use the "
                    f"static form, which defines nothing: `{target}.{method}`", fix=fix)
                continue
            form = static_form(facts, call, api)
            hint = _static_form_hint(ctx.index, facts, call, form) if form else ""
            moved = _movable_variable(ctx.index, facts, call) if fix is None else None
            if moved is not None:
                hint = (f"; {moved.name} is local to {facts.scopes[moved.scope].qualname}, "
                        "which runs once, at build: `apply` moves it to module level with the "
                        "action") + hint
            else:
                hint = _unnamed_variable_note(ctx.index, facts, call, api) + hint
            yield ctx.at_call(
                self, facts, call,
                f"{prefix}define it once at module level: {action_equivalent(call, api)}{hint}",
                fix=fix or (DefineAction(call, api, moved=moved) if moved is not None
                            else "manual"),
            )


def factory_fix(index: ProjectIndex, facts: FileFacts, call: Call, api: str
                ) -> StaticUpdate | DefineAction | None:
    """DM105's fix of a factory call: the static form it amounts to, else one module-level
    `@action` where the rewriter can make it; None where a person must."""
    from dara_migrate.action_rewrite import convertible, static_form

    form = static_form(facts, call, api)
    if form in _STATIC_FORMS and _has_static_form(index, facts, call, form):
        return StaticUpdate(call, form)
    return DefineAction(call, api) if convertible(index, facts, call, api) else None


@dataclass(frozen=True, slots=True, eq=False)
class RewrittenByDM105(Fix):
    """DM301 on a factory call that DM105's fix rewrites: the rewritten code defines its
    action once at module level, or nothing, so the per-request definition goes with that
    fix. It makes no edit of its own."""

    applicability: Applicability

    def plan(self, finding: Finding, planning: FixRound) -> PlannedFix | None:
        return None


_STATIC_FORMS = {
    "update": ("sets {} to a constant", "update(value={})"),
    "sync": ("sets {} to the component's value", "sync()"),
    "toggle": ("negates {}", "toggle()"),
    "url": ("navigates to {}", ""),
}
"""Per static form: what the resolver does, and the variable method that does the same (with
the constant, for `update`)."""


def _constant_text(facts: FileFacts, call: Call, api: str) -> str:
    """What an `UpdateVariable` resolver of the `update` form (or a `NavigateTo` one of the
    `url` form) returns, as Python writes it when it is a plain constant (`True`, `0`,
    `'all'`); `...` for a literal collection."""
    returned = _returned(facts, call, api)
    if returned is not None and returned.kind == "name":
        return returned.text  # a constant's name (`NavigateTo(HOME)`): `_has_static_form`
    if returned is None or returned.kind not in ("const", "str"):
        return "..."
    return repr(returned.const)


def _returned(facts: FileFacts, call: Call, api: str) -> Value | None:
    """What the lambda resolver of a static-form factory call returns (`static_form`)."""
    resolver = call.argument(*FACTORY_SLOTS[api][0])
    return facts.scopes[resolver.scope].returned[0] if resolver is not None else None


def _has_static_form(index: ProjectIndex, facts: FileFacts, call: Call, form: str) -> bool:
    """Whether the variable's static action does exactly what the resolver did.

    `update` exists on every variable `UpdateVariable` accepts. `sync()` and `toggle()` exist
    only on a plain `Variable`, whose browser-side update sets the component's value or `!old`.
    The resolver got that value through JSON, which every `onchange` sends (a Button's
    `onclick` sends its click event), so `sync` needs the call given as an `onchange`.
    JavaScript's `!` and Python's `not` disagree only on an empty list or dict, so `toggle`
    needs a variable created with a `True`/`False` default."""
    if form == "update":
        return True
    if form == "url":
        resolver = call.argument(*FACTORY_SLOTS["NavigateTo"][0])
        returned = _returned(facts, call, "NavigateTo")
        if resolver is None or returned is None or returned.kind == "str":
            return returned is not None
        # `NavigateTo(HOME)` reads the name where the call is, when it runs: the lambda's
        # binding must be the one seen there (a class body's own `HOME` is not), bound on
        # an earlier line.
        seen = index.lookup(facts, call.scope, returned.text)
        read = index.lookup(facts, resolver.scope, returned.text)
        return seen is not None and seen == read and seen[0].stmt_line < call.span.line and (
            constant_string(index, facts, resolver.scope, returned.text) is not None)
    variable = _variable_name(call)
    if not variable or variable_kind(index, facts, call.scope, variable) != "Variable":
        return False
    if form == "sync":
        return call.target == "onchange"
    made = variable_constructor(index, facts, call.scope, variable)
    if made is None or index.resolve_call(*made).api != "Variable":
        return False
    default = made[1].argument(0, "default")
    return default is not None and default.kind == "const" and type(default.const) is bool


def _movable_variable(index: ProjectIndex, facts: FileFacts, call: Call) -> Binding | None:
    """The assignment of the plain `Variable` an `UpdateVariable` call updates, where it is
    local to a module-level function that runs once, at build, and can move to module level
    unchanged: made there once, of literals (`selected = Variable(False)`), by a name no other
    scope of the module binds or declares (nor a builtin's), and convertible to one `@action`
    once moved. `plan_hoist` checks the source when it moves it."""
    from dara_migrate.action_rewrite import convertible, is_literal

    variable = _variable_name(call)
    if not variable or "." in variable or variable in _BUILTIN_NAMES:
        return None
    found = index.lookup(facts, call.scope, variable)
    if found is None:
        return None
    binding, bound_in = found
    scope = facts.scopes[bound_in]
    if (binding.kind != "assign" or binding.loop or binding.value is None
            or binding.value.kind != "call" or scope.kind != "function" or scope.parent != 0
            or index.when_at(facts, bound_in) != "build" or index.runs_at(facts, bound_in) != 1):
        return None
    made = facts.calls[binding.value.call]
    if made.scope != bound_in or index.resolve_call(facts, made).api != "Variable" or not all(
            is_literal(value) for value in (*made.args, *(v for _, v in made.kwargs))):
        return None
    if any(other.name == variable and other is not binding for other in facts.bindings) or any(
            variable in other.globals for other in facts.scopes):
        return None
    return binding if convertible(index, facts, call, "UpdateVariable", variable) else None


_BUILTIN_NAMES = frozenset(dir(builtins))


def _unnamed_variable_note(index: ProjectIndex, facts: FileFacts, call: Call, api: str) -> str:
    """An `UpdateVariable` on a parameter (`flag`, `self.open`) or a function's local: the
    action's `ctx.update` needs the variable itself, which a module-level action cannot name
    there."""
    variable = _variable_name(call) if api == "UpdateVariable" else ""
    if not variable:
        return ""
    found = index.lookup(facts, call.scope, variable.split(".")[0])
    if found is None or found[1] == 0 or found[0].kind not in ("param", "assign"):
        return ""
    if found[0].kind == "param":
        return (f"; {variable} comes from a parameter, which a module-level action cannot "
                "name: make the variable module-level, or pass the helper the action instead "
                "of the variable")
    return (f"; {variable} is local to {facts.scopes[found[1]].qualname}, which a "
            "module-level action cannot name: make the variable module-level")


def _static_form_hint(index: ProjectIndex, facts: FileFacts, call: Call, form: str) -> str:
    """For a sync or toggle resolver on a variable not proven to have that method with that
    meaning (a parameter, a variable of unknown default): what a person can check."""
    variable = _variable_name(call)
    if form == "update" or (form == "sync" and call.target != "onchange") or not variable or (
            variable_kind(index, facts, call.scope, variable) not in (None, "Variable")):
        return ""
    holds = "is a plain Variable" if form == "sync" else (
        "is a Variable that only holds True or False")
    return (f"; if {variable} {holds}, `{variable}.{form}()` does the same and "
            "defines nothing")


def _candidate_names(index: ProjectIndex, facts: FileFacts, call: Call, resolved: Resolved,
                     dara_only: bool) -> list[str]:
    """The names a call can be listed under: `DataSlicer`, `DataFactory.read_dataset_var`,
    and, for user-listed names, the qualified callee and `<receiver class>.<method>`."""
    method = call.callee.rsplit(".", 1)[-1]
    if resolved.function is not None:
        if index.scope(resolved.function).kind == "class":
            return _base_names(index, resolved.function, dara_only)
        return []
    names: list[str] = []
    if resolved.api:
        names.append(resolved.api)
    if resolved.instance_of:
        # Calling an instance (`slicer()`) runs its `__call__`.
        names.append(f"{resolved.instance_of}.{resolved.attribute or '__call__'}")
    if resolved.instance_of_project is not None and "." in call.callee:
        names += [f"{base}.{method}" for base in
                  _base_names(index, resolved.instance_of_project, dara_only)]
    if not dara_only:
        names.append(resolved.qualified)
        receiver = _receiver_class(index, facts, call)
        if receiver:
            names.append(f"{receiver}.{method}")
    return names


def _base_names(index: ProjectIndex, cls: ScopeRef, dara_only: bool, depth: int = 0) -> list[str]:
    """Names of the library classes a project class derives from."""
    facts = index.files[cls[0]]
    scope = facts.scopes[cls[1]]
    names: list[str] = []
    for base in scope.bases:
        resolved = index.resolve(facts, scope.parent, base)
        if resolved.function is not None and depth < 5:
            names += _base_names(index, resolved.function, dara_only, depth + 1)
        elif resolved.api:
            names.append(resolved.api)
        elif not dara_only and resolved.function is None:
            names.append(resolved.qualified)
    return names


def _receiver_class(index: ProjectIndex, facts: FileFacts, call: Call) -> str | None:
    """`acme.Factory` for `f.make()` when `f = acme.Factory(...)` in a visible scope."""
    receiver = call.callee.rpartition(".")[0]
    if not receiver or "." in receiver:
        return None
    found = index.lookup(facts, call.scope, receiver)
    if found is None or found[0].kind != "assign" or found[0].value is None or (
            found[0].value.kind != "call"):
        return None
    made_by = index.resolve(facts, found[1], found[0].value.text)
    return made_by.qualified if made_by.function is None else None


def _listed(names: list[str], entries: dict[str, str]) -> str | None:
    """The entry a name is, or ends with (`pkg.DataFactory.read_dataset_var` is listed as
    `DataFactory.read_dataset_var`); the longest such entry."""
    for name in names:
        parts = name.split(".")
        for cut in range(len(parts)):
            suffix = ".".join(parts[cut:]) if cut else name
            if suffix in entries:
                return suffix
    return None


_LISTED_ENDINGS = frozenset(name.rpartition(".")[2] for name in LIBRARY_MADE_DEFINITIONS)
"""The last parts of the names Dara's libraries list: a name that ends otherwise is not
listed, nor is any of its suffixes."""


def _may_be_listed(call: Call, resolved: Resolved) -> bool:
    """False where no name `_candidate_names` gives for Dara's libraries can be listed (most
    calls): each name ends with the api, the attribute called or the method called."""
    if resolved.function is not None:
        return True  # a class: the names of its bases
    if resolved.api is not None and resolved.api.rpartition(".")[2] in _LISTED_ENDINGS:
        return True
    if resolved.instance_of and (
            (resolved.attribute or "__call__").rpartition(".")[2] in _LISTED_ENDINGS):
        return True
    return resolved.instance_of_project is not None and "." in call.callee and (
        call.callee.rpartition(".")[2] in _LISTED_ENDINGS)


def library_made_calls(index: ProjectIndex, extra: tuple[str, ...]
                       ) -> list[tuple[FileFacts, Call, str, str]]:
    """Calls that make Dara's libraries (or `library-components`) build uid-less definitions:
    (facts, call, listed name, what it builds)."""
    user = {name: "definitions without uids (listed in library-components)" for name in extra}
    found: list[tuple[FileFacts, Call, str, str]] = []
    # Only Dara and project calls have names Dara's libraries list; any call may be user-listed.
    calls = index.resolved_calls if not user else (
        (facts, call, index.resolve_call(facts, call))
        for facts in index.files.values() for call in facts.calls if call.callee)
    classes: dict[ScopeRef, bool] = {}
    for facts, call, resolved in calls:
        function = resolved.function
        if function is not None:
            # A class has the names of its bases; a function, none.
            listed = classes.get(function)
            if listed is None:
                listed = classes[function] = index.scope(function).kind == "class"
        else:
            listed = _may_be_listed(call, resolved)
        entry = _listed(_candidate_names(index, facts, call, resolved, True),
                        LIBRARY_MADE_DEFINITIONS) if listed else None
        if entry is not None:
            found.append((facts, call, entry, LIBRARY_MADE_DEFINITIONS[entry]))
        elif user:
            entry = _listed(_candidate_names(index, facts, call, resolved, False), user)
            if entry is not None:
                found.append((facts, call, entry, user[entry]))
    return found


class LibraryMadeDefinitions(Rule):
    code = "DM106"
    name = "library-made-definitions"
    severity = "error"
    fix = "blocker"
    summary = "library component that builds uid-less definitions internally"
    docs = RuleDocs(
        what="Calls into Dara's libraries that build server-resolved definitions the app cannot "
        "give a uid: `DataSlicer(...)` and `DataSlicerModal(...)` from dara-components, and "
        "the `DataFactory` methods `list_datasets_var`, `read_dataset_var`, "
        "`delete_dataset_action` and `download_dataset_action` from `dara.core.data_utils`. "
        "Project subclasses of these classes count too. The list lives in the target profile; "
        "`library-components = [...]` in `[tool.dara-migrate]` adds names (`Name`, "
        "`package.Name` or `Class.method`), and `verify` reports what it sees built inside "
        "`dara.*` from an app call site.",
        why="The library creates DerivedVariables, ServerVariables, `UpdateVariable`/"
        "`SideEffect`/`DownloadContent` actions and method py_components with random "
        "`uuid4` ids and no way to pass a uid. Every worker builds different ids, so a "
        "request for this worker's ids fails on another one.",
        use_instead="Build the view from app-defined definitions with uids (a DerivedVariable "
        "over `DataFactory.read_dataset(...)` with `uid=`, a module-level `@action` that calls "
        "`delete_dataset`), or keep the app on one worker with the escape hatch until the "
        "library takes uids.",
        fix_safety="Blocker: the app cannot change the library's ids.",
        confidence="High for the listed names, resolved through imports, aliases and project "
        "subclasses; `DataFactory` methods need the receiver to resolve to a `DataFactory`.",
    )
    VALID: ClassVar[list[Example]] = [
        Example.module(
            "from dara.core import DerivedVariable, Variable\n"
            "from dara.core.data_utils import DataFactory\n\n"
            "factory = DataFactory('./data')\n"
            "name = Variable('sales')\n"
            "dataset = DerivedVariable(lambda n: factory.read_dataset(n), variables=[name],\n"
            "                          uid='app.main:dataset')\n\n"
            "class Slicer:\n"
            "    def list_datasets_var(self):\n"
            "        return []\n\n"
            "own = Slicer().list_datasets_var()\n",
            note="reading data through a DerivedVariable the app owns",
        ),
    ]
    INVALID: ClassVar[list[Example]] = [
        Example({
            "app/__init__.py": '"""The app package."""\n',
            "app/data.py": "from dara.core.data_utils import DataFactory\n\n"
            "factory = DataFactory('./data')\n",
            "app/main.py": "import pandas\n"
            "from dara.components import DataSlicer, Stack\n"
            "from dara.components.smart import DataSlicerModal as Modal\n"
            "from app.data import factory\n\n"
            "frame = pandas.DataFrame({'a': [1, 2]})\n"
            "slicer = DataSlicer(frame)  # expect: DM106\n"
            "datasets = factory.list_datasets_var()  # expect: DM106\n\n"
            "class FilterPanel(Modal):\n"
            "    pass\n\n"
            "def page():\n"
            "    panel = FilterPanel(frame)  # expect: DM106\n"
            "    return Stack(panel(), factory.delete_dataset_action('old'))  # expect: DM106\n",
        }),
    ]

    def check(self, ctx: Context) -> Iterator[Finding]:
        for facts, call, name, what in library_made_calls(
                ctx.index, ctx.settings.all_library_components()):
            if not ctx.is_selected(facts) or (
                    name not in LIBRARY_MADE_DEFINITIONS and name not in
                    ctx.settings.governing(facts.path).library_components):
                continue
            when = ctx.index.when_at(facts, call.scope)
            again = ", again on every request" if when == "request" else ""
            shown = name if call.callee.endswith(name) else f"{call.callee} ({name})"
            yield ctx.at_call(
                self, facts, call,
                f"{shown} builds {what} inside the library with random ids{again}; no worker "
                "can resolve another's and the app cannot pin them: build it from app-defined "
                "definitions with uids, or keep the app on one worker",
            )


class UploadResolver(Rule):
    code = "DM107"
    name = "upload-resolver"
    severity = "warning"
    fix = "manual"
    summary = "UploadDropzone registered under a random id (with or without a resolver)"
    docs = RuleDocs(
        what="Every `UploadDropzone(...)` from dara-components, with a `resolver=` (also "
        "passed positionally) or not.",
        why="`UploadDropzone.__init__` always registers an upload entry under `str(uuid4())`, "
        "even with `resolver=None`, and the browser posts each upload with that "
        "`resolver_id`; the app has no way to pin it, so an upload that reaches another "
        "worker is rejected (HTTP 400). A custom resolver also tends to keep what it receives "
        "in process-local state (a module dict, a local file) that other workers never see.",
        use_instead="Keep uploads on one worker (sticky sessions, or the escape hatch) until "
        "Dara lets the app name the upload; write the uploaded data only to shared storage "
        "(a ServerVariable or BackendStore with a uid on the shared backend, object storage).",
        fix_safety="Manual: where uploads are routed and where their data lives are design "
        "decisions.",
        confidence="High: the constructor is resolved through imports; whether a resolver "
        "writes process-local state is not checked here (DM205/DM207 look at that).",
    )
    VALID: ClassVar[list[Example]] = [
        Example.module(
            "from dara.core import ServerVariable\n\n"
            "class UploadDropzone:\n"
            "    \"\"\"The app's own widget of the same name: not Dara's.\"\"\"\n\n"
            "    def __init__(self, target: ServerVariable) -> None:\n"
            "        self.target = target\n\n"
            "uploads = ServerVariable(uid='app.main:uploads')\n"
            "dropzone = UploadDropzone(target=uploads)\n"
        ),
    ]
    INVALID: ClassVar[list[Example]] = [
        Example.module(
            "import dara.components as dcp\n"
            "from dara.core import ServerVariable\n\n"
            "uploads = ServerVariable(uid='app.main:uploads')\n"
            "FILES: dict[str, bytes] = {}\n\n"
            "def keep(content: bytes, name: str) -> None:\n"
            "    FILES[name] = content\n\n"
            "dropzone = dcp.UploadDropzone(resolver=keep)  # expect: DM107\n"
            "positional = dcp.UploadDropzone(uploads, keep)  # expect: DM107\n"
            "plain = dcp.UploadDropzone(target=uploads, accept='.csv')  # expect: DM107\n"
        ),
    ]

    def check(self, ctx: Context) -> Iterator[Finding]:
        for facts, call in ctx.index.calls_by_api.get("UploadDropzone", ()):
            if not ctx.is_selected(facts):
                continue
            resolver = call.argument(1, "resolver")
            if resolver is not None and resolver.kind != "const":
                message = ("UploadDropzone registers its resolver under a random id the app "
                           "cannot pin, so uploads that reach another worker fail; keep "
                           "uploaded data in shared storage and uploads on one worker")
            else:
                message = ("UploadDropzone registers every upload under a random id (even "
                           "without resolver=), so an upload posted to another worker is "
                           "rejected there; keep uploads on one worker until Dara lets the "
                           "app name it")
            yield ctx.at_call(self, facts, call, message)


RULES: list[type[Rule]] = [
    MissingStableUid, UnstableUid, DuplicateUid, RepeatedFactory, PerCallActionDefinition,
    LibraryMadeDefinitions, UploadResolver, MissingRouteId,
]
