"""Monorepos: apps that use the same package name (`app`), as services often do, resolve
their imports inside their own folder and own the findings of what they import; apps that
pin different dara-core majors each get their own profile, app id and verify build."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dara_migrate.cli import app as cli
from tests.helpers import run_audit, write_tree

TWO_MAJORS = Path(__file__).parent / "fixtures" / "monorepo"

MAIN = (
    "from dara.core import ConfigurationBuilder\n"
    "from app.pages import {page}\n"
    "\n"
    "config = ConfigurationBuilder()\n"
    "config.add_page('{title}', content={page})\n"
)

ORDERS_PAGES = (
    "from dara.core import DerivedVariable, Variable, py_component\n"
    "from dara.components import Text\n"
    "\n"
    "count = Variable(0)\n"
    "double = DerivedVariable(lambda c: c * 2, variables=[count])\n"
    "\n"
    "\n"
    "def orders_page():\n"
    "    return Text('orders')\n"
)

BILLING_PAGES = (
    "from dara.core import DerivedVariable, Variable\n"
    "from dara.components import Text\n"
    "\n"
    "\n"
    "def billing_page():\n"
    "    total = Variable(0, uid='billing-total')\n"
    "    shown = DerivedVariable(lambda t: t, variables=[total])\n"
    "    return Text(shown)\n"
)


def monorepo(root: Path) -> Path:
    return write_tree(root, {
        "services/orders/app/__init__.py": "",
        "services/orders/app/main.py": MAIN.format(page="orders_page", title="Orders"),
        "services/orders/app/pages.py": ORDERS_PAGES,
        "services/billing/app/__init__.py": "",
        "services/billing/app/main.py": MAIN.format(page="billing_page", title="Billing"),
        "services/billing/app/pages.py": BILLING_PAGES,
    })


def test_each_app_resolves_its_own_package(tmp_path: Path) -> None:
    result, project = run_audit(monorepo(tmp_path))
    orders = "services/orders/app/pages.py"
    billing = "services/billing/app/pages.py"
    found = {(f.path, f.line, f.rule): f for f in result.findings if f.rule == "DM101"}
    assert set(found) == {(orders, 5, "DM101"), (billing, 7, "DM101")}
    # `billing_page` is found through billing's own `app.pages`: it runs at build time.
    assert "nothing in the project calls this code" not in found[(billing, 7, "DM101")].message
    assert found[(orders, 5, "DM101")].apps == tuple(
        a.key for a in project.apps if a.facts.path.startswith("services/orders/"))
    assert found[(billing, 7, "DM101")].apps == tuple(
        a.key for a in project.apps if a.facts.path.startswith("services/billing/"))


def test_apps_own_only_the_files_of_their_root(tmp_path: Path) -> None:
    _, project = run_audit(monorepo(tmp_path))
    by_root = {app.facts.path.split("/")[1]: app for app in project.apps}
    assert set(by_root) == {"orders", "billing"}
    for name, app in by_root.items():
        assert app.files == {f"services/{name}/app/{module}.py"
                             for module in ("__init__", "main", "pages")}


def test_apps_with_the_same_module_and_name_get_distinct_keys(tmp_path: Path) -> None:
    for service in ("orders", "billing"):
        write_tree(tmp_path, {f"services/{service}/pyproject.toml":
                              f'[project]\nname = "{service}"\n'})
    result, project = run_audit(monorepo(tmp_path))
    keys = sorted(app.key for app in project.apps)
    assert keys == ["services/billing/app/main.py:config", "services/orders/app/main.py:config"]
    assert sorted(app.app_id for app in project.apps) == ["billing", "orders"]
    verdicts = {v.path: v.verdict for v in result.apps}
    assert verdicts == {"services/billing/app/main.py": "fixable",
                        "services/orders/app/main.py": "fixable"}


def test_apply_fixes_each_service_in_its_own_package(tmp_path: Path) -> None:
    root = monorepo(tmp_path)
    outcome = CliRunner().invoke(cli, ["apply", str(root), "--yes", "--no-cache",
                                       "--no-build-check", "--target", "1.x"])
    assert outcome.exit_code == 0, outcome.stderr
    # Without a project file of their own, modules are named from the repository root.
    assert "uid='services.orders.app.pages:double'" in (
        root / "services/orders/app/pages.py").read_text()
    assert "uid='services.billing.app.pages:billing_page.shown'" in (
        root / "services/billing/app/pages.py").read_text()
    result, _ = run_audit(root)
    assert [f for f in result.findings if f.severity == "error" and f.status == "open"] == []


@pytest.fixture(scope="module")
def two_majors(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The two-major monorepo after `apply --yes` (profile auto), verified from its root."""
    root = tmp_path_factory.mktemp("monorepo") / "repo"
    shutil.copytree(TWO_MAJORS, root)
    applied = CliRunner().invoke(cli, ["apply", str(root), "--yes", "--no-cache"])
    assert applied.exit_code == 0, applied.stderr
    (root / "apply.log").write_text(applied.stderr, encoding="utf-8")
    return root


def test_each_app_gets_the_profile_and_app_id_of_its_own_project(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    shutil.copytree(TWO_MAJORS, root)
    result, project = run_audit(root, target=None)
    by_project = {app.project: app for app in project.apps}
    assert {name: (app.target, app.app_id) for name, app in by_project.items()} == {
        "legacy": ("1.x", "legacy-reports"), "nextgen": ("v2", "nextgen-ops")}
    assert by_project["legacy"].target_reason == "dara-core>=1.30,<2 in legacy/pyproject.toml"
    runtime = {f.path: f.status for f in result.findings if f.rule == "DM201"}
    assert runtime == {"legacy/reports/main.py": "pending", "nextgen/ops/main.py": "open"}
    assert result.target_lines() == [
        "target 1.x for app config (legacy/reports/main.py): "
        "dara-core>=1.30,<2 in legacy/pyproject.toml",
        "target v2 for app config (nextgen/ops/main.py): "
        "dara-core>=2.0 in nextgen/pyproject.toml allows 2.x",
    ]


def test_same_file_names_in_two_apps_get_different_uids(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    shutil.copytree(TWO_MAJORS, root)
    result, _ = run_audit(root, target=None)
    uids = {f.path: f.suggested_uid for f in result.findings if f.rule == "DM101"}
    assert uids["legacy/reports/pages/overview.py"] == (
        "reports.pages.overview:overview_page.revenue")
    assert uids["nextgen/ops/pages/overview.py"] == "ops.pages.overview:overview_page.backlog"


@pytest.mark.slow
def test_apply_declares_the_runtime_only_for_the_v2_app(two_majors: Path) -> None:
    log = (two_majors / "apply.log").read_text(encoding="utf-8")
    # The build proof built each app of the monorepo in its own folder before writing.
    assert "build proof: 2 apps built twice with the migration, fixed ids stable" in log
    assert log.splitlines()[:2] == [
        "target 1.x for app config (legacy/reports/main.py): "
        "dara-core>=1.30,<2 in legacy/pyproject.toml",
        "target v2 for app config (nextgen/ops/main.py): "
        "dara-core>=2.0 in nextgen/pyproject.toml allows 2.x",
    ]
    nextgen = (two_majors / "nextgen/ops/main.py").read_text(encoding="utf-8")
    assert "config.configure_runtime(" in nextgen and "app_id='nextgen-ops'" in nextgen
    assert "configure_runtime" not in (two_majors / "legacy/reports/main.py").read_text(
        encoding="utf-8")
    result, _ = run_audit(two_majors, target=None)
    left = {(f.path, f.rule, f.status) for f in result.findings
            if f.severity == "error" and f.status in ("open", "pending")}
    assert ("legacy/reports/main.py", "DM201", "pending") in left
    assert not [f for f in left if f[2] == "open" and f[1] != "DM701"]


@pytest.mark.slow
def test_verify_builds_each_app_in_its_own_folder(two_majors: Path) -> None:
    outcome = CliRunner().invoke(cli, ["verify", str(two_majors), "--format", "json"])
    assert outcome.exit_code == 0, outcome.output
    documents = {d["config"]: d for d in json.loads(outcome.stdout)}
    assert set(documents) == {"reports.main:config", "ops.main:config"}
    for config, folder in (("reports.main:config", "legacy"), ("ops.main:config", "nextgen")):
        written = two_majors / folder / "dara-manifest.json"
        assert documents[config]["manifest"] == written.as_posix()
        assert json.loads(written.read_text(encoding="utf-8"))["config"] == config
        assert documents[config]["unstable"] == {}
    assert not (two_majors / "dara-manifest.json").exists()
    assert documents["reports.main:config"]["stand_ins"] == []
    assert documents["ops.main:config"]["stand_ins"]
    assert documents["ops.main:config"]["runtime"]["scope"]["app_id"] == "nextgen-ops"


@pytest.mark.slow
def test_verify_config_picks_one_app_of_the_monorepo(two_majors: Path) -> None:
    outcome = CliRunner().invoke(cli, ["verify", str(two_majors), "--config",
                                       "reports.main:config", "--format", "json"])
    assert outcome.exit_code == 0, outcome.output
    assert json.loads(outcome.stdout)["config"] == "reports.main:config"


@pytest.mark.slow
def test_verify_from_inside_an_app_builds_it_from_its_project(two_majors: Path) -> None:
    manifest = two_majors / "legacy" / "dara-manifest.json"
    manifest.unlink(missing_ok=True)
    outcome = CliRunner().invoke(cli, ["verify", str(two_majors / "legacy/reports/pages"),
                                       "--format", "json"])
    assert outcome.exit_code == 0, outcome.output
    assert json.loads(outcome.stdout)["config"] == "reports.main:config"
    assert manifest.is_file()


def test_apply_warns_when_apps_would_share_an_app_id(tmp_path: Path) -> None:
    root = monorepo(tmp_path)
    outcome = CliRunner().invoke(cli, ["apply", str(root), "--dry-run", "--no-cache",
                                       "--no-build-check", "--target", "v2"])
    assert ("apps config (services/billing/app/main.py:7), config "
            "(services/orders/app/main.py:7) share app_id 'example-app'") in outcome.stderr


def test_a_module_no_app_imports_belongs_to_the_only_app_of_its_project(
        tmp_path: Path) -> None:
    root = monorepo(tmp_path)
    for service in ("orders", "billing"):
        write_tree(root, {f"services/{service}/pyproject.toml":
                          f'[project]\nname = "{service}"\n'})
    # A page module the app stopped importing, as a gallery app keeps an unfinished page.
    draft = "services/orders/app/draft.py"
    write_tree(root, {draft: (
        "from dara.core import DerivedVariable, Variable\n"
        "from dara.components import Text\n"
        "\n"
        "\n"
        "def draft_page():\n"
        "    count = Variable(0)\n"
        "    return Text(DerivedVariable(lambda c: c, variables=[count]))\n"
    )})
    whole, project = run_audit(root)
    alone, _ = run_audit(root / "services" / "orders")
    (orders,) = [a.key for a in project.apps if a.facts.path.startswith("services/orders/")]
    assert [f.apps for f in whole.findings if f.path == draft and f.rule == "DM101"] == [
        (orders,)]
    errors = {v.path.removeprefix("services/orders/"): v.errors for v in whole.apps}
    assert errors["app/main.py"] == {v.path: v.errors for v in alone.apps}["app/main.py"]
    outcome = CliRunner().invoke(cli, ["apply", str(root), "--yes", "--no-cache",
                                       "--no-build-check", "--target", "1.x"])
    # The draft's uid fix is unsafe (nothing calls it), so orders keeps one error, marked.
    assert outcome.exit_code == 1 and "1 error remains" in outcome.stderr, outcome.stderr
    assert "local-only[DM101]" in (root / draft).read_text()
    result, _ = run_audit(root)
    assert [f.status for f in result.findings if f.path == draft and f.rule == "DM101"] == [
        "acknowledged"]


def test_a_broken_table_of_a_project_not_asked_for_does_not_stop_the_run(
        tmp_path: Path) -> None:
    # `audit apps/a apps/b` reads the repository around them for its code; apps/c's table
    # (an unknown key) governs none of the files asked for.
    main = ("from dara.core import ConfigurationBuilder, DerivedVariable\n\n"
            "config = ConfigurationBuilder()\n"
            "total = DerivedVariable(lambda: 1, variables=[])\n")
    root = write_tree(tmp_path, {
        "apps/a/pyproject.toml": "[project]\nname = 'a'\n",
        "apps/a/app/main.py": main,
        "apps/b/pyproject.toml": "[project]\nname = 'b'\n",
        "apps/b/app/main.py": main,
        "apps/c/pyproject.toml": "[project]\nname = 'c'\n[tool.dara-migrate]\nbogus = 1\n",
        "apps/c/app/main.py": main,
    })
    apps = root / "apps"
    asked = CliRunner().invoke(cli, ["audit", str(apps / "a"), str(apps / "b"), "--no-cache",
                                     "--format", "json"])
    assert asked.exit_code == 1, asked.output
    assert {f["path"].rpartition("apps/")[2] for f in json.loads(asked.stdout)["findings"]} == {
        "a/app/main.py", "b/app/main.py"}
    governed = CliRunner().invoke(cli, ["audit", str(apps), "--no-cache"])
    assert governed.exit_code == 2
    assert "apps/c/pyproject.toml: unknown key 'bogus'" in governed.stderr



def test_a_project_file_that_is_not_toml_stops_only_a_run_over_its_apps(tmp_path: Path) -> None:
    # Its apps' target is read from it: a run over the other apps has no use for it.
    main = ("from dara.core import ConfigurationBuilder, DerivedVariable\n\n"
            "config = ConfigurationBuilder()\n"
            "total = DerivedVariable(lambda: 1, variables=[])\n")
    root = write_tree(tmp_path, {
        "apps/a/pyproject.toml": "[project]\nname = 'a'\n",
        "apps/a/app_a/main.py": main,
        "apps/b/pyproject.toml": "[project\nname = 'b'\n",
        "apps/b/app_b/main.py": main,
        "apps/c/pyproject.toml": "[project]\nname = 'c'\n",
        "apps/c/app_c/main.py": main,
    })
    apps = root / "apps"
    other = CliRunner().invoke(cli, ["audit", str(apps / "a"), str(apps / "c"), "--no-cache"])
    assert other.exit_code == 1, other.output
    broken = CliRunner().invoke(cli, ["audit", str(apps), "--no-cache"])
    assert broken.exit_code == 2
    assert "apps/b/pyproject.toml: cannot read pyproject.toml" in broken.stderr


def test_a_build_error_of_an_app_in_the_monorepo_names_its_file_from_the_root(
        tmp_path: Path) -> None:
    shutil.copytree(TWO_MAJORS / "legacy", tmp_path / "legacy")
    (tmp_path / "legacy" / "reports" / "main.py").write_text(
        "from dara.core import ConfigurationBuilder\n\n"
        "config = ConfigurationBuilder()\n"
        "raise ValueError('no reports database configured')\n", encoding="utf-8")
    outcome = CliRunner().invoke(cli, ["verify", str(tmp_path), "--format", "json"])
    assert outcome.exit_code == 2, outcome.output
    assert ("legacy/reports/main.py:4: build failed: ValueError: no reports database "
            "configured") in outcome.stderr
    assert json.loads(outcome.stdout)["error"]["frame"] == "legacy/reports/main.py:4"


def test_an_app_importing_a_shared_folder_through_a_link_builds_from_its_own_folder(
        tmp_path: Path) -> None:
    # `alpha/shared -> ../../../libs/shared`: the library is read at its own path, but the
    # app imports it as `alpha.shared`, so it still builds from `apps/alpha`.
    from dara_migrate.verify.targets import app_builds

    root = write_tree(tmp_path, {
        "libs/shared/__init__.py": "",
        "libs/shared/widgets.py": "from dara.core import Variable\n\nbase = Variable(1)\n",
        "apps/alpha/pyproject.toml": "[project]\nname = 'alpha'\n",
        "apps/alpha/alpha/__init__.py": "",
        "apps/alpha/alpha/main.py": (
            "from dara.core import ConfigurationBuilder\n"
            "from alpha.shared.widgets import base\n\n"
            "config = ConfigurationBuilder()\n"),
    })
    (root / "apps/alpha/alpha/shared").symlink_to(Path("../../../libs/shared"))
    _, project = run_audit(root)
    (build,) = app_builds(project, root, None)
    assert (build.folder, build.config) == (root / "apps/alpha", "alpha.main:config")
