"""A monorepo whose apps use the same package name (`app`), as services often do: each app's
imports resolve inside its own source root, and findings belong to the app that imports them."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from dara_migrate.cli import app as cli
from tests.helpers import run_audit, write_tree

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
    result, project = run_audit(monorepo(tmp_path))
    keys = sorted(app.key for app in project.apps)
    assert keys == ["services/billing/app/main.py:config", "services/orders/app/main.py:config"]
    verdicts = {v.path: v.verdict for v in result.apps}
    assert verdicts == {"services/billing/app/main.py": "fixable",
                        "services/orders/app/main.py": "fixable"}


def test_apply_fixes_each_service_in_its_own_package(tmp_path: Path) -> None:
    root = monorepo(tmp_path)
    outcome = CliRunner().invoke(cli, ["apply", str(root), "--yes", "--no-cache",
                                       "--target", "1.x"])
    assert outcome.exit_code == 0, outcome.stderr
    assert "uid='app.pages:double'" in (root / "services/orders/app/pages.py").read_text()
    assert "uid='app.pages:billing_page.shown'" in (
        root / "services/billing/app/pages.py").read_text()
    result, _ = run_audit(root)
    assert [f for f in result.findings if f.severity == "error" and f.status == "open"] == []
