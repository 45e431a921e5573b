"""One app model: every rule, the verdicts, `apps` in the settings and `apply` name an app
the same way, however its config is built and bound."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from dara_migrate.cli import app
from tests.helpers import write_tree

FACTORY_APP = Path(__file__).parent / "fixtures" / "factory_app"
"""A namespace package (no `__init__.py`) whose config a factory in another module returns
unbound (`return ConfigurationBuilder()`); `storefront/main.py` binds it as `dash`."""

NAMED_IN_MESSAGE = re.compile(r"app '(?P<name>[^']+)'")


def audit_json(root: Path) -> dict[str, Any]:
    result = CliRunner().invoke(app, ["audit", str(root), "--format", "json", "--no-cache"])
    assert result.exit_code in (0, 1), result.output
    report: dict[str, Any] = json.loads(result.stdout)
    return report


def copy_with_settings(tmp_path: Path, settings: str) -> Path:
    root = tmp_path / "factory_app"
    shutil.copytree(FACTORY_APP, root)
    with (root / "pyproject.toml").open("a", encoding="utf-8") as pyproject:
        pyproject.write(f"\n[tool.dara-migrate]\n{settings}\n")
    return root


def test_rules_and_verdict_name_a_factory_built_app_by_its_binding() -> None:
    report = audit_json(FACTORY_APP)
    [verdict] = report["apps"]
    assert (verdict["name"], verdict["path"], verdict["verdict"]) == (
        "dash", "storefront/bootstrap.py", "fixable")
    app_findings = [f for f in report["findings"] if f["rule"] in ("DM201", "DM701")]
    assert sorted(f["rule"] for f in app_findings) == ["DM201", "DM701"]
    for finding in app_findings:
        named = NAMED_IN_MESSAGE.search(finding["message"])
        # By its key: the module holding the name `dara start --config` imports, and the name.
        assert named is not None and named["name"] == f"storefront.main:{verdict['name']}", (
            finding["message"])
    [runtime] = [f for f in app_findings if f["rule"] == "DM201"]
    assert "declare it with dash.configure_runtime(...)" in runtime["message"]
    assert runtime["fix"] == "safe"
    assert [r["path"] for r in runtime["related"]] == ["storefront/state.py"]


@pytest.mark.parametrize("listed", ["storefront.main:dash", "storefront.bootstrap:dash",
                                    "storefront/bootstrap.py:dash"])
def test_listing_the_app_in_the_settings_changes_nothing(tmp_path: Path, listed: str) -> None:
    unlisted = audit_json(FACTORY_APP)
    listed_report = audit_json(copy_with_settings(tmp_path, f'apps = ["{listed}"]'))
    assert listed_report["apps"] == unlisted["apps"]
    assert [(f["rule"], f["path"], f["line"], f["message"], f["fix"], f["status"])
            for f in listed_report["findings"]] == [
        (f["rule"], f["path"], f["line"], f["message"], f["fix"], f["status"])
        for f in unlisted["findings"]]


def test_settings_that_list_another_app_leave_this_one_out(tmp_path: Path) -> None:
    report = audit_json(copy_with_settings(tmp_path, 'apps = ["storefront.main:admin"]'))
    assert report["apps"] == []
    [runtime] = [f for f in report["findings"] if f["rule"] == "DM201"]
    assert (runtime["path"], runtime["fix"]) == ("storefront/state.py", "manual")


SAME_MODULE_FACTORY = {
    "shop/__init__.py": "",
    "shop/state.py": "from dara.core import ServerVariable\n\n"
    "orders = ServerVariable(default=[], uid='shop.state:orders')\n",
    "shop/main.py": "import dara.core as dc\n\n"
    "from shop import state\n\n\n"
    "def build_config() -> dc.ConfigurationBuilder:\n"
    "    return dc.ConfigurationBuilder()\n\n\n"
    "dash = build_config()\n"
    "dash.title = 'Shop'\n",
    "pyproject.toml": "[project]\nname = 'shop'\ndependencies = ['dara-core>=1.30']\n\n"
    "[tool.dara-migrate]\napps = ['shop.main:dash']\n",
}


def test_a_listed_factory_built_app_is_fixed_under_its_own_name(tmp_path: Path) -> None:
    root = write_tree(tmp_path, SAME_MODULE_FACTORY)
    report = audit_json(root)
    assert [(a["name"], a["verdict"]) for a in report["apps"]] == [("dash", "fixable")]
    [runtime] = [f for f in report["findings"] if f["rule"] == "DM201"]
    assert (runtime["path"], runtime["line"], runtime["fix"]) == ("shop/main.py", 7, "safe")
    assert "app 'shop.main:dash'" in runtime["message"]
    result = CliRunner().invoke(app, ["apply", str(root), "--yes", "--no-cache",
                                      "--no-build-check", "--allow-dirty"])
    assert result.exit_code == 0, result.output
    written = (root / "shop" / "main.py").read_text(encoding="utf-8")
    declared = written.split("dash = build_config()\n", 1)[1]
    assert "\nif os.environ.get('DARA_VALKEY_URL'):\n    dash.configure_runtime(\n" in declared
    assert [(a["name"], a["verdict"]) for a in audit_json(root)["apps"]] == [("dash", "ready")]


SHARED_FACTORY = {
    "commons/bootstrap.py": "from dara.core import ConfigurationBuilder\n\n\n"
    "def build_config(title: str) -> ConfigurationBuilder:\n"
    "    config = ConfigurationBuilder()\n"
    "    config.title = title\n"
    "    return config\n",
    "orders/main.py": "from commons.bootstrap import build_config\n\n"
    "dash = build_config('Orders')\n",
    "billing/main.py": "from commons.bootstrap import build_config\n\n"
    "dash = build_config('Billing')\n",
    "pyproject.toml": "[project]\nname = 'services'\ndependencies = ['dara-core>=1.30']\n",
}


@pytest.mark.parametrize(("listed", "kept"), [
    ("orders.main:dash", ["orders/main.py"]), ("billing.main:dash", ["billing/main.py"]),
    ("commons.bootstrap:config", ["billing/main.py", "orders/main.py"]),
    ("billing.main:config", [])])
def test_each_service_a_shared_factory_builds_is_an_app_of_its_own(
        tmp_path: Path, listed: str, kept: list[str]) -> None:
    # Each service starts its own config (`dara start orders.main:dash`): an app each, named
    # by its module; the factory's own name (its `config` local) names every app it builds.
    files = {**SHARED_FACTORY}
    files["pyproject.toml"] += f"\n[tool.dara-migrate]\napps = ['{listed}']\n"
    report = audit_json(write_tree(tmp_path, files))
    assert [(a["name"], a["path"]) for a in report["apps"]] == [("dash", path) for path in kept]


@pytest.mark.parametrize("command", [["audit", "--no-cache"],
                                     ["apply", "--dry-run", "--no-cache", "--no-build-check"],
                                     ["report", "--no-cache"]])
def test_each_listed_app_that_names_nothing_is_one_warning_and_the_others_still_run(
        tmp_path: Path, command: list[str]) -> None:
    files = {**SHARED_FACTORY}
    files["pyproject.toml"] += ("\n[tool.dara-migrate]\napps = "
                                "['orders.main:dash', 'billing.main:config', 'ordres:dash']\n")
    root = write_tree(tmp_path, files)
    result = CliRunner().invoke(app, [command[0], str(root), *command[1:]])
    assert result.exit_code in (0, 1), result.output
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert warnings == [
        f"warning: {root / 'pyproject.toml'}: [tool.dara-migrate] apps lists {entry!r}, which "
        "names no ConfigurationBuilder of the project (give it as module:name)"
        for entry in ("billing.main:config", "ordres:dash")]
    assert "no Dara app found" not in result.stdout
    assert "Traceback" not in result.output


_FACTORY = ("from dara.core import ConfigurationBuilder\n\n\n"
            "def make():\n    return ConfigurationBuilder()\n")


def test_each_factory_built_app_is_named_by_the_name_bound_to_its_own_config(
        tmp_path: Path) -> None:
    """Services whose factories sit at the same place in same-named modules: each app takes
    the name its own service binds; where two modules of a service bind it, each is an app
    (each starts its own config), a test module's binding none."""
    files = {"pyproject.toml": "[project]\nname = 'services'\n"
                               "dependencies = ['dara-core>=1.30']\n"}
    for service, names in (("alpha", {"main": "dash", "test_main": "probe"}),
                           ("beta", {"app": "board", "zz_alias": "other"}),
                           ("gamma", {"main": "portal"})):
        files[f"{service}/bootstrap.py"] = _FACTORY
        for module, name in names.items():
            files[f"{service}/{module}.py"] = (f"from {service}.bootstrap import make\n\n"
                                               f"{name} = make()\n")
    report = audit_json(write_tree(tmp_path, files))
    assert sorted((a["name"], a["path"]) for a in report["apps"]) == [
        ("board", "beta/app.py"), ("dash", "alpha/bootstrap.py"), ("other", "beta/zz_alias.py"),
        ("portal", "gamma/bootstrap.py")]


def test_apply_declares_a_factory_built_runtime_where_the_config_is_bound(
        tmp_path: Path) -> None:
    """DM201 is found at the factory's `ConfigurationBuilder()`; its fix goes after the
    binding in another module, not behind the escape hatch."""
    root = tmp_path / "factory_app"
    shutil.copytree(FACTORY_APP, root)
    result = CliRunner().invoke(app, ["apply", str(root), "--yes", "--no-cache",
                                      "--no-build-check", "--allow-dirty"])
    assert result.exit_code == 0, result.output
    assert "kept process-local" not in result.output
    main = (root / "storefront" / "main.py").read_text(encoding="utf-8")
    declared = main.split("dash = build_config()\n", 1)[1]
    assert declared.startswith("# dara-migrate (DM201)")
    assert "    dash.configure_runtime(\n" in declared
    assert "unsafe_runtime_mode" not in main
    bootstrap = (root / "storefront" / "bootstrap.py").read_text(encoding="utf-8")
    assert bootstrap == (FACTORY_APP / "storefront" / "bootstrap.py").read_text(encoding="utf-8")
    report = audit_json(root)
    assert [(a["name"], a["verdict"]) for a in report["apps"]] == [("dash", "ready")]
    assert not [f for f in report["findings"] if f["rule"] == "DM201"]


def test_apply_keeps_local_only_the_service_of_a_shared_factory_that_needs_it(
        tmp_path: Path) -> None:
    """Billing writes a module-level dict at request time, orders does not: billing's own
    module gets the escape hatch, the shared factory and orders stay as they were."""
    files = {**SHARED_FACTORY}
    files["billing/main.py"] = (
        "from dara.core import action\n\n"
        "from commons.bootstrap import build_config\n\n"
        "dash = build_config('Billing')\n"
        "PAID = {}\n\n\n"
        "@action\n"
        "async def pay(ctx, invoice):\n"
        "    PAID[invoice] = True\n")
    root = write_tree(tmp_path, files)
    before = audit_json(root)
    assert [(a["path"], a["line"], a["verdict"]) for a in before["apps"]] == [
        ("billing/main.py", 5, "blocked"), ("orders/main.py", 3, "fixable")]
    result = CliRunner().invoke(app, ["apply", str(root), "--yes", "--no-cache",
                                      "--no-build-check", "--allow-dirty"])
    assert result.exit_code == 1, result.output
    assert "app dash (billing/main.py:8): kept process-local" in result.output
    billing = (root / "billing" / "main.py").read_text(encoding="utf-8")
    assert "dash.unsafe_runtime_mode = 'local'" in billing.split("dash = build_config(", 1)[1]
    orders = (root / "orders" / "main.py").read_text(encoding="utf-8")
    assert "dash.configure_runtime(" in orders and "unsafe_runtime_mode" not in orders
    bootstrap = (root / "commons" / "bootstrap.py").read_text(encoding="utf-8")
    assert bootstrap == files["commons/bootstrap.py"]
    after = audit_json(root)
    assert [(a["path"], a["verdict"]) for a in after["apps"]] == [
        ("billing/main.py", "local"), ("orders/main.py", "ready")]


FACTORY_CLASS = {
    "insights/app.py": (
        "from dara.core import ConfigurationBuilder\n"
        "\n"
        "from insights.pages import home\n"
        "\n"
        "\n"
        "class InsightsApp:\n"
        "    def __init__(self) -> None:\n"
        "        self.config = ConfigurationBuilder()\n"
        "\n"
        "    def build(self) -> ConfigurationBuilder:\n"
        "        self.config.router.add_page(path='/', content=home)\n"
        "        return self.config\n"
        "\n"
        "\n"
        "config = InsightsApp().build()\n"
    ),
    "insights/pages.py": (
        "from dara.core import DerivedVariable, Variable\n"
        "from dara.components import Text\n"
        "\n"
        "region = Variable('EU')\n"
        "\n"
        "\n"
        "class Panel:\n"
        "    def render(self):\n"
        "        shown = DerivedVariable(lambda r: r, variables=[region])\n"
        "        return Text(shown)\n"
        "\n"
        "\n"
        "def home():\n"
        "    return Panel().render()\n"
    ),
}


def test_a_method_called_on_a_new_instance_runs_when_its_caller_does(tmp_path: Path) -> None:
    # `InsightsApp().build()` and `Panel().render()`: the methods run at build time, as they
    # would bound to a name first, so the uid fix of what `render` defines is safe.
    report = audit_json(write_tree(tmp_path, FACTORY_CLASS))
    [shown] = [f for f in report["findings"] if f["path"] == "insights/pages.py"]
    assert (shown["rule"], shown["fix"]) == ("DM101", "safe")
    assert "nothing in the project calls this code" not in shown["message"]
    [route] = [f for f in report["findings"] if f["rule"] == "DM108"]
    assert route["fix"] == "safe"
    assert [a["name"] for a in report["apps"]] == ["config"]


LOCAL_BUILDER = {
    "orders/factory.py": (
        '"""The orders app\'s config, built the same way for every deployment."""\n'
        "\n"
        "import dara.core as dc\n"
        "\n"
        "\n"
        "def make_config(title: str = 'Orders') -> dc.ConfigurationBuilder:\n"
        "    builder = dc.ConfigurationBuilder()\n"
        "    builder.title = title\n"
        "    return builder\n"
    ),
    "orders/wiring.py": (
        "from orders import factory\n"
        "\n"
        "\n"
        "def configured():\n"
        "    return factory.make_config('Orders')\n"
    ),
    "orders/main.py": (
        "from dara.core import ServerVariable, Variable, action\n"
        "from dara.components import Button, Stack\n"
        "\n"
        "from orders.wiring import configured\n"
        "\n"
        "clicks = Variable(0)\n"
        "basket = ServerVariable(default=[], uid='orders.main:basket')\n"
        "\n"
        "\n"
        "@action\n"
        "async def bump(ctx):\n"
        "    value = await clicks.get_current_value()\n"
        "    await ctx.update(clicks, value + 1)\n"
        "\n"
        "\n"
        "def orders_page():\n"
        "    return Stack(Button('Bump', onclick=bump()))\n"
        "\n"
        "\n"
        "config = configured()\n"
        "config.add_page('Orders', orders_page)\n"
    ),
    "pyproject.toml": "[project]\nname = 'orders'\ndependencies = ['dara-core>=1.30,<2']\n",
}
"""A namespace package whose factory binds the builder to a local `builder`, reached through
another factory of another module; `orders/main.py` imports it as `config`."""


def test_an_app_whose_factory_binds_a_local_name_is_named_as_dara_start_imports_it(
        tmp_path: Path) -> None:
    root = write_tree(tmp_path, LOCAL_BUILDER)
    report = audit_json(root)
    [verdict] = report["apps"]
    assert (verdict["name"], verdict["path"], verdict["line"]) == (
        "config", "orders/factory.py", 7)
    by_rule = {f["rule"]: f for f in report["findings"]
               if f["rule"] in ("DM201", "DM701")}
    assert sorted(by_rule) == ["DM201", "DM701"]
    for finding in by_rule.values():
        named = NAMED_IN_MESSAGE.search(finding["message"])
        assert named is not None and named["name"] == "orders.main:config", finding["message"]
    # Declarations go where the builder is bound, under the name it has there.
    assert "declare it with builder.configure_runtime(...)" in by_rule["DM201"]["message"]

    text = CliRunner().invoke(app, ["audit", str(root), "--no-cache"])
    assert "app config (orders/factory.py:7): " in text.output
    assert "builder (" not in text.output and "'builder'" not in text.output

    # DM401 cannot be fixed: apply keeps the app process-local, in its factory.
    applied = CliRunner().invoke(app, ["apply", str(root), "--dry-run", "--no-cache",
                                       "--no-build-check"])
    assert applied.exit_code == 1, applied.output
    assert "app config (orders/factory.py:7): kept process-local" in applied.output
    assert "\n+    builder.unsafe_runtime_mode = 'local'\n" in applied.output


def test_verify_builds_the_app_under_the_name_audit_gives_it(tmp_path: Path) -> None:
    from dara_migrate.engine import audit
    from dara_migrate.files import find_root
    from dara_migrate.settings import load_settings
    from dara_migrate.verify.targets import app_builds

    root = write_tree(tmp_path, LOCAL_BUILDER)
    result, project = audit(load_settings(find_root([root]), {"use_cache": False}), [root])
    [build] = app_builds(project, root, None)
    assert build.config == "orders.main:config"
    assert [a.name for a in result.apps] == [build.config.split(":")[1]]
    # Keyed as it is imported (reports, `apply --report`'s escape hatch list), not by the
    # name the builder has in its factory; that name still picks the app.
    assert [app.key for app in project.apps] == ["orders.main:config"]
    assert [b.config for b in app_builds(project, root, "orders.factory:builder")] == [
        "orders.main:config"]


BUILDER_SUBCLASS = {
    "pyproject.toml": "[project]\nname = \"insights\"\n\n[tool.dara-migrate]\ntarget = \"v2\"\n",
    "insights/app_config.py": (
        "import dara.core as dc\n"
        "from dara.components import Text\n"
        "\n"
        "\n"
        "def ping(channel, message):\n"
        "    return message\n"
        "\n"
        "\n"
        "class BaseConfig(dc.ConfigurationBuilder):\n"
        "    def __init__(self) -> None:\n"
        "        super().__init__()\n"
        "        self.title = 'Insights'\n"
        "\n"
        "\n"
        "class InsightsConfig(BaseConfig):\n"
        "    def __init__(self) -> None:\n"
        "        super().__init__()\n"
        "        self.router.add_page(path='about', content=Text('About'))\n"
        "        self.add_ws_handler('ping', ping)\n"
    ),
    "insights/main.py": (
        "from dara.core import ServerVariable\n"
        "from dara.components import Text\n"
        "\n"
        "from insights.app_config import InsightsConfig\n"
        "\n"
        "config = InsightsConfig()\n"
        "rows = ServerVariable(default=[], uid='insights.main:rows')\n"
        "config.router.add_page(path='home', content=lambda: Text('hi'))\n"
    ),
}


def test_an_instance_of_a_builder_subclass_is_an_app(tmp_path: Path) -> None:
    report = audit_json(write_tree(tmp_path, BUILDER_SUBCLASS))
    assert [(a["name"], a["path"], a["line"]) for a in report["apps"]] == [
        ("config", "insights/main.py", 6)]
    found = sorted((f["rule"], f["path"], f["line"]) for f in report["findings"])
    assert found == [
        ("DM108", "insights/app_config.py", 18),
        ("DM108", "insights/main.py", 8),
        ("DM201", "insights/main.py", 6),
        ("DM204", "insights/main.py", 7),
        ("DM402", "insights/app_config.py", 19),
        ("DM701", "insights/main.py", 6),
    ]


def test_apply_declares_the_runtime_after_a_builder_subclass_instance(tmp_path: Path) -> None:
    without_websocket = BUILDER_SUBCLASS["insights/app_config.py"].replace(
        "        self.add_ws_handler('ping', ping)\n", "")
    root = write_tree(tmp_path, {**BUILDER_SUBCLASS, "insights/app_config.py": without_websocket})
    result = CliRunner().invoke(app, ["apply", str(root), "--yes", "--no-cache",
                                      "--no-build-check", "--allow-dirty"])
    assert result.exit_code == 0, result.output
    main = (root / "insights" / "main.py").read_text(encoding="utf-8")
    declared = main.split("config = InsightsConfig()\n", 1)[1]
    assert declared.startswith("# dara-migrate (DM201)")
    assert "config.configure_runtime(" in declared


def test_a_method_of_a_builder_subclass_runs_when_its_instance_calls_it(tmp_path: Path) -> None:
    app_config = BUILDER_SUBCLASS["insights/app_config.py"] + (
        "\n"
        "    def register_pages(self) -> None:\n"
        "        self.router.add_page(path='team', content=Text('Team'))\n")
    main = BUILDER_SUBCLASS["insights/main.py"] + "config.register_pages()\n"
    files = {**BUILDER_SUBCLASS, "insights/app_config.py": app_config, "insights/main.py": main}
    report = audit_json(write_tree(tmp_path, files))
    [team] = [f for f in report["findings"] if f["rule"] == "DM108" and f["line"] == 22]
    assert team["fix"] == "safe"


def test_a_factory_built_app_is_named_by_the_module_that_starts_it_not_by_a_test(
        tmp_path: Path) -> None:
    # `tests/test_app.py` sorts before `web/main.py`, and binds the factory's config too.
    root = write_tree(tmp_path, {
        "pyproject.toml": "[project]\nname = 'web'\ndependencies = ['dara-core>=1.30']\n",
        "web/bootstrap.py": _FACTORY,
        "web/main.py": "from web.bootstrap import make\n\nconfig = make()\n",
        "tests/test_app.py": "from web.bootstrap import make\n\nconfig = make()\n\n\n"
                             "def test_title():\n    assert config.title is None\n",
    })
    report = audit_json(root)
    assert [(a["name"], a["path"]) for a in report["apps"]] == [("config", "web/bootstrap.py")]
    [runtime] = [f for f in report["findings"] if f["rule"] == "DM201"]
    assert "app 'web.main:config'" in runtime["message"]
