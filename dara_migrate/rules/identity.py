"""DM1xx: identity. Every server-resolved definition needs an id that all workers agree on."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator

from dara_migrate.facts import Call, FileFacts, Value
from dara_migrate.index.dara_api import ROUTE_CLASSES, ROUTE_METHODS
from dara_migrate.index.definitions import Definition, collect_definitions, suggest_uids
from dara_migrate.index.project import ProjectIndex
from dara_migrate.models import Finding, Related
from dara_migrate.rules.base import Context, Example, Rule, RuleDocs

_UNSTABLE_CALLS = frozenset({
    "uuid.uuid1", "uuid.uuid4", "id", "hash", "os.getpid", "os.urandom", "socket.gethostname",
    "platform.node", "time.time", "time.time_ns", "time.monotonic", "time.perf_counter",
    "datetime.datetime.now", "datetime.datetime.utcnow", "datetime.datetime.today",
    "datetime.date.today",
})
_UNSTABLE_MODULES = ("random.", "secrets.")
_ROUTE_SLUG = re.compile(r"[^a-zA-Z0-9]+")


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
    return None


def _missing(uid: Value | None) -> bool:
    return uid is None or (uid.kind in ("const", "str") and not uid.const)


def _repeated(index: ProjectIndex, definition: Definition) -> bool:
    call = definition.call
    return call.loop or index.runs_at(definition.facts, call.scope) > 1


def _is_literal(uid: Value | None) -> bool:
    return uid is not None and uid.kind == "str"


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
        "deep module paths, `DerivedVariable[str](...)`, re-exports.",
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
            "prefs = dc.Variable(store=BackendStore())  # expect: DM101 DM101\n"
        ),
    ]

    def check(self, ctx: Context) -> Iterator[Finding]:
        definitions = collect_definitions(ctx.index)
        wanted: set[tuple[str, int]] = set()
        candidates: list[Definition] = []
        for definition in definitions:
            if not _missing(definition.uid) or not ctx.is_selected(definition.facts):
                continue
            when = ctx.index.when_at(definition.facts, definition.call.scope)
            if when == "request" or (when != "unknown" and _repeated(ctx.index, definition)):
                continue
            wanted.add(definition.key)
            candidates.append(definition)
        ctx.uids.update(suggest_uids(definitions, wanted))
        for definition in candidates:
            facts, call = definition.facts, definition.call
            uid = ctx.uids[definition.key]
            known = ctx.index.when_at(facts, call.scope) != "unknown"
            where = "" if known else " (nothing in the project calls this code; check it)"
            yield ctx.at_call(
                self, facts, call,
                f"{definition.api} without uid= gets a random id per worker; "
                f"add uid='{uid}'{where}",
                fix="safe" if known else "unsafe", suggested_uid=uid,
            )


class UnstableUid(Rule):
    code = "DM102"
    name = "unstable-uid"
    severity = "error"
    fix = "manual"
    summary = "uid= that differs between processes or hosts"
    docs = RuleDocs(
        what="A `uid=` built from `uuid1`/`uuid4`, `random`, `secrets`, `time`, "
        "`datetime.now`, `id()`, `hash()`, `os.getpid`, `socket.gethostname`, or an f-string, "
        "concatenation or name bound to one of them.",
        why="The point of a uid is that every worker computes the same one. A random, "
        "time-, process- or host-based uid differs on each worker (and `hash()` of a str "
        "differs per process unless PYTHONHASHSEED is fixed).",
        use_instead="A literal, or an f-string over a parameter of the factory "
        "(`uid=f'{prefix}-total'`).",
        fix_safety="A bare `str(uuid4())` is replaced by the scheme's literal as an unsafe "
        "fix (it changes the id the browser sees once); anything else is manual.",
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
            "# expect: DM102\n"
        ),
    ]

    def check(self, ctx: Context) -> Iterator[Finding]:
        definitions = collect_definitions(ctx.index)
        bare: set[tuple[str, int]] = set()
        flagged: list[tuple[Definition, str]] = []
        for definition in definitions:
            uid = definition.uid
            if uid is None or not ctx.is_selected(definition.facts):
                continue
            source = unstable_source(ctx.index, definition.facts, definition.call.scope, uid)
            if source is None:
                continue
            flagged.append((definition, source))
            if _bare_uuid(ctx.index, definition.facts, definition.call.scope, uid):
                bare.add(definition.key)
        suggestions = suggest_uids(definitions, bare)
        for definition, source in flagged:
            suggested = suggestions.get(definition.key)
            yield ctx.at_call(
                self, definition.facts, definition.call,
                f"uid of this {definition.api} comes from {source}() and differs on every "
                "worker; use a literal or a factory parameter",
                fix="unsafe" if suggested else "manual", suggested_uid=suggested,
            )


def _bare_uuid(index: ProjectIndex, facts: FileFacts, scope: int, uid: Value) -> bool:
    if uid.kind != "call" or uid.text != "str":
        return False
    call = facts.calls[uid.call]
    if len(call.args) != 1 or call.kwargs or call.args[0].kind != "call":
        return False
    inner = facts.calls[call.args[0].call]
    return not inner.args and index.resolve(facts, scope, inner.callee).qualified == "uuid.uuid4"


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
        confidence="High for literal uids; uids computed at run time are checked by `verify`.",
    )
    VALID = [
        Example({
            "app/a.py": "from dara.core import ServerVariable\n\n"
            "rows = ServerVariable(default=[], uid='rows')\n",
            "app/b.py": "from dara.core import DerivedVariable, Variable\n\n"
            "v = Variable(0)\n"
            "rows = DerivedVariable(lambda x: x, variables=[v], uid='rows')\n",
        }, note="different registries do not collide"),
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
        for definition in collect_definitions(ctx.index):
            uid = definition.uid
            if uid is not None and uid.kind == "str" and isinstance(uid.const, str) and uid.const:
                groups[(definition.registry, uid.const)].append(definition)
        for (registry, uid), sites in sorted(groups.items()):
            if len(sites) < 2:
                continue
            for site in sites:
                if not ctx.is_selected(site.facts):
                    continue
                others = [s for s in sites if s is not site]
                yield ctx.at_call(
                    self, site.facts, site.call,
                    f"uid '{uid}' is also used by {len(others)} other {registry} definition(s); "
                    "the second registration fails",
                    related=[Related(o.facts.path, o.call.span.line, f"also uid '{uid}'")
                             for o in others],
                )


class RepeatedFactory(Rule):
    code = "DM104"
    name = "repeated-factory"
    severity = "error"
    fix = "manual"
    summary = "definition in code that runs more than once per process"
    docs = RuleDocs(
        what="A definition (any DM101 kind) without a uid, or with a fixed literal uid, in a "
        "function that runs more than once per process: called from several places (tests "
        "included), in a loop or comprehension, `__init__`/`__call__` of a class "
        "instantiated more than once, or content of several routes.",
        why="Without a uid every call makes a new random id; with a fixed literal the second "
        "call raises `ValueError` (duplicate uid). Neither survives many workers.",
        use_instead="Give the factory a uid parameter and derive the uid from it: "
        "`def card(prefix: str): ... DerivedVariable(..., uid=f'{prefix}-total')`, and pass a "
        "distinct literal at each call site.",
        fix_safety="Manual: each call site needs its own prefix.",
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
            "for r in range(3)]  # expect: DM104\n"
        ),
    ]

    def check(self, ctx: Context) -> Iterator[Finding]:
        for definition in collect_definitions(ctx.index):
            facts, call = definition.facts, definition.call
            if not ctx.is_selected(facts):
                continue
            if not (_missing(definition.uid) or _is_literal(definition.uid)):
                continue
            when = ctx.index.when_at(facts, call.scope)
            if when not in ("build", "startup") or not _repeated(ctx.index, definition):
                continue
            why = "in a loop" if call.loop or facts.scopes[call.scope].loop else (
                "in code that runs more than once per process")
            problem = ("a fixed uid collides on the second run" if _is_literal(definition.uid)
                       else "each run gets a new random id")
            yield ctx.at_call(
                self, facts, call,
                f"{definition.api} created {why}: {problem}; take a uid prefix parameter",
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
        fix_safety="Safe: the id is only used to address the route.",
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
            "reports.add_page(path='sales', content=lambda: Text('s'))  # expect: DM108\n"
        ),
    ]

    def check(self, ctx: Context) -> Iterator[Finding]:
        routes = _route_calls(ctx.index)
        taken: set[str] = set()
        for _, call, _ in routes:
            value = call.kwarg("id")
            if value is not None and isinstance(value.const, str):
                taken.add(value.const)
        for facts, call, method in routes:
            if call.kwarg("id") is not None or not ctx.is_selected(facts):
                continue
            slug = _route_slug(ctx.index, facts, call, method)
            candidate, counter = slug, 1
            while candidate in taken:
                counter += 1
                candidate = f"{slug}-{counter}"
            taken.add(candidate)
            yield ctx.at_call(
                self, facts, call,
                f"route without id= gets path + uuid4 per worker and 404s elsewhere; "
                f"add id='{candidate}'",
                suggested_uid=candidate,
            )


def _route_calls(index: ProjectIndex) -> list[tuple[FileFacts, Call, str]]:
    found: list[tuple[FileFacts, Call, str]] = []
    for method in ROUTE_METHODS:
        for owner in (("Router", method), ("ConfigurationBuilder", f"router.{method}")):
            for facts, call in index.method_calls.get(owner, ()):
                found.append((facts, call, method))
    for cls in ROUTE_CLASSES:
        for facts, call in index.calls_by_api.get(cls, ()):
            found.append((facts, call, cls))
    found.sort(key=lambda item: (item[0].path, item[1].span.line, item[1].span.col))
    return found


def _route_path(index: ProjectIndex, facts: FileFacts, call: Call, depth: int = 0) -> list[str]:
    """Path segments from the router root down to this route."""
    own = call.kwarg("path")
    segments = [own.const.strip("/")] if own is not None and isinstance(own.const, str) else []
    if depth > 8:
        return segments
    parent: Call | None = None
    if call.parent >= 0:
        parent = facts.calls[call.parent]
    elif "." in call.callee:
        receiver = call.callee.rsplit(".", 1)[0]
        found = index.lookup(facts, call.scope, receiver.split(".")[0])
        if "." not in receiver and found and found[0].value and found[0].value.kind == "call":
            parent = facts.calls[found[0].value.call]
    if parent is not None and parent.kwarg("path") is not None or (
            parent is not None and parent.callee.rsplit(".", 1)[-1] in
            (*ROUTE_CLASSES, *ROUTE_METHODS)):
        return [*_route_path(index, facts, parent, depth + 1), *segments]
    return segments


def _route_slug(index: ProjectIndex, facts: FileFacts, call: Call, method: str) -> str:
    segments = [s for s in _route_path(index, facts, call) if s]
    slug = _ROUTE_SLUG.sub("-", "-".join(segments)).strip("-") or "index"
    if method in ("add_layout", "LayoutRoute"):
        return f"layout-{slug}" if segments else "layout"
    if method in ("add_index", "IndexRoute") and segments:
        return f"{slug}-index"
    return slug


RULES: list[type[Rule]] = [
    MissingStableUid, UnstableUid, DuplicateUid, RepeatedFactory, MissingRouteId,
]
