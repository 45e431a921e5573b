"""DM201, DM202: the runtime declaration and the process-local backends it replaces."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar

from dara_migrate.autofix import Applicability, Fix, FixRound, PlannedFix
from dara_migrate.facts import Call, FileFacts
from dara_migrate.index.dara_api import AUTH_SESSION_BACKENDS, LOCAL_BACKENDS
from dara_migrate.index.project import ProjectIndex
from dara_migrate.models import Finding
from dara_migrate.rules._helpers import (
    BUILDER,
    ReportSite,
    attribute_stores,
    binding_site,
    builder_of,
    call_site,
    is_builder,
    passed_not_none,
    report_at,
    task_sites,
)
from dara_migrate.rules.base import Context, Example, Rule, RuleDocs
from dara_migrate.target import (
    CONFIGURE_RUNTIME,
    CONTRACT_ENV,
    RUNTIME,
    RUNTIME_BACKEND,
    RUNTIME_MODULE,
    RUNTIME_SCOPE,
    RuntimeEnv,
    fix_applies,
    has_runtime,
)

# ---------------------------------------------------------------- DM201


def _local_default_sites(index: ProjectIndex) -> list[ReportSite]:
    """What keeps its state in the process when no shared runtime is declared (besides tasks)."""
    sites: list[ReportSite] = []
    for facts, call in index.calls_by_api.get("ServerVariable", ()):
        if not passed_not_none(call.argument(1, "backend")):
            sites.append(call_site(facts, call, "ServerVariable without backend= keeps its "
                                   "value in this process (MemoryBackend)", "state"))
    for facts, call in index.calls_by_api.get("DataVariable", ()):
        if not passed_not_none(call.kwarg("backend")):
            sites.append(call_site(facts, call, "DataVariable keeps its data in this process "
                                   "(MemoryBackend)", "state"))
    for facts, call in index.calls_by_api.get("BackendStore", ()):
        if not passed_not_none(call.argument(0, "backend")):
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
    for facts, binding in attribute_stores(index).get("auth_session_backend", ()):
        if passed_not_none(binding.value) and index.value_api(
                facts, binding.scope, binding.value) not in AUTH_SESSION_BACKENDS:
            builder = builder_of(index, facts, binding.scope, binding.name)
            if builder is not None:
                found.add(builder)
    return found


class MissingRuntimeDeclaration(Rule):
    code = "DM201"
    name = "missing-runtime-declaration"
    severity = "error"
    fix = "safe"
    fix_needs = frozenset({RUNTIME})
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
        apps = ctx.apps.apps
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
        by_app: dict[int, list[ReportSite]] = defaultdict(list)
        for site in sites:
            for owner in ctx.apps.owning(site.facts.path):
                by_app[id(owner)].append(site)
        for app in apps:
            if app.runtime or not ctx.is_selected(app.facts):
                continue
            mine = by_app.get(id(app), [])
            # Under a profile without the runtime the finding is pending: the call it names
            # would raise AttributeError there.
            later = "" if has_runtime(app.target) else (
                f" once the app's Dara has it (its target {app.target} does not)")
            yield ctx.at_call(
                self, app.facts, app.call,
                # By its key, as `dara start --config` names it: most apps are `config`.
                f"app '{app.key}' declares no shared runtime, so "
                f"{_summary(mine)} stay in each worker; declare it with "
                f"{app.declared_as}.{CONFIGURE_RUNTIME}(...){later}",
                related=[site.related() for site in mine], fix=DeclareRuntime(app.key),
                apps=(app.key,),
            )


def _summary(sites: list[ReportSite]) -> str:
    """`2 server-side variables/stores, tasks and auth sessions`; auth sessions always, as the
    default session store is in memory in every deployed app."""
    kinds = [s.kind for s in sites]
    parts = [f"{kinds.count('state')} server-side variable(s)/store(s)"] if "state" in kinds else []
    parts += ["tasks"] if "task" in kinds else []
    parts += ["auth sessions"]
    parts += ["OIDC state"] if "oidc" in kinds else []
    return f"{', '.join(parts[:-1])} and {parts[-1]}" if len(parts) > 1 else parts[0]


def runtime_block(config: str, quote: str, application: str,
                  env: RuntimeEnv = CONTRACT_ENV) -> str:
    """The guarded runtime declaration `apply` writes after the builder bound to `config`."""
    from dara_migrate.edits import literal

    q = quote
    return (
        "# dara-migrate (DM201): shared runtime for multi-worker deployments.\n"
        f"# Without {env.valkey_url} the app keeps single-process behaviour (dev, tests).\n"
        f"if os.environ.get({q}{env.valkey_url}{q}):\n"
        f"    {config}.{CONFIGURE_RUNTIME}(\n"
        f"        scope={RUNTIME_SCOPE}(\n"
        f"            namespace=os.environ[{q}{env.namespace}{q}],\n"
        f"            app_id={literal(application, q)},\n"
        f"            deployment_id=os.environ[{q}{env.deployment_id}{q}],\n"
        "        ),\n"
        f"        backend={RUNTIME_BACKEND}(url=os.environ[{q}{env.valkey_url}{q}]),\n"
        "    )\n"
    )


@dataclass(frozen=True, slots=True, eq=False)
class DeclareRuntime(Fix):
    """The guarded `configure_runtime(...)` right after the statement that binds the app's
    builder to a name (where the target provides the runtime): in the builder's file, or in
    the module that binds what a factory returns."""

    app: str
    """The app's key: one factory's builder can be several apps, each declared apart."""
    applicability: Applicability = "safe"

    def plan(self, finding: Finding, planning: FixRound) -> PlannedFix | None:
        from dara_migrate.edits import InsertAfter

        app = next((a for a in planning.apps if a.key == self.app), None)
        if app is None or not fix_applies(app.target, MissingRuntimeDeclaration.fix_needs):
            return None
        if app.bound_name is None:
            return None  # no module-level name holds the builder: nowhere to declare it
        options = planning.options
        application = options.runtime_app_id or app.app_id
        # A factory-built config is declared where its name is bound, often another file.
        path = app.bound_name.facts.path
        block = runtime_block(app.bound_name.name, planning.quote_of(path), application,
                              options.runtime_env)
        edit = InsertAfter(app.bound_name.line, block,
                           imports=(("os", None), (RUNTIME_MODULE, RUNTIME_SCOPE),
                                    (RUNTIME_MODULE, RUNTIME_BACKEND)), key="runtime")
        description = f"declared the shared runtime (app_id {application!r})"
        if path == finding.path:
            return PlannedFix(finding, [edit], description)
        return PlannedFix(finding, [], description, elsewhere={path: [edit]})


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
            "                                      uid='saved'), uid='app.main:saved')\n",
            fixed=(
                "from dara.core import ConfigurationBuilder, ServerVariable, Variable\n"
                "from dara.core.auth import FileAuthSessionBackend\n"
                "import dara.core.persistence as p\n\n"
                "config = ConfigurationBuilder()\n"
                "config.auth_session_backend = FileAuthSessionBackend(path='s.json')\n"
                "notes = ServerVariable(uid='app.main:notes', scope='user')\n"
                "prefs = Variable(store=p.BackendStore(p.InMemoryBackend(), uid='prefs'),\n"
                "                 uid='app.main:prefs')\n"
                "saved = Variable(store=p.BackendStore(backend=p.FileBackend('saved.json'),\n"
                "                                      uid='saved'), uid='app.main:saved')\n"
            ),
        ),
    ]

    def check(self, ctx: Context) -> Iterator[Finding]:
        index = ctx.index
        for api in sorted(LOCAL_BACKENDS):
            for facts, call in index.calls_by_api.get(api, ()):
                if ctx.is_selected(facts):
                    yield self._backend(ctx, facts, call, api)
        for facts, binding in attribute_stores(index).get("auth_session_backend", ()):
            if not ctx.is_selected(facts):
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
        # Only a backend written as the `backend=` keyword of its owner can be removed.
        direct = parent is not None and call.target == "backend"
        if api == "InMemoryBackend":
            held = "this BackendStore" if owner == "BackendStore" else "its values"
            return ctx.at_call(
                self, facts, call,
                f"InMemoryBackend keeps {held} in one worker's memory; remove it so the store "
                "uses the shared runtime's backend",
                fix=DropLocalBackend(parent, call, api) if parent is not None and direct
                and owner == "BackendStore" else "manual")
        scope_value = call.argument(0, "scope")
        backend_scope = "user" if scope_value is None else scope_value.const
        scope = repr(backend_scope) if isinstance(backend_scope, str) else "<the same scope>"
        own_scope = parent.argument(2, "scope") if parent is not None else None
        seeded = parent is not None and passed_not_none(parent.argument(0, "default"))
        safe = (parent is not None and direct and owner == "ServerVariable"
                and isinstance(backend_scope, str)
                and (own_scope is None or own_scope.const == backend_scope)
                and (backend_scope == "global" or not seeded))
        keep = ("so per-user data stays per user" if backend_scope == "user"
                else "to keep its scope")
        default_note = " (MemoryBackend's default)" if scope_value is None else ""
        carried = backend_scope if own_scope is None and isinstance(backend_scope, str) else None
        # Dara asserts on a default for a user-scoped ServerVariable: the advice must drop it.
        unseed = (" and default= (the server reads each user's key, so the default is never "
                  "served, and a user-scoped ServerVariable takes none)"
                  if seeded and backend_scope == "user" else "")
        # Made apart (`spare = MemoryBackend()`) and handed on, it is no ServerVariable's yet.
        held = "this ServerVariable" if owner == "ServerVariable" else "its values"
        return ctx.at_call(
            self, facts, call,
            f"MemoryBackend keeps {held} in one worker's memory; remove backend="
            f"{unseed} and pass scope={scope}{default_note} to the ServerVariable {keep}",
            fix=DropLocalBackend(parent, call, api, carried)
            if safe and parent is not None else "manual")


@dataclass(frozen=True, slots=True, eq=False)
class DropLocalBackend(Fix):
    """DM202: `backend=MemoryBackend(...)` / `backend=InMemoryBackend()` removed from its
    owner, a MemoryBackend's scope carried onto the ServerVariable (`LocalBackend._backend`
    decides when that keeps behaviour)."""

    owner: Call
    backend: Call
    api: str
    carried_scope: str | None = None
    """The backend's scope, for an owner that does not give its own."""
    applicability: Applicability = "safe"

    def plan(self, finding: Finding, planning: FixRound) -> PlannedFix:
        from dara_migrate.edits import Edit, RemoveKeyword, SetKeyword, literal

        line, column = self.owner.span.line, self.owner.span.col
        # The name the backend was imported as goes when nothing else uses it.
        unused = planning.index.removable_import(planning.index.files[finding.path],
                                                 self.backend.callee)
        edits: list[Edit] = [RemoveKeyword(line, column, "backend", unused)]
        description = f"removed backend={self.api}(...)"
        if self.carried_scope is not None:
            scope = literal(self.carried_scope, planning.quote_of(finding.path))
            edits.append(SetKeyword(line, column, "scope", scope))
            description += f", kept scope={scope}"
        return PlannedFix(finding, edits, description)


RULES: list[type[Rule]] = [MissingRuntimeDeclaration, LocalBackend]
