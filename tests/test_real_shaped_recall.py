"""Recall on real-shaped apps: plain dotted imports of project modules, pages registered from
a loop over a literal collection, definitions made per dataclass instance and keyword
arguments given as a `**mapping` the same scope spells out."""

from __future__ import annotations

from pathlib import Path

import pytest

from dara_migrate.engine import Project
from dara_migrate.models import AuditResult
from tests.helpers import run_audit, write_tree


def findings(result: AuditResult) -> set[tuple[str, int, str, str | None]]:
    return {(f.path, f.line, f.rule, f.fix) for f in result.findings
            if f.rule not in ("DM201", "DM701")}


def _pages(app: str) -> str:
    return (
        "from dara.components import Stack, Text\n"
        "from dara.core import ConfigurationBuilder, Variable\n"
        "\n"
        "from shared.metrics import totals_variable\n"
        "\n"
        "\n"
        "def register(config: ConfigurationBuilder) -> None:\n"
        f"    rows = Variable([1, 2, 3], uid='{app}-rows')\n"
        "    totals = totals_variable(rows)\n"
        f"    config.router.add_page(path='{app}', content=Stack(Text(totals)), id='{app}')\n"
    )


def _main(app: str) -> str:
    return (
        f"import apps.{app}.pages\n"
        "from dara.core import ConfigurationBuilder\n"
        "\n"
        "config = ConfigurationBuilder()\n"
        f"apps.{app}.pages.register(config)\n"
    )


FINANCE_SUITE = {
    # `apps/` and `shared/` are namespace packages: no `__init__.py` anywhere.
    "shared/metrics.py": (
        "from dara.core import DerivedVariable, Variable\n"
        "\n"
        "\n"
        "def totals_variable(rows: Variable) -> DerivedVariable:\n"
        "    return DerivedVariable(lambda r: sum(r or []), variables=[rows])\n"
    ),
    "apps/billing/pages.py": _pages("billing"),
    "apps/billing/main.py": _main("billing"),
    "apps/sales/pages.py": _pages("sales"),
    "apps/sales/main.py": _main("sales"),
    "tests/test_billing.py": (
        "import apps.billing.main\n"
        "\n"
        "\n"
        "def test_billing_has_a_router() -> None:\n"
        "    assert apps.billing.main.config.router is not None\n"
    ),
}
"""Two apps, each started on its own, whose entry modules reach their pages through a plain
`import apps.<app>.pages`; both pages call one shared helper once."""


@pytest.fixture(scope="module")
def finance_suite(tmp_path_factory: pytest.TempPathFactory) -> tuple[AuditResult, Project]:
    return run_audit(write_tree(tmp_path_factory.mktemp("finance"), FINANCE_SUITE))


def test_a_plain_dotted_import_is_an_edge_to_the_full_module(
        finance_suite: tuple[AuditResult, Project]) -> None:
    index = finance_suite[1].index
    assert index.imports["apps/billing/main.py"] == {"apps/billing/pages.py"}
    assert index.imports["tests/test_billing.py"] == {"apps/billing/main.py"}
    binding = index.module_bindings["tests/test_billing.py"]["apps"]
    assert (binding.target, binding.imported_module) == ("apps", "apps.billing.main")
    resolved = index.resolve(index.files["tests/test_billing.py"], 0, "apps.billing.main.config")
    assert resolved.instance_of == "ConfigurationBuilder"


def test_an_app_owns_the_modules_it_imports_by_a_dotted_name(
        finance_suite: tuple[AuditResult, Project]) -> None:
    files = {app.facts.path: sorted(app.files) for app in finance_suite[1].apps}
    assert files == {
        "apps/billing/main.py": ["apps/billing/main.py", "apps/billing/pages.py",
                                 "shared/metrics.py"],
        "apps/sales/main.py": ["apps/sales/main.py", "apps/sales/pages.py", "shared/metrics.py"],
    }


def test_a_helper_each_app_process_calls_once_gets_a_literal_uid(
        finance_suite: tuple[AuditResult, Project]) -> None:
    result = finance_suite[0]
    assert findings(result) == {("shared/metrics.py", 5, "DM101", "safe")}
    shared = next(f for f in result.findings if f.rule == "DM101")
    assert shared.apps == ("apps.billing.main:config", "apps.sales.main:config")
