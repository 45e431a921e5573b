"""DM701 unshared secret and DM702 startup writes, beyond the documented examples."""

from __future__ import annotations

from pathlib import Path

import pytest

from dara_migrate.files import secret_mentions
from dara_migrate.models import Finding
from dara_migrate.rules.base import Context
from dara_migrate.rules.deploy import StartupSharedWrites, UnsharedSecret
from tests.helpers import run_audit, write_tree

APP = "from dara.core import ConfigurationBuilder\n\nconfig = ConfigurationBuilder()\n"


def findings(tmp_path: Path, files: str | dict[str, str], *codes: str) -> list[Finding]:
    tree = {"app/main.py": files} if isinstance(files, str) else {"app/__init__.py": "", **files}
    root = write_tree(tmp_path, tree)
    result, _ = run_audit(root, show_info=True)
    return [f for f in result.findings if f.rule in codes]


def unshared_secret(root: Path) -> list[Finding]:
    """DM701 with the deployment files the engine discovered, read for names only."""
    _, project = run_audit(root)
    ctx = Context(project.index, project.settings, project.selected, project.known_apps,
                  deployment_secrets=secret_mentions(root, project.deployment_files))
    return list(UnsharedSecret().check(ctx))


def test_secret_named_in_a_deployment_file(tmp_path: Path) -> None:
    root = write_tree(tmp_path, {"app/main.py": APP, "deploy/k8s.yaml": "env:\n"
                                 "  - name: JWT_SECRET\n    valueFrom: {secretKeyRef: {}}\n"})
    assert unshared_secret(root) == []


def test_deployment_files_without_the_name(tmp_path: Path) -> None:
    root = write_tree(tmp_path, {"app/main.py": APP, "Dockerfile": "FROM python:3.11\n",
                                 ".env": "DARA_ENV=prod\n"})
    found = unshared_secret(root)
    assert [(f.path, f.line, f.severity) for f in found] == [("app/main.py", 3, "warning")]


def test_secret_mentions_reads_names_only(tmp_path: Path) -> None:
    root = write_tree(tmp_path, {".env.example": "JWT_SECRET=\n",
                                 "compose.yml": "services: {}\n"})
    missing = root / "gone.yaml"
    found = secret_mentions(root, [root / ".env.example", root / "compose.yml", missing])
    assert found == {".env.example": True, "compose.yml": False, "gone.yaml": False}


def test_any_python_file_naming_the_secret_counts(tmp_path: Path) -> None:
    files = {"app/main.py": APP,
             "tests/test_env.py": "def test_env(monkeypatch):\n"
             "    monkeypatch.setenv('JWT_SECRET', 'x')\n"}
    assert findings(tmp_path, files, "DM701") == []


def test_a_commented_out_secret_does_not_count(tmp_path: Path) -> None:
    root = write_tree(tmp_path, {
        "app/main.py": APP + "# TODO: read JWT_SECRET from the vault\n",
        ".env.example": "# JWT_SECRET=change-me\nDARA_ENV=prod\n",
        "deploy/k8s.yaml": "env:\n  # - name: JWT_SECRET\n  - name: DARA_ENV  # not JWT_SECRET\n",
        "Dockerfile": "FROM python:3.11\n    # ENV JWT_SECRET=x\n"})
    found = unshared_secret(root)
    assert [(f.path, f.line) for f in found] == [("app/main.py", 3)]
    (root / "Dockerfile").write_text("FROM python:3.11\nENV JWT_SECRET=${SECRET}  # shared\n")
    assert unshared_secret(root) == []


def test_no_app_no_secret_warning(tmp_path: Path) -> None:
    source = "from dara.core import Variable\n\nv = Variable(0)\n"
    assert findings(tmp_path, source, "DM701") == []


def test_per_worker_connections_in_on_startup_are_correct(tmp_path: Path) -> None:
    source = APP + (
        "import sqlite3\n"
        "import threading\n"
        "import redis\n"
        "from sqlalchemy import create_engine\n\n"
        "ready = threading.Event()\n"
        "ENGINES = {}\n\n"
        "@config.on_startup\n"
        "async def connect():\n"
        "    ENGINES['main'] = create_engine('postgresql://db/sales')\n"
        "    cache = redis.Redis(host='cache')\n"
        "    cache.ping()\n"
        "    db = sqlite3.connect('local.db')\n"
        "    db.execute('SELECT 1')\n"
        "    ready.set()\n"
    )
    assert findings(tmp_path, source, "DM702", "DM205") == []


def test_external_store_writes_at_startup(tmp_path: Path) -> None:
    source = APP + (
        "import boto3\n"
        "import pandas as pd\n"
        "import redis\n"
        "from sqlalchemy import create_engine\n\n"
        "cache = redis.Redis(host='cache')\n"
        "engine = create_engine('postgresql://db/sales')\n"
        "s3 = boto3.client('s3')\n\n"
        "async def seed() -> None:\n"
        "    cache.hset('prices', mapping={'a': 1})\n"
        "    pd.DataFrame({'a': [1]}).to_sql('prices', engine)\n"
        "    frame = pd.DataFrame({'a': [1]})\n"
        "    frame.to_sql('prices', engine)\n"
        "    with engine.connect() as conn:\n"
        "        conn.execute('INSERT INTO audit VALUES (1)')\n"
        "    s3.put_object(Bucket='b', Key='k', Body=b'')\n\n"
        "config.on_startup(seed)\n"
    )
    found = findings(tmp_path, source, "DM702")
    assert [(f.line, f.severity) for f in found] == [
        (14, "warning"), (15, "warning"), (17, "warning"), (19, "warning"), (20, "warning")]
    assert "a database (a writing execute())" in found[3].message


def test_sql_written_through_text_a_name_or_the_driver_is_a_startup_write(
        tmp_path: Path) -> None:
    # SQLAlchemy 2 takes `text(...)` only; a plain string is SQLAlchemy 1's or a driver's.
    source = APP + (
        "import sqlalchemy as sa\n"
        "from sqlalchemy import create_engine, text\n\n"
        "engine = create_engine('postgresql://db/sales')\n\n"
        "async def seed() -> None:\n"
        "    sql = 'DELETE FROM audit'\n"
        "    with engine.begin() as conn:\n"
        "        conn.execute(text(\"INSERT INTO audit(event) VALUES ('start')\"))\n"
        "        conn.execute(sa.text('UPDATE audit SET n = 0'))\n"
        "        conn.exec_driver_sql('TRUNCATE audit')\n"
        "        conn.execute(text(sql))\n"
        "        conn.execute(text('SELECT 1'))\n\n"
        "config.on_startup(seed)\n"
    )
    found = findings(tmp_path, source, "DM702")
    assert [f.line for f in found] == [12, 13, 14, 15]
    assert "a database (a writing exec_driver_sql())" in found[2].message


def test_helper_also_used_by_requests_is_not_startup(tmp_path: Path) -> None:
    source = APP + (
        "from dara.core import ServerVariable, action\n\n"
        "rows = ServerVariable(uid='rows')\n\n"
        "async def refresh() -> None:\n"
        "    await rows.write([1])\n\n"
        "@action\n"
        "async def reload(ctx: action.Ctx):\n"
        "    await refresh()\n\n"
        "config.on_startup(refresh)\n"
    )
    assert findings(tmp_path, source, "DM702") == []


def test_seeded_variable_rewritten_on_startup_is_also_dm204(tmp_path: Path) -> None:
    source = APP + (
        "from dara.core import ServerVariable\n\n"
        "limits = ServerVariable(default={'max': 1}, uid='limits')\n\n"
        "@config.on_startup\n"
        "async def reset():\n"
        "    await limits.write({'max': 2})\n"
    )
    found = findings(tmp_path, source, "DM204", "DM702")
    assert [(f.line, f.rule, f.severity) for f in found] == [
        (6, "DM204", "warning"), (10, "DM702", "warning")]


def test_a_startup_write_through_a_helper_s_parameter_is_reported_at_the_call(
        tmp_path: Path) -> None:
    """`seed(rows, [])` from on_startup writes `rows` (also through a helper handing it on);
    the same helper given a dict, or given the variable by an action, writes no startup
    state."""
    files = {
        "app/store.py": "async def seed(var, value):\n"
        "    await var.write(value)\n\n"
        "async def seed_twice(target):\n"
        "    await seed(target, [])\n\n"
        "def merge(into, extra):\n"
        "    into.update(extra)\n",
        "app/main.py": APP + "from dara.core import ServerVariable, action\n\n"
        "from app.store import merge, seed, seed_twice\n\n"
        "rows = ServerVariable(uid='rows')\n"
        "totals = ServerVariable(uid='totals')\n"
        "DEFAULTS = {}\n\n"
        "@config.on_startup\n"
        "async def warm():\n"
        "    await seed(rows, [])\n"
        "    await seed_twice(totals)\n"
        "    merge(DEFAULTS, {'a': 1})\n\n"
        "@action\n"
        "async def reload(ctx: action.Ctx):\n"
        "    await seed(rows, [1])\n",
    }
    found = findings(tmp_path, files, "DM702")
    assert [(f.path, f.line) for f in found] == [("app/main.py", 14), ("app/main.py", 15)]
    assert "writes the ServerVariable rows (.write() in seed())" in found[0].message
    assert "writes the ServerVariable totals (.write() in seed())" in found[1].message


def test_rule_runs_without_deployment_files(tmp_path: Path) -> None:
    root = write_tree(tmp_path, {"app/main.py": APP})
    _, project = run_audit(root)
    ctx = Context(project.index, project.settings, project.selected, project.known_apps)
    assert list(StartupSharedWrites().check(ctx)) == []
    assert len(list(UnsharedSecret().check(ctx))) == 1


@pytest.mark.parametrize(("env", "shared"), [
    ("jwt_secret=abc\n", True),  # Dara compares the names without regard to case
    ("export JWT_SECRET='abc'\n", True),
    ("JWT_SECRET_KEY=abc\n", False),  # another setting
    ("OLD_JWT_SECRET=abc\nDARA_JWT_SECRETS=x\n", False),
])
def test_the_secret_is_named_as_a_whole_name_in_any_case(tmp_path: Path, env: str,
                                                         shared: bool) -> None:
    root = write_tree(tmp_path, {"app/main.py": APP, ".env": env})
    assert (unshared_secret(root) == []) is shared


def test_a_python_name_that_only_contains_the_secrets_name_does_not_count(
        tmp_path: Path) -> None:
    found = findings(tmp_path, APP + "DARA_JWT_SECRET = 'x'\n", "DM701")
    assert [f.line for f in found] == [3]


def _two_apps(extra: dict[str, str]) -> dict[str, str]:
    app = "from dara.core import ConfigurationBuilder\n\nconfig = ConfigurationBuilder()\n"
    return {
        "apps/dash/pyproject.toml": '[project]\nname = "dash"\n',
        "apps/dash/dash/main.py": app,
        "apps/admin/pyproject.toml": '[project]\nname = "admin"\n',
        "apps/admin/admin/main.py": "import auth\n\n" + app,
        "apps/admin/.env": "JWT_SECRET=from-the-vault\n",
        **extra,
    }


def test_another_apps_deployment_does_not_configure_this_one(tmp_path: Path) -> None:
    root = write_tree(tmp_path, _two_apps({}))
    [found] = unshared_secret(root)
    assert found.path == "apps/dash/dash/main.py"
    assert found.message.startswith(
        "no file of app 'dash.main:config' names JWT_SECRET (apps/admin/.env is no module of it "
        "and lies outside its project folder), so each worker of app 'dash.main:config' signs "
        "sessions")


def test_a_file_above_the_apps_or_a_module_they_import_configures_them(tmp_path: Path) -> None:
    compose = {"docker-compose.yml": "services:\n  dash:\n    environment:\n"
               "      - JWT_SECRET=${JWT_SECRET}\n"}
    assert unshared_secret(write_tree(tmp_path / "compose", _two_apps(compose))) == []
    shared = {"apps/dash/dash/main.py": "import common.auth\n" + _two_apps({})[
        "apps/dash/dash/main.py"], "libs/common/auth.py": "import os\n\n"
        "SECRET = os.environ['JWT_SECRET']\n", "pyproject.toml": '[project]\nname = "acme"\n'}
    assert unshared_secret(write_tree(tmp_path / "shared", _two_apps(shared))) == []
