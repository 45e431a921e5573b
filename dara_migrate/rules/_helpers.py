"""What several rules share: report sites, the apps of the project, tasks, live resources
and the Dara variables and actions a name stands for."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple

from dara_migrate.facts import Binding, Call, FileFacts, Scope, Span, Value
from dara_migrate.index.apps import BUILDER as BUILDER
from dara_migrate.index.bindings import defining_call, is_receiver
from dara_migrate.index.project import (
    ProjectIndex,
    ScopeRef,
    passed_argument,
    per_index,
    project_calls,
)
from dara_migrate.index.queries import calls_of_method
from dara_migrate.models import Finding, Related
from dara_migrate.rules.base import Context, Rule

SERVER_VARIABLES = ("ServerVariable", "DataVariable")
IMPORT_KINDS = ("import", "import_module")

# ---------------------------------------------------------------- shared: sites and names


@dataclass(frozen=True, slots=True)
class ReportSite:
    """A place a rule can report at or list as related: a call, a definition or a statement."""

    facts: FileFacts
    span: Span
    anchor: tuple[int, int, str]
    what: str
    kind: str = ""

    def related(self) -> Related:
        what = f"{self.what} runs in this process's task pool" if self.kind == "task" else (
            self.what)
        return Related(self.facts.path, self.span.line, what)


def call_site(facts: FileFacts, call: Call, what: str, kind: str = "") -> ReportSite:
    return ReportSite(facts, call.span, (call.stmt_line, call.stmt_col, call.stmt_hash), what, kind)


def scope_site(facts: FileFacts, scope: Scope, what: str, kind: str = "") -> ReportSite:
    """At the first decorator of a decorated definition, like `Context.at_scope`."""
    span = scope.span
    if scope.decorators:
        span = Span(scope.stmt_line, scope.stmt_col, span.end_line, span.end_col)
    return ReportSite(facts, span, (scope.stmt_line, scope.stmt_col, scope.stmt_hash), what, kind)


def binding_site(facts: FileFacts, binding: Binding, what: str, kind: str = "") -> ReportSite:
    """A store statement; its fingerprint comes from a call in it, else from the stored name."""
    statement = next((c.stmt_hash for c in facts.calls if c.stmt_line == binding.stmt_line
                      and c.stmt_col == binding.stmt_col), f"{binding.kind}:{binding.name}")
    return ReportSite(facts, binding.span, (binding.stmt_line, binding.stmt_col, statement), what,
                kind)


def report_at(ctx: Context, rule: Rule, site: ReportSite, message: str,
              **options: object) -> Finding:
    return ctx.report(rule, site.facts, site.span, message, anchor=site.anchor,
                      **options)  # type: ignore[arg-type]


def receiver_of(callee: str) -> str:
    """`state.rows` for `state.rows.write`."""
    return callee.rpartition(".")[0]


def call_key(facts: FileFacts, call: Call) -> tuple[str, int]:
    return facts.path, call.id


class HandedWrite(NamedTuple):
    """`var.write(...)` on a function's parameter, where a call gives it a project-made
    object: the write, the call that gives the object and the call that made it."""

    facts: FileFacts
    call: Call
    caller: FileFacts
    site: Call
    given: str
    """The object as the call names it (`state.rows`)."""
    made: tuple[FileFacts, Call]

    @property
    def function(self) -> str:
        """The name of the function that writes."""
        return self.facts.scopes[self.call.scope].name

    def value(self, index: ProjectIndex, position: int, name: str) -> Value | None:
        """The written value (the write's argument `name`) where the caller gives it too:
        a parameter of the writing function, given by the call that gives the object."""
        value = self.call.argument(position, name)
        if value is None or value.kind != "name":
            return None
        found = index.lookup(self.facts, self.call.scope, value.text)
        if found is None or found[0].kind != "param" or (
                index.resolve_call(self.caller, self.site).function != (self.facts.path,
                                                                         found[1])):
            return None
        return passed_argument(self.facts, self.facts.scopes[found[1]], value.text, self.site)


_HANDED_WRITES = ("write", "write_partial", "update", "delete")


@per_index
def handed_writes(index: ProjectIndex) -> list[HandedWrite]:
    """`.write()`, `.write_partial()`, `.update()` and `.delete()` on a parameter of a project
    function, at each call that gives the parameter an object a project call made
    (`given_to`): `save(state.rows, [])` for `async def save(var, value): await
    var.write(value)`."""
    found: list[HandedWrite] = []
    for method in _HANDED_WRITES:
        for facts, call in calls_of_method(index, method):
            receiver = receiver_of(call.callee)
            if not receiver or "." in receiver or index.resolve_call(facts, call).instance_of:
                continue
            for caller, site, value in given_to(index, facts, call.scope, receiver):
                made = defining_call(index, caller, site.scope, value.text) if (
                    value.kind in ("name", "attr")) else None
                if made is not None:
                    found.append(HandedWrite(facts, call, caller, site, value.text, made))
    return found


_HANDED_ON_DEPTH = 3
"""How many functions handing a parameter on to the next `given_to` follows."""


def given_to(index: ProjectIndex, facts: FileFacts, scope_id: int, name: str,
             depth: int = 0) -> list[tuple[FileFacts, Call, Value]]:
    """What the project's calls of a function give its parameter `name` (as seen from
    `scope_id`: the function or a scope in it), as (the caller's file, the call, the value
    in the caller's file). A caller's own parameter handed on is followed to that function's
    calls (`save(state.rows)` for `def save(rows): store(rows)`): the call is the one that
    gives the value; a parameter no call gives anything is given as itself. Empty when `name`
    is no parameter of an undecorated function there (nor the `self` of a method)."""
    found = index.lookup(facts, scope_id, name)
    if found is None:
        return []
    binding, bound_in = found
    scope = facts.scopes[bound_in]
    # A decorated function's calls go through its decorator: Dara's give an action or a
    # component the current values of the variables its calls name, not the variables.
    if (binding.kind != "param" or scope.kind != "function" or scope.decorators
            or is_receiver(facts, binding, bound_in)):
        return []
    # Kept: a helper called from many places, each handing on its own parameter, would
    # otherwise be walked again for every write into that parameter.
    key = (facts.path, bound_in, name, depth)
    answers = _given_answers(index)
    given = answers.get(key)
    if given is None:
        given = answers[key] = []
        for caller, call in project_calls(index).get((facts.path, bound_in), ()):
            value = passed_argument(facts, scope, name, call)
            if value is None:
                continue
            onward = given_to(index, caller, call.scope, value.text, depth + 1) if (
                value.kind == "name" and depth < _HANDED_ON_DEPTH) else []
            given.extend(onward or [(caller, call, value)])
    return given


@per_index
def _given_answers(index: ProjectIndex) -> dict[tuple[str, int, str, int],
                                                list[tuple[FileFacts, Call, Value]]]:
    """`given_to`'s answers, by (path, function scope id, parameter, depth)."""
    return {}


def passed_not_none(value: Value | None) -> bool:
    """An argument that is present and not a literal `None`."""
    return value is not None and not (value.kind == "const" and value.const is None)


# ---------------------------------------------------------------- shared: builders


def is_builder(index: ProjectIndex, facts: FileFacts, scope_id: int, dotted: str) -> bool:
    """Whether `config.x` is an attribute of a ConfigurationBuilder (also a parameter typed
    as one)."""
    return index.resolve(facts, scope_id, dotted).instance_of == BUILDER


def builder_of(index: ProjectIndex, facts: FileFacts, scope_id: int,
               dotted: str) -> tuple[str, int] | None:
    """The `ConfigurationBuilder()` call an object like `config` (or `cfg.router`) is."""
    made = defining_call(index, facts, scope_id, dotted.split(".")[0])
    if made is None or index.resolve_call(*made).api != BUILDER:
        return None
    return call_key(*made)


# ---------------------------------------------------------------- shared: tasks


@per_index
def attribute_stores(index: ProjectIndex) -> dict[str, list[tuple[FileFacts, Binding]]]:
    """The `<object>.<attribute> = ...` bindings of the project by the attribute's name
    (`task_module` for `config.task_module = ...`), in path-then-binding order: rules that
    look for one attribute read its list, not every binding of every file."""
    stores: dict[str, list[tuple[FileFacts, Binding]]] = {}
    for facts in index.files.values():
        for binding in facts.bindings:
            if binding.kind == "attr":
                _, dot, attribute = binding.name.rpartition(".")
                if dot:
                    stores.setdefault(attribute, []).append((facts, binding))
    return stores


def constant_string(index: ProjectIndex, facts: FileFacts, scope_id: int, name: str
                    ) -> str | None:
    """The string a bare name always holds, seen from `scope_id`: a module-level name bound
    once, to a string literal (`HOME = '/home'`), in its module or one it is imported from,
    which nothing rebinds (`_rebound`, in either module)."""
    bound = module_assignment(index, facts, scope_id, name)
    if bound is None or _rebound(index, facts, name):
        return None
    owner, value, owned = bound
    if (value.kind != "str" or not isinstance(value.const, str)
            or _rebound(index, owner, owned)):
        return None
    return value.const


def _rebound(index: ProjectIndex, facts: FileFacts, name: str) -> bool:
    """Whether a module-level name may be bound other than by its one statement: in its
    module, or through the module by the modules that import it (`routes.HOME = ...`,
    `setattr(routes, 'HOME', ...)`; no other module can name it)."""
    if sum(b.name == name and b.scope == 0 for b in facts.bindings) != 1 or any(
            name in s.globals for s in facts.scopes) or any(
            c.callee == "globals" for c in facts.calls):
        return True
    near = {facts.path, *index.direct_importers(facts.path)}
    return any(store.path in near for store, _ in attribute_stores(index).get(name, ())) or any(
        call.callee == "setattr" and len(call.args) > 1 and call.args[1].const == name
        for path in near for call in index.files[path].calls)


@per_index
def task_sites(index: ProjectIndex) -> list[ReportSite]:
    """Work that runs in this process's task pool: `config.task_module = ...`,
    `run_as_task=True`, `ctx.run_task(...)`, `@track_progress` or `track_progress(fn)`
    (DM601, listed by DM201).
    A site's `what` names the task use."""
    sites: list[ReportSite] = []
    for facts, binding in attribute_stores(index).get("task_module", ()):
        if passed_not_none(binding.value) and is_builder(index, facts, binding.scope,
                                                         binding.name):
            sites.append(binding_site(facts, binding, binding.name, "task"))
    for facts, call in calls_of_method(index, "run_task"):
        if is_action_ctx(index, facts, call.scope, call.callee.split(".")[0]):
            sites.append(call_site(facts, call, f"{call.callee}()", "task"))
    for api in ("DerivedVariable", "DerivedDataVariable"):
        for facts, call in index.calls_by_api.get(api, ()):
            flag = call.kwarg("run_as_task")
            if flag is not None and flag.const is True:
                sites.append(call_site(facts, call, f"{api}(run_as_task=True)", "task"))
    tracked: set[ScopeRef] = set()
    for facts, scope in index.decorated.get("track_progress", ()):
        if (facts.path, scope.id) not in tracked:  # one site for a twice-decorated function
            tracked.add((facts.path, scope.id))
            sites.append(scope_site(facts, scope, f"@track_progress {scope.name}", "task"))
    for facts, call in index.calls_by_api.get("track_progress", ()):
        # `train = track_progress(_train)`; a decorator, `@track_progress()`, has no argument
        # and is listed above.
        if call.args:
            name = call.args[0].text if call.args[0].kind in ("name", "attr") else "..."
            sites.append(call_site(facts, call, f"track_progress({name})", "task"))
    return sorted(sites, key=lambda s: (s.facts.path, s.span.line, s.span.col))


# ---------------------------------------------------------------- shared: live resources

_LIVE_CALLS = {
    "open": "an open file", "io.open": "an open file",
    "tempfile.TemporaryFile": "an open file", "tempfile.NamedTemporaryFile": "an open file",
    "sqlalchemy.create_engine": "a database engine",
    "sqlalchemy.ext.asyncio.create_async_engine": "a database engine",
    "redis.Redis": "a Redis client", "redis.StrictRedis": "a Redis client",
    "redis.from_url": "a Redis client", "redis.asyncio.Redis": "a Redis client",
    "redis.asyncio.from_url": "a Redis client",
    "boto3.client": "a boto3 client", "boto3.resource": "a boto3 resource",
    "boto3.Session": "a boto3 session", "boto3.session.Session": "a boto3 session",
    "requests.Session": "an HTTP session", "requests.session": "an HTTP session",
    "httpx.Client": "an HTTP client", "httpx.AsyncClient": "an HTTP client",
    "aiohttp.ClientSession": "an HTTP session", "pymongo.MongoClient": "a MongoDB client",
    "socket.socket": "a socket", "socket.create_connection": "a socket",
    "threading.Lock": "a lock", "threading.RLock": "a lock", "threading.Event": "an event",
    "threading.Condition": "a condition", "threading.Semaphore": "a semaphore",
    "threading.Thread": "a thread", "asyncio.Lock": "a lock", "asyncio.Event": "an event",
    "asyncio.Condition": "a condition", "asyncio.Semaphore": "a semaphore",
    "asyncio.Queue": "a queue", "queue.Queue": "a queue",
    "multiprocessing.Pool": "a process pool", "multiprocessing.Lock": "a lock",
    "multiprocessing.Queue": "a queue",
    "concurrent.futures.ThreadPoolExecutor": "an executor",
    "concurrent.futures.ProcessPoolExecutor": "an executor",
    "joblib.load": "a loaded model", "pickle.load": "a loaded model",
    "torch.load": "a loaded model", "dill.load": "a loaded model",
    "cloudpickle.load": "a loaded model",
}
_LIVE_METHODS = {"connect": "a connection", "fit": "a fitted model",
                 "load_model": "a loaded model", "from_pretrained": "a loaded model"}
_MODEL_LIBRARIES = ("sklearn", "xgboost", "lightgbm", "catboost", "torch", "tensorflow", "keras",
                    "statsmodels", "transformers")
_LIVE_TYPES = {
    "sqlalchemy": ("Engine", "Connection", "Session", "AsyncEngine", "AsyncSession"),
    "sqlite3": ("Connection", "Cursor"), "psycopg2": ("connection", "cursor"),
    "redis": ("Redis", "StrictRedis"), "requests": ("Session",),
    "httpx": ("Client", "AsyncClient"), "aiohttp": ("ClientSession",),
    "boto3": ("Session",), "pymongo": ("MongoClient",), "socket": ("socket",),
    "threading": ("Lock", "RLock", "Event", "Condition", "Semaphore", "Thread"),
    "asyncio": ("Lock", "Event", "Condition", "Semaphore", "Queue"),
    "concurrent": ("Executor", "ThreadPoolExecutor", "ProcessPoolExecutor"),
    "typing": ("IO", "TextIO", "BinaryIO"), "io": ("TextIOWrapper", "BufferedReader",
                                                    "BufferedWriter", "IOBase"),
}


def _model_class(qualified: str) -> bool:
    """A class from a modelling library (`sklearn.ensemble.RandomForestClassifier`), not a
    data container like `torch.Tensor`."""
    root, last = qualified.split(".")[0], qualified.rsplit(".", 1)[-1]
    return (root in _MODEL_LIBRARIES and "." in qualified and last[:1].isupper()
            and last != "Tensor")


def live_type(index: ProjectIndex, facts: FileFacts, scope_id: int, annotation: str) -> str | None:
    """What an annotation says the object is, when it is a live resource or a model."""
    head = annotation.split("[")[0].split("|")[0].strip()
    if not head or head in ("?", "None"):
        return None
    resolved = index.resolve(facts, scope_id, head)
    if resolved.function is not None:
        return None
    qualified = resolved.qualified
    root, last = qualified.split(".")[0], qualified.rsplit(".", 1)[-1]
    if last in _LIVE_TYPES.get(root, ()) and "." in qualified:
        return f"{'an' if last[0].lower() in 'aeiou' else 'a'} {last}"
    if _model_class(qualified):
        return f"a model ({last})"
    return None


def module_assignment(index: ProjectIndex, facts: FileFacts, scope: int,
                      dotted: str) -> tuple[FileFacts, Value, str] | None:
    """The value a name of a project module is bound to, as seen from `scope` (`TOTAL`,
    `ids.TOTAL`, also imported), and the name in that module: when the module binds it
    once, by assignment."""
    resolved = index.resolve(facts, scope, dotted)
    if resolved.api or resolved.function or resolved.instance_of or resolved.instance_of_project:
        return None
    owner, name = index.split_module(resolved.qualified, facts)
    if owner is None and "." not in dotted and index.lookup(facts, scope, dotted) is None:
        # Bound by no statement of the file: a star import's (`from app.ids import *`).
        for star in index.bindings_in(facts.path, 0, "*"):
            module, _ = index.split_module(star.target, facts)
            if module is not None and index.bindings_in(module.path, 0, dotted):
                owner, name = module, dotted
                break
    if owner is None or not name or "." in name:
        return None
    bound = index.bindings_in(owner.path, 0, name)
    if len(bound) != 1 or bound[0].kind != "assign" or bound[0].value is None:
        return None
    return owner, bound[0].value, name


def live_resource(index: ProjectIndex, facts: FileFacts, scope_id: int, value: Value | None,
                  depth: int = 0) -> str | None:
    """What live object (connection, file, lock, client, model) a value is, if it is one:
    a call that makes one, a name bound to such a call (here, or in the project module it is
    imported from), or a parameter annotated with one."""
    if value is None or depth > 3:
        return None
    if value.kind == "call":
        # `open(p).read()` has no dotted callee: what the outer method returns is unknown.
        callee = value.text
        if not callee:
            return None
        resolved = index.resolve(facts, scope_id, callee)
        if resolved.function is not None:
            return None
        found = _LIVE_CALLS.get(resolved.qualified)
        if found:
            return f"{found} ({callee}())"
        method = callee.rsplit(".", 1)[-1]
        if method in _LIVE_METHODS and ("." in callee or method == "load_model"):
            return f"{_LIVE_METHODS[method]} ({callee}())"
        if _model_class(resolved.qualified):
            return f"a model ({callee}())"
        return None
    if value.kind != "name" and value.kind != "attr":
        return None
    found_binding = index.lookup(facts, scope_id, value.text.partition(".")[0])
    if found_binding is None:
        return None
    binding, bound_in = found_binding
    if binding.kind == "import" or binding.kind == "import_module":
        # `from app.models import model`, `models.model`: the project module's binding.
        bound = module_assignment(index, facts, scope_id, value.text)
        return None if bound is None else live_resource(index, bound[0], 0, bound[1],
                                                        depth + 1)
    if value.kind == "attr":
        return None
    if binding.kind == "param":
        return live_type(index, facts, bound_in, binding.target) if binding.target else None
    if binding.kind == "assign" and binding.target:
        return live_type(index, facts, bound_in, binding.target)
    if binding.kind == "assign" and binding.value is not None:
        return live_resource(index, facts, bound_in, binding.value, depth + 1)
    return None


# ---------------------------------------------------------------- shared: variables and actions

VARIABLE_TYPES = frozenset({
    "Variable", "DerivedVariable", "DerivedDataVariable", "ServerVariable", "DataVariable",
    "StreamVariable", "SwitchVariable", "UrlVariable", "StateVariable", "LoopVariable",
    "ClientVariable", "AnyVariable", "NonDataVariable", "AnyDataVariable",
})
"""Every Dara class whose instances are `AnyVariable`s."""

_VARIABLE_ATTRIBUTES = {
    "list_item": "LoopVariable", "is_loading": "StateVariable", "has_error": "StateVariable",
    "has_value": "StateVariable",
}
_NESTED_VARIABLE_METHODS = frozenset({"get"})
_CTX_ANNOTATIONS = (".ActionCtx", ".action.Ctx")


def variable_kind(index: ProjectIndex, facts: FileFacts, scope_id: int,
                  dotted: str) -> str | None:
    """The Dara variable class `dotted` provably holds in a scope, else None.

    Provable means: bound to a variable constructor (here or in an imported project module),
    a parameter annotated with a variable type, `self.x` assigned a variable, `var.list_item`
    / `dv.is_loading`, or a name bound to `var.get(...)`.
    """
    resolved = index.resolve(facts, scope_id, dotted)
    if resolved.instance_of in VARIABLE_TYPES:
        if not resolved.attribute:
            return resolved.instance_of
        return _VARIABLE_ATTRIBUTES.get(resolved.attribute)
    if "." in dotted:
        return None
    found = index.lookup(facts, scope_id, dotted)
    if found and found[0].kind == "assign" and found[0].value is not None and (
            found[0].value.kind == "call"):
        return nested_variable(index, facts, facts.calls[found[0].value.call])
    return None


def variable_constructor(index: ProjectIndex, facts: FileFacts, scope_id: int, dotted: str,
                         depth: int = 0) -> tuple[FileFacts, Call] | None:
    """The constructor call a variable name is bound to, across imports and `self.x`."""
    head, _, rest = dotted.partition(".")
    found = index.lookup(facts, scope_id, head)
    if found is None or depth > 4:
        return None
    binding, bound_in = found
    value = binding.value
    if binding.kind == "assign" and not rest and value is not None:
        if value.kind == "call":
            return facts, facts.calls[value.call]
        if value.kind in ("name", "attr") and value.text != head:
            return variable_constructor(index, facts, bound_in, value.text, depth + 1)
        return None
    if binding.kind in ("import", "import_module"):
        module, _, name = (f"{binding.target}.{rest}" if rest else binding.target).rpartition(".")
        target = index.module_named(module, facts)
        return variable_constructor(index, target, 0, name, depth + 1) if target else None
    scope = facts.scopes[bound_in]
    receiver = binding.kind == "param" and scope.params and scope.params[0].name == head and (
        facts.scopes[scope.parent].kind == "class")
    if receiver and rest and "." not in rest:
        for stored in index.stores_on_self(facts, scope.parent, rest):
            if stored.value is not None and stored.value.kind == "call":
                return facts, facts.calls[stored.value.call]
    return None


def nested_variable(index: ProjectIndex, facts: FileFacts, call: Call) -> str | None:
    """`var.get('key')` makes a nested variable of `var`'s class."""
    resolved = index.resolve_call(facts, call)
    if resolved.instance_of in VARIABLE_TYPES and resolved.attribute in _NESTED_VARIABLE_METHODS:
        return resolved.instance_of
    return None


@per_index
def action_refs(index: ProjectIndex) -> set[ScopeRef]:
    """Every `@action` function of the project."""
    return {(facts.path, scope.id) for facts, scope in index.decorated.get("action", ())}


def ctx_param(scope: Scope) -> str:
    """The parameter Dara injects the `ActionCtx` into (after `self`/`cls`, as Dara checks)."""
    params = scope.params
    if params and params[0].name in ("self", "cls"):
        params = params[1:]
    return params[0].name if params else ""


def is_action_ctx(index: ProjectIndex, facts: FileFacts, scope_id: int, name: str,
                  depth: int = 0) -> bool:
    """Whether `name` is an action context: a parameter annotated as Dara's `ActionCtx`
    (`action.Ctx`), the one Dara injects it into in an `@action` function, or an
    unannotated parameter of a helper that a caller hands such a context."""
    found = index.lookup(facts, scope_id, name)
    if found is None or found[0].kind != "param":
        return False
    binding, bound_in = found
    scope = facts.scopes[bound_in]
    annotation = binding.target.split("[")[0].split("|")[0].strip()
    annotated = bool(annotation) and annotation != "?"
    if annotated:
        qualified = index.resolve(facts, scope.parent, annotation).qualified
        if qualified.startswith("dara.") and qualified.endswith(_CTX_ANNOTATIONS):
            return True
    if (facts.path, bound_in) in action_refs(index):
        return ctx_param(scope) == name
    if annotated or depth > 2 or scope.kind != "function":
        return False
    for caller, call in project_calls(index).get((facts.path, bound_in), ()):
        given = passed_argument(facts, scope, name, call)
        if given is not None and given.kind == "name" and is_action_ctx(
                index, caller, call.scope, given.text, depth + 1):
            return True
    return False


# ---------------------------------------------------------------- shared: values

MUTABLE_CALLS = frozenset({
    "dict", "list", "set", "bytearray", "collections.defaultdict", "collections.OrderedDict",
    "collections.Counter", "collections.deque",
    # The tables and arrays of a data app, changed in place by item assignment, `.loc[...] =`
    # and `inplace=True` as often as containers are.
    "pandas.DataFrame", "pandas.Series", "pandas.read_csv", "pandas.read_parquet",
    "pandas.read_excel", "pandas.read_json", "pandas.read_sql", "pandas.read_table",
    "pandas.read_feather", "pandas.read_pickle", "pandas.concat", "pandas.merge",
    "numpy.array", "numpy.asarray", "numpy.zeros", "numpy.ones", "numpy.empty", "numpy.full",
    "numpy.arange", "numpy.linspace", "numpy.zeros_like", "numpy.ones_like", "numpy.eye",
    "pandas.DataFrame.from_records", "pandas.DataFrame.from_dict",
    # What loading, copying and sorting give: new containers of the module's own.
    "json.load", "json.loads", "yaml.safe_load", "yaml.load", "tomllib.load",
    "tomllib.loads", "copy.copy", "copy.deepcopy", "sorted",
    "queue.Queue", "queue.SimpleQueue", "queue.LifoQueue", "queue.PriorityQueue",
    "weakref.WeakValueDictionary", "weakref.WeakKeyDictionary", "weakref.WeakSet",
    "cachetools.TTLCache", "cachetools.LRUCache", "cachetools.LFUCache", "cachetools.Cache",
    "collections.ChainMap", "array.array",
})
_MUTABLE_ANNOTATION = re.compile(
    r"(typing\.|t\.|collections\.)?(dict|list|set|bytearray|defaultdict|OrderedDict|Counter|"
    r"deque|Dict|List|Set|DefaultDict|Deque|MutableMapping|MutableSequence|MutableSet)\b"
    r"|(pd|pandas)\.DataFrame\b|(np|numpy)\.ndarray\b")
"""Annotations of mutable containers (`dict[str, int]`, `pd.DataFrame`)."""


def mutable(index: ProjectIndex, facts: FileFacts, scope_id: int, value: Value | None,
            annotation: str = "", depth: int = 0) -> bool:
    """A display or comprehension, a name annotated as a mutable container, a slice of one,
    or a call that makes one: of a container type (a data frame or an array too), of a loader
    or copier (`json.load`, `copy.deepcopy`, `frame.copy()`), of a project function annotated
    to return one or returning one."""
    if annotation and _MUTABLE_ANNOTATION.match(annotation):
        return True
    if value is None or depth > 3:
        return False
    if value.kind in ("dict", "container", "comprehension"):
        return True
    if value.kind == "slice":  # `RAW[:]`, `self.items[1:]`: a copy, or a view, of the holder
        return _copy_of_mutable(index, facts, scope_id, value.text, depth)
    if value.kind != "call" or not value.text:
        return False
    resolved = index.resolve(facts, scope_id, value.text)
    if resolved.qualified in MUTABLE_CALLS:
        return True
    receiver, _, method = value.text.rpartition(".")
    if method == "copy" and receiver:
        return _copy_of_mutable(index, facts, scope_id, receiver, depth)
    function = resolved.function
    if function is None or index.scope(function).kind != "function":
        return False
    owner = index.files[function[0]]
    scope = owner.scopes[function[1]]
    return bool(scope.returns and _MUTABLE_ANNOTATION.match(scope.returns)) or any(
        mutable(index, owner, function[1], returned, "", depth + 1)
        for returned in scope.returned)


def _copy_of_mutable(index: ProjectIndex, facts: FileFacts, scope_id: int, receiver: str,
                     depth: int) -> bool:
    """`RAW.copy()` or `RAW[:]` of a container a name holds (`WORKING = RAW.copy()`), or
    `self.items.copy()` of one the instance holds (set on `self` in a method, or a class
    attribute): a container too."""
    head, _, attribute = receiver.partition(".")
    found = index.lookup(facts, scope_id, head)
    if found is None:
        return False
    binding, bound_in = found
    if not attribute:
        return binding.kind == "assign" and mutable(
            index, facts, bound_in, binding.value, binding.target, depth + 1)
    if "." in attribute or not is_receiver(facts, binding, bound_in):
        return False
    cls = facts.scopes[bound_in].parent
    return any(mutable(index, facts, held.scope, held.value, held.target, depth + 1)
               for held in (*index.stores_on_self(facts, cls, attribute),
                            *index.bindings_in(facts.path, cls, attribute)))


def mutable_field(index: ProjectIndex, facts: FileFacts, scope_id: int,
                  value: Value | None) -> bool:
    """A dataclass field each instance gets a new mutable container for
    (`field(default_factory=list)`)."""
    if value is None or value.kind != "call" or not value.text or (
            index.resolve(facts, scope_id, value.text).qualified != "dataclasses.field"):
        return False
    factory = facts.calls[value.call].kwarg("default_factory")
    return factory is not None and factory.kind in ("name", "attr") and (
        index.resolve(facts, scope_id, factory.text).qualified in MUTABLE_CALLS)


def related_lines(sites: Iterable[tuple[FileFacts, Call, str]]) -> list[Related]:
    """Related locations, one per line, in path-then-line order."""
    unique = {(facts.path, call.span.line): message for facts, call, message in sites}
    return [Related(path, line, message) for (path, line), message in sorted(unique.items())]
