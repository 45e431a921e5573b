"""DM2xx: process-local state and backends.

Also home of what the task and deployment rules share with DM201: the apps of the project
(`ConfigurationBuilder()` bindings and their runtime declarations), the constructor call a
name stands for, and what counts as a live resource.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import ClassVar

from dara_migrate.facts import Binding, Call, FileFacts, Scope, Span, Value
from dara_migrate.index.bindings import defining_call, is_receiver, lookup
from dara_migrate.index.dara_api import AUTH_SESSION_BACKENDS, BACKEND_BASES, LOCAL_BACKENDS
from dara_migrate.index.project import ProjectIndex, ScopeRef, per_index
from dara_migrate.models import Finding, Related
from dara_migrate.rules.base import Context, Example, Rule, RuleDocs
from dara_migrate.target import CONFIGURE_RUNTIME

SERVER_VARIABLES = ("ServerVariable", "DataVariable")
BUILDER = "ConfigurationBuilder"
_IMPORTS = ("import", "import_module")

# ---------------------------------------------------------------- shared: sites and names


@dataclass(frozen=True, slots=True)
class Site:
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


def call_site(facts: FileFacts, call: Call, what: str, kind: str = "") -> Site:
    return Site(facts, call.span, (call.stmt_line, call.stmt_col, call.stmt_hash), what, kind)


def scope_site(facts: FileFacts, scope: Scope, what: str, kind: str = "") -> Site:
    """At the first decorator of a decorated definition, like `Context.at_scope`."""
    span = scope.span
    if scope.decorators:
        span = Span(scope.stmt_line, scope.stmt_col, span.end_line, span.end_col)
    return Site(facts, span, (scope.stmt_line, scope.stmt_col, scope.stmt_hash), what, kind)


def binding_site(facts: FileFacts, binding: Binding, what: str, kind: str = "") -> Site:
    """A store statement; its fingerprint comes from a call in it, else from the stored name."""
    statement = next((c.stmt_hash for c in facts.calls if c.stmt_line == binding.stmt_line
                      and c.stmt_col == binding.stmt_col), f"{binding.kind}:{binding.name}")
    return Site(facts, binding.span, (binding.stmt_line, binding.stmt_col, statement), what,
                kind)


def report_at(ctx: Context, rule: Rule, site: Site, message: str, **options: object) -> Finding:
    return ctx.report(rule, site.facts, site.span, message, anchor=site.anchor,
                      **options)  # type: ignore[arg-type]


def receiver_of(callee: str) -> str:
    """`state.rows` for `state.rows.write`."""
    return callee.rpartition(".")[0]


def call_key(facts: FileFacts, call: Call) -> tuple[str, int]:
    return facts.path, call.id


def given(value: Value | None) -> bool:
    """An argument that is present and not a literal `None`."""
    return value is not None and not (value.kind == "const" and value.const is None)


# ---------------------------------------------------------------- shared: apps


@dataclass(eq=False, slots=True)
class AppConfig:
    """One `ConfigurationBuilder()`, the files it imports, the runtime declared on it."""

    facts: FileFacts
    call: Call
    files: frozenset[str]
    runtime: list[tuple[FileFacts, Call]]

    @property
    def name(self) -> str:
        return self.call.target.rsplit(".", 1)[-1] if self.call.target else "config"


def app_configs(ctx: Context) -> list[AppConfig]:
    """The project's apps (as the engine finds them) with their `configure_runtime` calls;
    a declaration whose receiver cannot be traced counts for the apps owning its module."""
    index = ctx.index
    apps = [AppConfig(facts, call, frozenset(index.files_reachable(facts)), [])
            for facts, call in index.calls_by_api.get(BUILDER, ())]
    apps = [app for app in apps
            if ctx.settings.wants_app(app.facts.module, app.facts.path, app.name)]
    by_key = {call_key(app.facts, app.call): app for app in apps}
    owners = owners_by_file(apps)
    for facts, call in index.method_calls.get((BUILDER, CONFIGURE_RUNTIME), ()):
        made = defining_call(index, facts, call.scope, receiver_of(call.callee))
        declared_for = [by_key[call_key(*made)]] if made and call_key(*made) in by_key else (
            [] if made else owning_apps(apps, owners, facts))
        for app in declared_for:
            app.runtime.append((facts, call))
    return apps


def owners_by_file(apps: list[AppConfig]) -> dict[str, list[AppConfig]]:
    """path -> the apps importing it; built once, since a monorepo has hundreds of apps."""
    owners: dict[str, list[AppConfig]] = defaultdict(list)
    for app in apps:
        for path in app.files:
            owners[path].append(app)
    return owners


def owning_apps(apps: list[AppConfig], owners: Mapping[str, list[AppConfig]],
                facts: FileFacts) -> list[AppConfig]:
    """The apps that import a module; the only app owns every module (as in the engine)."""
    return owners.get(facts.path) or (apps if len(apps) == 1 else [])


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


def action_ctx(index: ProjectIndex, facts: FileFacts, scope_id: int, name: str) -> bool:
    """Whether `name` is an action context: annotated `action.Ctx`/`ActionCtx`, or the first
    parameter of an `@action` function."""
    found = lookup(index, facts, scope_id, name)
    if found is None or found[0].kind != "param":
        return False
    binding, bound_in = found
    if binding.target.rsplit(".", 1)[-1] in ("Ctx", "ActionCtx"):
        return True
    scope = facts.scopes[bound_in]
    params = [p.name for p in scope.params if p.name not in ("self", "cls")]
    decorated = any(index.resolve(facts, scope.parent, d.text).api == "action"
                    for d in scope.decorators if d.text)
    return decorated and bool(params) and params[0] == name


@per_index
def task_sites(index: ProjectIndex) -> list[Site]:
    """Work that runs in this process's task pool: `config.task_module = ...`,
    `run_as_task=True`, `ctx.run_task(...)`, `@track_progress` (DM601, listed by DM201).
    A site's `what` names the task use."""
    sites: list[Site] = []
    for facts in index.files.values():
        for binding in facts.bindings:
            if binding.kind == "attr" and binding.name.endswith(".task_module") and (
                    given(binding.value)) and is_builder(index, facts, binding.scope,
                                                         binding.name):
                sites.append(binding_site(facts, binding, binding.name, "task"))
        for call in facts.calls:
            if call.callee.endswith(".run_task") and action_ctx(
                    index, facts, call.scope, call.callee.split(".")[0]):
                sites.append(call_site(facts, call, f"{call.callee}()", "task"))
    for api in ("DerivedVariable", "DerivedDataVariable"):
        for facts, call in index.calls_by_api.get(api, ()):
            flag = call.kwarg("run_as_task")
            if flag is not None and flag.const is True:
                sites.append(call_site(facts, call, f"{api}(run_as_task=True)", "task"))
    for facts in index.files.values():
        for scope in facts.scopes:
            if any(d.text and index.resolve(facts, scope.parent, d.text).api == "track_progress"
                   for d in scope.decorators):
                sites.append(scope_site(facts, scope, f"@track_progress {scope.name}", "task"))
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


def live_resource(index: ProjectIndex, facts: FileFacts, scope_id: int, value: Value | None,
                  depth: int = 0) -> str | None:
    """What live object (connection, file, lock, client, model) a value is, if it is one:
    a call that makes one, a name bound to such a call, or a parameter annotated with one."""
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
    if value.kind != "name":
        return None
    found_binding = lookup(index, facts, scope_id, value.text)
    if found_binding is None:
        return None
    binding, bound_in = found_binding
    if binding.kind == "param":
        return live_type(index, facts, bound_in, binding.target) if binding.target else None
    if binding.kind == "assign" and binding.target:
        return live_type(index, facts, bound_in, binding.target)
    if binding.kind == "assign" and binding.value is not None:
        return live_resource(index, facts, bound_in, binding.value, depth + 1)
    return None


# ---------------------------------------------------------------- DM201


def _local_default_sites(index: ProjectIndex) -> list[Site]:
    """What keeps its state in the process when no shared runtime is declared (besides tasks)."""
    sites: list[Site] = []
    for facts, call in index.calls_by_api.get("ServerVariable", ()):
        if not given(call.argument(1, "backend")):
            sites.append(call_site(facts, call, "ServerVariable without backend= keeps its "
                                   "value in this process (MemoryBackend)", "state"))
    for facts, call in index.calls_by_api.get("DataVariable", ()):
        if not given(call.kwarg("backend")):
            sites.append(call_site(facts, call, "DataVariable keeps its data in this process "
                                   "(MemoryBackend)", "state"))
    for facts, call in index.calls_by_api.get("BackendStore", ()):
        if not given(call.argument(0, "backend")):
            sites.append(call_site(facts, call, "BackendStore without backend= keeps values in "
                                   "this process (InMemoryBackend)", "state"))
    custom_sessions = _custom_session_builders(index)
    for facts, call in index.method_calls.get((BUILDER, "add_auth"), ()):
        if builder_of(index, facts, call.scope, call.callee) not in custom_sessions:
            sites.append(call_site(facts, call, "auth sessions live in this process's default "
                                   "session store", "auth"))
    for facts, call in index.calls_by_api.get("OIDCAuthConfig", ()):
        sites.append(call_site(facts, call, "OIDC transactions and token caches live in this "
                               "process", "oidc"))
    return sites


def _custom_session_builders(index: ProjectIndex) -> set[tuple[str, int]]:
    """Builders given an auth session backend of the app's own (not a local one)."""
    found: set[tuple[str, int]] = set()
    for facts in index.files.values():
        for binding in facts.bindings:
            if (binding.kind == "attr" and binding.name.endswith(".auth_session_backend")
                    and given(binding.value) and index.value_api(
                        facts, binding.scope, binding.value) not in AUTH_SESSION_BACKENDS):
                builder = builder_of(index, facts, binding.scope, binding.name)
                if builder is not None:
                    found.add(builder)
    return found


class MissingRuntimeDeclaration(Rule):
    code = "DM201"
    name = "missing-runtime-declaration"
    severity = "error"
    fix = "safe"
    summary = "app without a shared runtime declaration"
    docs = RuleDocs(
        what="An app (a `ConfigurationBuilder()` binding) on which no shared runtime is "
        "declared with `<config>.configure_runtime(...)` (also accepted under an `if`). One "
        "finding per app, at the binding; related locations list what relies on local "
        "defaults: ServerVariables, DataVariables and BackendStores without a backend, task "
        "use, auth sessions and OIDC config. With no `ConfigurationBuilder` in the project, "
        "each of those sites is reported instead.",
        why="Without a declared runtime every worker uses Dara's built-in local defaults: "
        "server variables and backend stores in a dict of this process, tasks in this "
        "process's pool, auth sessions (the default session store is in memory in every "
        "deployed app) and OIDC transactions in memory. A value written on one worker is "
        "invisible to the others, and a login made on one worker is unknown to the next.",
        use_instead="Declare the runtime once, right after the builder: "
        "`config.configure_runtime(scope=RuntimeScope(...), "
        "backend=ValkeyDistributedBackend(url=...))`, guarded by "
        "`if os.environ.get('DARA_VALKEY_URL'):` so development keeps working.",
        fix_safety="Safe under target `v2`: `apply` writes the guarded declaration, so "
        "nothing changes on one worker without the environment variable. Under target `1.x` "
        "the finding is `pending` (it needs a Dara with the distributed runtime). Sites in a "
        "project without a builder are manual: there is no config to declare it on.",
        confidence="High: the builder and the declaration are resolved through imports; a "
        "declaration on an object the index cannot trace counts for the apps that import it.",
    )
    VALID: ClassVar[list[Example]] = [
        Example.module(
            "import os\n\n"
            "from dara.core import ConfigurationBuilder, ServerVariable\n"
            "from dara.core.runtime import RuntimeScope, ValkeyDistributedBackend\n\n"
            "config = ConfigurationBuilder()\n"
            "if os.environ.get('DARA_VALKEY_URL'):\n"
            "    config.configure_runtime(\n"
            "        scope=RuntimeScope(namespace=os.environ['DARA_NAMESPACE'], app_id='shop',\n"
            "                           deployment_id=os.environ['DARA_DEPLOYMENT_ID']),\n"
            "        backend=ValkeyDistributedBackend(url=os.environ['DARA_VALKEY_URL']),\n"
            "    )\n\n"
            "orders = ServerVariable(uid='app.main:orders')\n",
            note="the declaration under an `if` counts",
        ),
        Example({
            "app/__init__.py": "",
            "app/main.py": "from dara.core import ConfigurationBuilder as Builder\n\n"
            "def build_config():\n"
            "    cfg = Builder()\n"
            "    cfg.configure_runtime(scope=None, backend=None)\n"
            "    return cfg\n\n"
            "config = build_config()\n",
        }, note="a builder made inside a factory function, under another name"),
    ]
    INVALID: ClassVar[list[Example]] = [
        Example({
            "app/__init__.py": "",
            "app/state.py": "from dara.core import ServerVariable\n"
            "from dara.core.persistence import BackendStore\n\n"
            "orders = ServerVariable(uid='app.state:orders')\n"
            "prefs_store = BackendStore(uid='app.state:prefs_store')\n",
            "app/main.py": "import dara.core as dc\n"
            "from dara.core.auth import BasicAuthConfig\n\n"
            "from app import state\n\n"
            "config = dc.ConfigurationBuilder()  # expect: DM201\n"
            "config.add_auth(BasicAuthConfig(username='admin', password='admin'))\n"
            "config.task_module = 'app.tasks'\n",
        }, note="reported once, at the builder; the state module, the auth config and the "
           "task module are listed as related locations"),
        Example.module(
            "from dara.core import DataVariable\n\n"
            "sales = DataVariable(uid='app.main:sales')  # expect: DM201\n",
            note="no builder in the project: each site is reported",
        ),
    ]

    def check(self, ctx: Context) -> Iterator[Finding]:
        sites = [*_local_default_sites(ctx.index), *task_sites(ctx.index)]
        sites.sort(key=lambda s: (s.facts.path, s.span.line, s.span.col))
        apps = app_configs(ctx)
        if not apps:
            for site in sites:
                if ctx.is_selected(site.facts):
                    yield report_at(
                        ctx, self, site,
                        f"{site.related().message}, and no ConfigurationBuilder declares a "
                        "shared runtime; declare one with config.configure_runtime(...) on the "
                        "app's config",
                        fix="manual")
            return
        by_app: dict[int, list[Site]] = defaultdict(list)
        owners = owners_by_file(apps)
        for site in sites:
            for owner in owning_apps(apps, owners, site.facts):
                by_app[id(owner)].append(site)
        for app in apps:
            if app.runtime or not ctx.is_selected(app.facts):
                continue
            mine = by_app.get(id(app), [])
            yield ctx.at_call(
                self, app.facts, app.call,
                f"app '{app.name}' declares no shared runtime, so {_summary(mine)} stay in "
                f"each worker; declare it with {app.name}.{CONFIGURE_RUNTIME}(...)",
                related=[site.related() for site in mine],
            )


def _summary(sites: list[Site]) -> str:
    """`2 server-side variables/stores, tasks and auth sessions`; auth sessions always, as the
    default session store is in memory in every deployed app."""
    kinds = [s.kind for s in sites]
    parts = [f"{kinds.count('state')} server-side variable(s)/store(s)"] if "state" in kinds else []
    parts += ["tasks"] if "task" in kinds else []
    parts += ["auth sessions"]
    parts += ["OIDC state"] if "oidc" in kinds else []
    return f"{', '.join(parts[:-1])} and {parts[-1]}" if len(parts) > 1 else parts[0]


# ---------------------------------------------------------------- DM202


class LocalBackend(Rule):
    code = "DM202"
    name = "local-backend"
    severity = "error"
    fix = "safe"
    summary = "explicit process-local or on-disk backend"
    docs = RuleDocs(
        what="Explicit local backends: `MemoryBackend(...)` given to a ServerVariable, "
        "`InMemoryBackend()` given to a BackendStore, `FileBackend(...)`, and "
        "`config.auth_session_backend = InMemoryAuthSessionBackend()` or "
        "`FileAuthSessionBackend(...)`. Custom backends (your own `ServerBackend` / "
        "`PersistenceBackend` subclass, e.g. over a database) are not reported here (DM206).",
        why="`MemoryBackend` and `InMemoryBackend` keep values in a dict of this process; "
        "`FileBackend` and `FileAuthSessionBackend` in a file on this box. Another worker "
        "reads its own dict or its own file: values and logins written on one worker are "
        "missing on the others. Naming a local backend explicitly also overrides the shared "
        "runtime's backend once one is declared.",
        use_instead="Drop the backend and let the declared runtime provide a shared one. "
        "`MemoryBackend()` defaults to scope `'user'`, so carry its scope onto the "
        "ServerVariable (`ServerVariable(scope='user')`); dropping it without the scope would "
        "share per-user data with everyone. For files, a custom backend over a shared store.",
        fix_safety="Safe for `MemoryBackend(...)` written as a ServerVariable's `backend=` "
        "keyword (removed, its literal scope carried over) and `InMemoryBackend()` written as "
        "a BackendStore's `backend=` keyword (removed): on one worker the default is the same "
        "backend. Manual for `FileBackend`, the auth session backends, a backend passed "
        "positionally or by name, a scope that is not a literal or that differs from the "
        "ServerVariable's own `scope=`, and a user-scoped MemoryBackend under a ServerVariable "
        "with `default=`.",
        confidence="High: constructors are resolved through imports and aliases.",
    )
    VALID: ClassVar[list[Example]] = [
        Example.module(
            "from dara.core import ServerVariable\n"
            "from dara.core.interactivity.server_variable import ServerBackend\n\n"
            "class WarehouseBackend(ServerBackend):\n"
            "    def __init__(self, url: str):\n"
            "        super().__init__(scope='global')\n"
            "        self._url = url\n\n"
            "notes = ServerVariable(scope='user', uid='app.main:notes')\n"
            "ledger = ServerVariable(backend=WarehouseBackend('postgres://db/sales'),\n"
            "                        uid='app.main:ledger')\n",
            note="a custom backend over a database is user-attested (DM206), not DM202",
        ),
    ]
    INVALID: ClassVar[list[Example]] = [
        Example.module(
            "from dara.core import ConfigurationBuilder, ServerVariable, Variable\n"
            "from dara.core.auth import FileAuthSessionBackend\n"
            "from dara.core.interactivity.server_variable import MemoryBackend as MB\n"
            "import dara.core.persistence as p\n\n"
            "config = ConfigurationBuilder()\n"
            "config.auth_session_backend = FileAuthSessionBackend(path='s.json')  "
            "# expect: DM202\n"
            "notes = ServerVariable(backend=MB(), uid='app.main:notes')  # expect: DM202\n"
            "prefs = Variable(store=p.BackendStore(p.InMemoryBackend(), uid='prefs'),  "
            "# expect: DM202\n"
            "                 uid='app.main:prefs')\n"
            "saved = Variable(store=p.BackendStore(backend=p.FileBackend('saved.json'),  "
            "# expect: DM202\n"
            "                                      uid='saved'), uid='app.main:saved')\n"
        ),
    ]

    def check(self, ctx: Context) -> Iterator[Finding]:
        index = ctx.index
        for api in sorted(LOCAL_BACKENDS):
            for facts, call in index.calls_by_api.get(api, ()):
                if ctx.is_selected(facts):
                    yield self._backend(ctx, facts, call, api)
        for facts in index.files.values():
            if not ctx.is_selected(facts):
                continue
            for binding in facts.bindings:
                if binding.kind != "attr" or not binding.name.endswith(".auth_session_backend"):
                    continue
                session = index.value_api(facts, binding.scope, binding.value)
                if session not in AUTH_SESSION_BACKENDS or binding.value is None or not (
                        is_builder(index, facts, binding.scope, binding.name)):
                    continue
                where = ("this process's memory" if session.startswith("InMemory")
                         else "a file on this box")
                message = (f"{session} keeps auth sessions in {where}, so a login is unknown "
                           "to other workers; remove it and let the shared runtime hold "
                           "sessions")
                if binding.value.kind == "call":
                    yield ctx.at_call(self, facts, facts.calls[binding.value.call], message,
                                      fix="manual")
                else:
                    yield report_at(ctx, self, binding_site(facts, binding, session), message,
                                    fix="manual")

    def _backend(self, ctx: Context, facts: FileFacts, call: Call, api: str) -> Finding:
        parent = facts.calls[call.parent] if call.parent >= 0 else None
        owner = ctx.index.resolve_call(facts, parent).api if parent is not None else None
        if api == "FileBackend":
            return ctx.at_call(
                self, facts, call,
                "FileBackend keeps values in a JSON file on this box, so other workers read "
                "their own file; use the shared runtime's backend or a custom backend over a "
                "shared store", fix="manual")
        # `apply` removes a backend written as the `backend=` keyword of its owner.
        direct = parent is not None and call.target == "backend"
        if api == "InMemoryBackend":
            return ctx.at_call(
                self, facts, call,
                "InMemoryBackend keeps this BackendStore in one worker's memory; remove it so "
                "the store uses the shared runtime's backend",
                fix="safe" if direct and owner == "BackendStore" else "manual")
        scope_value = call.argument(0, "scope")
        backend_scope = "user" if scope_value is None else scope_value.const
        scope = repr(backend_scope) if isinstance(backend_scope, str) else "<the same scope>"
        own_scope = parent.argument(2, "scope") if parent is not None else None
        seeded = parent is not None and given(parent.argument(0, "default"))
        safe = (direct and owner == "ServerVariable" and isinstance(backend_scope, str)
                and (own_scope is None or own_scope.const == backend_scope)
                and (backend_scope == "global" or not seeded))
        keep = ("so per-user data stays per user" if backend_scope == "user"
                else "to keep its scope")
        default_note = " (MemoryBackend's default)" if scope_value is None else ""
        return ctx.at_call(
            self, facts, call,
            f"MemoryBackend keeps this ServerVariable in one worker's memory; remove backend= "
            f"and pass scope={scope}{default_note} to the ServerVariable {keep}",
            fix="safe" if safe else "manual")


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
    variable=var)`, `UpdateVariableImpl(variable=var, value=...)`, `UploadDropzone(target=var)`."""
    writes: list[Write] = []
    for api in SERVER_VARIABLES:
        for method in ("update", "write"):
            for facts, call in index.method_calls.get((api, method), ()):
                variable = defining_call(index, facts, call.scope, receiver_of(call.callee))
                when = index.when_at(facts, call.scope)
                writes.append(Write(facts, call, variable, call.argument(0, "value"),
                                    f".{method}()", method == "update" or when == "request"))
    for facts in index.files.values():
        for call in facts.calls:
            if call.callee.count(".") != 1 or not call.callee.endswith(".update") or (
                    not action_ctx(index, facts, call.scope, call.callee.split(".")[0])):
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
    return writes


def _related_lines(sites: Iterable[tuple[FileFacts, Call, str]]) -> list[Related]:
    """Related locations, one per line, in path-then-line order."""
    unique = {(facts.path, call.span.line): message for facts, call, message in sites}
    return [Related(path, line, message) for (path, line), message in sorted(unique.items())]


def _seed(index: ProjectIndex, facts: FileFacts, call: Call) -> Value | None:
    api = index.resolve_call(facts, call).api
    value = call.argument(0, "data" if api == "DataVariable" else "default")
    return value if given(value) else None


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
        "parameter annotated with such a type.",
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
        "`UploadDropzone(target=var)`. A seed nobody writes is reported as info.",
        why="Dara writes `default` into the backend when the variable is constructed, i.e. on "
        "every worker start (and every re-import). With a shared backend, a worker that starts "
        "later overwrites what users wrote since: an upload or an edit silently reverts to "
        "the seed when the deployment scales or restarts a worker.",
        use_instead="Create the variable without `default=` and seed it once: in a deploy "
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
                hows = sorted({w.how for w in writes})
                yield ctx.at_call(
                    self, facts, call,
                    f"{api} rewrites its seed on every worker start but is also written at "
                    f"request time ({', '.join(hows)}): a new worker reverts what users wrote; "
                    "seed it once instead of with default=",
                    related=_related_lines((w.facts, w.call, f"written by {w.how}")
                                           for w in writes))


# ---------------------------------------------------------------- DM205

_MUTATORS = frozenset({
    "append", "extend", "insert", "remove", "pop", "popitem", "clear", "update", "add",
    "discard", "appendleft", "extendleft", "popleft", "sort", "reverse", "__setitem__",
    "__delitem__",
})
_MUTABLE_CALLS = frozenset({
    "dict", "list", "set", "bytearray", "collections.defaultdict", "collections.OrderedDict",
    "collections.Counter", "collections.deque",
})
_MEMO_DECORATORS = frozenset({"functools.cache", "functools.lru_cache"})


def _mutable(index: ProjectIndex, facts: FileFacts, scope_id: int, value: Value | None) -> bool:
    """A display or comprehension, or a call of a mutable container type."""
    if value is None:
        return False
    if value.kind in ("dict", "container", "comprehension"):
        return True
    return value.kind == "call" and bool(value.text) and (
        index.resolve(facts, scope_id, value.text).qualified in _MUTABLE_CALLS)


def _instantiations(index: ProjectIndex) -> dict[ScopeRef, list[tuple[FileFacts, Call]]]:
    made: dict[ScopeRef, list[tuple[FileFacts, Call]]] = defaultdict(list)
    for facts in index.files.values():
        for call in facts.calls:
            if not call.callee:
                continue
            resolved = index.resolve_call(facts, call)
            if resolved.function is not None and index.scope(resolved.function).kind == "class":
                made[resolved.function].append((facts, call))
    return made


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
        found = lookup(self.index, facts, scope_id, head)
        if found is None:
            return None
        binding, bound_in = found
        if binding.kind in _IMPORTS:
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
        if rest or binding.kind != "assign" or bound_in != 0:
            return None
        if _mutable(self.index, facts, bound_in, binding.value):
            return f"module-level {head} ({facts.module})"
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
                    _mutable(self.index, facts, cls[1], binding.value)):
                return f"class attribute {facts.scopes[cls[1]].name}.{name}"
        return None

    def _mutable_attribute(self, cls: ScopeRef, name: str) -> bool:
        facts = self.index.files[cls[0]]
        return any(b.kind == "attr" and b.name == f"self.{name}"
                   and facts.scopes[b.scope].parent == cls[1]
                   and _mutable(self.index, facts, b.scope, b.value) for b in facts.bindings)

    def shared(self, cls: ScopeRef) -> bool:
        """An instance built while the app is built (by the project, or by Dara for a class
        given as page content) serves every request of the worker."""
        if any(self.index.when_at(f, c.scope) in ("build", "startup")
               for f, c in self.made.get(cls, ())):
            return True
        for name in ("__init__", "__call__"):
            member = self.index.class_member(cls, name)
            if member is not None and self.index.when.get(member) in ("build", "startup"):
                return True
        return False

    def object_attribute(self, facts: FileFacts, binding: Binding) -> str | None:
        """`self.x = v` on a shared instance, `obj.x = v` on a module-level project object,
        `module.x = v`, or `Cls.x = v`."""
        owner, _, attribute = binding.name.rpartition(".")
        if "." in owner:
            return None
        found = lookup(self.index, facts, binding.scope, owner)
        if found is None:
            return None
        target, bound_in = found
        if is_receiver(facts, target, bound_in):
            cls = (facts.path, facts.scopes[bound_in].parent)
            if facts.scopes[bound_in].name == "__init__" or not self.shared(cls):
                return None
            return f"attribute self.{attribute} of the shared {facts.scopes[cls[1]].name} instance"
        if target.kind == "class":
            return f"class attribute {owner}.{attribute}"
        if target.kind in _IMPORTS:
            module, remainder = self.index.split_module(target.target, facts)
            if module is None:
                return None
            if not remainder:
                return f"module attribute {target.target}.{attribute}"
            found = lookup(self.index, module, 0, remainder) if "." not in remainder else None
            if found is None:
                return None
            facts, (target, bound_in) = module, found
        if target.kind == "assign" and bound_in == 0 and target.value is not None and (
                target.value.kind == "call" and target.value.text):
            made = self.index.resolve(facts, 0, target.value.text).function
            if made is not None and self.index.scope(made).kind == "class":
                return f"attribute {attribute} of the module-level {owner}"
        return None


def _lazy_global(index: ProjectIndex, facts: FileFacts, binding: Binding) -> bool:
    """`global X; X = load()` where X starts as None and the value uses no parameter: a
    per-worker lazy initialisation rather than shared state."""
    initial = index.module_bindings.get(facts.path, {}).get(binding.name, [])
    if not initial or initial[0].value is None or initial[0].value.kind != "const" or (
            initial[0].value.const is not None):
        return False
    params = {p.name for p in facts.scopes[binding.scope].params}
    value = binding.value
    return value is not None and not params.intersection(value.names)


class ProcessLocalMutation(Rule):
    code = "DM205"
    name = "process-local-mutation"
    severity = "error"
    fix = "manual"
    summary = "module- or class-level state written while serving requests"
    docs = RuleDocs(
        what="Module-level and class-level mutable objects (dicts, lists, sets, counters), "
        "attributes of page-class instances and module-level objects, written from "
        "request-time code: `x[k] = v`, `del x[k]`, `.append/.update/.pop/...`, "
        "`global x; x = ...`, `self.x = ...` in a py_component method. Memo-only patterns "
        "(`if k not in d: d[k] = f(k)`, `setdefault`, `functools.cache`, a global that starts "
        "as None and is set once from no parameter) are reported as info.",
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
    ]
    INVALID: ClassVar[list[Example]] = [
        Example({
            "app/__init__.py": "",
            "app/store.py": "from collections import defaultdict\n\n"
            "OVERRIDES: dict[str, float] = {}\n"
            "HISTORY = defaultdict(list)\n",
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
    ]

    def check(self, ctx: Context) -> Iterator[Finding]:
        index = ctx.index
        shared = _SharedState(index)
        for facts in index.files.values():
            if not ctx.is_selected(facts):
                continue
            yield from self._stores(ctx, shared, facts)
            yield from self._calls(ctx, shared, facts)
            yield from self._memo_decorators(ctx, facts)

    def _stores(self, ctx: Context, shared: _SharedState, facts: FileFacts) -> Iterator[Finding]:
        index = ctx.index
        for binding in facts.bindings:
            if binding.scope == 0 or index.when_at(facts, binding.scope) != "request":
                continue
            scope = facts.scopes[binding.scope]
            if scope.kind == "class":
                continue
            what: str | None = None
            how = ""
            memo = binding.memo
            if binding.kind in ("subscript", "del") and binding.name not in scope.globals:
                what = shared.container(facts, binding.scope, binding.name)
                how = "item assignment" if binding.kind == "subscript" else "del"
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

    def _calls(self, ctx: Context, shared: _SharedState, facts: FileFacts) -> Iterator[Finding]:
        index = ctx.index
        for call in facts.calls:
            method = call.callee.rsplit(".", 1)[-1]
            if (method not in _MUTATORS and method != "setdefault") or "." not in call.callee:
                continue
            if index.when_at(facts, call.scope) != "request":
                continue
            receiver = receiver_of(call.callee)
            what = shared.container(facts, call.scope, receiver)
            if what is None:
                continue
            value = call.args[-1] if call.args else None
            yield self._finding(ctx, call_site(facts, call, what), what, f".{method}()",
                                method == "setdefault", value, call.scope)

    def _memo_decorators(self, ctx: Context, facts: FileFacts) -> Iterator[Finding]:
        for scope in facts.scopes:
            if scope.kind != "function" or ctx.index.when_at(facts, scope.id) != "request":
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

    def _finding(self, ctx: Context, site: Site, what: str, how: str, memo: bool,
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


# ---------------------------------------------------------------- DM206


def _backend_base(index: ProjectIndex, cls: ScopeRef, depth: int = 0) -> str | None:
    """The Dara backend class a project class derives from, through project classes."""
    facts = index.files[cls[0]]
    scope = facts.scopes[cls[1]]
    for base in scope.bases:
        resolved = index.resolve(facts, scope.parent, base)
        if resolved.api in BACKEND_BASES or resolved.api in LOCAL_BACKENDS:
            return resolved.api
        if resolved.function is not None and resolved.function != cls and depth < 5 and (
                index.scope(resolved.function).kind == "class"):
            found = _backend_base(index, resolved.function, depth + 1)
            if found:
                return found
    return None


def _kept_on_self(index: ProjectIndex, facts: FileFacts, cls: Scope) -> list[Site]:
    """Dicts, lists and counters a backend class keeps on itself."""
    sites: list[Site] = []
    seen: set[str] = set()
    for binding in facts.bindings:
        in_class = binding.scope == cls.id
        in_method = facts.scopes[binding.scope].parent == cls.id and not in_class
        name = binding.name
        if in_class and binding.kind == "assign" and (
                _mutable(index, facts, cls.id, binding.value)
                or _factory_field(index, facts, cls.id, binding.value)):
            kept = name
        elif in_method and name.startswith("self.") and "." not in name[5:] and (
                binding.kind in ("augassign", "subscript") or (binding.kind == "attr" and (
                    _mutable(index, facts, binding.scope, binding.value)))):
            kept = name[5:]
        else:
            continue
        if kept in seen:
            continue
        seen.add(kept)
        counter = binding.kind == "augassign"
        sites.append(binding_site(facts, binding, f"self.{kept}: "
                                  f"{'a counter' if counter else 'a container'} in this "
                                  "process"))
    return sites


def _factory_field(index: ProjectIndex, facts: FileFacts, scope_id: int,
                   value: Value | None) -> bool:
    """`Field(default_factory=dict)` on a pydantic backend."""
    if value is None or value.kind != "call":
        return False
    factory = facts.calls[value.call].kwarg("default_factory")
    return factory is not None and factory.kind in ("name", "attr") and (
        index.resolve(facts, scope_id, factory.text).qualified in _MUTABLE_CALLS)


class CustomBackendAttestation(Rule):
    code = "DM206"
    name = "custom-backend-attestation"
    severity = "warning"
    fix = "manual"
    summary = "custom backend: accepted, but the user attests it is shared"
    docs = RuleDocs(
        what="A project subclass of `ServerBackend` or `PersistenceBackend` (also through "
        "your own base classes, and subclasses of `MemoryBackend`/`InMemoryBackend`/"
        "`FileBackend`). The message names sequence counters and dicts it keeps on `self`.",
        why="The distributed contract accepts custom backends but cannot check them: only you "
        "know whether every worker reads and writes the same store. A backend that keeps its "
        "data or its sequence numbers on `self` is process-local like MemoryBackend; the "
        "sequence number must also come from the shared store, or browsers on different "
        "workers see stale values.",
        use_instead="Keep data and sequence numbers in the shared store (a database, "
        "Valkey/Redis), not on the instance; then suppress this finding with a reason.",
        fix_safety="Manual: a person attests the backend.",
        confidence="High for the class hierarchy; state kept on `self` is found when it is "
        "assigned a container or incremented in the class's own methods.",
    )
    VALID: ClassVar[list[Example]] = [
        Example.module(
            "from dara.core import ServerVariable\n\n"
            "class Backend:\n"
            "    def __init__(self):\n"
            "        self.data = {}\n\n"
            "rows = ServerVariable(uid='app.main:rows')\n",
            note="a class that only looks like a backend",
        ),
    ]
    INVALID: ClassVar[list[Example]] = [
        Example({
            "app/__init__.py": "",
            "app/backends.py": "from collections import defaultdict\n"
            "from dara.core.interactivity.server_variable import ServerBackend\n"
            "from dara.core.persistence import PersistenceBackend as PB\n\n"
            "class SqlBackend(ServerBackend):  # expect: DM206\n"
            "    def __init__(self, url: str):\n"
            "        super().__init__(scope='global')\n"
            "        self.url = url\n"
            "        self.sequence = defaultdict(int)\n\n"
            "    async def write(self, key, value):\n"
            "        self.sequence[key] += 1\n\n"
            "class Base(PB):  # expect: DM206\n"
            "    pass\n",
            "app/more.py": "from app.backends import Base\n\n"
            "class S3Store(Base):  # expect: DM206\n"
            "    bucket = 'prefs'\n",
        }),
    ]

    def check(self, ctx: Context) -> Iterator[Finding]:
        for facts in ctx.index.files.values():
            if not ctx.is_selected(facts):
                continue
            for scope in facts.scopes:
                if scope.kind != "class":
                    continue
                base = _backend_base(ctx.index, (facts.path, scope.id))
                if base is None:
                    continue
                kept = _kept_on_self(ctx.index, facts, scope)
                state = (f"; it keeps {', '.join(s.what.split(':')[0] for s in kept)} on the "
                         "instance, which stays in this process") if kept else ""
                yield ctx.at_scope(
                    self, facts, scope,
                    f"custom {base} {scope.name} is accepted but user-attested: every worker "
                    f"must read and write the same store{state}",
                    related=[s.related() for s in kept])


# ---------------------------------------------------------------- DM207

_FILE_WRITERS = frozenset({"to_csv", "to_parquet", "to_json", "to_excel", "to_pickle",
                           "to_feather", "to_hdf", "to_stata"})
_PATH_WRITERS = frozenset({"write_text", "write_bytes"})
_PATH_READERS = frozenset({"read_text", "read_bytes", "open", "exists", "is_file", "stat"})
_WRITE_MODE = re.compile(r"[wax+]")


def _path_key(index: ProjectIndex, facts: FileFacts, scope_id: int,
              value: Value | None) -> str | None:
    """A name for a path that other code can share: a literal, or a name bound in the project
    (not a parameter, not a library module like `os.path`)."""
    if value is None:
        return None
    if value.kind == "str" and isinstance(value.const, str) and value.const:
        return repr(value.const)
    if value.kind not in ("name", "attr"):
        return None
    found = lookup(index, facts, scope_id, value.text.split(".")[0])
    if found is None or found[0].kind not in ("assign", *_IMPORTS):
        return None
    if found[0].kind in _IMPORTS:
        rest = value.text.partition(".")[2]
        module, remainder = index.split_module(
            f"{found[0].target}.{rest}" if rest else found[0].target, facts)
        if module is None or not remainder:
            return None
    return index.resolve(facts, scope_id, value.text).qualified


def _path_label(key: str) -> str:
    return key if key.startswith(("'", '"')) else key.rsplit(".", 1)[-1]


def _receiver_key(index: ProjectIndex, facts: FileFacts, call: Call) -> str | None:
    return _path_key(index, facts, call.scope, Value("attr", text=receiver_of(call.callee)))


def _file_write(index: ProjectIndex, facts: FileFacts, call: Call) -> str | None:
    """The path key a call writes to, if it writes a local file."""
    method = call.callee.rsplit(".", 1)[-1]
    if method == "open":
        dotted = "." in call.callee
        if dotted and index.resolve_call(facts, call).qualified != "io.open":
            mode = call.argument(0, "mode")
            path = _receiver_key(index, facts, call)
        elif index.resolve_call(facts, call).qualified in ("open", "io.open"):
            mode = call.argument(1, "mode")
            path = _path_key(index, facts, call.scope, call.argument(0, "file"))
        else:
            return None
        writes = mode is not None and isinstance(mode.const, str) and bool(
            _WRITE_MODE.search(mode.const))
        return path if writes else None
    if "." not in call.callee:
        return None
    if method in _FILE_WRITERS:
        target = call.args[0] if call.args else call.kwarg("path_or_buf") or call.kwarg("path")
        return _path_key(index, facts, call.scope, target)
    if method in _PATH_WRITERS:
        return _receiver_key(index, facts, call)
    return None


def _file_reads(index: ProjectIndex, facts: FileFacts, call: Call) -> Iterator[str]:
    """Path keys a call reads or checks."""
    method = call.callee.rsplit(".", 1)[-1]
    if "." in call.callee and method in _PATH_READERS:
        key = _receiver_key(index, facts, call)
        if key:
            yield key
    if call.args and (method.startswith("read") or method in ("open", "load", "exists",
                                                               "isfile", "getmtime")):
        key = _path_key(index, facts, call.scope, call.args[0])
        if key:
            yield key


class LocalFileState(Rule):
    code = "DM207"
    name = "local-file-state"
    severity = "info"
    fix = "manual"
    summary = "request-time write to a local file that other requests read"
    docs = RuleDocs(
        what="A write to a local path while serving a request (`open(..., 'w')`, `to_csv`, "
        "`to_parquet` and the other pandas writers, `Path.write_text/write_bytes`) when other "
        "request-time code reads the same path (the same literal or the same bound name).",
        why="Each worker, and usually each box, has its own disk. A file written by one "
        "worker's request is missing or stale for requests that land on another.",
        use_instead="Keep the data in shared storage: a ServerVariable or BackendStore on the "
        "shared backend, object storage, or a database.",
        fix_safety="Manual.",
        confidence="Medium: paths are matched by literal or by the name they are bound to; "
        "paths computed inside a function are not matched.",
    )
    VALID: ClassVar[list[Example]] = [
        Example.module(
            "import pandas as pd\n"
            "from dara.core import action\n\n"
            "@action\n"
            "async def export(ctx: action.Ctx, rows: list):\n"
            "    frame = pd.DataFrame(rows)\n"
            "    frame.to_csv('/tmp/export.csv')\n"
            "    await ctx.download_file('/tmp/export.csv')\n",
            note="written and read in the same request",
        ),
    ]
    INVALID: ClassVar[list[Example]] = [
        Example({
            "app/__init__.py": "",
            "app/settings.py": "from pathlib import Path\n\n"
            "TARGETS = Path('data') / 'targets.csv'\n",
            "app/pages.py": "import pandas as pd\n"
            "from dara.core import DerivedVariable, Variable, action\n\n"
            "from app import settings\n"
            "from app.settings import TARGETS\n\n"
            "@action\n"
            "async def save(ctx: action.Ctx, rows: list):\n"
            "    frame = pd.DataFrame(rows)\n"
            "    frame.to_csv(TARGETS, index=False)  # expect: DM207\n"
            "    with open('notes.txt', 'a') as handle:  # expect: DM207\n"
            "        handle.write('saved')\n\n"
            "def load(_tick):\n"
            "    notes = open('notes.txt').read()\n"
            "    return pd.read_csv(settings.TARGETS) if TARGETS.exists() else notes\n\n"
            "tick = Variable(0)\n"
            "targets = DerivedVariable(load, variables=[tick], uid='app.pages:targets')\n",
        }),
    ]

    def check(self, ctx: Context) -> Iterator[Finding]:
        index = ctx.index
        writes: list[tuple[FileFacts, Call, str]] = []
        reads: dict[str, list[tuple[FileFacts, Call]]] = defaultdict(list)
        for facts in index.files.values():
            for call in facts.calls:
                if index.when_at(facts, call.scope) != "request":
                    continue
                key = _file_write(index, facts, call)
                if key is not None:
                    writes.append((facts, call, key))
                    continue
                for read in _file_reads(index, facts, call):
                    reads[read].append((facts, call))
        for facts, call, key in writes:
            if not ctx.is_selected(facts):
                continue
            readers = [(f, c) for f, c in reads.get(key, ())
                       if (f.path, c.scope) != (facts.path, call.scope)]
            if not readers:
                continue
            yield ctx.at_call(
                self, facts, call,
                f"request-time write to the local file {_path_label(key)}, which other "
                "requests read: another worker has its own disk; keep the data in shared "
                "storage",
                related=_related_lines((f, c, "read here") for f, c in readers))


RULES: list[type[Rule]] = [
    MissingRuntimeDeclaration, LocalBackend, LiveObjectState, StartupSeededSharedState,
    ProcessLocalMutation, CustomBackendAttestation, LocalFileState,
]
