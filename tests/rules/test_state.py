"""DM201-DM207: runtime declaration, local backends, live objects, seeds, process-local
mutation, custom backends and local files, beyond the documented examples."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from dara_migrate.models import Finding
from tests.helpers import run_audit, write_tree


def findings(tmp_path: Path, files: str | dict[str, str], *codes: str,
             **overrides: Any) -> list[Finding]:
    tree = {"app/main.py": files} if isinstance(files, str) else {"app/__init__.py": "", **files}
    root = write_tree(tmp_path, tree)
    result, _ = run_audit(root, show_info=True, **overrides)
    return [f for f in result.findings if f.rule in codes]


def summary(found: list[Finding]) -> list[tuple[str, int, str, str]]:
    return [(f.path, f.line, f.rule, f.severity) for f in found]


# ---------------------------------------------------------------- DM201


def test_runtime_declared_in_another_module_covers_only_its_app(tmp_path: Path) -> None:
    files = {
        "app/shop.py": "from dara.core import ConfigurationBuilder, ServerVariable\n\n"
        "config = ConfigurationBuilder()\n"
        "orders = ServerVariable(uid='orders')\n",
        "app/runtime.py": "from app.shop import config\n\n"
        "config.configure_runtime(scope=None, backend=None)\n",
        "app/admin.py": "from dara.core import ConfigurationBuilder, DataVariable\n\n"
        "admin = ConfigurationBuilder()\n"
        "audit = DataVariable(uid='audit')\n",
    }
    found = findings(tmp_path, files, "DM201")
    assert summary(found) == [("app/admin.py", 3, "DM201", "error")]
    assert [(r.path, r.line) for r in found[0].related] == [("app/admin.py", 4)]
    assert "app 'app.admin:admin'" in found[0].message
    assert "admin.configure_runtime" in found[0].message


def test_related_lists_every_local_default(tmp_path: Path) -> None:
    files = {
        "app/tasks.py": "from dara.core import track_progress\n\n"
        "@track_progress\n"
        "def train(updater):\n"
        "    return 1\n",
        "app/main.py": "from dara.core import ConfigurationBuilder, ServerVariable\n"
        "from dara.core.auth import OIDCAuthConfig\n"
        "from dara.core.interactivity.server_variable import ServerBackend\n\n"
        "from app import tasks\n\n"
        "class Warehouse(ServerBackend):\n"
        "    pass\n\n"
        "config = ConfigurationBuilder()\n"
        "config.add_auth(OIDCAuthConfig())\n"
        "rows = ServerVariable(uid='rows')\n"
        "ledger = ServerVariable(backend=Warehouse(scope='global'), uid='ledger')\n",
    }
    found = findings(tmp_path, files, "DM201")
    assert summary(found) == [("app/main.py", 10, "DM201", "error")]
    related = [(r.path, r.line) for r in found[0].related]
    assert related == [("app/main.py", 11), ("app/main.py", 11), ("app/main.py", 12),
                       ("app/tasks.py", 3)]
    assert ("1 server-side variable(s)/store(s), tasks, auth sessions and OIDC state"
            in found[0].message)


def test_own_auth_session_backend_is_not_a_local_default(tmp_path: Path) -> None:
    source = (
        "from dara.core import ConfigurationBuilder\n"
        "from dara.core.auth import BasicAuthConfig\n\n"
        "class RedisSessions:\n"
        "    pass\n\n"
        "config = ConfigurationBuilder()\n"
        "config.auth_session_backend = RedisSessions()\n"
        "config.add_auth(BasicAuthConfig(username='a', password='b'))\n"
    )
    found = findings(tmp_path, source, "DM201")
    assert len(found) == 1 and found[0].related == []


def test_status_and_fix_follow_the_target(tmp_path: Path) -> None:
    source = "from dara.core import ConfigurationBuilder\n\nconfig = ConfigurationBuilder()\n"
    v2 = findings(tmp_path / "v2", source, "DM201", target="v2")
    legacy = findings(tmp_path / "legacy", source, "DM201", target="1.x")
    assert [(f.fix, f.status) for f in v2] == [("safe", "open")]
    assert [(f.fix, f.status) for f in legacy] == [("safe", "pending")]


def test_declaration_on_a_typed_parameter_counts_for_the_app(tmp_path: Path) -> None:
    files = {
        "app/setup.py": "from dara.core import ConfigurationBuilder\n\n"
        "def install(config: ConfigurationBuilder) -> None:\n"
        "    config.configure_runtime(scope=None, backend=None)\n",
        "app/main.py": "from dara.core import ConfigurationBuilder\n\n"
        "from app.setup import install\n\n"
        "config = ConfigurationBuilder()\n"
        "install(config)\n",
    }
    assert findings(tmp_path, files, "DM201") == []


def test_apps_setting_limits_the_apps(tmp_path: Path) -> None:
    files = {
        "app/main.py": "from dara.core import ConfigurationBuilder\n\n"
        "config = ConfigurationBuilder()\n",
        "app/scratch.py": "from dara.core import ConfigurationBuilder\n\n"
        "trial = ConfigurationBuilder()\n",
    }
    found = findings(tmp_path, files, "DM201", apps=("app.main:config",))
    assert summary(found) == [("app/main.py", 3, "DM201", "error")]


def test_without_a_builder_each_site_is_manual(tmp_path: Path) -> None:
    source = (
        "from dara.core import DerivedVariable, ServerVariable, Variable\n"
        "from dara.core.persistence import BackendStore\n\n"
        "rows = ServerVariable(uid='rows')\n"
        "prefs = Variable(store=BackendStore(uid='s'), uid='prefs')\n"
        "v = Variable(0)\n"
        "slow = DerivedVariable(len, variables=[v], run_as_task=True, uid='slow')\n"
    )
    found = findings(tmp_path, source, "DM201")
    assert [(f.line, f.fix) for f in found] == [(4, "manual"), (5, "manual"), (7, "manual")]
    assert "run_as_task=True) runs in this process's task pool" in found[2].message


# ---------------------------------------------------------------- DM202


def test_custom_backend_over_a_database_is_not_local_but_needs_a_uid(tmp_path: Path) -> None:
    source = (
        "from sqlalchemy import create_engine\n"
        "from dara.core import ServerVariable\n"
        "from dara.core.interactivity.server_variable import ServerBackend\n\n"
        "class DatabaseBackend(ServerBackend):\n"
        "    def __init__(self, engine):\n"
        "        super().__init__(scope='global')\n"
        "        self._engine = engine\n\n"
        "sales = ServerVariable(backend=DatabaseBackend(create_engine('postgresql://db')))\n"
    )
    found = findings(tmp_path, source, "DM101", "DM202", "DM203", "DM206")
    assert [(f.line, f.rule) for f in found] == [(5, "DM206"), (10, "DM101")]


def test_memory_backend_fix_kinds(tmp_path: Path) -> None:
    source = (
        "from dara.core import ServerVariable\n"
        "from dara.core.interactivity.server_variable import MemoryBackend\n\n"
        "shared = MemoryBackend(scope='global')\n"
        "a = ServerVariable(backend=MemoryBackend(scope='global'), uid='a')\n"
        "b = ServerVariable(backend=shared, uid='b')\n"
        "c = ServerVariable(default=[1], backend=MemoryBackend(), uid='c')\n"
        "d = ServerVariable(backend=MemoryBackend(), scope='global', uid='d')\n"
        "e = ServerVariable(None, MemoryBackend(), uid='e')\n"
        "f = ServerVariable(backend=MemoryBackend(), scope='user', uid='f')\n"
    )
    found = findings(tmp_path, source, "DM202")
    assert [(f.line, f.fix) for f in found] == [
        (4, "manual"), (5, "safe"), (7, "manual"), (8, "manual"), (9, "manual"), (10, "safe")]
    assert "scope='global' to the ServerVariable to keep its scope" in found[1].message
    assert "scope='user' (MemoryBackend's default)" in found[5].message
    # Following the advice must give an app Dara builds: no default on a user scope.
    assert "remove backend= and default= (the server reads each user's key" in found[2].message
    assert "default=" not in found[5].message


def test_in_memory_backend_keyword_is_safe_positional_is_manual(tmp_path: Path) -> None:
    source = (
        "from dara.core import Variable\n"
        "from dara.core.persistence import BackendStore, InMemoryBackend\n\n"
        "a = Variable(store=BackendStore(backend=InMemoryBackend(), uid='a'), uid='va')\n"
        "b = Variable(store=BackendStore(InMemoryBackend(), uid='b'), uid='vb')\n"
    )
    assert [(f.line, f.fix) for f in findings(tmp_path, source, "DM202")] == [
        (4, "safe"), (5, "manual")]


def test_auth_session_backend_only_on_a_builder(tmp_path: Path) -> None:
    source = (
        "from dara.core import ConfigurationBuilder\n"
        "from dara.core.auth import InMemoryAuthSessionBackend as Sessions\n\n"
        "class Holder:\n"
        "    pass\n\n"
        "holder = Holder()\n"
        "holder.auth_session_backend = Sessions()\n\n"
        "def setup(cfg: ConfigurationBuilder) -> None:\n"
        "    cfg.auth_session_backend = Sessions()\n"
    )
    found = findings(tmp_path, source, "DM202")
    assert [(f.line, f.fix) for f in found] == [(11, "manual")]
    assert "memory" in found[0].message


# ---------------------------------------------------------------- DM203


def test_live_object_written_at_build_time_is_manual_at_request_time_a_blocker(
        tmp_path: Path) -> None:
    source = (
        "import threading\n"
        "import requests\n"
        "from sqlalchemy.engine import Engine\n"
        "from dara.core import ServerVariable, action\n\n"
        "lock = ServerVariable(default=threading.Lock(), uid='lock')\n"
        "client = ServerVariable(uid='client')\n\n"
        "@action\n"
        "async def attach(ctx: action.Ctx, engine: Engine):\n"
        "    await ctx.update(variable=client, value=engine)\n"
        "    await client.write(requests.Session())\n"
    )
    found = findings(tmp_path, source, "DM203")
    assert [(f.line, f.fix) for f in found] == [(6, "manual"), (11, "blocker"), (12, "blocker")]
    assert "a lock (threading.Lock())" in found[0].message
    assert "an Engine" in found[1].message


def test_data_is_not_a_live_object(tmp_path: Path) -> None:
    source = (
        "import joblib\n"
        "import pandas as pd\n"
        "from dara.core import DataVariable, ServerVariable, action\n\n"
        "model = joblib.load('model.pkl')\n\n"
        "def make_client():\n"
        "    return object()\n\n"
        "frame = DataVariable(pd.read_csv('x.csv'), uid='frame')\n"
        "text = ServerVariable(default=open('notes.txt').read(), uid='text')\n"
        "helper = ServerVariable(default=make_client(), uid='helper')\n\n"
        "@action\n"
        "async def score(ctx: action.Ctx, rows: pd.DataFrame):\n"
        "    await frame.write(model.predict(rows))\n"
    )
    assert findings(tmp_path, source, "DM203") == []


# ---------------------------------------------------------------- DM204


def test_startup_write_and_update_variable_count_as_writes(tmp_path: Path) -> None:
    source = (
        "from dara.core import ConfigurationBuilder, ServerVariable, UpdateVariable\n"
        "from dara.components import Button\n\n"
        "config = ConfigurationBuilder()\n"
        "totals = ServerVariable(default={'n': 0}, uid='totals')\n"
        "counts = ServerVariable(default=[0], uid='counts')\n"
        "empty = ServerVariable(default=None, uid='empty')\n\n"
        "@config.on_startup\n"
        "async def reseed():\n"
        "    await totals.write({'n': 1})\n\n"
        "button = Button('+', onclick=UpdateVariable(lambda ctx: [1], variable=counts))\n"
    )
    found = findings(tmp_path, source, "DM204")
    assert summary(found) == [("app/main.py", 5, "DM204", "warning"),
                              ("app/main.py", 6, "DM204", "warning")]
    assert [r.line for r in found[0].related] == [11]
    # Only the request's write is one users made; the start's is the seed's double.
    assert [f.message.split(" but ", 1)[1].split(";")[0] for f in found] == [
        "its on_startup code writes it again (.write()): each start writes it twice",
        "is also written at request time (UpdateVariable(variable=...)): a new worker "
        "reverts what users wrote"]


def test_message_names_the_argument_that_seeds_the_variable(tmp_path: Path) -> None:
    source = (
        "import pandas\n"
        "from dara.core import DataVariable, ServerVariable, UpdateVariable\n"
        "from dara.components import Button, UploadDropzone\n\n"
        "uploads = DataVariable(pandas.DataFrame({}), uid='uploads')\n"
        "limits = ServerVariable(default={'max': 10}, uid='limits')\n\n"
        "def page():\n"
        "    return [UploadDropzone(target=uploads),\n"
        "            Button('+', onclick=UpdateVariable(lambda ctx: {}, variable=limits))]\n"
    )
    found = findings(tmp_path, source, "DM204")
    assert [f.message.rsplit("; ", 1)[-1] for f in found] == [
        "seed it once instead of with data=", "seed it once instead of with default="]


def test_a_helper_seeds_a_variable_only_where_its_callers_pass_a_seed(tmp_path: Path) -> None:
    # `**kwargs` and a `default=None` parameter no caller fills give Dara no seed to write.
    source = (
        "from dara.core import ServerVariable, action\n\n"
        "def user_store(**kwargs):\n"
        "    return ServerVariable(scope='user', **kwargs)\n\n"
        "def make_store(uid=None, default=None):\n"
        "    return ServerVariable(default=default, uid=uid)\n\n"
        "def seeded_store(uid, default):\n"
        "    return ServerVariable(default=default, uid=uid)\n\n"
        "drafts = user_store(uid='drafts')\n"
        "notes = make_store(uid='notes')\n"
        "limits = seeded_store('limits', {'max': 10})\n\n"
        "@action\n"
        "async def save(ctx: action.Ctx, text: str):\n"
        "    await drafts.write(text)\n"
        "    await notes.write(text)\n"
        "    await limits.write({'max': 1})\n"
    )
    found = findings(tmp_path, source, "DM204")
    assert summary(found) == [("app/main.py", 10, "DM204", "warning")]


def test_seed_built_per_request_is_left_to_dm301(tmp_path: Path) -> None:
    source = (
        "from dara.core import ServerVariable, py_component\n"
        "from dara.components import Text\n\n"
        "@py_component\n"
        "def panel(n: int):\n"
        "    rows = ServerVariable(default=[n], uid='rows')\n"
        "    return Text(str(n))\n"
    )
    assert findings(tmp_path, source, "DM204") == []


# ---------------------------------------------------------------- DM205


def test_the_memo_idioms_with_an_early_return_or_a_get_are_info(tmp_path: Path) -> None:
    # `if key in cache: return cache[key]` before the store, or `hit = cache.get(key)` and a
    # store under `if hit is None:`, fill a cache keyed by the argument as `if key not in
    # cache:` does. A plain write is not a memo.
    source = (
        "from dara.components import Text\n"
        "from dara.core import ConfigurationBuilder, Variable, py_component\n"
        "\n"
        "_SEEN = {}\n"
        "_SIZES = {}\n"
        "_LAST = {}\n"
        "name = Variable('x', uid='name')\n"
        "\n"
        "\n"
        "def lookup(key):\n"
        "    if key in _SEEN:\n"
        "        return _SEEN[key]\n"
        "    _SEEN[key] = len(key)\n"
        "    return _SEEN[key]\n"
        "\n"
        "\n"
        "def size(key):\n"
        "    found = _SIZES.get(key)\n"
        "    if found is None:\n"
        "        _SIZES[key] = found = len(key) * 2\n"
        "    _LAST['key'] = key\n"
        "    return found\n"
        "\n"
        "\n"
        "@py_component\n"
        "def show(value: str):\n"
        "    return Text(str(lookup(value) + size(value)))\n"
        "\n"
        "\n"
        "config = ConfigurationBuilder()\n"
        "config.router.add_page(path='a', content=lambda: show(name), id='a')\n"
    )
    found = findings(tmp_path, source, "DM205")
    assert summary(found) == [
        ("app/main.py", 13, "DM205", "info"), ("app/main.py", 20, "DM205", "info"),
        ("app/main.py", 21, "DM205", "error")]


def test_a_module_level_data_frame_or_array_changed_per_request(tmp_path: Path) -> None:
    # Common in data apps: the table loaded at import, changed in place by a DerivedVariable
    # or an action (item assignment, `.loc[...] =`, `inplace=True`); reading it is fine.
    source = (
        "import numpy as np\n"
        "import pandas as pd\n"
        "from dara.core import ConfigurationBuilder, DerivedVariable, Variable, action\n"
        "\n"
        "SALES = pd.read_csv('sales.csv')\n"
        "COUNTS = np.zeros(10)\n"
        "region = Variable('north', uid='region')\n"
        "\n"
        "\n"
        "def by_region(r: str):\n"
        "    SALES['selected'] = SALES['region'] == r\n"
        "    SALES.loc[0, 'seen'] = True\n"
        "    SALES.drop(columns=['seen'], inplace=True)\n"
        "    kept = SALES.copy()\n"
        "    kept['x'] = 1\n"
        "    return SALES[SALES['region'] == r].to_dict()\n"
        "\n"
        "\n"
        "view = DerivedVariable(by_region, variables=[region], uid='view')\n"
        "\n"
        "\n"
        "@action\n"
        "async def hit(ctx: action.Ctx, k: int):\n"
        "    COUNTS[k] += 1\n"
        "\n"
        "\n"
        "config = ConfigurationBuilder()\n"
    )
    found = findings(tmp_path, source, "DM205")
    assert summary(found) == [
        ("app/main.py", 11, "DM205", "error"), ("app/main.py", 12, "DM205", "error"),
        ("app/main.py", 13, "DM205", "error"), ("app/main.py", 24, "DM205", "error")]
    assert found[2].message.startswith(
        "module-level SALES (app.main) is written at request time (.drop(inplace=True))")


def test_heaps_sorted_lists_and_a_module_level_object_s_containers(tmp_path: Path) -> None:
    # A job queue kept as a heap, a sorted list kept by `bisect`, and a module-level stats
    # object whose list (made in `__init__` or as a dataclass field) grows per request.
    source = (
        "import bisect\n"
        "import heapq\n"
        "from dataclasses import dataclass, field\n"
        "from heapq import heappush as push\n"
        "from dara.core import action\n"
        "\n"
        "_QUEUE: list[tuple[int, str]] = []\n"
        "_SORTED: list[int] = []\n"
        "\n"
        "\n"
        "class Stats:\n"
        "    def __init__(self) -> None:\n"
        "        self.items: list[str] = []\n"
        "        self.total = 0\n"
        "\n"
        "\n"
        "@dataclass\n"
        "class Seen:\n"
        "    names: set[str] = field(default_factory=set)\n"
        "    label: str = ''\n"
        "\n"
        "\n"
        "STATS = Stats()\n"
        "SEEN = Seen()\n"
        "\n"
        "\n"
        "@action\n"
        "async def enqueue(ctx: action.Ctx, value: int):\n"
        "    heapq.heappush(_QUEUE, (value, 'job'))\n"
        "    push(_QUEUE, (value, 'again'))\n"
        "    bisect.insort(_SORTED, value)\n"
        "    STATS.items.append(str(value))\n"
        "    SEEN.names.add(str(value))\n"
        "    local: list[int] = []\n"
        "    heapq.heappush(local, value)\n"
        "    heapq.heappop(_QUEUE)\n"
        "    return STATS.total + len(SEEN.label)\n"
    )
    found = findings(tmp_path, source, "DM205")
    assert summary(found) == [
        ("app/main.py", line, "DM205", "error") for line in (29, 30, 31, 32, 33, 36)]
    assert found[0].message.startswith(
        "module-level _QUEUE (app.main) is written at request time (heapq.heappush())")
    assert found[3].message.startswith(
        "attribute STATS.items of the module-level Stats is written at request time (.append())")
    assert found[4].message.startswith(
        "attribute SEEN.names of the module-level Seen is written")


def test_module_state_made_by_loaders_copies_factories_and_namespaces(tmp_path: Path) -> None:
    # What a module loads, copies or builds is its own container as much as a literal is;
    # a client object made by a library call is not (`SESSION.add(row)` is no write here).
    files = {
        "app/book.py": "class Book:\n"
        "    opened = 0\n\n"
        "    def __init__(self) -> None:\n"
        "        self.trades: list[str] = []\n\n"
        "    @classmethod\n"
        "    def open(cls) -> None:\n"
        "        cls.opened += 1\n\n\n"
        "def make_book() -> Book:\n"
        "    return Book()\n",
        "app/main.py": "import copy\n"
        "import json\n"
        "import queue\n"
        "from types import SimpleNamespace\n\n"
        "import pandas as pd\n"
        "import sqlalchemy.orm\n"
        "from dara.core import action\n\n"
        "from app.book import Book, make_book\n\n\n"
        "def load_defaults() -> dict:\n"
        "    return {'max': 10}\n\n\n"
        "DEFAULTS: dict[str, int] = load_defaults()\n"
        "SETTINGS = json.load(open('settings.json'))\n"
        "BACKUP = copy.deepcopy(SETTINGS)\n"
        "RAW = pd.DataFrame({'a': [1]})\n"
        "WORKING = RAW.copy()\n"
        "JOBS = queue.Queue()\n"
        "STATE = SimpleNamespace(cache={}, hits=0, name='x')\n"
        "BOOK = make_book()\n"
        "SESSION = sqlalchemy.orm.Session()\n"
        "LIMIT = load_defaults\n\n\n"
        "@action\n"
        "async def override(ctx: action.Ctx, key: str, value: int):\n"
        "    DEFAULTS[key] = value\n"
        "    SETTINGS.update({key: value})\n"
        "    BACKUP.pop(key)\n"
        "    WORKING.loc[0, 'a'] = value\n"
        "    JOBS.put(key)\n"
        "    STATE.cache[key] = value\n"
        "    STATE.hits += 1\n"
        "    BOOK.trades.append(key)\n"
        "    Book.opened += 1\n"
        "    Book.open()\n"
        "    SESSION.add(key)\n",
    }
    found = findings(tmp_path, files, "DM205")
    assert summary(found) == [
        ("app/book.py", 9, "DM205", "error"),
        *(("app/main.py", line, "DM205", "error") for line in range(31, 40))]
    assert found[0].message.startswith("class attribute Book.opened is written")
    assert found[6].message.startswith(
        "attribute STATE.cache of the module-level SimpleNamespace is written")
    assert found[7].message.startswith("attribute hits of the module-level STATE is written")
    assert "BOOK.trades of the module-level Book" in found[8].message


def test_a_copy_of_a_container_the_instance_holds_is_one_too(tmp_path: Path) -> None:
    # `self.view = self.items.copy()` makes a list the module-level instance keeps: appending
    # to it at request time writes this worker's copy only; so does a copy of a class
    # attribute's dict. A copy of a string is no container.
    files = {
        "app/stats.py": "class Stats:\n"
        "    shared = {}\n\n"
        "    def __init__(self):\n"
        "        self.items = []\n"
        "        self.name = 'totals'\n"
        "        self.view = self.items.copy()\n"
        "        self.title = self.name.copy()\n"
        "        self.mine = self.shared.copy()\n\n"
        "STATS = Stats()\n",
        "app/main.py": "from dara.core import action\n\n"
        "from app.stats import STATS\n\n"
        "@action\n"
        "async def record(ctx: action.Ctx, value: int):\n"
        "    STATS.view.append(value)\n"
        "    STATS.title.append(value)\n"
        "    STATS.mine[value] = 1\n",
    }
    found = findings(tmp_path, files, "DM205")
    assert summary(found) == [("app/main.py", 7, "DM205", "error"),
                              ("app/main.py", 9, "DM205", "error")]
    assert "STATS.view of the module-level Stats" in found[0].message


def test_a_slice_of_a_container_is_one_too(tmp_path: Path) -> None:
    # `self.view = self.items[:]` and `RECENT = HISTORY[-10:]` are new lists the module
    # keeps: appending to them at request time writes this worker's copy only. A slice of a
    # string is no container, nor is an item.
    files = {
        "app/stats.py": "class Stats:\n"
        "    def __init__(self):\n"
        "        self.items = []\n"
        "        self.name = 'totals'\n"
        "        self.view = self.items[:]\n"
        "        self.short = self.name[:3]\n\n"
        "STATS = Stats()\n"
        "HISTORY = [[1], [2]]\n"
        "RECENT = HISTORY[-10:]\n"
        "FIRST = HISTORY[0]\n",
        "app/main.py": "from dara.core import action\n\n"
        "from app.stats import FIRST, RECENT, STATS\n\n"
        "@action\n"
        "async def record(ctx: action.Ctx, value: int):\n"
        "    STATS.view.append(value)\n"
        "    STATS.short.append(value)\n"
        "    RECENT.append(value)\n"
        "    FIRST.append(value)\n",
    }
    found = findings(tmp_path, files, "DM205")
    assert summary(found) == [("app/main.py", 7, "DM205", "error"),
                              ("app/main.py", 9, "DM205", "error")]
    assert "STATS.view of the module-level Stats" in found[0].message


def test_an_instance_holds_what_its_base_classes_set_on_it(tmp_path: Path) -> None:
    # `Orders` inherits `items` from `Tracker.__init__` (in another module) and `seen` from a
    # class attribute of `Tracker`: both are written at request time through the module-level
    # instance. `label`, a string its base sets, is no container.
    files = {
        "app/base.py": "class Tracker:\n"
        "    seen = set()\n\n"
        "    def __init__(self):\n"
        "        self.items = []\n"
        "        self.label = 'orders'\n",
        "app/orders.py": "from app.base import Tracker\n\n"
        "class Orders(Tracker):\n"
        "    def total(self):\n"
        "        return len(self.items)\n\n"
        "ORDERS = Orders()\n",
        "app/main.py": "from dara.core import action\n\n"
        "from app.orders import ORDERS\n\n"
        "@action\n"
        "async def record(ctx: action.Ctx, value: int):\n"
        "    ORDERS.items.append(value)\n"
        "    ORDERS.seen.add(value)\n"
        "    ORDERS.label.append(value)\n",
    }
    found = findings(tmp_path, files, "DM205")
    assert summary(found) == [("app/main.py", 7, "DM205", "error"),
                              ("app/main.py", 8, "DM205", "error")]
    assert "ORDERS.items of the module-level Orders" in found[0].message
    assert found[1].message.startswith("class attribute Tracker.seen is written")


def test_memo_patterns_are_info(tmp_path: Path) -> None:
    source = (
        "import functools\n"
        "from functools import lru_cache\n"
        "import joblib\n"
        "from dara.core import action\n\n"
        "_RATES = {}\n"
        "_NAMES = {}\n"
        "_MODEL = None\n\n"
        "@lru_cache(maxsize=64)\n"
        "def rate(code: str) -> float:\n"
        "    return 1.0\n\n"
        "@functools.cache\n"
        "def unused(code: str) -> float:\n"
        "    return 1.0\n\n"
        "@action\n"
        "async def convert(ctx: action.Ctx, code: str):\n"
        "    global _MODEL\n"
        "    if code not in _RATES:\n"
        "        _RATES[code] = rate(code)\n"
        "    _NAMES.setdefault(code, code.upper())\n"
        "    if _MODEL is None:\n"
        "        _MODEL = joblib.load('m.pkl')\n"
    )
    found = findings(tmp_path, source, "DM205")
    assert summary(found) == [
        ("app/main.py", 10, "DM205", "info"), ("app/main.py", 22, "DM205", "info"),
        ("app/main.py", 23, "DM205", "info"), ("app/main.py", 25, "DM205", "info")]
    assert "loaded lazily" in found[3].message


@pytest.mark.parametrize(("write", "severity"), [
    ("_SESSIONS.setdefault(user, {})['region'] = region", "error"),
    ("del _SESSIONS.setdefault(user, {})['region']", "error"),
    ("_SESSIONS.setdefault(user, {}).update(region=region)", "error"),
    ("_SESSIONS.setdefault(user, Visit()).region = region", "error"),
    ("_SESSIONS.setdefault(user, Visit()).pages += 1", "error"),
    ("_SESSIONS.setdefault(user, {})", "info"),  # nothing written into it: a memo
])
def test_an_item_setdefault_gives_back_is_the_container_s_own(
        tmp_path: Path, write: str, severity: str) -> None:
    source = (
        "from dara.core import action\n\n"
        "from app.visits import Visit\n"
        "_SESSIONS: dict[str, dict[str, str]] = {}\n"
        "@action\n"
        "async def pick(ctx: action.Ctx, user: str, region: str):\n"
        f"    {write}\n"
    )
    found = findings(tmp_path, source, "DM205")
    assert [(f.line, f.severity) for f in found] == [(7, severity)]
    if ")." in write and "update" not in write:
        assert ".setdefault(...).<attribute> = ..." in found[0].message


def test_live_object_kept_per_request_is_a_blocker(tmp_path: Path) -> None:
    source = (
        "import sqlite3\n"
        "from dara.core import action\n\n"
        "CONNECTIONS = {}\n\n"
        "@action\n"
        "async def open_db(ctx: action.Ctx, user: str):\n"
        "    CONNECTIONS[user] = sqlite3.connect(f'{user}.db')\n"
    )
    found = findings(tmp_path, source, "DM205")
    assert [(f.line, f.fix) for f in found] == [(8, "blocker")]


def test_functions_behind_partial_and_call_form_decorators_run_per_request(
        tmp_path: Path) -> None:
    files = {
        "app/compute.py": "HITS = []\n\n"
        "def scaled(value, factor=1):\n"
        "    HITS.append(value)\n"
        "    return value * factor\n\n"
        "def render(value):\n"
        "    HITS.append(value)\n\n"
        "async def save(ctx, value):\n"
        "    HITS.append(value)\n\n"
        "def job():\n"
        "    HITS.append(0)\n",
        "app/main.py": "import functools\n"
        "from functools import partial\n"
        "import dara.core as dc\n"
        "from dara.core import ConfigurationBuilder, ScheduledJob, Variable\n"
        "from app import compute\n\n"
        "config = ConfigurationBuilder()\n"
        "base = Variable(1)\n"
        "double = dc.DerivedVariable(functools.partial(compute.scaled, factor=2),\n"
        "                            variables=[base], uid='double')\n"
        "panel = dc.py_component(compute.render)\n"
        "save = dc.action(compute.save)\n"
        "config.scheduler(ScheduledJob.every().hours(1))(partial(compute.job))\n",
    }
    found = findings(tmp_path, files, "DM205")
    assert [(f.path, f.line, f.severity) for f in found] == [
        ("app/compute.py", 4, "error"), ("app/compute.py", 8, "error"),
        ("app/compute.py", 11, "error"), ("app/compute.py", 14, "error")]


def test_locals_parameters_build_and_startup_writes_are_fine(tmp_path: Path) -> None:
    source = (
        "import redis\n"
        "from dara.core import ConfigurationBuilder, action\n\n"
        "config = ConfigurationBuilder()\n"
        "CLIENTS = {}\n"
        "DEFAULTS = []\n"
        "DEFAULTS.append('x')\n\n"
        "@config.on_startup\n"
        "def connect():\n"
        "    CLIENTS['cache'] = redis.Redis(host='cache')\n\n"
        "@action\n"
        "async def tag(ctx: action.Ctx, tags: list, name: str):\n"
        "    tags.append(name)\n"
        "    CLIENTS = {}\n"
        "    CLIENTS[name] = 1\n"
    )
    assert findings(tmp_path, source, "DM205") == []


def test_a_variable_written_through_a_helper_s_parameter(tmp_path: Path) -> None:
    """A request-time call that gives a helper a ServerVariable writes it (DM204 lists the
    call); a live object given with it is DM203's, at the call."""
    files = {
        "app/store.py": "async def save(var, value):\n"
        "    await var.write(value)\n\n"
        "async def bump(var):\n"
        "    await var.write(await var.read() + 1)\n",
        "app/main.py": "import sqlalchemy\n"
        "from dara.core import ServerVariable, action\n\n"
        "from app.store import bump, save\n\n"
        "counter = ServerVariable(default=0, uid='counter')\n"
        "engine = ServerVariable(default=None, uid='engine')\n"
        "seeded = ServerVariable(default=1, uid='seeded')\n\n"
        "@action\n"
        "async def click(ctx: action.Ctx):\n"
        "    await bump(counter)\n"
        "    await save(engine, sqlalchemy.create_engine('sqlite://'))\n",
    }
    found = findings(tmp_path, files, "DM203", "DM204")
    assert summary(found) == [
        ("app/main.py", 6, "DM204", "warning"),
        ("app/main.py", 8, "DM204", "info"),
        ("app/main.py", 13, "DM203", "error"),
    ]
    assert "also written at request time (.write() in bump())" in found[0].message
    assert [(r.path, r.line) for r in found[0].related] == [("app/main.py", 12)]
    assert found[2].message.startswith(".write() in save() puts a database engine")
    assert found[2].fix == "blocker"


def test_writes_into_a_helper_s_parameter_are_reported_where_requests_give_it_state(
        tmp_path: Path) -> None:
    """One finding per request-time call that gives a helper shared state, at the call: a
    memo store alone is info, a plain write next to it wins; a call made while the app is
    built, and a method's receiver, are not reported."""
    files = {
        "app/cache.py": "def fill(cache, key, load):\n"
        "    if key not in cache:\n"
        "        cache[key] = load(key)\n"
        "    return cache[key]\n\n"
        "def reset(cache, key, value):\n"
        "    if key not in cache:\n"
        "        cache[key] = value()\n"
        "    cache.pop('stale', None)\n\n"
        "def forward(target, key):\n"
        "    reset(target, key, dict)\n\n"
        "def keep(basket, item):\n"
        "    basket.items.append(item)\n",
        "app/main.py": "from dara.core import action\n\n"
        "from app.cache import fill, forward, keep, reset\n\n"
        "PRICES = {}\n"
        "TOTALS = {}\n"
        "LATEST = {}\n"
        "reset(LATEST, 'boot', dict)\n\n"
        "class Basket:\n"
        "    def __init__(self):\n"
        "        self.items = []\n\n"
        "    def add(self, item):\n"
        "        self.items.append(item)\n\n"
        "@action\n"
        "async def price(ctx: action.Ctx, sku: str):\n"
        "    fill(PRICES, sku, len)\n"
        "    reset(TOTALS, sku, dict)\n"
        "    forward(LATEST, sku)\n"
        "    Basket().add(sku)\n"
        "    keep(CART, sku)\n\n"
        "class Cart:\n"
        "    def __init__(self):\n"
        "        self.items = []\n\n"
        "CART = Cart()\n",
    }
    found = findings(tmp_path, files, "DM205")
    assert summary(found) == [
        ("app/main.py", 19, "DM205", "info"),
        ("app/main.py", 20, "DM205", "error"),
        ("app/main.py", 21, "DM205", "error"),
        ("app/main.py", 23, "DM205", "error"),
    ]
    assert "module-level PRICES (app.main) is a memo cache filled at request time (item " \
        "assignment in fill())" in found[0].message
    assert "(.pop() in reset())" in found[1].message
    assert "attribute CART.items of the module-level Cart is written" in found[3].message


def test_state_reached_through_star_imports_and_package_re_exports(tmp_path: Path) -> None:
    files = {
        "app/core/__init__.py": "from .state import *  # noqa: F403\n",
        "app/core/state.py": "CACHE = {}\nSEEN = []\n",
        "app/pages/__init__.py": "",
        "app/pages/home.py": "from dara.core import action, py_component\n"
        "from dara.components import Text\n\n"
        "from ..core import CACHE\n"
        "from ..core import *  # noqa: F403\n\n"
        "@action\n"
        "async def click(ctx: action.Ctx):\n"
        "    CACHE['x'] = 1\n\n"
        "@py_component\n"
        "def summary(region: str):\n"
        "    SEEN.append(region)\n"
        "    return Text(region)\n",
    }
    found = findings(tmp_path, files, "DM205")
    assert [(f.path, f.line) for f in found] == [
        ("app/pages/home.py", 9), ("app/pages/home.py", 13)]
    assert all("(app.core.state)" in f.message for f in found)


def test_server_variable_star_imported_from_a_package_is_written_per_request(
        tmp_path: Path) -> None:
    files = {
        "app/core/__init__.py": "from .state import *  # noqa: F403\n",
        "app/core/state.py": "from dara.core import ServerVariable\n\n"
        "totals = ServerVariable(default={'a': 1}, uid='totals')\n",
        "app/main.py": "from dara.core import action\n\n"
        "from app.core import *  # noqa: F403\n\n"
        "@action\n"
        "async def reset(ctx: action.Ctx):\n"
        "    await ctx.update(totals, {})\n",
    }
    (found,) = findings(tmp_path, files, "DM204")
    assert (found.path, found.line, found.severity) == ("app/core/state.py", 3, "warning")


def test_class_module_and_page_attributes(tmp_path: Path) -> None:
    files = {
        "app/state.py": "counter = 0\n",
        "app/pages.py": "from dara.core import ConfigurationBuilder, action, py_component\n"
        "from dara.components import Text\n\n"
        "import app.state as state\n\n"
        "config = ConfigurationBuilder()\n\n"
        "class Registry:\n"
        "    jobs = {}\n\n"
        "class Report:\n"
        "    def __init__(self):\n"
        "        self.rendered = 0\n"
        "        self.seen = []\n\n"
        "    def __call__(self):\n"
        "        return self.render(1)\n\n"
        "    @py_component\n"
        "    def render(self, n: int):\n"
        "        self.rendered = n\n"
        "        self.seen.append(n)\n"
        "        return Text(str(n))\n\n"
        "class Scratch:\n"
        "    def fill(self, n):\n"
        "        self.last = n\n\n"
        "@action\n"
        "async def run(ctx: action.Ctx, name: str):\n"
        "    Registry.jobs[name] = 'done'\n"
        "    state.counter = 1\n"
        "    scratch = Scratch()\n"
        "    scratch.fill(1)\n\n"
        "config.add_page('Report', content=Report)\n",
    }
    found = findings(tmp_path, files, "DM205")
    assert [(f.line, f.message.split(" is ")[0]) for f in found] == [
        (21, "attribute self.rendered of the shared Report instance"),
        (22, "attribute self.seen of the shared Report instance"),
        (31, "class attribute Registry.jobs"),
        (32, "module attribute app.state.counter"),
    ]


def test_websocket_handler_and_module_object_attribute(tmp_path: Path) -> None:
    files = {
        "app/services.py": "class Client:\n"
        "    pass\n\n"
        "client = Client()\n"
        "VIEWERS: dict[str, str] = {}\n\n"
        "def on_presence(channel: str, message: dict) -> dict:\n"
        "    VIEWERS[channel] = message['page']\n"
        "    client.last = channel\n"
        "    return {'viewers': len(VIEWERS)}\n",
        "app/main.py": "from dara.core import ConfigurationBuilder\n\n"
        "from app.services import on_presence\n\n"
        "config = ConfigurationBuilder()\n"
        "config.add_ws_handler('presence', on_presence)\n",
    }
    found = findings(tmp_path, files, "DM205")
    assert [(f.path, f.line, f.severity) for f in found] == [
        ("app/services.py", 8, "error"), ("app/services.py", 9, "error")]
    assert "attribute last of the module-level client" in found[1].message


# ---------------------------------------------------------------- DM206


def test_subclass_of_a_local_backend_and_pydantic_state(tmp_path: Path) -> None:
    source = (
        "from pydantic import Field\n"
        "from dara.core.interactivity.server_variable import MemoryBackend\n"
        "from dara.core.persistence import PersistenceBackend\n\n"
        "class Tweaked(MemoryBackend):\n"
        "    pass\n\n"
        "class Cached(PersistenceBackend):\n"
        "    data: dict = Field(default_factory=dict)\n"
        "    count = 0\n\n"
        "    async def write(self, key, value):\n"
        "        self.count += 1\n"
    )
    found = findings(tmp_path, source, "DM206")
    assert [(f.line, f.severity) for f in found] == [(5, "warning"), (8, "warning")]
    assert "custom MemoryBackend Tweaked" in found[0].message
    assert "it keeps self.data, self.count on the instance" in found[1].message
    assert [r.line for r in found[1].related] == [9, 13]


# ---------------------------------------------------------------- DM207


def test_file_state_needs_a_request_time_reader_elsewhere(tmp_path: Path) -> None:
    source = (
        "import os\n"
        "from pathlib import Path\n"
        "from dara.core import DerivedVariable, Variable, action\n\n"
        "REPORT = Path('report.txt')\n"
        "LOG = Path('log.txt')\n"
        "EXPORT = Path('export.txt')\n"
        "BUILD_INFO = Path('build.txt').read_text()\n\n"
        "@action\n"
        "async def save(ctx: action.Ctx, text: str, target: str):\n"
        "    REPORT.write_text(text)\n"
        "    with LOG.open('a') as handle:\n"
        "        handle.write(text)\n"
        "    EXPORT.write_text(text)\n"
        "    Path('build.txt').write_text(text)\n"
        "    with open(target, 'w') as out:\n"
        "        out.write(text)\n\n"
        "def show(_tick):\n"
        "    lines = LOG.read_text() if os.path.exists(REPORT) else ''\n"
        "    return open(target_name()).read() + lines\n\n"
        "def target_name():\n"
        "    return 'x'\n\n"
        "tick = Variable(0)\n"
        "shown = DerivedVariable(show, variables=[tick], uid='shown')\n"
    )
    found = findings(tmp_path, source, "DM207")
    assert [(f.line, f.severity, f.fix) for f in found] == [(12, "info", "manual"),
                                                           (13, "info", "manual")]
    assert "local file REPORT" in found[0].message
    assert [r.line for r in found[0].related] == [21]


def test_file_paths_joined_of_a_constant_match_across_spellings(tmp_path: Path) -> None:
    # Uploads kept under a folder constant: written with an f-string or os.path.join, read
    # back with the other spelling; a path with a parameter in it is each user's own.
    files = {
        "app/settings.py": "from pathlib import Path\n\n"
        "UPLOAD_DIR = '/srv/uploads'\n"
        "ARCHIVE = Path('/srv/archive')\n",
        "app/main.py": "import os\n"
        "import pandas as pd\n"
        "from dara.core import action\n\n"
        "from app import settings\n"
        "from app.settings import ARCHIVE, UPLOAD_DIR\n\n"
        "@action\n"
        "async def save(ctx: action.Ctx, text: str, user: str):\n"
        "    with open(f'{UPLOAD_DIR}/latest.csv', 'w') as out:\n"
        "        out.write(text)\n"
        "    with open(os.path.join(settings.UPLOAD_DIR, 'index.csv'), 'w') as out:\n"
        "        out.write(text)\n"
        "    with open(f'{UPLOAD_DIR}/{user}.csv', 'w') as out:\n"
        "        out.write(text)\n"
        "    print(f'saved {UPLOAD_DIR}/latest.csv')\n"
        "    pd.DataFrame([text]).to_csv(ARCHIVE / 'all.csv')\n\n"
        "@action\n"
        "async def load(ctx: action.Ctx, user: str):\n"
        "    latest = open(os.path.join(UPLOAD_DIR, 'latest.csv')).read()\n"
        "    index = open(f'{settings.UPLOAD_DIR}/index.csv').read()\n"
        "    archived = pd.read_csv(f'{settings.ARCHIVE}/all.csv')\n"
        "    return latest + index + open(f'{UPLOAD_DIR}/{user}.csv').read() + str(archived)\n",
    }
    found = findings(tmp_path, files, "DM207")
    assert [(f.line, [r.line for r in f.related]) for f in found] == [
        (10, [21]), (12, [22]), (17, [23])]
    assert "local file f'{UPLOAD_DIR}/latest.csv'" in found[0].message


def test_a_global_rebound_from_a_local_set_from_a_parameter_is_shared_state(
        tmp_path: Path) -> None:
    source = (
        "from dara.core import ConfigurationBuilder, action\n\n"
        "_last = None\n"
        "_model = None\n\n\n"
        "@action\n"
        "async def remember(ctx: action.Ctx, fmt: str):\n"
        "    global _last, _model\n"
        "    value = fmt\n"
        "    _last = value\n"
        "    loaded = open('model.bin').read()\n"
        "    _model = loaded\n\n\n"
        "config = ConfigurationBuilder()\n"
    )
    found = findings(tmp_path, source, "DM205")
    # What the request passed is shared state; a load that uses none is a per-worker cache.
    assert [(f.line, f.severity) for f in found] == [(11, "error"), (13, "info")]


def test_a_method_called_only_on_instances_its_callers_make_writes_no_shared_one(
        tmp_path: Path) -> None:
    # `BASELINE` is shared, but each request fits a model of its own; only `refit` writes
    # the shared one.
    source = (
        "from dara.core import ActionCtx, action\n\n\n"
        "class Model:\n"
        "    def fit(self, x: int) -> 'Model':\n"
        "        self.k = x\n"
        "        return self\n\n"
        "    def shift(self, x: int) -> None:\n"
        "        self.offset = x\n\n\n"
        "BASELINE = Model()\n"
        "BASELINE.fit(0)\n\n\n"
        "@action\n"
        "async def train(ctx: ActionCtx, v: int):\n"
        "    local = Model()\n"
        "    local.fit(v)\n"
        "    Model().fit(v)\n\n\n"
        "@action\n"
        "async def refit(ctx: ActionCtx, v: int):\n"
        "    BASELINE.shift(v)\n"
    )
    found = findings(tmp_path, source, "DM205")
    assert [(f.line, f.message.split(" is ")[0]) for f in found] == [
        (10, "attribute self.offset of the shared Model instance")]
