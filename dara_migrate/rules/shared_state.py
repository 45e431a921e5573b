"""DM203-DM205: state a worker keeps in its own memory: live objects, state seeded at
startup, module-level objects mutated at request time."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar

from dara_migrate.facts import ATTRIBUTE_WRITTEN, WRITTEN_INTO, Binding, Call, FileFacts, Value
from dara_migrate.index.bindings import defining_call, is_receiver, star_sources
from dara_migrate.index.project import (
    ProjectIndex,
    ScopeRef,
    passed_argument,
    per_index,
    project_calls,
)
from dara_migrate.index.queries import calls_of_method
from dara_migrate.models import Finding
from dara_migrate.rules._helpers import (
    IMPORT_KINDS,
    SERVER_VARIABLES,
    ReportSite,
    binding_site,
    call_key,
    call_site,
    given_to,
    handed_writes,
    is_action_ctx,
    live_resource,
    mutable,
    mutable_field,
    passed_not_none,
    receiver_of,
    related_lines,
    report_at,
    scope_site,
)
from dara_migrate.rules.base import Context, Example, Rule, RuleDocs

# ---------------------------------------------------------------- DM203 / DM204 helpers


@dataclass(frozen=True, slots=True)
class Write:
    """A value given to a ServerVariable or DataVariable, and where."""

    facts: FileFacts
    call: Call
    variable: tuple[FileFacts, Call] | None
    value: Value | None
    how: str
    request: bool
    """Whether the write happens while serving a request (an `.update()` action always does)."""


def _server_variable(index: ProjectIndex, made: tuple[FileFacts, Call] | None) -> bool:
    return made is not None and index.resolve_call(*made).api in SERVER_VARIABLES


@per_index
def variable_writes(index: ProjectIndex) -> list[Write]:
    """Every place a ServerVariable/DataVariable gets a value after construction:
    `.update(value)`, `.write(value)`, `ctx.update(var, value)`, `UpdateVariable(...,
    variable=var)`, `UpdateVariableImpl(variable=var, value=...)`, `UploadDropzone(target=var)`;
    and the first two on a function's parameter, at each call that gives it the variable
    (`handed_writes`)."""
    writes: list[Write] = []
    for api in SERVER_VARIABLES:
        for method in ("update", "write"):
            for facts, call in index.method_calls.get((api, method), ()):
                variable = defining_call(index, facts, call.scope, receiver_of(call.callee))
                when = index.when_at(facts, call.scope)
                writes.append(Write(facts, call, variable, call.argument(0, "value"),
                                    f".{method}()", method == "update" or when == "request"))
    for facts, call in calls_of_method(index, "update"):
        if call.callee.count(".") != 1 or (
                not is_action_ctx(index, facts, call.scope, call.callee.split(".")[0])):
            continue
        target = call.argument(0, "variable")
        variable = defining_call(index, facts, call.scope, target.text) if (
            target is not None and target.kind in ("name", "attr")) else None
        if _server_variable(index, variable):
            writes.append(Write(facts, call, variable, call.argument(1, "value"),
                                "ctx.update()", True))
    for api, position, name, value_slot in (("UpdateVariable", 1, "variable", None),
                                            ("UpdateVariableImpl", 0, "variable", "value"),
                                            ("UploadDropzone", 0, "target", None)):
        for facts, call in index.calls_by_api.get(api, ()):
            target = call.argument(position, name)
            if target is None or target.kind not in ("name", "attr"):
                continue
            variable = defining_call(index, facts, call.scope, target.text)
            if _server_variable(index, variable):
                value = call.kwarg(value_slot) if value_slot else None
                writes.append(Write(facts, call, variable, value, f"{api}({name}=...)", True))
    for handed in handed_writes(index):
        method = handed.call.callee.rpartition(".")[2]
        if method in ("update", "write") and _server_variable(index, handed.made):
            site = handed.site
            writes.append(Write(
                handed.caller, site, handed.made, handed.value(index, 0, "value"),
                f".{method}() in {handed.function}()",
                method == "update" or index.when_at(handed.caller, site.scope) == "request"))
    return writes


def _seed_argument(api: str | None) -> str:
    """The constructor argument that seeds a server-side variable."""
    return "data" if api == "DataVariable" else "default"


def _seed(index: ProjectIndex, facts: FileFacts, call: Call) -> Value | None:
    """The seed a constructor call gives. In a helper (`def user_store(**kwargs): return
    ServerVariable(scope='user', **kwargs)`, `default=default` of a parameter), a seed only
    where its callers pass one."""
    value = call.argument(0, _seed_argument(index.resolve_call(facts, call).api))
    if value is None or not passed_not_none(value) or value is call.kwarg("**"):
        return None
    found = index.lookup(facts, call.scope, value.text) if value.kind == "name" else None
    if found is None or found[0].kind != "param":
        return value
    function = facts.scopes[found[1]]
    param = next((p for p in function.params if p.name == value.text), None)
    if param is None or param.kind in ("vararg", "kwarg"):
        return value
    callers = project_calls(index).get((facts.path, found[1]), [])
    if not callers:
        return None if param.has_default else value
    passed = any(passed_not_none(passed_argument(facts, function, param.name, caller))
                 for _, caller in callers)
    return value if passed else None


# ---------------------------------------------------------------- DM203


class LiveObjectState(Rule):
    code = "DM203"
    name = "live-object-state"
    severity = "error"
    fix = "manual"
    summary = "live resource or model held in a ServerVariable"
    docs = RuleDocs(
        what="A value given to a ServerVariable or DataVariable (`default=`, the `data` of a "
        "DataVariable, `.update()`, `.write()`, `ctx.update(var, ...)`) that is a live "
        "resource: `open()`, `create_engine()`, `*.connect()`, `redis.Redis`, "
        "`boto3.client/resource`, `requests.Session`, `httpx.(Async)Client`, locks and events, "
        "executors, sockets; or a model: a `.fit(...)` result, `joblib.load`, `pickle.load`, "
        "`torch.load`, `load_model`, an estimator class; or a name bound to one, or a "
        "parameter annotated with such a type. A helper's `var.write(value)` on its "
        "parameters is reported at each call that gives it a variable and such a value.",
        why="A shared backend stores values by serialising them. A connection, file handle, "
        "lock or client cannot be sent to another worker at all, and a model is large and "
        "tied to this process's libraries: on many workers the write fails or every other "
        "worker reads something else.",
        use_instead="Keep the object in a per-worker module global (opened at import or in "
        "`on_startup`), and put only data in the variable: query results, model outputs, ids.",
        fix_safety="Manual. A blocker when the live object is written while serving a "
        "request: no backend can hold it, the design must change.",
        confidence="Medium: values are followed through names a few assignments deep and "
        "parameter annotations; objects returned by your own helpers are not followed.",
    )
    VALID: ClassVar[list[Example]] = [
        Example.module(
            "import joblib\n"
            "import pandas as pd\n"
            "from sqlalchemy import create_engine\n"
            "from dara.core import ServerVariable, action\n\n"
            "engine = create_engine('sqlite:///sales.db')\n"
            "model = joblib.load('model.pkl')\n"
            "rows = ServerVariable(pd.read_sql('select * from sales', engine), "
            "uid='app.main:rows')\n"
            "scores = ServerVariable(uid='app.main:scores')\n\n"
            "@action\n"
            "async def score(ctx: action.Ctx, frame: pd.DataFrame):\n"
            "    await scores.write(model.predict(frame).tolist())\n",
            note="the engine and the model stay per worker; only data goes in the variables",
        ),
    ]
    INVALID: ClassVar[list[Example]] = [
        Example({
            "app/__init__.py": "",
            "app/state.py": "import joblib\n"
            "import redis\n"
            "from dara.core import DataVariable, ServerVariable\n\n"
            "cache = redis.Redis(host='cache')\n"
            "client = ServerVariable(default=cache, uid='app.state:client')  # expect: DM203\n"
            "model = ServerVariable(joblib.load('m.pkl'), uid='app.state:model')  "
            "# expect: DM203\n"
            "frame = DataVariable(uid='app.state:frame')\n",
            "app/pages.py": "import sqlite3\n"
            "from dara.core import action\n"
            "from sklearn.linear_model import LinearRegression\n\n"
            "from app.state import frame, model\n\n"
            "@action\n"
            "async def retrain(ctx: action.Ctx, x: list, y: list):\n"
            "    estimator = LinearRegression()\n"
            "    await model.write(estimator.fit(x, y))  # expect: DM203\n\n"
            "@action\n"
            "async def attach(ctx, db: sqlite3.Connection):\n"
            "    await ctx.update(frame, db)  # expect: DM203\n",
        }),
    ]

    def check(self, ctx: Context) -> Iterator[Finding]:
        index = ctx.index
        for api in SERVER_VARIABLES:
            for facts, call in index.calls_by_api.get(api, ()):
                seed = _seed(index, facts, call)
                what = live_resource(index, facts, call.scope, seed)
                if what is None or not ctx.is_selected(facts):
                    continue
                request = index.when_at(facts, call.scope) == "request"
                yield ctx.at_call(
                    self, facts, call,
                    f"{api} holds {what}, which no shared backend can store; keep the object "
                    "in a per-worker module global and put only data in the variable",
                    fix="blocker" if request else "manual")
        for write in variable_writes(index):
            what = live_resource(index, write.facts, write.call.scope, write.value)
            if what is None or not ctx.is_selected(write.facts):
                continue
            request = index.when_at(write.facts, write.call.scope) == "request"
            yield ctx.at_call(
                self, write.facts, write.call,
                f"{write.how} puts {what} into a ServerVariable"
                f"{' while serving a request' if request else ''}; no shared backend can "
                "store it: keep the object per worker and write only data",
                fix="blocker" if request else "manual")


# ---------------------------------------------------------------- DM204


class StartupSeededSharedState(Rule):
    code = "DM204"
    name = "startup-seeded-shared-state"
    severity = "warning"
    fix = "manual"
    summary = "shared variable seeded on every worker start and also written"
    docs = RuleDocs(
        what="A `ServerVariable(default=...)` or `DataVariable(data)` whose variable is also "
        "written at request time: `.update(...)`, `.write(...)` while serving a request or in "
        "`on_startup`, `ctx.update(var, ...)`, `UpdateVariable(..., variable=var)`, "
        "`UploadDropzone(target=var)`; also `.update()` and `.write()` on a helper's "
        "parameter, at each call that gives the helper the variable (`bump(counter)`). A seed "
        "nobody writes is reported as info.",
        why="Dara writes `default` into the backend when the variable is constructed, i.e. on "
        "every worker start (and every re-import). With a shared backend, a worker that starts "
        "later overwrites what users wrote since: an upload or an edit silently reverts to "
        "the seed when the deployment scales or restarts a worker.",
        use_instead="Create the variable without `default=` (a DataVariable without its "
        "`data`) and seed it once: in a deploy "
        "step, or on first read when the backend has no value yet.",
        fix_safety="Manual: where the seed should come from is a decision.",
        confidence="High for writes through the variable's name (also across modules); writes "
        "through other aliases are not seen.",
    )
    VALID: ClassVar[list[Example]] = [
        Example({
            "app/__init__.py": "",
            "app/state.py": "from dara.core import ServerVariable\n\n"
            "uploads = ServerVariable(uid='app.state:uploads')\n",
            "app/pages.py": "from dara.components import UploadDropzone\n"
            "from dara.core import action\n\n"
            "from app.state import uploads\n\n"
            "dropzone = UploadDropzone(target=uploads)\n\n"
            "@action\n"
            "async def clear(ctx: action.Ctx):\n"
            "    await uploads.write(None)\n",
        }, note="written at request time, but never seeded"),
    ]
    INVALID: ClassVar[list[Example]] = [
        Example({
            "app/__init__.py": "",
            "app/state.py": "import pandas as pd\n"
            "from dara.core import DataVariable, ServerVariable\n\n"
            "ledger = DataVariable(pd.read_csv('ledger.csv'), uid='ledger')  # expect: DM204\n"
            "limits = ServerVariable(default={'max': 10}, uid='limits')  # expect: DM204\n"
            "regions = ServerVariable(['north', 'south'], uid='regions')  # expect: DM204\n",
            "app/pages.py": "from dara.components import Button, UploadDropzone\n"
            "from dara.core import action\n\n"
            "from app import state\n\n"
            "@action\n"
            "async def raise_limit(ctx: action.Ctx):\n"
            "    await state.limits.write({'max': 20})\n\n"
            "def page():\n"
            "    return [UploadDropzone(target=state.ledger),\n"
            "            Button('reset', onclick=state.limits.update({'max': 10}))]\n",
        }, note="`regions` is only read: reported as info"),
    ]

    def check(self, ctx: Context) -> Iterator[Finding]:
        index = ctx.index
        written: dict[tuple[str, int], list[Write]] = defaultdict(list)
        for write in variable_writes(index):
            if write.variable is not None and (write.request or index.when_at(
                    write.facts, write.call.scope) == "startup"):
                written[call_key(*write.variable)].append(write)
        for api in SERVER_VARIABLES:
            for facts, call in index.calls_by_api.get(api, ()):
                if (_seed(index, facts, call) is None or not ctx.is_selected(facts)
                        or index.when_at(facts, call.scope) == "request"):
                    continue
                writes = written.get(call_key(facts, call), [])
                if not writes:
                    yield ctx.at_call(
                        self, facts, call,
                        f"{api} writes its seed into the shared backend on every worker "
                        "start; nothing writes it later, so each start rewrites the same value",
                        severity="info")
                    continue
                hows = ", ".join(sorted({w.how for w in writes}))
                problem = (f"is also written at request time ({hows}): a new worker reverts "
                           "what users wrote" if any(w.request for w in writes) else
                           f"its on_startup code writes it again ({hows}): each start writes "
                           "it twice")
                yield ctx.at_call(
                    self, facts, call,
                    f"{api} rewrites its seed on every worker start but {problem}; "
                    f"seed it once instead of with {_seed_argument(api)}=",
                    related=related_lines((w.facts, w.call, f"written by {w.how}")
                                           for w in writes))


# ---------------------------------------------------------------- DM205

_MUTATORS = frozenset({
    "append", "extend", "insert", "remove", "pop", "popitem", "clear", "update", "add",
    "discard", "appendleft", "extendleft", "popleft", "sort", "reverse", "__setitem__",
    "__delitem__", "put", "put_nowait",
})
_INDEXERS = frozenset({"loc", "iloc", "at", "iat"})
"""A data frame's indexers: `SALES.loc[k, 'c'] = v` writes `SALES`."""
_REMOVERS = frozenset({"remove", "pop", "popitem", "clear", "discard", "popleft",
                       "__delitem__"})
"""Mutators whose argument is taken out, not kept: never the live object the state holds."""
_MEMO_DECORATORS = frozenset({"functools.cache", "functools.lru_cache"})
_NAMESPACE = "types.SimpleNamespace"
_MUTATING_FUNCTIONS = frozenset({
    "heapq.heappush", "heapq.heappop", "heapq.heapify", "heapq.heappushpop",
    "heapq.heapreplace", "bisect.insort", "bisect.insort_left", "bisect.insort_right",
    "random.shuffle",
})
"""Functions that change the container given as their first argument (`bisect`'s is `a=`,
`random.shuffle`'s `x=`; `heapq`'s take positions only)."""
_MUTATING_FUNCTION_NAMES = frozenset(name.rpartition(".")[2] for name in _MUTATING_FUNCTIONS)
_TAKING_OUT = frozenset({"heapq.heappop", "heapq.heapify", "random.shuffle"})
"""Of those, the ones whose second argument (if any) is not kept in the container."""


def _instantiations(index: ProjectIndex) -> dict[ScopeRef, list[tuple[FileFacts, Call]]]:
    """The calls of each project class (shared with `project_calls`: read only)."""
    return {function: calls for function, calls in project_calls(index).items()
            if index.scope(function).kind == "class"}


class _SharedState:
    """Decides what a written name is: shared by every request of a worker, or local."""

    def __init__(self, index: ProjectIndex) -> None:
        self.index = index
        self.made = _instantiations(index)

    def container(self, facts: FileFacts, scope_id: int, dotted: str,
                  depth: int = 0) -> str | None:
        """'module-level X' / 'class attribute C.x' / 'attribute x of a shared C' or None."""
        if depth > 6:
            return None
        head, _, rest = dotted.partition(".")
        found = self.index.lookup(facts, scope_id, head)
        if found is None:
            return self._from_star_imports(facts, dotted, depth)
        binding, bound_in = found
        if binding.kind in IMPORT_KINDS:
            module, remainder = self.index.split_module(
                f"{binding.target}.{rest}" if rest else binding.target, facts)
            if module is None or not remainder:
                return None
            return self.container(module, 0, remainder, depth + 1)
        if binding.kind == "class" and rest and "." not in rest:
            cls = self._class_named(facts, bound_in, head)
            return self._class_attribute(cls, rest) if cls else None
        if is_receiver(facts, binding, bound_in) and rest and "." not in rest:
            cls = (facts.path, facts.scopes[bound_in].parent)
            described = self._class_attribute(cls, rest)
            if described is None and facts.scopes[bound_in].name != "__init__" and (
                    self._mutable_attribute(cls, rest) and self.shared(cls)):
                return f"attribute self.{rest} of the shared {facts.scopes[cls[1]].name} instance"
            return described
        if binding.kind != "assign" or bound_in != 0:
            return None
        if rest:
            return self._instance_attribute(facts, binding, head, rest) if (
                "." not in rest) else None
        if mutable(self.index, facts, bound_in, binding.value, binding.target):
            return f"module-level {head} ({facts.module})"
        return None

    def _instance_attribute(self, facts: FileFacts, binding: Binding, owner: str,
                            attribute: str) -> str | None:
        """`STATS.items` of a module-level `STATS = Stats()` whose class holds a mutable
        `items` (a class attribute, or set on `self` in a method)."""
        value = binding.value
        if value is None or value.kind != "call" or not value.text:
            return None
        if self.index.resolve(facts, 0, value.text).qualified == _NAMESPACE:
            # `STATE = SimpleNamespace(cache={}, hits=0)`: its attributes are its keywords.
            given = facts.calls[value.call].kwarg(attribute)
            return (f"attribute {owner}.{attribute} of the module-level SimpleNamespace"
                    if mutable(self.index, facts, 0, given) else None)
        made = self._made_class(facts, value.text)
        if made is None:
            return None
        for cls in self.index.class_lineage(made):
            described = self._class_attribute(cls, attribute)
            if described is not None:
                return described
            if self._mutable_attribute(cls, attribute) or self._mutable_field(cls, attribute):
                return (f"attribute {owner}.{attribute} of the module-level "
                        f"{self.index.scope(made).name}")
        return None

    def _from_star_imports(self, facts: FileFacts, dotted: str, depth: int) -> str | None:
        """What a name no statement of the module binds is, when a `from m import *` of a
        project module brings it (a package re-exporting its modules' state)."""
        for module in star_sources(self.index, facts):
            described = self.container(module, 0, dotted, depth + 1)
            if described is not None:
                return described
        return None

    def _class_named(self, facts: FileFacts, parent: int, name: str) -> ScopeRef | None:
        for scope in facts.scopes:
            if scope.parent == parent and scope.kind == "class" and scope.name == name:
                return facts.path, scope.id
        return None

    def _class_attribute(self, cls: ScopeRef, name: str) -> str | None:
        facts = self.index.files[cls[0]]
        for binding in facts.bindings:
            if binding.scope == cls[1] and binding.name == name and binding.kind == "assign" and (
                    mutable(self.index, facts, cls[1], binding.value)):
                return f"class attribute {facts.scopes[cls[1]].name}.{name}"
        return None

    def _mutable_attribute(self, cls: ScopeRef, name: str) -> bool:
        facts = self.index.files[cls[0]]
        return any(mutable(self.index, facts, b.scope, b.value, b.target)
                   for b in self.index.stores_on_self(facts, cls[1], name))

    def _mutable_field(self, cls: ScopeRef, name: str) -> bool:
        facts = self.index.files[cls[0]]
        return any(mutable_field(self.index, facts, cls[1], binding.value)
                   for binding in self.index.bindings_in(facts.path, cls[1], name))

    def shared(self, cls: ScopeRef) -> bool:
        """An instance built while the app is built (by the project, or by Dara for a class
        given as page content) serves every request of the worker."""
        if any(self.index.when_at(f, c.scope) in ("build", "startup")
               for f, c in self.made.get(cls, ())):
            return True
        for name in ("__init__", "__call__"):
            member = self.index.class_member(cls, name)
            if member is not None and self.index.when_of(member) in ("build", "startup"):
                return True
        return False

    def fresh_receivers_only(self, cls: ScopeRef, method: ScopeRef) -> bool:
        """Whether every call of `method` made while serving requests is made on an instance
        of `cls` its caller has just made (`local = Model(); local.fit(v)`, `Model().fit(v)`):
        requests then never write the shared instance's attributes through it."""
        index = self.index
        edges = [edge for edge in index.callers.get(method, [])
                 if index.when_of(edge.source) not in ("build", "startup")]
        if not edges or any(edge.via != "call" for edge in edges):
            return False
        for source in dict.fromkeys(edge.source for edge in edges):
            caller = index.files[source[0]]
            calls = [c for c in caller.calls if c.scope == source[1]
                     and index.resolve_call(caller, c).function == method]
            if not calls or not all(self._fresh_receiver(caller, c, cls) for c in calls):
                return False
        return True

    def _fresh_receiver(self, caller: FileFacts, call: Call, cls: ScopeRef) -> bool:
        index = self.index
        if call.func_call >= 0:
            made = caller.calls[call.func_call]
            return call.callee.count(".") == 1 and index.resolve_call(caller, made).function == cls
        head, _, rest = call.callee.partition(".")
        if not rest or "." in rest:
            return False
        found = index.lookup(caller, call.scope, head)
        if found is None or found[1] != call.scope or call.scope == 0:
            return False
        bindings = index.bindings_in(caller.path, call.scope, head)
        return bool(bindings) and all(
            b.kind == "assign" and b.value is not None and b.value.kind == "call"
            and index.resolve_call(caller, caller.calls[b.value.call]).function == cls
            for b in bindings)

    def object_attribute(self, facts: FileFacts, binding: Binding) -> str | None:
        """`self.x = v` on a shared instance, `obj.x = v` on a module-level project object,
        `module.x = v`, or `Cls.x = v`."""
        owner, _, attribute = binding.name.rpartition(".")
        if "." in owner:
            return None
        found = self.index.lookup(facts, binding.scope, owner)
        if found is None:
            return None
        target, bound_in = found
        if is_receiver(facts, target, bound_in):
            method = facts.scopes[bound_in]
            cls = (facts.path, method.parent)
            if any(d.text.rpartition(".")[2] == "classmethod" for d in method.decorators):
                return f"class attribute {facts.scopes[cls[1]].name}.{attribute}"
            if method.name == "__init__" or not self.shared(cls) or self.fresh_receivers_only(
                    cls, (facts.path, bound_in)):
                return None
            return f"attribute self.{attribute} of the shared {facts.scopes[cls[1]].name} instance"
        if target.kind in IMPORT_KINDS:
            module, remainder = self.index.split_module(target.target, facts)
            if module is None:
                return None
            if not remainder:
                return f"module attribute {target.target}.{attribute}"
            found = self.index.lookup(module, 0, remainder) if "." not in remainder else None
            if found is None:
                return None
            facts, (target, bound_in) = module, found
        if target.kind == "class":
            return f"class attribute {owner}.{attribute}"
        made_by = target.value.text if (
            target.kind == "assign" and bound_in == 0 and target.value is not None
            and target.value.kind == "call") else ""
        if made_by and (self._made_class(facts, made_by) is not None or (
                self.index.resolve(facts, 0, made_by).qualified == _NAMESPACE)):
            return f"attribute {attribute} of the module-level {owner}"
        return None

    def _made_class(self, facts: FileFacts, callee: str) -> ScopeRef | None:
        """The project class a module-level call makes an instance of: the class called, or
        the one a project factory returns an instance of (`BOOK = make_book()`)."""
        made = self.index.resolve(facts, 0, callee).function
        if made is None:
            return None
        if self.index.scope(made).kind == "function":
            returned = self.index.returned_kind(made)
            made = returned.function if returned is not None else None
        return made if made is not None and self.index.scope(made).kind == "class" else None


def _lazy_global(index: ProjectIndex, facts: FileFacts, binding: Binding) -> bool:
    """`global X; X = load()` where X starts as None and the value uses no parameter: a
    per-worker lazy initialisation rather than shared state."""
    initial = index.bindings_in(facts.path, 0, binding.name)
    if not initial or initial[0].value is None or initial[0].value.kind != "const" or (
            initial[0].value.const is not None):
        return False
    params = {p.name for p in facts.scopes[binding.scope].params}
    value = binding.value
    if value is None or params.intersection(value.names):
        return False
    # A local set from a parameter first (`value = fmt; X = value`) carries it too.
    return not any(
        local.value is not None and params.intersection(local.value.names)
        for name in value.names for local in index.bindings_in(facts.path, binding.scope, name))


class ProcessLocalMutation(Rule):
    code = "DM205"
    name = "process-local-mutation"
    severity = "error"
    fix = "manual"
    summary = "module- or class-level state written while serving requests"
    docs = RuleDocs(
        what="Module-level and class-level mutable objects (dicts, lists, sets, counters, queues, "
        "pandas data frames, numpy arrays; made by a display, by loading or copying "
        "(`json.load`, `copy.deepcopy`, `frame.copy()`), by a project function returning one, "
        "or annotated so: `DEFAULTS: dict[str, int] = load()`), "
        "attributes of page-class instances and module-level objects (and the containers "
        "those hold: `STATS.items.append(x)`), written from "
        "request-time code: `x[k] = v`, `del x[k]`, `.append/.update/.pop/...`, "
        "`heapq.heappush(x, ...)`, `bisect.insort(x, ...)`, a data "
        "frame's `.loc[...] = v` and `inplace=True`, "
        "`global x; x = ...`, `self.x = ...` in a py_component method; also such a write "
        "into a function's parameter, reported at each request-time call that gives the "
        "function a shared container (`remember(SEEN, key, value)`), directly or through "
        "other functions. Memo-only patterns "
        "(`if k not in d: d[k] = f(k)`, a store after `if k in d: return d[k]` or under `if v is "
        "None:` after `v = d.get(k)`, a `setdefault` nothing is written into, "
        "`functools.cache`, a global that starts as None and is set once from no parameter) "
        "are reported as info.",
        why="Each worker has its own copy of module and class state. A request that changes it "
        "on one worker is invisible to requests served by the others, so users see values "
        "flip between refreshes, and everything is lost when a worker restarts.",
        use_instead="Keep shared state in a ServerVariable (scope='user' for per-user state) "
        "or a Variable with a BackendStore on the shared backend. Caches of values derived from "
        "inputs can stay per worker.",
        fix_safety="Manual. A blocker when the stored value is a live object (a connection, a "
        "client, a model) that requests read back: no backend can hold it.",
        confidence="High for names bound at module or class level and written through the "
        "same name (also across modules); writes through other aliases are not seen.",
    )
    VALID: ClassVar[list[Example]] = [
        Example({
            "app/__init__.py": "",
            "app/settings.py": "REGIONS = ['north', 'south']\n"
            "LIMITS = {'max': 10}\n",
            "app/pages.py": "from dara.core import ServerVariable, action, py_component\n"
            "from dara.components import Text\n\n"
            "from app.settings import LIMITS, REGIONS\n\n"
            "notes = ServerVariable(scope='user', uid='app.pages:notes')\n\n"
            "@action\n"
            "async def save(ctx: action.Ctx, text: str):\n"
            "    seen = {}\n"
            "    seen[text] = len(text)\n"
            "    await notes.write(seen)\n\n"
            "@py_component\n"
            "def summary(region: str):\n"
            "    rows = list(REGIONS)\n"
            "    rows.append(region)\n"
            "    return Text(f'{len(rows)} of {LIMITS[\"max\"]}')\n\n"
            "LIMITS['max'] = 20\n",
        }, note="locals and build-time writes are fine"),
        Example({
            "app/helpers.py": "def remember(store: dict, key: str, value: str) -> None:\n"
            "    store[key] = value\n",
            "app/main.py": "from dara.core import ServerVariable, action\n\n"
            "from app.helpers import remember\n\n"
            "DEFAULTS: dict[str, str] = {}\n"
            "notes = ServerVariable(scope='user', uid='app.main:notes')\n\n"
            "remember(DEFAULTS, 'greeting', 'hello')\n\n"
            "@action\n"
            "async def save(ctx: action.Ctx, text: str):\n"
            "    seen: dict[str, str] = {}\n"
            "    remember(seen, 'text', text)\n"
            "    await notes.write(seen)\n",
        }, note="a helper that writes what it is given: a local at request time, shared state "
            "only while the app is built (namespace package)"),
    ]
    INVALID: ClassVar[list[Example]] = [
        Example({
            "app/__init__.py": "",
            "app/store.py": "from collections import defaultdict\n\n"
            "OVERRIDES: dict[str, float] = {}\n"
            "HISTORY = defaultdict(list)\n"
            "CHOICES: dict[str, dict[str, str]] = {}\n",
            "app/pages.py": "from dara.core import action, py_component\n"
            "from dara.components import Text\n\n"
            "from app import store\n"
            "from app.store import OVERRIDES\n\n"
            "selected = None\n\n"
            "@action\n"
            "async def override(ctx: action.Ctx, region: str, amount: float):\n"
            "    global selected\n"
            "    OVERRIDES[region] = amount  # expect: DM205\n"
            "    store.HISTORY[region].append(amount)  # expect: DM205\n"
            "    store.HISTORY.pop('old', None)  # expect: DM205\n"
            "    store.CHOICES.setdefault(region, {})['amount'] = amount  # expect: DM205\n"
            "    selected = region  # expect: DM205\n\n"
            "class Page:\n"
            "    def __init__(self):\n"
            "        self.clicks = 0\n\n"
            "    @py_component\n"
            "    def render(self, name: str):\n"
            "        self.clicks += 1  # expect: DM205\n"
            "        return Text(name)\n\n"
            "home = Page()\n",
        }),
        Example({
            "app/helpers.py": "import heapq\n\n"
            "def remember(store, key, value):\n"
            "    store[key] = value\n\n"
            "def queue(pending, item):\n"
            "    heapq.heappush(pending, item)\n\n"
            "def log(entries, item):\n"
            "    entries.append(item)\n"
            "    queue(entries, item)\n",
            "app/main.py": "from dara.core import action\n\n"
            "from app.helpers import log, remember\n\n"
            "SEEN = {}\n"
            "EVENTS = []\n\n"
            "@action\n"
            "async def track(ctx: action.Ctx, page: str):\n"
            "    remember(SEEN, page, True)  # expect: DM205\n"
            "    log(entries=EVENTS, item=page)  # expect: DM205\n",
        }, note="writes into a helper's parameter, reported where a request gives the helper "
            "module-level state (namespace package)"),
    ]

    def check(self, ctx: Context) -> Iterator[Finding]:
        index = ctx.index
        shared = _SharedState(index)
        passed: dict[tuple[str, int], Finding] = {}
        for facts in index.files.values():
            # All three look at request-time code only.
            if not ctx.is_selected(facts) or not index.scopes_running(facts, "request"):
                continue
            yield from self._stores(ctx, shared, facts, passed)
            yield from self._calls(ctx, shared, facts, passed)
            yield from self._memo_decorators(ctx, facts)
        yield from passed.values()

    def _passed(self, ctx: Context, shared: _SharedState, facts: FileFacts, scope_id: int,
                name: str, how: str, memo: bool, passed: dict[tuple[str, int], Finding]
                ) -> None:
        """A write into a function's parameter (`store[key] = value`), or into what one holds
        (`basket.items.append(x)`), writes what the request-time calls of the function give
        it (`remember(SEEN, key, value)`, `given_to`): each such call that gives shared state
        is reported once, in `passed` (by the call), with the write's kind; a write that is
        not a memo wins over one that is."""
        index = ctx.index
        head, dot, rest = name.partition(".")
        for caller, call, value in given_to(index, facts, scope_id, head):
            if value.kind not in ("name", "attr") or call.scope not in index.scopes_running(
                    caller, "request"):
                continue
            what = shared.container(caller, call.scope, f"{value.text}{dot}{rest}")
            key = (caller.path, call.id)
            earlier = passed.get(key)
            if what is not None and ctx.is_selected(caller) and (
                    earlier is None or (earlier.severity == "info" and not memo)):
                # The function whose parameter it is (the write may be in a scope inside it).
                bound = index.lookup(facts, scope_id, head)
                writer = facts.scopes[bound[1] if bound else scope_id].name
                passed[key] = self._finding(ctx, call_site(caller, call, what), what,
                                            f"{how} in {writer}()", memo, None, call.scope)

    def _stores(self, ctx: Context, shared: _SharedState, facts: FileFacts,
                passed: dict[tuple[str, int], Finding]) -> Iterator[Finding]:
        index = ctx.index
        request = index.scopes_running(facts, "request")
        for binding in facts.bindings:
            if binding.scope not in request or binding.scope == 0:
                continue
            scope = facts.scopes[binding.scope]
            if scope.kind == "class":
                continue
            what: str | None = None
            how = ""
            memo = binding.memo
            if binding.kind in ("subscript", "del") and binding.name not in scope.globals:
                written, _, indexer = binding.name.rpartition(".")
                name = written if written and indexer in _INDEXERS else binding.name
                what = shared.container(facts, binding.scope, name)
                how = "item assignment" if binding.kind == "subscript" else "del"
                memo = memo and _computed(index, facts, binding.scope, binding.value)
                if what is None:
                    self._passed(ctx, shared, facts, binding.scope, name, how, memo, passed)
            elif binding.kind in ("attr", "augassign") and "." in binding.name:
                what = shared.object_attribute(facts, binding)
                how = "attribute assignment"
            elif binding.kind in ("assign", "augassign", "del") and binding.name in scope.globals:
                what = f"module-level {binding.name} ({facts.module})"
                how = "global rebinding"
                memo = binding.kind == "assign" and _lazy_global(index, facts, binding)
            if what is None:
                continue
            site = binding_site(facts, binding, what)
            yield self._finding(ctx, site, what, how, memo, binding.value, binding.scope)

    def _calls(self, ctx: Context, shared: _SharedState, facts: FileFacts,
               passed: dict[tuple[str, int], Finding]) -> Iterator[Finding]:
        request = ctx.index.scopes_running(facts, "request")
        calls = facts.calls
        # The names these functions go by in the module, imported under another one too.
        aliases = [binding.name for binding in ctx.index.import_bindings.get(facts.path, ())
                   if binding.target in _MUTATING_FUNCTIONS]
        functions = _MUTATING_FUNCTION_NAMES.union(aliases) if aliases else (
            _MUTATING_FUNCTION_NAMES)
        for call in calls:
            if call.scope not in request:
                continue
            callee = call.callee
            method = callee.rsplit(".", 1)[-1]
            if method in functions:
                yield from self._function_call(ctx, shared, facts, call, passed)
                continue
            in_place = _in_place(call)
            if (method not in _MUTATORS and method != "setdefault" and not in_place) or (
                    "." not in callee):
                continue
            how = f".{method}(inplace=True)" if in_place else f".{method}()"
            if callee[0] == ".":
                # `HISTORY.setdefault(user, []).append(item)`: what `setdefault` gives back is
                # the container's own item, written here: no memo.
                inner = calls[call.func_call] if call.func_call >= 0 else None
                if inner is None or inner.callee.rsplit(".", 1)[-1] != "setdefault":
                    continue
                callee, how = inner.callee, f".setdefault(...){how}"
            elif method == "setdefault" and _written_through(calls, call):
                continue  # reported at the write, above
            receiver = receiver_of(callee)
            what = shared.container(facts, call.scope, receiver)
            memo = method == "setdefault"
            if what is None:
                self._passed(ctx, shared, facts, call.scope, receiver, how, memo and not (
                    call.packed & (WRITTEN_INTO | ATTRIBUTE_WRITTEN)), passed)
                continue
            value = call.args[-1] if call.args and method not in _REMOVERS else None
            if memo and call.packed & (WRITTEN_INTO | ATTRIBUTE_WRITTEN):
                # `SESSIONS.setdefault(user, {})[key] = value`, `.setdefault(user,
                # Visit()).pages = 3`: the container's own item is written, as
                # `.setdefault(...).append(...)` writes it.
                memo, value = False, None
                how = (".setdefault(...)[...] = ..." if call.packed & WRITTEN_INTO
                       else ".setdefault(...).<attribute> = ...")
            yield self._finding(ctx, call_site(facts, call, what), what, how, memo, value,
                                call.scope)

    def _function_call(self, ctx: Context, shared: _SharedState, facts: FileFacts,
                       call: Call, passed: dict[tuple[str, int], Finding]) -> Iterator[Finding]:
        """`heapq.heappush(QUEUE, item)`, `bisect.insort(SEEN, x)`: a function changing the
        container it is given first."""
        qualified = ctx.index.resolve_call(facts, call).qualified
        container = call.args[0] if call.args else call.kwarg("a") or call.kwarg("x")
        if qualified not in _MUTATING_FUNCTIONS or container is None or (
                container.kind not in ("name", "attr")):
            return
        what = shared.container(facts, call.scope, container.text)
        if what is None:
            self._passed(ctx, shared, facts, call.scope, container.text, f"{qualified}()", False,
                         passed)
        else:
            value = call.args[1] if len(call.args) > 1 and qualified not in _TAKING_OUT else None
            yield self._finding(ctx, call_site(facts, call, what), what, f"{qualified}()",
                                False, value, call.scope)

    def _memo_decorators(self, ctx: Context, facts: FileFacts) -> Iterator[Finding]:
        request = ctx.index.scopes_running(facts, "request")
        for scope in facts.scopes:
            if not scope.decorators or scope.kind != "function" or scope.id not in request:
                continue
            for decorator in scope.decorators:
                qualified = ctx.index.resolve(facts, scope.parent, decorator.text).qualified
                if decorator.text and qualified in _MEMO_DECORATORS:
                    yield report_at(
                        ctx, self, scope_site(facts, scope, qualified),
                        f"@{qualified.rsplit('.', 1)[-1]} on {scope.name} keeps a cache per "
                        "worker: fine for values derived from the arguments, but each worker "
                        "fills its own", severity="info")
                    break

    def _finding(self, ctx: Context, site: ReportSite, what: str, how: str, memo: bool,
                 value: Value | None, scope_id: int) -> Finding:
        if memo and how == "global rebinding":
            return report_at(
                ctx, self, site,
                f"{what} starts as None and is loaded lazily at request time ({how}): each "
                "worker loads its own, which is fine for a per-worker object", severity="info")
        if memo:
            return report_at(
                ctx, self, site,
                f"{what} is a memo cache filled at request time ({how}): each worker fills its "
                "own copy, which is fine for values derived from the key", severity="info")
        live = live_resource(ctx.index, site.facts, scope_id, value)
        if live is not None:
            return report_at(
                ctx, self, site,
                f"{what} is given {live} at request time ({how}): other workers never see it "
                "and no shared backend can hold it; redesign so each request opens its own",
                fix="blocker")
        return report_at(
            ctx, self, site,
            f"{what} is written at request time ({how}) and each worker keeps its own copy; "
            "move it to a ServerVariable or BackendStore on the shared backend")


def _computed(index: ProjectIndex, facts: FileFacts, scope_id: int, value: Value | None,
              depth: int = 0) -> bool:
    """Whether what `if key not in cache: cache[key] = value` stores may be worked out
    (`load(key)`, a name bound to such a value): a memo. A caller's argument (`token`,
    `request.body`) or a constant is given, not worked out: the first request's value wins
    in its worker, and every other worker keeps another."""
    if value is None or depth > 2:
        return True
    if value.kind in ("const", "str"):
        return False
    if value.kind not in ("name", "attr"):
        return True
    found = index.lookup(facts, scope_id, value.text.partition(".")[0])
    if found is None:
        return True
    binding, bound_in = found
    if binding.kind == "param":
        return False
    return not (value.kind == "name" and binding.kind == "assign") or _computed(
        index, facts, bound_in, binding.value, depth + 1)


def _in_place(call: Call) -> bool:
    """`SALES.drop(columns=['x'], inplace=True)`: a data frame changed where it is."""
    given = call.kwarg("inplace")
    return given is not None and given.kind == "const" and given.const is True


def _written_through(calls: list[Call], setdefault: Call) -> bool:
    """Whether a mutator is called on what a `setdefault` call gives back: a call of its
    statement, which comes before the call it holds."""
    for outer in reversed(calls[:setdefault.id]):
        if outer.stmt_line != setdefault.stmt_line:
            return False
        if (outer.func_call == setdefault.id and outer.callee[:1] == "."
                and outer.callee[1:] in _MUTATORS):
            return True
    return False


RULES: list[type[Rule]] = [LiveObjectState, StartupSeededSharedState, ProcessLocalMutation]
