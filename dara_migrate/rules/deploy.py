"""DM7xx: deployment settings every worker must share."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator
from typing import ClassVar

from dara_migrate.facts import Call, FileFacts, Value
from dara_migrate.index.bindings import defining_call
from dara_migrate.index.dara_api import SECRET_NAME
from dara_migrate.index.project import ProjectIndex
from dara_migrate.models import Finding
from dara_migrate.rules._helpers import handed_writes, receiver_of
from dara_migrate.rules.base import Context, Example, Rule, RuleDocs


class UnsharedSecret(Rule):
    code = "DM701"
    name = "unshared-secret"
    severity = "warning"
    fix = "manual"
    summary = "no JWT_SECRET configured for the app"
    docs = RuleDocs(
        what="An app (a `ConfigurationBuilder()` binding) where no file of its own names "
        "`JWT_SECRET`: no module it imports, and no Python file, `.env*` file, Dockerfile, "
        "compose file or k8s/helm YAML in its project folder, below it or above it. Only "
        "the name is looked for, never a value.",
        why="Dara signs session tokens with `JWT_SECRET`. When it is not set, every process "
        "in production or docker mode makes up its own random secret, so a token issued by "
        "one worker is rejected by the next and users are logged out at random.",
        use_instead="Set `JWT_SECRET` from one secret store for every worker of a deployment "
        "(an env var in the compose file or the k8s Deployment, from a Secret).",
        fix_safety="Manual: the secret must come from your secret management.",
        confidence="Medium: a name seen in the app's modules, its project folder, a folder "
        "below it or one above it counts as configured (another app's `.env` does not); a "
        "secret injected by a platform outside the repository is not seen.",
    )
    VALID: ClassVar[list[Example]] = [
        Example({
            "app/__init__.py": "",
            "app/main.py": "from dara.core import ConfigurationBuilder\n\n"
            "config = ConfigurationBuilder()\n",
            "app/checks.py": "import os\n\n"
            "def check_env() -> None:\n"
            "    if 'JWT_SECRET' not in os.environ:\n"
            "        raise RuntimeError('JWT_SECRET must be set for every worker')\n",
        }, note="any project file naming JWT_SECRET counts (also .env, Dockerfile, YAML)"),
    ]
    INVALID: ClassVar[list[Example]] = [
        Example({
            "app/__init__.py": "",
            "app/main.py": "import dara.core as dc\n\n"
            "config = dc.ConfigurationBuilder()  # expect: DM701\n"
            "config.title = 'Sales'\n",
            "app/admin.py": "from dara.core import ConfigurationBuilder as Builder\n\n"
            "admin = Builder()  # expect: DM701\n",
        }, note="each app is reported"),
    ]

    def check(self, ctx: Context) -> Iterator[Finding]:
        naming = sorted({path for path, facts in ctx.index.files.items()
                         if SECRET_NAME in facts.mentions}
                        | {path for path, named in ctx.deployment_secrets.items() if named})
        folders = {posixpath.dirname(path) for path in naming}
        # Every folder that holds such a file or is above one: a project folder among them
        # has one at or below it.
        holding = {above for folder in folders for above in _folders_up(folder)}
        for app in ctx.apps.apps:
            if not ctx.is_selected(app.facts):
                continue
            # Another app's deployment (`apps/admin/.env`) does not configure this one: what
            # counts is the modules it imports and the files of its project folder, of the
            # folders below it and of those above it (a compose file at the top).
            if app.project in holding or not folders.isdisjoint(_folders_up(app.project)) or (
                    not app.files.isdisjoint(naming)):
                continue
            called = app.key  # as `dara start --config` names it: most apps are `config`
            where = (f"no file of app '{called}' names {SECRET_NAME} ({naming[0]} is no "
                     "module of it and lies outside its project folder)"
                     if naming else f"no file in the project names {SECRET_NAME}")
            yield ctx.at_call(
                self, app.facts, app.call,
                f"{where}, so each worker of app '{called}' signs sessions with its own "
                f"random secret and rejects the others' tokens; set {SECRET_NAME} from one "
                "shared secret in the deployment", apps=(app.key,))


def _folders_up(folder: str) -> list[str]:
    """A folder relative to the root and every folder above it, the root ("") last."""
    found = [folder]
    while folder:
        folder = posixpath.dirname(folder)
        found.append(folder)
    return found


_STORED_VARIABLES = ("ServerVariable", "DataVariable", "Variable", "BackendStore")
_STORE_METHODS = ("write", "write_partial", "delete")
_EXTERNAL_WRITES = frozenset({
    "hset", "hmset", "mset", "setex", "setnx", "lpush", "rpush", "sadd", "zadd", "put_object",
    "put_item", "upload_file", "upload_fileobj", "insert_one", "insert_many", "replace_one",
    "update_one", "update_many", "bulk_write", "to_sql", "executemany",
})
_CLIENT_ROOTS = ("redis", "pymongo", "boto3", "sqlalchemy", "psycopg2", "sqlite3", "valkey")
_WRITING_SQL = re.compile(r"^\s*(insert|update|delete|merge|upsert|replace|truncate|create|"
                          r"drop|alter)\b", re.IGNORECASE)


def _client(index: ProjectIndex, facts: FileFacts, call: Call) -> bool:
    """Whether a call's receiver is a client of an external store."""
    made = defining_call(index, facts, call.scope, receiver_of(call.callee))
    if made is None or not made[1].callee:
        return False
    qualified = index.resolve_call(*made).qualified
    return qualified.split(".")[0] in _CLIENT_ROOTS


def _sql(index: ProjectIndex, facts: FileFacts, scope_id: int, statement: Value | None,
         depth: int = 0) -> str | None:
    """The SQL a statement argument holds: a literal, SQLAlchemy's `text('...')` of one, or
    a name bound to either (`sql = 'INSERT ...'`)."""
    if statement is None or depth > 2:
        return None
    if isinstance(statement.const, str):
        return statement.const
    if statement.kind == "call" and statement.text:
        made = facts.calls[statement.call]
        if made.args and index.resolve_call(facts, made).qualified in _SQL_TEXT:
            return _sql(index, facts, scope_id, made.args[0], depth + 1)
        return None
    if statement.kind == "name":
        found = index.lookup(facts, scope_id, statement.text)
        if found is not None and found[0].kind == "assign":
            return _sql(index, facts, found[1], found[0].value, depth + 1)
    return None


_SQL_TEXT = frozenset({"sqlalchemy.text", "sqlalchemy.sql.text", "sqlalchemy.sql.expression.text"})


def _external_write(index: ProjectIndex, facts: FileFacts, call: Call) -> str | None:
    """What an external-store write looks like, if the call is one."""
    if "." not in call.callee:
        return None
    method = call.callee.rsplit(".", 1)[-1]
    if method in _EXTERNAL_WRITES:
        return f"an external store (.{method}())"
    if method in ("execute", "exec_driver_sql"):
        sql = _sql(index, facts, call.scope, call.argument(0, "statement"))
        if sql is not None and _WRITING_SQL.match(sql):
            return f"a database (a writing {method}())"
    if method == "set" and len(call.args) >= 2 and _client(index, facts, call):
        return "an external store (.set())"
    return None


class StartupSharedWrites(Rule):
    code = "DM702"
    name = "startup-shared-writes"
    severity = "warning"
    fix = "manual"
    summary = "on_startup writes shared state on every worker start"
    docs = RuleDocs(
        what="Writes made by `config.on_startup` functions (and helpers only they call): "
        "`.write()`, `.write_partial()`, `.delete()` on a ServerVariable, DataVariable, "
        "BackendStore or backend-stored Variable, and writes to external stores (Redis "
        "`hset`/`set`/`lpush`..., S3 `put_object`, MongoDB `insert_*`/`update_*`, "
        "`to_sql`, an `execute()` of INSERT/UPDATE/DELETE/DDL). A variable's write in a helper "
        "that takes the variable as a parameter is reported at each startup call that gives it "
        "one (`seed(rows, [])`). Opening per-worker "
        "connections or clients in `on_startup` is correct and not reported.",
        why="Every worker runs the startup functions. With a shared backend each worker start "
        "(a scale-up, a restart after a crash, a rolling deploy) re-seeds the shared value and "
        "overwrites what users and other workers wrote since.",
        use_instead="Seed shared state once: a deploy step or migration, or a startup write "
        "guarded by a leader lock or a 'write if missing' check in the shared store.",
        fix_safety="Manual: when the seed should run is a deployment decision.",
        confidence="High for Dara variables and stores; external writes are recognised by "
        "method name (and, for `set`, by a receiver made by a known client library).",
    )
    VALID: ClassVar[list[Example]] = [
        Example({
            "app/__init__.py": "",
            "app/db.py": "from sqlalchemy import create_engine\n\n"
            "ENGINE = None\n\n"
            "def connect(url: str) -> None:\n"
            "    global ENGINE\n"
            "    ENGINE = create_engine(url)\n",
            "app/main.py": "import redis\n"
            "from dara.core import ConfigurationBuilder, ServerVariable\n\n"
            "from app import db\n\n"
            "config = ConfigurationBuilder()\n"
            "rows = ServerVariable(uid='app.main:rows')\n"
            "clients = {}\n\n"
            "@config.on_startup\n"
            "async def open_connections():\n"
            "    db.connect('postgresql://db/sales')\n"
            "    clients['cache'] = redis.Redis(host='cache')\n"
            "    print(await rows.read())\n",
        }, note="per-worker connections and reads are correct"),
    ]
    INVALID: ClassVar[list[Example]] = [
        Example({
            "app/__init__.py": "",
            "app/state.py": "import redis\n"
            "from dara.core import ServerVariable, Variable\n"
            "from dara.core.persistence import BackendStore\n\n"
            "snapshot = ServerVariable(uid='app.state:snapshot')\n"
            "prefs = Variable(store=BackendStore(uid='prefs-store'), uid='app.state:prefs')\n"
            "cache = redis.Redis(host='cache')\n\n"
            "async def seed_prefs() -> None:\n"
            "    await prefs.write({'theme': 'dark'})  # expect: DM702\n",
            "app/main.py": "from dara.core import ConfigurationBuilder\n\n"
            "from app import state\n\n"
            "config = ConfigurationBuilder()\n\n"
            "async def warm() -> None:\n"
            "    await state.snapshot.write([])  # expect: DM702\n"
            "    state.cache.set('warm', '1')  # expect: DM702\n"
            "    await state.seed_prefs()\n\n"
            "config.on_startup(warm)\n",
        }, note="helpers called only from on_startup run at startup too"),
        Example({
            "app/seeding.py": "async def seed(var, value):\n"
            "    await var.write(value)\n",
            "app/main.py": "from dara.core import ConfigurationBuilder, ServerVariable\n\n"
            "from app.seeding import seed\n\n"
            "config = ConfigurationBuilder()\n"
            "regions = ServerVariable(uid='app.main:regions')\n\n"
            "@config.on_startup\n"
            "async def warm() -> None:\n"
            "    await seed(regions, ['north', 'south'])  # expect: DM702\n",
        }, note="a helper writing the variable it is given: reported where startup gives it "
            "(namespace package)"),
    ]

    def check(self, ctx: Context) -> Iterator[Finding]:
        index = ctx.index
        seen: set[tuple[str, int]] = set()
        for api in _STORED_VARIABLES:
            for method in _STORE_METHODS:
                for facts, call in index.method_calls.get((api, method), ()):
                    if index.when_at(facts, call.scope) != "startup":
                        continue
                    seen.add((facts.path, call.id))
                    if ctx.is_selected(facts):
                        yield self._finding(ctx, facts, call,
                                            f"the {api} {receiver_of(call.callee)}")
        for handed in handed_writes(index):
            caller, site = handed.caller, handed.site
            method = handed.call.callee.rpartition(".")[2]
            made = index.resolve_call(*handed.made).api
            if (method not in _STORE_METHODS or made not in _STORED_VARIABLES
                    or index.when_at(caller, site.scope) != "startup"
                    or (caller.path, site.id) in seen):
                continue
            seen.add((caller.path, site.id))
            if ctx.is_selected(caller):
                yield self._finding(ctx, caller, site, f"the {made} {handed.given} (.{method}() "
                                    f"in {handed.function}())")
        for facts in index.files.values():
            startup = index.scopes_running(facts, "startup")
            if not startup or not ctx.is_selected(facts):
                continue
            for call in facts.calls:
                if call.scope not in startup or (facts.path, call.id) in seen:
                    continue
                what = _external_write(index, facts, call)
                if what is not None:
                    yield self._finding(ctx, facts, call, what)

    def _finding(self, ctx: Context, facts: FileFacts, call: Call, what: str) -> Finding:
        return ctx.at_call(
            self, facts, call,
            f"on_startup writes {what}: every worker start re-seeds it over what was written "
            "since; seed it once (a deploy step, or a leader lock / write-if-missing)")


RULES: list[type[Rule]] = [UnsharedSecret, StartupSharedWrites]
