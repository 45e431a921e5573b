"""Recall on real-shaped apps: plain dotted imports of project modules, pages registered from
a loop over a literal collection, definitions made per dataclass instance and keyword
arguments given as a `**mapping` the same scope spells out."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from dara_migrate.cli import app as cli
from dara_migrate.engine import Project
from dara_migrate.facts import extract_facts
from dara_migrate.models import AuditResult
from dara_migrate.verify.targets import repository_root
from tests.helpers import apply_fixes, examples, run_audit, write_tree


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


SHOP_PAGES = (
    "from dara.components import Stack, Text\n"
    "from dara.core import DerivedVariable, Variable\n"
    "\n"
    "visits = Variable(0)\n"
    "\n"
    "\n"
    "def home():\n"
    "    doubled = DerivedVariable(lambda v: v * 2, variables=[visits])\n"
    "    return Stack(Text(doubled))\n"
    "\n"
    "\n"
    "def sales():\n"
    "    total = DerivedVariable(lambda v: v + 1, variables=[visits])\n"
    "    return Stack(Text(total))\n"
    "\n"
    "\n"
    "def about():\n"
    "    shown = DerivedVariable(lambda v: -v, variables=[visits])\n"
    "    return Stack(Text(shown))\n"
)
"""Three page functions, each making one DerivedVariable (lines 8, 13 and 18)."""

PAGE_LINES = {"home": 8, "sales": 13, "about": 18}


def shop(root: Path, registration: str) -> Path:
    return write_tree(root, {
        "shop/pages.py": SHOP_PAGES,
        "shop/main.py": (
            "from dara.core import ConfigurationBuilder\n"
            "\n"
            "from shop.pages import about, home, sales\n"
            "\n"
            "config = ConfigurationBuilder()\n"
            f"{registration}"
        ),
    })


def page_answers(result: AuditResult) -> dict[str, tuple[str, str | None]]:
    """Page function -> (rule, fix) of the finding on the definition it makes."""
    by_line = {line: page for page, line in PAGE_LINES.items()}
    return {by_line[f.line]: (f.rule, f.fix) for f in result.findings
            if f.path == "shop/pages.py" and f.line in by_line}


@pytest.mark.parametrize("registration", [
    "for path, page in [('/', home), ('/sales', sales)]:\n"
    "    config.router.add_page(path=path, content=page)\n",
    "ROUTES = (('/', home), ('/sales', sales))\n"
    "\n"
    "\n"
    "def register(config: ConfigurationBuilder) -> None:\n"
    "    for path, content in ROUTES:\n"
    "        config.router.add_page(path=path, content=content)\n"
    "\n"
    "\n"
    "register(config)\n",
], ids=["literal-pairs", "module-level-constant"])
def test_each_element_of_a_literal_route_loop_is_one_build_time_route(
        tmp_path: Path, registration: str) -> None:
    result, _ = run_audit(shop(tmp_path, registration))
    assert page_answers(result) == {
        "home": ("DM101", "safe"), "sales": ("DM101", "safe"), "about": ("DM101", "unsafe")}


def test_a_page_on_two_elements_of_a_literal_route_loop_runs_twice(tmp_path: Path) -> None:
    result, _ = run_audit(shop(tmp_path, (
        "for path, page in [('/', home), ('/home', home), ('/sales', sales)]:\n"
        "    config.router.add_page(path=path, content=page)\n")))
    assert page_answers(result) == {
        "home": ("DM104", "manual"), "sales": ("DM101", "safe"), "about": ("DM101", "unsafe")}


@pytest.mark.parametrize("registration", [
    "def load_routes():\n"
    "    return [('/', home), ('/sales', sales)]\n"
    "\n"
    "\n"
    "for path, page in load_routes():\n"
    "    config.router.add_page(path=path, content=page)\n",
    "ROUTES = [('/', home), ('/about', about)]\n"
    "ROUTES[1] = ('/sales', sales)\n"
    "for path, page in ROUTES:\n"
    "    config.router.add_page(path=path, content=page)\n",
    "ROUTES = [('/', home), ('/sales', sales)]\n"
    "ROUTES.sort()\n"
    "for path, page in ROUTES:\n"
    "    config.router.add_page(path=path, content=page)\n",
    "for path, page in [('/', home), ('/sales', sales)]:\n"
    "    for suffix in ('', '/all'):\n"
    "        config.router.add_page(path=path + suffix, content=page)\n",
], ids=["computed", "item-replaced", "sorted-in-place", "inner-loop"])
def test_a_route_loop_over_anything_else_keeps_the_unknown_answer(
        tmp_path: Path, registration: str) -> None:
    result, _ = run_audit(shop(tmp_path, registration))
    assert page_answers(result) == {
        "home": ("DM101", "unsafe"), "sales": ("DM101", "unsafe"), "about": ("DM101", "unsafe")}


PORTAL = {
    "portal/pages/catalog.py": (
        "from dataclasses import dataclass\n"
        "from typing import Callable, NamedTuple\n"
        "\n"
        "from dara.components import Stack, Text\n"
        "from dara.core import DerivedVariable, Variable\n"
        "from dara.core.definitions import ComponentInstance\n"
        "\n"
        "clicks = Variable(0, uid='clicks')\n"
        "\n"
        "\n"
        "def overview() -> ComponentInstance:\n"
        "    return Stack(Text(DerivedVariable(lambda c: c, variables=[clicks])))\n"
        "\n"
        "\n"
        "def forecast() -> ComponentInstance:\n"
        "    return Stack(Text(DerivedVariable(lambda c: c * 3, variables=[clicks])))\n"
        "\n"
        "\n"
        "def archive() -> ComponentInstance:\n"
        "    return Stack(Text(DerivedVariable(lambda c: c - 1, variables=[clicks])))\n"
        "\n"
        "\n"
        "@dataclass(frozen=True)\n"
        "class PageSpec:\n"
        "    name: str\n"
        "    content: Callable[[], ComponentInstance]\n"
        "\n"
        "\n"
        "class Shortcut(NamedTuple):\n"
        "    title: str\n"
        "    content: Callable[[], ComponentInstance]\n"
        "\n"
        "\n"
        "PAGES = [PageSpec('Overview', overview), PageSpec(name='Forecast', content=overview)]\n"
        "SHORTCUTS = (Shortcut('Archive', archive), Shortcut('Forecast', forecast))\n"
    ),
    "portal/main.py": (
        "from dara.core import ConfigurationBuilder\n"
        "\n"
        "from portal.pages.catalog import PAGES, SHORTCUTS\n"
        "\n"
        "config = ConfigurationBuilder()\n"
        "\n"
        "\n"
        "def register(config: ConfigurationBuilder) -> None:\n"
        "    for page in PAGES:\n"
        "        config.add_page(name=page.name, content=page.content)\n"
        "    for shortcut in SHORTCUTS:\n"
        "        config.add_page(shortcut.title, shortcut.content)\n"
        "\n"
        "\n"
        "register(config)\n"
    ),
}
"""Pages registered from module-level lists of records: `overview` is on two routes."""


def test_records_in_a_module_level_list_are_routes_by_their_fields(tmp_path: Path) -> None:
    result, project = run_audit(write_tree(tmp_path, PORTAL))
    answers = {(f.line, f.rule, f.fix) for f in result.findings
               if f.path == "portal/pages/catalog.py"}
    assert answers == {(12, "DM104", "manual"), (16, "DM101", "safe"), (20, "DM101", "safe")}
    index = project.index
    callers = {index.scope(ref).name: sorted(edge.via for edge in edges)
               for ref, edges in index.callers.items() if ref[0] == "portal/pages/catalog.py"
               and index.scope(ref).name in ("overview", "forecast", "archive")}
    # Making a record stores the function: only the routes run it.
    assert callers == {"overview": ["route content", "route content"],
                       "forecast": ["route content"], "archive": ["route content"]}


BOARD_STATE = (
    "from dataclasses import dataclass, field\n"
    "from typing import ClassVar\n"
    "\n"
    "from dara.core import DerivedVariable, Variable\n"
    "\n"
    "regions = Variable(['EU'], uid='regions')\n"
    "\n"
    "\n"
    "def count(items: list[str]) -> int:\n"
    "    return len(items)\n"
    "\n"
    "\n"
    "def make_total() -> DerivedVariable:\n"
    "    return DerivedVariable(count, variables=[regions])\n"
    "\n"
    "\n"
    "@dataclass\n"
    "class BoardState:\n"
    "    total: DerivedVariable = field(\n"
    "        default_factory=lambda: DerivedVariable(count, variables=[regions]))\n"
    "    notes: list[str] = field(default_factory=list)\n"
    "\n"
    "\n"
    "@dataclass\n"
    "class PanelState:\n"
    "    total: DerivedVariable = field(default_factory=make_total)\n"
    "    shared: ClassVar[DerivedVariable] = DerivedVariable(count, variables=[regions])\n"
)
"""Definitions made per dataclass instance (lines 14 and 20), and one class attribute that
is not a field and is made once, when the class is (line 27)."""

BOARD_LINES = {14: "make_total", 20: "BoardState", 27: "ClassVar"}


def board(root: Path, main: str) -> dict[str, tuple[str, str | None]]:
    """Where each definition of `BOARD_STATE` is made -> (rule, fix) of its finding."""
    result, _ = run_audit(write_tree(root, {
        "board/state.py": BOARD_STATE,
        "board/main.py": (
            "from dara.components import Stack, Text\n"
            "from dara.core import ConfigurationBuilder, py_component\n"
            "\n"
            "from board.state import BoardState, PanelState\n"
            "\n"
            "config = ConfigurationBuilder()\n"
            f"{main}"
        ),
    }))
    return {BOARD_LINES[f.line]: (f.rule, f.fix) for f in result.findings
            if f.path == "board/state.py" and f.line in BOARD_LINES}


def test_a_default_factory_run_once_at_build_time_takes_a_literal_uid(tmp_path: Path) -> None:
    assert board(tmp_path, "STATE = BoardState()\nPANEL = PanelState()\n") == {
        "BoardState": ("DM101", "safe"), "make_total": ("DM101", "safe"),
        "ClassVar": ("DM101", "safe")}


def test_a_default_factory_runs_once_per_instance(tmp_path: Path) -> None:
    # Two panels made with their default, one given its own: the factory runs twice.
    assert board(tmp_path, (
        "LEFT = PanelState()\n"
        "RIGHT = PanelState()\n"
        "FIXED = PanelState(total=PanelState.shared)\n"
        "STATE = BoardState()\n"
    )) == {"BoardState": ("DM101", "safe"), "make_total": ("DM104", "manual"),
           "ClassVar": ("DM101", "safe")}


def test_a_field_given_at_every_instantiation_never_runs_its_factory(tmp_path: Path) -> None:
    answers = board(tmp_path, (
        "LEFT = PanelState(total=PanelState.shared)\n"
        "RIGHT = PanelState(total=PanelState.shared)\n"
    ))
    assert answers["make_total"] == ("DM101", "unsafe")


def test_a_dataclass_made_while_rendering_makes_its_defaults_at_request_time(
        tmp_path: Path) -> None:
    answers = board(tmp_path, (
        "\n"
        "\n"
        "@py_component\n"
        "def live_panel():\n"
        "    return Text(BoardState().total)\n"
        "\n"
        "\n"
        "config.router.add_page(path='/', content=Stack(live_panel()), id='index')\n"
    ))
    assert answers["BoardState"][0] == "DM301"


METRICS_HEAD = (
    "import uuid\n"
    "\n"
    "from dara.components import Stack, Text\n"
    "from dara.core import ConfigurationBuilder, DerivedVariable, Variable\n"
    "\n"
    "config = ConfigurationBuilder()\n"
    "sales = Variable([1, 2, 3], uid='sales')\n"
    "\n"
    "\n"
    "def total(values: list[int]) -> int:\n"
    "    return sum(values)\n"
    "\n"
    "\n"
)


def metrics(root: Path, body: str) -> tuple[AuditResult, Project]:
    return run_audit(write_tree(root, {"metrics/main.py": METRICS_HEAD + body + (
        "config.router.add_page(path='/', content=Stack(Text(totals)), id='index')\n")}))


@pytest.mark.parametrize("options", [
    "dict(func=total, variables=[sales])",
    "{'func': total, 'variables': [sales]}",
])
def test_keywords_of_a_literal_mapping_are_read_as_written(tmp_path: Path, options: str) -> None:
    result, project = metrics(tmp_path, (
        f"options = {options}\n"
        "totals = DerivedVariable(**options)\n"
    ))
    assert findings(result) == {("metrics/main.py", 15, "DM101", "safe")}
    index = project.index
    facts = index.files["metrics/main.py"]
    total = next(s.id for s in facts.scopes if s.name == "total")
    assert index.when_of((facts.path, total)) == "request"


def test_a_uid_added_next_to_a_literal_mapping_keeps_the_mapping(tmp_path: Path) -> None:
    root = tmp_path / "app"
    metrics(root, "options = dict(func=total, variables=[sales])\n"
                  "totals = DerivedVariable(**options)\n")
    outcome = CliRunner().invoke(cli, ["apply", str(root), "--no-cache", "--no-build-check",
                                       "--target", "1.x", "--select", "DM101"])
    assert outcome.exit_code == 0, outcome.output
    source = (root / "metrics/main.py").read_text(encoding="utf-8")
    assert "totals = DerivedVariable(**options, uid='metrics.main:totals')\n" in source
    compile(source, "main.py", "exec")


def test_a_literal_mapping_with_an_unstable_uid_is_left_to_a_person(tmp_path: Path) -> None:
    result, _ = metrics(tmp_path, (
        "options = {'func': total, 'variables': [sales], 'uid': str(uuid.uuid4())}\n"
        "totals = DerivedVariable(**options)\n"
    ))
    assert findings(result) == {("metrics/main.py", 15, "DM102", "manual")}


@pytest.mark.parametrize("body", [
    "options = dict(func=total, variables=[sales])\n"
    "options['uid'] = 'metrics-total'\n"
    "totals = DerivedVariable(**options)\n",
    "options = dict(func=total, variables=[sales])\n"
    "options.update(uid='metrics-total')\n"
    "totals = DerivedVariable(**options)\n",
    "def load_options() -> dict[str, object]:\n"
    "    return dict(func=total, variables=[sales], uid='metrics-total')\n"
    "\n"
    "\n"
    "totals = DerivedVariable(**load_options())\n",
    "options = dict(func=total, variables=[sales])\n"
    "\n"
    "\n"
    "def build_totals() -> DerivedVariable:\n"
    "    return DerivedVariable(**options)\n"
    "\n"
    "\n"
    "totals = build_totals()\n",
], ids=["item-set", "updated", "computed", "other-scope"])
def test_any_other_mapping_may_carry_a_uid(tmp_path: Path, body: str) -> None:
    result, _ = metrics(tmp_path, body)
    assert not {f for f in findings(result) if f[2] == "DM101"}


@settings(max_examples=examples(15), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(sorted(PAGE_LINES)), max_size=4))
def test_a_page_runs_as_often_as_a_literal_route_loop_lists_it(
        tmp_path_factory: pytest.TempPathFactory, listed: list[str]) -> None:
    routes = ", ".join(f"('/{position}', {page})" for position, page in enumerate(listed))
    result, _ = run_audit(shop(tmp_path_factory.mktemp("shop"), (
        f"for path, page in [{routes}]:\n"
        "    config.router.add_page(path=path, content=page)\n")))
    expected = {page: ("DM101", "unsafe") if listed.count(page) == 0 else
                ("DM101", "safe") if listed.count(page) == 1 else ("DM104", "manual")
                for page in PAGE_LINES}
    assert page_answers(result) == expected


@pytest.mark.parametrize(("source", "keys"), [
    ("{'func': f, 'uid': 'x'}", "func,uid"),
    ("{'func': f, **more}", ""),
    ("{1: f}", ""),
    ("{'not a keyword': f, 'churn-report': g}", "not a keyword,churn-report"),
    ("{'a,b': f}", ""),
    ("{}", ""),
])
def test_a_dict_literal_keeps_its_string_keys(
        source: str, keys: str) -> None:
    facts = extract_facts(ast.parse(f"options = {source}\n"), f"options = {source}\n",
                          "m.py", "m", False)
    value = facts.bindings[-1].value
    assert value is not None and (value.kind, value.text) == ("dict", keys)


def test_a_dotted_import_of_a_namespace_package_is_not_a_missing_module(
        tmp_path: Path) -> None:
    # Nothing is missing, so `verify` builds the app from its own project, not the repository.
    (tmp_path / ".git").mkdir()
    root = write_tree(tmp_path / "finance", FINANCE_SUITE)
    _, project = run_audit(root)
    assert repository_root(project, root) is None


def test_what_a_factory_returns_by_name_is_what_it_made(tmp_path: Path) -> None:
    # `config = ConfigurationBuilder()`, then `return config`: the app's module calls the
    # factory and uses the config (and an instance another factory returns) as its own.
    root = write_tree(tmp_path, {
        "portal/bootstrap.py": (
            "from dara.core import ConfigurationBuilder\n\n\n"
            "def build_config(title: str):\n"
            "    config = ConfigurationBuilder()\n"
            "    config.title = title\n"
            "    return config\n\n\n"
            "class Ledger:\n"
            "    def __init__(self):\n"
            "        self.rows = []\n\n\n"
            "def make_ledger():\n"
            "    ledger = Ledger()\n"
            "    return ledger\n"),
        "portal/main.py": (
            "from dara.core import action\n"
            "from dara.components import Text\n\n"
            "from portal.bootstrap import build_config, make_ledger\n\n"
            "config = build_config('Portal')\n"
            "config.task_module = 'portal.tasks'\n"
            "config.router.add_page(path='home', content=Text('home'))\n"
            "LEDGER = make_ledger()\n\n\n"
            "def on_message(channel, message):\n"
            "    print(message)\n\n\n"
            "config.add_ws_handler('chat', on_message)\n\n\n"
            "@action\n"
            "async def record(ctx, value):\n"
            "    LEDGER.rows.append(value)\n"),
    })
    result, _ = run_audit(root)
    assert findings(result) == {
        ("portal/main.py", 7, "DM601", "safe"),
        ("portal/main.py", 8, "DM108", "safe"),
        ("portal/main.py", 16, "DM402", "manual"),
        ("portal/main.py", 21, "DM205", "manual"),
    }


def test_what_a_method_of_a_factory_instance_returns_is_what_it_made(tmp_path: Path) -> None:
    # `AppFactory(...).build()`: the method is called on the call's result.
    root = write_tree(tmp_path, {
        "portal/factory.py": (
            "from dara.core import ConfigurationBuilder\n\n\n"
            "class AppFactory:\n"
            "    def __init__(self, title):\n"
            "        self.title = title\n\n"
            "    def build(self):\n"
            "        config = ConfigurationBuilder()\n"
            "        config.title = self.title\n"
            "        return config\n"),
        "portal/main.py": (
            "from dara.components import Text\n\n"
            "from portal.factory import AppFactory\n\n"
            "config = AppFactory('Portal').build()\n"
            "config.router.add_page(path='home', content=Text('home'))\n"
            "config.task_module = 'portal.tasks'\n"),
    })
    result, _ = run_audit(root)
    assert findings(result) == {
        ("portal/main.py", 6, "DM108", "safe"),
        ("portal/main.py", 7, "DM601", "safe"),
    }


def test_a_singleton_config_factory_is_the_app_its_caller_holds(tmp_path: Path) -> None:
    # `get_config()` makes the builder once, into a module global, and returns that global.
    root = write_tree(tmp_path, {
        "portal/conf.py": (
            "from dara.core import ConfigurationBuilder\n\n"
            "_CONFIG = None\n\n\n"
            "def get_config():\n"
            "    global _CONFIG\n"
            "    if _CONFIG is None:\n"
            "        _CONFIG = ConfigurationBuilder()\n"
            "    return _CONFIG\n"),
        "portal/main.py": (
            "from dara.components import Text\n\n"
            "from portal.conf import get_config\n\n"
            "config = get_config()\n"
            "config.router.add_page(path='home', content=Text('home'))\n"),
    })
    result, project = run_audit(root)
    assert findings(result) == {("portal/main.py", 6, "DM108", "safe")}
    assert [app.key for app in project.apps] == ["portal.main:config"]


def test_registrars_called_from_a_loop_over_a_list_of_them_add_routes(tmp_path: Path) -> None:
    # `for register in REGISTRARS: register(config.router)`: each registrar runs once, at
    # build time, with the router (a `functools.partial` presetting keywords too).
    root = write_tree(tmp_path, {"portal/main.py": (
        "from functools import partial\n\n"
        "from dara.core import ConfigurationBuilder\n"
        "from dara.components import Text\n\n"
        "config = ConfigurationBuilder()\n\n\n"
        "def add_admin(router, prefix='admin'):\n"
        "    router.add_page(path=f'{prefix}/users', content=Text('users'))\n\n\n"
        "def add_reports(router):\n"
        "    router.add_page(path='reports', content=Text('reports'))\n\n\n"
        "REGISTRARS = [add_reports, partial(add_admin, prefix='ops')]\n"
        "for register in REGISTRARS:\n"
        "    register(config.router)\n")})
    result, _ = run_audit(root)
    assert findings(result) == {
        ("portal/main.py", 10, "DM108", "manual"),
        ("portal/main.py", 14, "DM108", "safe"),
    }


def test_names_unpacked_from_a_factory_hold_what_it_returns_in_their_place(
        tmp_path: Path) -> None:
    # `config, router = build_app()`: the factory returns its builder and router together.
    root = write_tree(tmp_path, {
        "portal/build.py": (
            "from dara.core import ConfigurationBuilder\n\n\n"
            "def build_app():\n"
            "    config = ConfigurationBuilder()\n"
            "    router = config.router\n"
            "    return config, router\n"),
        "portal/main.py": (
            "from dara.components import Text\n\n"
            "from portal.build import build_app\n\n"
            "config, router = build_app()\n"
            "router.add_page(path='home', content=Text('home'))\n"
            "config.router.add_page(path='about', content=Text('about'))\n"
            "config.task_module = 'portal.tasks'\n"),
    })
    result, project = run_audit(root)
    assert findings(result) == {
        ("portal/main.py", 6, "DM108", "safe"),
        ("portal/main.py", 7, "DM108", "safe"),
        ("portal/main.py", 8, "DM601", "safe"),
    }
    assert [app.key for app in project.apps] == ["portal.main:config"]


@pytest.mark.parametrize(("unpacked", "router"), [
    ("config, router = build_app()", True),
    ("first, *rest, router = build_app()", False),  # past a starred name: no known place
    ("config, router = build_other()", False),  # another `return` gives something else
    ("router, config = build_app()", False),  # the builder: `add_page` is its legacy API
])
def test_only_a_name_unpacked_from_the_router_s_place_holds_the_router(
        tmp_path: Path, unpacked: str, router: bool) -> None:
    root = write_tree(tmp_path, {"portal/main.py": (
        "from dara.components import Text\n"
        "from dara.core import ConfigurationBuilder\n\n"
        "APP = ConfigurationBuilder()\n\n\n"
        "def build_app():\n"
        "    return APP, APP.router\n\n\n"
        "def build_other():\n"
        "    if APP.title:\n"
        "        return APP, None\n"
        "    return APP, APP.router\n\n\n"
        f"{unpacked}\n"
        "router.add_page(path='home', content=Text('home'))\n")})
    result, _ = run_audit(root)
    assert (("portal/main.py", 18, "DM108", "safe") in findings(result)) is router


_PAGE_MODULE = (
    "from dara.core import DerivedVariable, Variable\n"
    "from dara.components import Stack, Text\n\n"
    "picked = Variable(1, uid='{name}-picked')\n\n\n"
    "def register(router):\n"
    "    shown = DerivedVariable(lambda v: v * 2, variables=[picked])\n"
    "    router.add_page(path='{name}', content=Stack(Text(shown)))\n")


@pytest.mark.parametrize("loader", [
    # Every page module of the package, found on disk.
    "import importlib\nimport pkgutil\n\nimport portal.pages\n\n"
    "for info in pkgutil.iter_modules(portal.pages.__path__):\n"
    "    module = importlib.import_module(f'portal.pages.{info.name}')\n"
    "    module.register(config.router)\n",
    # Each page module of a list, by name.
    "from importlib import import_module\n\n"
    "for name in ('sales', 'ops'):\n"
    "    module = import_module(f'portal.pages.{name}')\n"
    "    module.register(config.router)\n",
    # Each by a constant name.
    "import importlib\n\n"
    "importlib.import_module('portal.pages.sales').register(config.router)\n"
    "ops = importlib.import_module('portal.pages.ops')\n"
    "ops.register(config.router)\n",
])
def test_a_function_of_a_module_imported_by_name_is_called_with_what_it_is_given(
        tmp_path: Path, loader: str) -> None:
    # Pages found at startup and registered through a function each page module has: the
    # routes they add and what `register` defines run once, at build time.
    root = write_tree(tmp_path, {
        "portal/__init__.py": "",
        "portal/pages/__init__.py": "",
        "portal/pages/sales.py": _PAGE_MODULE.replace("{name}", "sales"),
        "portal/pages/ops.py": _PAGE_MODULE.replace("{name}", "ops"),
        "portal/main.py": (
            "from dara.core import ConfigurationBuilder\n\n"
            "config = ConfigurationBuilder()\n" + loader),
    })
    result, _ = run_audit(root)
    assert {(f.path, f.line, f.rule, f.fix, f.suggested_uid) for f in result.findings
            if f.rule not in ("DM201", "DM701")} == {
        (f"portal/pages/{name}.py", line, rule, "safe", uid)
        for name in ("sales", "ops")
        for line, rule, uid in ((8, "DM101", f"portal.pages.{name}:register.shown"),
                                (9, "DM108", name))}


@pytest.mark.parametrize("name", [
    "os.environ['PAGES']",  # not in the code
    "f'{PACKAGE}.pages.sales'",  # no package written first
    "f'portal.pages.{area}.sales'",  # not one level below the package
])
def test_a_module_imported_by_a_name_the_code_does_not_spell_calls_nothing_known(
        tmp_path: Path, name: str) -> None:
    root = write_tree(tmp_path, {
        "portal/__init__.py": "",
        "portal/pages/__init__.py": "",
        "portal/pages/sales.py": _PAGE_MODULE.replace("{name}", "sales"),
        "portal/main.py": (
            "import importlib\nimport os\n\n"
            "from dara.core import ConfigurationBuilder\n\n"
            "PACKAGE, area = 'portal', 'sales'\n"
            "config = ConfigurationBuilder()\n"
            f"module = importlib.import_module({name})\n"
            "module.register(config.router)\n"),
    })
    result, _ = run_audit(root)
    assert "DM108" not in {f.rule for f in result.findings}


def test_an_app_owns_the_modules_it_imports_by_name(tmp_path: Path) -> None:
    # Two apps of one project, each loading its own page modules by name: each page's
    # findings are its app's, and each app's router keys its routes apart.
    files = {"pyproject.toml": '[project]\nname = "plat"\ndependencies = ["dara-core"]\n'}
    for app in ("orders", "billing"):
        files[f"{app}/__init__.py"] = files[f"{app}/pages/__init__.py"] = ""
        files[f"{app}/pages/summary.py"] = _PAGE_MODULE.replace("{name}", "summary")
        files[f"{app}/main.py"] = (
            "from importlib import import_module\n\n"
            "from dara.core import ConfigurationBuilder\n\n"
            "config = ConfigurationBuilder()\n"
            "for name in ('summary',):\n"
            f"    import_module(f'{app}.pages.{{name}}').register(config.router)\n")
    result, _ = run_audit(write_tree(tmp_path, files))
    assert {(f.path, f.rule, f.suggested_uid, f.apps) for f in result.findings
            if f.rule == "DM108"} == {
        (f"{app}/pages/summary.py", "DM108", "summary", (f"{app}.main:config",))
        for app in ("orders", "billing")}
    assert {(a.name, a.path, a.errors) for a in result.apps} == {
        ("config", "orders/main.py", 2), ("config", "billing/main.py", 2)}


@pytest.mark.parametrize(("init", "made"), [
    ("self.config = ConfigurationBuilder()\n        self.router = self.config.router\n",
     "Portal()"),
    ("self.router = router\n", "Portal(config.router)"),
])
def test_a_router_an_instance_keeps_adds_routes_from_its_methods(
        tmp_path: Path, init: str, made: str) -> None:
    source = (
        "from dara.components import Text\n"
        "from dara.core import ConfigurationBuilder\n\n"
        "config = ConfigurationBuilder()\n\n\n"
        "class Portal:\n"
        "    def __init__(self, router=None):\n"
        f"        {init}\n"
        "    def add(self, name):\n"
        "        self.router.add_page(path='home', content=Text(name))\n\n\n"
        f"portal = {made}\n"
        "portal.add('Home')\n")
    result, _ = run_audit(write_tree(tmp_path, {"portal/main.py": source}))
    line = source.splitlines().index("        self.router.add_page(path='home', "
                                     "content=Text(name))") + 1
    assert findings(result) == {("portal/main.py", line, "DM108", "safe")}


_REPORTS = (
    "from dara.components import Text\n"
    "from dara.core import ConfigurationBuilder\n\n"
    "config = ConfigurationBuilder()\n"
    "config.router.add_page(path='home', content=Text('home'), id='home')\n\n\n"
    "def add_report(router, path, title):\n"
    "    router.add_page(path=path, content=Text(title), name=title)\n\n\n"
    "add_report(config.router, 'sales', 'Sales')\n"
    "{second}\n")


@pytest.mark.parametrize(("second", "fix"), [
    ("add_report(config.router, 'ops', 'Ops')", "safe"),
    ("add_report(config.router, path='ops', title='Ops')", "safe"),
    ("add_report(config.router, 'sales', 'Sales again')", "manual"),  # one id twice
    ("add_report(config.router, 'home', 'Home')", "manual"),  # another route's id
    ("add_report(config.router, 'ops/daily', 'Daily')", "manual"),  # no valid id
    ("add_report(config.router, TITLE.lower(), TITLE)", "manual"),  # not a constant
    ("for name in ('ops', 'hr'):\n    add_report(config.router, name, name)", "manual"),
])
def test_a_route_a_helper_adds_is_keyed_by_the_path_each_call_gives(
        tmp_path: Path, second: str, fix: str) -> None:
    root = write_tree(tmp_path, {"portal/main.py": "TITLE = 'Ops'\n" + _REPORTS.replace(
        "{second}", second)})
    result, _ = run_audit(root)
    assert findings(result) == {("portal/main.py", 10, "DM108", fix)}
    if fix == "safe":
        assert apply_fixes(root).exit_code == 0
        assert "    router.add_page(path=path, content=Text(title), name=title, id=path)\n" in (
            (root / "portal/main.py").read_text())


def test_a_prefix_and_its_index_a_helper_adds_are_keyed_by_its_parameter(
        tmp_path: Path) -> None:
    root = write_tree(tmp_path, {"shop/main.py": (
        "from dara.core import ConfigurationBuilder\n"
        "from dara.components import Text\n\n"
        "config = ConfigurationBuilder()\n\n\n"
        "def add_section(name: str):\n"
        "    section = config.router.add_prefix(path=name)\n"
        "    section.add_index(content=Text(name))\n\n\n"
        "add_section('books')\n"
        "add_section('games')\n")})
    assert apply_fixes(root).exit_code == 0
    text = (root / "shop/main.py").read_text()
    assert "section = config.router.add_prefix(path=name, id=name)\n" in text
    assert "section.add_index(content=Text(name), id=f'{name}-index')\n" in text
