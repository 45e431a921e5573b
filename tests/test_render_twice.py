"""After `apply --yes --target 1.x`, every py_component of a migrated app renders twice.

A uid added by the migration to a definition that is created while rendering is
registered again on every render; if dara rejected the duplicate, the first render would
pass and the second would fail. So each app is migrated in a copy, built offline with the
real dara-core in a fresh subprocess (dara's registries are process-global), served in
memory through its real FastAPI app, and every py_component instance reachable from the
pages is POSTed to `/api/core/components/{definition}` twice, as the JS client does.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dara_migrate.cli import app

# Builds or serves real apps with dara-core: left out of `make test-fast`.
pytestmark = pytest.mark.slow

HERE = Path(__file__).parent
APPS = {  # name -> (app root, config path)
    "runtime_defs_app": (HERE / "fixtures" / "apps" / "runtime_defs_app",
                         "runtime_defs_app.main:config"),
    "sales_dashboard": (HERE.parent / "examples" / "sales_dashboard",
                        "sales_dashboard.main:config"),
}

# Runs inside the app root with the interpreter that has dara-core. The build is the one in
# tests/fixtures/build_app.py; after it the ASGI lifespan runs (TestClient as a context
# manager) so the Store, TaskManager and RegistryLookup that the component route needs exist.
RENDER_SCRIPT = r'''
import contextlib, json, os, sys, tempfile, traceback, warnings

MAX_INSTANCES = 200  # a safety net against a py_component that nests itself forever


def resolve(var):
    """The value the JS client sends for a dynamic kwarg in its initial state, or None."""
    kind = var.get('__typename') if isinstance(var, dict) else None
    if kind == 'Variable':
        return True, var.get('default')
    if kind == 'DerivedVariable':
        values = []
        for dep in var.get('variables') or []:
            ok, value = resolve(dep)
            if not ok:
                return False, None
            values.append(value)
        return True, {'type': 'derived', 'uid': var['uid'], 'values': values,
                      'force_key': None, 'nested': var.get('nested') or []}
    if kind == 'ServerVariable':
        return True, {'type': 'server', 'uid': var['uid'], 'sequence_number': 0}
    return False, None


def instances(tree, found):
    """Serialized PyComponentInstances in a JSON tree (name = definition uid). They are told
    apart by their props, not by the registry: a py_component definition is only registered
    when it is first called, so children appear in it during rendering."""
    if isinstance(tree, dict):
        props = tree.get('props') if 'uid' in tree else None
        if isinstance(props, dict) and {'func_name', 'dynamic_kwargs'} <= props.keys():
            found.append(tree)
        for value in tree.values():
            instances(value, found)
    elif isinstance(tree, list):
        for value in tree:
            instances(value, found)
    return found


def main(config_path):
    sys.dont_write_bytecode = True
    sys.path.insert(0, os.getcwd())
    from fastapi.encoders import jsonable_encoder
    from fastapi.testclient import TestClient

    from dara.core.internal.normalization import denormalize
    from dara.core.internal.utils import import_config
    from dara.core.main import _start_application

    module, config = import_config(config_path)
    config.static_files_dir = tempfile.mkdtemp(prefix='dara-render-static-')
    config._run_discovery(module)
    cfg = config._to_configuration()
    fastapi_app = _start_application(cfg)

    queue = []
    for route in cfg.router.to_route_map().values():
        if route.content is not None:
            instances(jsonable_encoder(route.content), queue)

    rendered, failures, skipped, seen = [], [], [], set()
    with TestClient(fastapi_app) as client:
        login = client.post('/api/auth/session', json={})
        assert login.status_code == 200, login.text
        # The cookie is scoped to a domain the test client does not use, so send it by hand.
        headers = {'Cookie': f"dara_session_token={login.cookies['dara_session_token']}"}
        client.cookies.clear()
        while queue and len(seen) < MAX_INSTANCES:
            inst = queue.pop(0)
            if inst['uid'] in seen:
                continue
            seen.add(inst['uid'])
            label = inst['props'].get('func_name') or inst['name']
            values = {}
            for name, var in inst['props']['dynamic_kwargs'].items():
                ok, values[name] = resolve(var)
                if not ok:
                    skipped.append({'component': label, 'kwarg': name})
                    break
            else:
                body = {'uid': inst['uid'], 'values': {'data': values, 'lookup': {}},
                        'ws_channel': 'render-twice'}
                url = f"/api/core/components/{inst['name']}"
                statuses = []
                for attempt in (1, 2):
                    try:
                        response = client.post(url, json=body, headers=headers)
                    except Exception as exc:  # the test client re-raises server errors
                        failures.append({'component': label, 'attempt': attempt,
                                         'error': f'{type(exc).__name__}: {exc}'})
                        break
                    statuses.append(response.status_code)
                    if response.status_code != 200:
                        error = f'HTTP {response.status_code}: {response.text[:500]}'
                        failures.append({'component': label, 'attempt': attempt, 'error': error})
                        break
                    if attempt == 1:  # the second render's children are the same, with new uids
                        payload = response.json()
                        if isinstance(payload, dict) and 'data' in payload and 'lookup' in payload:
                            instances(denormalize(payload['data'], payload['lookup']), queue)
                if statuses == [200, 200]:
                    rendered.append(label)
    return {'ok': True, 'rendered': rendered, 'failures': failures, 'skipped': skipped}


if __name__ == '__main__':
    real_stdout = sys.stdout
    try:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            with contextlib.redirect_stdout(sys.stderr):
                summary = main(sys.argv[1])
    except BaseException as exc:
        traceback.print_exc(file=sys.stderr)
        summary = {'ok': False, 'error': f'{type(exc).__name__}: {exc}'}
    json.dump(summary, real_stdout)
'''


def render_twice(root: Path, config_path: str, script: Path) -> dict[str, object]:
    script.write_text(RENDER_SCRIPT, encoding="utf-8")
    # SKIP_JSBUILD: no JS build; DARA_TEST_FLAG: no metrics server, settings from .env.test.
    env = {**os.environ, "SKIP_JSBUILD": "TRUE", "DARA_TEST_FLAG": "TRUE"}
    done = subprocess.run([sys.executable, str(script), config_path], cwd=root, env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    try:
        summary: dict[str, object] = json.loads(done.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"render script printed no JSON (exit {done.returncode}):\n"
                    f"{done.stderr[-4000:]}")
    assert summary.get("ok"), f"{summary.get('error')}\n{done.stderr[-4000:]}"
    return summary


@pytest.mark.parametrize("name", sorted(APPS))
def test_every_py_component_renders_twice_after_apply(name: str, tmp_path: Path) -> None:
    source, config_path = APPS[name]
    root = tmp_path / source.name
    shutil.copytree(source, root, ignore=shutil.ignore_patterns(".dara-migrate-cache"))
    applied = CliRunner().invoke(app, ["apply", str(root), "--yes", "--target", "1.x",
                                       "--no-cache"])
    # 1 means findings that cannot be fixed automatically remain; the app must still work.
    assert applied.exit_code in (0, 1), applied.output

    summary = render_twice(root, config_path, tmp_path / "render_twice.py")

    assert summary["failures"] == [], summary["failures"]
    assert summary["skipped"] == [], "a dynamic kwarg of an unsupported kind was not rendered"
    rendered = summary["rendered"]
    assert isinstance(rendered, list) and rendered, "no py_component was rendered"
