"""Apps that run with several folders on `sys.path`: a monorepo whose apps have no project
file of their own (`apps/forecast/forecast/...`, imported as `forecast.*`) and import a shared
library folder next to them (`shared/widgets/...`, imported as `widgets.*`), as
`PYTHONPATH=apps/forecast:shared dara start` runs them (tests/fixtures/shared_lib_repo).
The audit follows the imports into the shared folder, and `verify` and the build proof of
`apply` put every folder the app imports from on the build's `PYTHONPATH`."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dara_migrate.cli import app as cli
from dara_migrate.engine import audit
from dara_migrate.predictions import site_findings
from dara_migrate.proof import build_target
from dara_migrate.settings import load_settings
from dara_migrate.verify.replay import SiteFinding
from dara_migrate.verify.targets import app_builds
from tests.helpers import run_audit, write_tree

REPO = Path(__file__).parent / "fixtures" / "shared_lib_repo"
FORECAST = "config (apps/forecast/forecast/app_factory.py:8)"


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("search-path") / "shared_lib_repo"
    shutil.copytree(REPO, root)
    return root


def test_a_shared_folder_module_is_found_from_an_app_that_imports_it(repo: Path) -> None:
    result, project = run_audit(repo)
    [card] = [f for f in result.findings if f.path == "shared/widgets/cards.py"]
    # Called from the forecast app's page at build time: a literal uid is safe, and the
    # finding is the forecast app's.
    assert (card.rule, card.fix) == ("DM101", "safe")
    [forecast] = [a for a in project.apps if a.facts.path.startswith("apps/forecast/")]
    assert card.apps == (forecast.key,)
    assert "nothing in the project calls this code" not in card.message


def test_a_one_word_or_ambiguous_import_is_not_guessed(tmp_path: Path) -> None:
    root = write_tree(tmp_path, {
        "tools/state.py": "items = {}\n",
        "left/widgets/cards.py": "def card():\n    return 1\n",
        "right/widgets/cards.py": "def card():\n    return 2\n",
        "app/main.py": "import state\nfrom widgets.cards import card\n",
    })
    index = run_audit(root)[1].index
    main = index.files["app/main.py"]
    # `import state` may be the standard library's or any installed module's, and two
    # folders end with `widgets/cards.py`: neither names a project module.
    assert index.module_named("state", main) is None
    assert index.module_named("widgets.cards", main) is None
    assert index.search_path(["app/main.py"]) == []


def test_verify_builds_each_app_with_every_folder_it_imports_from(repo: Path) -> None:
    project = run_audit(repo)[1]
    builds = {build.config: build for build in app_builds(project, repo, None)}
    forecast = builds["forecast.main:config"]
    assert forecast.folder == repo.resolve()
    assert forecast.import_root == repo.resolve() / "apps" / "forecast"
    assert forecast.search_path == (repo.resolve() / "shared",)
    assert forecast.home == repo.resolve() / "apps" / "forecast" / "forecast"
    paths = forecast.environment({"PYTHONPATH": "/extra"})["PYTHONPATH"].split(":")
    assert paths == [str(repo.resolve() / "apps" / "forecast"), str(repo.resolve() / "shared"),
                     "/extra"]
    ops = builds["apps.ops.ops.main:config"]
    assert (ops.import_root, ops.search_path) == (None, ())


def test_the_build_proof_imports_the_config_as_the_app_runs(repo: Path) -> None:
    project = run_audit(repo)[1]
    targets = {t.label: t for app in project.apps
               if (t := build_target(project, app)) is not None}
    forecast = targets[FORECAST]
    assert (forecast.root, forecast.config, forecast.search_path) == (
        "apps/forecast", "forecast.main:config", ("shared",))
    assert "shared/widgets/cards.py" in forecast.files


@pytest.mark.slow
def test_verify_builds_both_apps_and_keeps_a_manifest_each(repo: Path, tmp_path: Path) -> None:
    copy = tmp_path / "repo"
    shutil.copytree(repo, copy)
    result = CliRunner().invoke(cli, ["verify", str(copy), "--format", "json"])
    assert result.exit_code == 1, result.output  # unstable ids remain: no build failed
    documents = {d["config"]: d for d in json.loads(result.stdout)}
    assert set(documents) == {"forecast.main:config", "apps.ops.ops.main:config"}
    assert all(d["build"] == "ok" for d in documents.values())
    forecast = json.loads(
        (copy / "apps" / "forecast" / "forecast" / "dara-manifest.json").read_text())
    ops = json.loads((copy / "apps" / "ops" / "ops" / "dara-manifest.json").read_text())
    assert (forecast["config"], ops["config"]) == ("forecast.main:config",
                                                   "apps.ops.ops.main:config")
    assert not (copy / "dara-manifest.json").exists()
    built = {d["path"] for d in forecast["definitions"]}
    assert "shared/widgets/cards.py" in built
    # Each app is cross-checked against its own modules only.
    assert "apps/ops/ops/main.py" not in json.dumps(documents["forecast.main:config"])


@pytest.mark.slow
def test_apply_proves_both_apps(repo: Path, tmp_path: Path) -> None:
    copy = tmp_path / "repo"
    shutil.copytree(repo, copy)
    result = CliRunner().invoke(cli, ["apply", str(copy), "--yes", "--allow-dirty",
                                      "--no-cache"])
    assert result.exit_code in (0, 1), result.output
    assert "build proof: 2 apps built twice with the migration" in result.stderr
    assert "not proven" not in result.stderr
    # cards.py has no plain string: the project's double-quoted strings decide.
    assert 'uid="shared.widgets.cards:kpi_card.total"' in (
        copy / "shared" / "widgets" / "cards.py").read_text()


def test_imports_of_the_apps_own_folders_count_as_first_party(repo: Path,
                                                              tmp_path: Path) -> None:
    # `forecast.*` is the app's own package as it runs: the runtime import joins the
    # third-party block, above it, as isort and ruff sort it.
    copy = tmp_path / "repo"
    shutil.copytree(repo, copy)
    result = CliRunner().invoke(cli, ["apply", str(copy), "--yes", "--allow-dirty",
                                      "--no-cache", "--no-build-check", "--target", "v2"])
    assert result.exit_code in (0, 1), result.output
    head = (copy / "apps" / "forecast" / "forecast" / "app_factory.py").read_text()
    assert head.startswith(
        "import os\n\n"
        "from dara.core import ConfigurationBuilder\n"
        "from dara.core.auth import BasicAuthConfig\n"
        "from dara.core.runtime import RuntimeScope, ValkeyDistributedBackend\n"
        "\n"
        "from forecast.pages.overview import overview\n")


LIBRARY_OUTSIDE_THE_APP = {
    # Each app and the library a project of its own; the library lies outside the app's
    # folder, so a build names what the library makes by the app's call into it.
    "pyproject.toml": '[project]\nname = "acme"\n',
    "libs/common/pyproject.toml": '[project]\nname = "acme-common"\n',
    "libs/common/acme_common/widgets.py": (
        "from dara.core import DerivedVariable, Variable\n"
        "\n"
        "\n"
        "def make_counter(label: str):\n"
        "    count = Variable(0)\n"
        "    return DerivedVariable(lambda c: f'{label}: {c}', variables=[count])\n"
    ),
    "apps/dash/pyproject.toml": '[project]\nname = "dash"\n',
    "apps/dash/acme_dash/main.py": (
        "from dara.components import Text\n"
        "from dara.core import ConfigurationBuilder\n"
        "\n"
        "from acme_common.widgets import make_counter\n"
        "\n"
        "clicks = make_counter('Clicks')\n"
        "config = ConfigurationBuilder()\n"
        "config.router.add_page(path='home', content=lambda: Text(clicks), id='home')\n"
    ),
}


@pytest.mark.slow
def test_what_a_library_outside_the_app_makes_is_predicted_at_the_apps_call(
        tmp_path: Path) -> None:
    root = write_tree(tmp_path, LIBRARY_OUTSIDE_THE_APP)
    result = CliRunner().invoke(cli, ["verify", str(root), "--format", "json"])
    document = json.loads(result.stdout)  # one app: one document
    assert document["build"] == "ok", result.output
    made = [(d["path"], d["line"], d["rule"]) for d in document["definitions"]
            if d["kind"] == "derived_variable"]
    assert made == [("acme_dash/main.py", 6, "DM101")]
    assert document["unseen_by_audit"] == []


def test_a_librarys_findings_are_at_the_apps_calls_for_the_worker_replay(
        tmp_path: Path) -> None:
    # The replay names what a library makes by the app's call into it, as a build does: a
    # finding (and its marker) on the library's definition must be found there.
    root = write_tree(tmp_path, LIBRARY_OUTSIDE_THE_APP)
    settings = load_settings(root, {"use_cache": False})
    project = audit(settings, [root])[1]
    [dash] = project.apps
    found = site_findings(project, root / "apps" / "dash", dash.key)
    assert SiteFinding("DM101", "acme_dash/main.py", 6, "open") in found
    assert all(not f.path.startswith("..") for f in found)


@pytest.mark.slow
def test_verify_given_the_apps_folder_checks_the_librarys_findings(tmp_path: Path) -> None:
    root = write_tree(tmp_path, LIBRARY_OUTSIDE_THE_APP)
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    result = CliRunner().invoke(cli, ["verify", str(root / "apps" / "dash"), "--format", "json"])
    document = json.loads(result.stdout)
    assert document["build"] == "ok", result.output
    made = [(d["path"], d["line"], d["rule"]) for d in document["definitions"]
            if d["kind"] == "derived_variable"]
    assert made == [("acme_dash/main.py", 6, "DM101")]


@pytest.mark.slow
def test_apply_in_the_apps_folder_builds_it_with_the_library_around_it(tmp_path: Path) -> None:
    # The app is a project of its own; the library is not read, but the app needs it to build.
    main = "apps/dash/acme_dash/main.py"
    source = LIBRARY_OUTSIDE_THE_APP[main].replace(
        "import ConfigurationBuilder", "import ConfigurationBuilder, DerivedVariable").replace(
        "config = ", "picked = DerivedVariable(lambda c: c, variables=[clicks])\nconfig = ")
    root = write_tree(tmp_path, {**LIBRARY_OUTSIDE_THE_APP, main: source})
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    result = CliRunner().invoke(cli, ["apply", str(root / "apps" / "dash"), "--dry-run",
                                      "--no-cache", "--target", "1.x"])
    assert "build proof: 1 app built twice with the migration" in result.stderr, result.output


LIBRARY_MODULE_STATE = {
    **LIBRARY_OUTSIDE_THE_APP,
    "libs/common/acme_common/layout.py": (
        "from dara.core import DerivedVariable, Variable\n"
        "from dara.core.persistence import BackendStore\n"
        "\n"
        "user = Variable('anonymous', uid='acme_common.layout:user')\n"
        "greeting = DerivedVariable(lambda u: f'Hello, {u}', variables=[user])\n"
        "audit_store = BackendStore(uid='acme_common.layout:audit_store')\n"
    ),
    "apps/dash/acme_dash/pages.py": (
        "from dara.components import Text\n"
        "\n"
        "from acme_common.layout import greeting\n"
        "\n"
        "\n"
        "def home():\n"
        "    return Text(greeting)\n"
    ),
    "apps/dash/acme_dash/main.py": LIBRARY_OUTSIDE_THE_APP["apps/dash/acme_dash/main.py"]
    .replace("from acme_common.widgets", "from acme_dash.pages import home\n"
             "from acme_common.layout import user\nfrom acme_common.widgets"),
}


@pytest.mark.slow
def test_what_a_library_module_makes_is_predicted_at_the_apps_imports(tmp_path: Path) -> None:
    # A library's module-level definition is built, and named, at the app's first import of
    # that module (either import may be the first); a store no Variable uses is never built.
    root = write_tree(tmp_path, LIBRARY_MODULE_STATE)
    result = CliRunner().invoke(cli, ["verify", str(root), "--format", "json"])
    document = json.loads(result.stdout)
    assert document["build"] == "ok", result.output
    made = sorted((d["path"], d["line"], d["rule"]) for d in document["definitions"]
                  if d["kind"] == "derived_variable")
    # `main.py` imports `acme_dash.pages` first, whose line 3 imports the library module.
    assert made == [("acme_dash/main.py", 8, "DM101"), ("acme_dash/pages.py", 3, "DM101")]
    assert document["unseen_by_audit"] == []
    assert document["not_built"] == []
