"""DM104 advice: what a person can do depends on why the code runs more than once; DM103
and DM108 where definitions and routes repeat."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import apply_fixes, run_audit, write_tree

PAGES = (
    "import dara.core as dc\n"
    "from dara.components import Text\n\n\n"
    "def report():\n"
    "    label = dc.DerivedVariable[str](lambda: 'report', variables=[])\n"
    "    return Text(label)\n"
)


def repeated_advice(tmp_path: Path, main: str) -> tuple[str | None, str]:
    root = write_tree(tmp_path, {"app/pages.py": PAGES, "app/main.py": main})
    result, _ = run_audit(root)
    (found,) = [f for f in result.findings if f.rule == "DM104"]
    return found.fix, found.message.split("; ", 1)[1]


def test_content_of_several_routes_cannot_take_a_prefix(tmp_path: Path) -> None:
    main = ("from dara.core import ConfigurationBuilder\n\n"
            "from app.pages import report\n\n"
            "config = ConfigurationBuilder()\n"
            "config.router.add_page(path='a', content=report, id='a')\n"
            "config.router.add_page(path='b', content=report, id='b')\n")
    assert repeated_advice(tmp_path, main) == (
        "manual",
        "it is the content of 2 routes, which call it without arguments: create it once at "
        "module level if it uses no local name, else give each route its own content function "
        "passing a distinct uid prefix")


def test_a_function_called_twice_gets_a_prefix(tmp_path: Path) -> None:
    main = ("from dara.core import ConfigurationBuilder\n"
            "from dara.components import Stack\n\n"
            "from app.pages import report\n\n"
            "config = ConfigurationBuilder()\n\n\n"
            "def home(kind: str):\n"
            "    return Stack(report(), report())\n\n\n"
            "config.router.add_page(path='home', content=home, id='home')\n")
    assert repeated_advice(tmp_path, main) == ("safe", "take a uid prefix parameter")


def test_the_calls_that_run_a_definition_more_than_once_are_shown(tmp_path: Path) -> None:
    # Called once by the app, once by a test: the test's call is why it is DM104.
    main = ("from dara.core import ConfigurationBuilder\n\n"
            "from app.pages import report\n\n"
            "config = ConfigurationBuilder()\n"
            "config.router.add_page(path='home', content=report(), id='home')\n")
    root = write_tree(tmp_path, {"app/pages.py": PAGES, "app/main.py": main,
                                 "tests/test_pages.py": ("from app.pages import report\n\n\n"
                                                         "def test_report():\n"
                                                         "    assert report()\n")})
    result, _ = run_audit(root)
    (found,) = [f for f in result.findings if f.rule == "DM104"]
    assert [(r.path, r.line, r.message) for r in found.related] == [
        ("app/main.py", 6, "runs it"), ("tests/test_pages.py", 5, "runs it")]
    assert "loop" not in found.message


def test_a_route_added_more_than_once_gets_no_literal_id(tmp_path: Path) -> None:
    main = ("from dara.core import ConfigurationBuilder\n"
            "from dara.components import Text\n\n"
            "config = ConfigurationBuilder()\n"
            "CATEGORIES = ['books', 'games']\n\n"
            "def add_section(router, name: str):\n"
            "    section = config.router.add_prefix(path=name.title())\n"
            "    section.add_index(content=Text(name))\n\n"
            "for category in CATEGORIES:\n"
            "    config.router.add_page(path=category, content=Text(category))\n"
            "add_section(config.router, 'a')\n"
            "add_section(config.router, 'b')\n"
            "config.router.add_page(path='about', content=Text('About'))\n")
    root = write_tree(tmp_path, {"app/main.py": main})
    result, _ = run_audit(root)
    routes = [(f.line, f.fix) for f in result.findings if f.rule == "DM108"]
    # The loop over literal keys is keyed by its variable (below); a helper called twice
    # that computes its path has nothing to key by (one given the path as a parameter is
    # keyed by it: tests/test_real_shaped_recall.py).
    assert routes == [(8, "manual"), (9, "manual"), (12, "safe"), (15, "safe")]
    repeated = [f.message for f in result.findings if f.rule == "DM108" and f.fix == "manual"]
    assert len(repeated) == 2
    assert all("one literal id would be shared by every route it adds" in m for m in repeated)


def test_routes_added_in_a_loop_over_literal_keys_get_ids_keyed_by_it(tmp_path: Path) -> None:
    # Keys that make no valid route id (a dot), an id another route has, and two loops
    # whose ids would meet: each stays with a person; the rest are keyed.
    main = ("from dara.core import ConfigurationBuilder\n"
            "from dara.components import Text\n\n"
            "config = ConfigurationBuilder()\n"
            "TABS = {'summary': 1, 'detail': 2}\n"
            "VERSIONS = ['v1.0', 'v2.0']\n"
            "REGIONS = ('north', 'south')\n\n"
            "for tab in TABS:\n"
            "    config.router.add_page(path=f'tabs/{tab}', content=Text(tab))\n"
            "for version in VERSIONS:\n"
            "    config.router.add_page(path=version, content=Text(version))\n"
            "for region in REGIONS:\n"
            "    config.router.add_page(path=region, content=Text(region))\n"
            "for region in REGIONS:\n"
            "    config.router.add_page(path=f'{region}', content=Text(region))\n"
            "config.router.add_page(path='tabs/summary', content=Text('s'), id='tabs-summary')\n")
    root = write_tree(tmp_path, {"app/main.py": main})
    applied = apply_fixes(root)
    assert applied.exit_code == 1, applied.output  # three are left, under the hatch
    lines = (root / "app" / "main.py").read_text(encoding="utf-8").splitlines()
    assert lines[11:20] == [
        "for tab in TABS:",
        "    # dara-migrate: local-only[DM108] automatic migration not possible",
        "    config.router.add_page(path=f'tabs/{tab}', content=Text(tab))",
        "for version in VERSIONS:",
        "    # dara-migrate: local-only[DM108] automatic migration not possible",
        "    config.router.add_page(path=version, content=Text(version))",
        "for region in REGIONS:",
        "    config.router.add_page(path=region, content=Text(region), id=region)",
        "for region in REGIONS:",
    ]
    assert lines[20] == "    # dara-migrate: local-only[DM108] automatic migration not possible"


def test_routes_added_in_a_loop_over_a_list_written_in_place_get_ids_keyed_by_it(
        tmp_path: Path) -> None:
    # The loop over a list written in the `for` statement itself, in a helper the app calls
    # once; loops nested in another loop stay with a person (each outer pass would repeat
    # the ids).
    main = ("from dara.core import ConfigurationBuilder\n"
            "from dara.core.router import Router\n"
            "from dara.components import Text\n\n"
            "config = ConfigurationBuilder()\n"
            "GROUPS = ['eu', 'us']\n\n\n"
            "def build(router):\n"
            "    for section in ['sales', 'costs']:\n"
            "        router.add_page(path=section, content=Text(section))\n"
            "    for group in ['north', 'south']:\n"
            "        for tab in ['a', 'b']:\n"
            "            router.add_page(path=f'{group}-{tab}', content=Text(tab))\n"
            "    for group in GROUPS:\n"
            "        for tab in ['c', 'd']:\n"
            "            router.add_page(path=tab, content=Text(tab))\n\n\n"
            "router = Router()\n"
            "build(router)\n"
            "config.router = router\n")
    root = write_tree(tmp_path, {"app/main.py": main})
    result, _ = run_audit(root)
    assert [(f.line, f.fix) for f in result.findings if f.rule == "DM108"] == [
        (11, "safe"), (14, "manual"), (17, "manual")]
    applied = apply_fixes(root)
    assert applied.exit_code == 1, applied.output  # the nested two are left, under the hatch
    lines = (root / "app" / "main.py").read_text(encoding="utf-8").splitlines()
    assert "        router.add_page(path=section, content=Text(section), id=section)" in lines
    assert sum("local-only[DM108]" in line for line in lines) == 2


def test_the_routes_of_a_prefix_each_pass_adds_get_ids_keyed_by_every_loop(
        tmp_path: Path) -> None:
    # Dara's routing guide builds a prefix per category and a page per product; the ids are
    # the paths, written of both loops' variables (unsafe: the values are not spelled here).
    main = ("from dara.core import ConfigurationBuilder\n"
            "from dara.components import Text\n\n"
            "from shop.catalog import categories\n\n"
            "config = ConfigurationBuilder()\n\n"
            "for category in categories:\n"
            "    group = config.router.add_prefix(path=category.slug)\n"
            "    group.add_index(content=Text(category.name))\n"
            "    for product in category.products:\n"
            "        group.add_page(path=product.slug, content=Text(product.name))\n"
            "    for size in ['s', 'm']:\n"
            "        group.add_page(path='sizes', content=Text(size))\n"
            "for tab in ['sales', 'costs']:\n"
            "    section = config.router.add_prefix(path=tab)\n"
            "    section.add_index(content=Text(tab))\n"
            "    section.add_page(path='summary', content=Text(tab))\n")
    catalog = ("from dataclasses import dataclass, field\n\n\n"
               "@dataclass\n"
               "class Category:\n"
               "    slug: str\n"
               "    name: str\n"
               "    products: list = field(default_factory=list)\n\n\n"
               "categories = [Category('tools', 'Tools'), Category('garden', 'Garden')]\n")
    root = write_tree(tmp_path, {"shop/main.py": main, "shop/catalog.py": catalog})
    result, _ = run_audit(root)
    assert [(f.line, f.fix) for f in result.findings if f.rule == "DM108"] == [
        (9, "unsafe"), (10, "unsafe"), (12, "unsafe"), (14, "manual"), (16, "safe"),
        (17, "safe"), (18, "safe")]
    applied = apply_fixes(root, "--unsafe-fixes")
    assert applied.exit_code == 1, applied.output  # the sizes page is left, under the hatch
    lines = (root / "shop" / "main.py").read_text(encoding="utf-8").splitlines()
    for line in ("    group = config.router.add_prefix(path=category.slug, id=category.slug)",
                 "    group.add_index(content=Text(category.name), id=f'{category.slug}-index')",
                 "            id=f'{category.slug}-{product.slug}',",
                 "    section = config.router.add_prefix(path=tab, id=tab)",
                 "    section.add_index(content=Text(tab), id=f'{tab}-index')",
                 "    section.add_page(path='summary', content=Text(tab), id=f'{tab}-summary')"):
        assert line in lines, line


def test_uids_from_shared_constants_are_compared_by_value(tmp_path: Path) -> None:
    files = {
        "app/ids.py": "TOTAL = 'total'\nPREFIX = 'p'\nPREFIX = 'q'\n",
        "app/a.py": "import dara.core as dc\n"
        "from app.ids import TOTAL\n\n"
        "v = dc.Variable(0)\n"
        "total = dc.DerivedVariable(lambda x: x, variables=[v], uid=TOTAL)\n",
        "app/b.py": "import dara.core as dc\n"
        "from app import ids\n"
        "from app.ids import PREFIX\n\n"
        "w = dc.Variable(0)\n"
        "again = dc.DerivedVariable(lambda x: x, variables=[w], uid=ids.TOTAL)\n"
        "first = dc.DerivedVariable(lambda x: x, variables=[w], uid='p')\n"
        "second = dc.DerivedVariable(lambda x: x, variables=[w], uid=PREFIX)\n\n"
        "def make(uid: str):\n"
        "    return dc.DerivedVariable(lambda x: x, variables=[w], uid=uid)\n\n"
        "one = make('total-1')\n",
    }
    root = write_tree(tmp_path, files)
    result, _ = run_audit(root)
    assert [(f.path, f.line) for f in result.findings if f.rule == "DM103"] == [
        ("app/a.py", 5), ("app/b.py", 6)]


def test_unstable_uids_imported_from_another_module(tmp_path: Path) -> None:
    files = {
        "app/ids.py": "import uuid\n\nRUN_ID = str(uuid.uuid4())\nNAME = 'fixed'\n",
        "app/main.py": "import dara.core as dc\n"
        "from app import ids\n"
        "from app.ids import NAME, RUN_ID\n\n"
        "v = dc.Variable(0)\n"
        "a = dc.DerivedVariable(lambda x: x, variables=[v], uid=RUN_ID)\n"
        "b = dc.DerivedVariable(lambda x: x, variables=[v], uid=ids.RUN_ID)\n"
        "c = dc.DerivedVariable(lambda x: x, variables=[v], uid=f'c-{RUN_ID}')\n"
        "d = dc.DerivedVariable(lambda x: x, variables=[v], uid=NAME)\n",
    }
    root = write_tree(tmp_path, files)
    result, _ = run_audit(root)
    unstable = [f for f in result.findings if f.rule == "DM102"]
    assert [f.line for f in unstable] == [6, 7, 8]
    assert all("uuid.uuid4()" in f.message for f in unstable)


@pytest.mark.parametrize(("path", "fix"), [("'home'", "unsafe"), ("path", "manual")])
def test_a_route_added_where_nothing_is_seen_calling_gets_an_unsafe_id(
        tmp_path: Path, path: str, fix: str) -> None:
    # With the registering decorator's own path, every page it registers would get the one
    # literal: the id is the page's to choose.
    main = ("from dara.core import ConfigurationBuilder\n"
            "from dara.components import Text\n\n"
            "config = ConfigurationBuilder()\n\n"
            "def page(path: str):\n"
            "    def register(content):\n"
            f"        config.router.add_page(path={path}, content=content)\n"
            "        return content\n"
            "    return register\n\n"
            "@page('home')\n"
            "def home():\n"
            "    return Text('home')\n")
    root = write_tree(tmp_path, {"app/main.py": main})
    result, _ = run_audit(root)
    (route,) = [f for f in result.findings if f.rule == "DM108"]
    assert (route.line, route.fix) == (8, fix)
    assert ("nothing in the project calls this code; check it" if fix == "unsafe"
            else "its path is computed") in route.message


def test_a_constant_uid_in_a_repeated_factory_collides(tmp_path: Path) -> None:
    main = ("import dara.core as dc\n"
            "from dara.components import Stack, Text\n\n"
            "CARD_UID = 'card-total'\n"
            "src = dc.Variable(1, uid='src')\n\n"
            "def card(title: str, uid: str):\n"
            "    total = dc.DerivedVariable(lambda s: s, variables=[src], uid=CARD_UID)\n"
            "    own = dc.DerivedVariable(lambda s: s, variables=[src], uid=uid)\n"
            "    return Stack(Text(total), Text(own))\n\n"
            "page = Stack(card('x', 'x-own'), card('y', 'y-own'))\n")
    root = write_tree(tmp_path, {"app/main.py": main})
    result, _ = run_audit(root)
    (found,) = [f for f in result.findings if f.rule == "DM104"]
    assert (found.line, found.fix) == (8, "manual")
    assert "a fixed uid collides on the second run" in found.message


SHARED_HOME = (
    "from dara.core import DerivedVariable, Variable\n"
    "from dara.components import Text\n\n\n"
    "def home():\n"
    "    name = Variable('x')\n"
    "    greeting = DerivedVariable(lambda n: n, variables=[name], uid='shared.home.greeting')\n"
    "    return Text(greeting)\n"
)


def app_adding(*contents: str, via: str = "") -> str:
    lines = "".join(f"config.router.add_page(path='{c}{i}', content={c}, id='{c}{i}')\n"
                    for i, c in enumerate(contents))
    return ("from dara.core import ConfigurationBuilder\n\n"
            f"from shared.pages import home\n{via}\n"
            f"config = ConfigurationBuilder()\n{lines}")


def repeated_lines(tmp_path: Path, files: dict[str, str]) -> list[tuple[str, int]]:
    result, _ = run_audit(write_tree(tmp_path, files))
    return [(f.path, f.line) for f in result.findings if f.rule == "DM104"]


def test_content_shared_by_two_apps_runs_once_in_each(tmp_path: Path) -> None:
    files = {"shared/pages.py": SHARED_HOME,
             "apps/a/main.py": app_adding("home"), "apps/b/main.py": app_adding("home")}
    assert repeated_lines(tmp_path, files) == []


def test_content_on_two_routes_of_one_app_of_a_monorepo_repeats(tmp_path: Path) -> None:
    files = {"shared/pages.py": SHARED_HOME,
             "apps/a/main.py": app_adding("home", "home"), "apps/b/main.py": app_adding("home")}
    assert repeated_lines(tmp_path, files) == [("shared/pages.py", 7)]


def test_a_shared_register_helper_called_by_two_apps_runs_once_in_each(tmp_path: Path) -> None:
    register = ("from shared.pages import home\n\n\n"
                "def register(config):\n"
                "    config.router.add_page(path='/', content=home, id='index')\n")
    main = ("from dara.core import ConfigurationBuilder\n\n"
            "from shared.routes import register\n\n"
            "config = ConfigurationBuilder()\n"
            "register(config)\n")
    files = {"shared/pages.py": SHARED_HOME, "shared/routes.py": register,
             "apps/a/main.py": main, "apps/b/main.py": main}
    assert repeated_lines(tmp_path, files) == []


def test_a_module_importing_both_apps_builds_both_in_one_process(tmp_path: Path) -> None:
    files = {"shared/pages.py": SHARED_HOME,
             "apps/a/main.py": app_adding("home"), "apps/b/main.py": app_adding("home"),
             "serve_all.py": "from apps.a import main as a\nfrom apps.b import main as b\n"}
    assert repeated_lines(tmp_path, files) == [("shared/pages.py", 7)]


def test_routes_are_counted_within_the_app_process_that_repeats(tmp_path: Path) -> None:
    shared = SHARED_HOME.replace(", uid='shared.home.greeting'", "")
    files = {"shared/pages.py": shared, "apps/a/main.py": app_adding("home", "home"),
             "apps/b/main.py": app_adding("home"), "apps/c/main.py": app_adding("home")}
    result, _ = run_audit(write_tree(tmp_path, files))
    (found,) = [f for f in result.findings if f.rule == "DM104"]
    assert "it is the content of 2 routes" in found.message


TESTED_ONLY = {
    "app/cards.py": (
        "from dara.components import Stack, Text\n"
        "from dara.core import DerivedVariable, Variable\n\n"
        "counter = Variable(0, uid='counter')\n\n\n"
        "def summary_card(title: str):\n"
        "    value = DerivedVariable(lambda c: f'{title}: {c}', variables=[counter])\n"
        "    return Stack(Text(value))\n\n\n"
        "class Breakdown:\n"
        "    def __init__(self):\n"
        "        self.totals = {c: DerivedVariable(lambda: c, variables=[]) for c in ('a', 'b')}\n"
    ),
    "app/main.py": (
        "from dara.core import ConfigurationBuilder\n\n"
        "config = ConfigurationBuilder()\n"
    ),
    "tests/test_cards.py": (
        "from app.cards import summary_card\n\n\n"
        "def test_one():\n"
        "    assert summary_card('a') is not None\n\n\n"
        "def test_two():\n"
        "    assert summary_card('b') is not None\n"
    ),
}
"""Code no app runs that still runs more than once: a helper two tests call (one pytest
process), and a class nothing instantiates whose definitions are made in a loop."""


def test_code_no_app_runs_but_that_repeats_gets_no_literal_uid(tmp_path: Path) -> None:
    result, _ = run_audit(write_tree(tmp_path, TESTED_ONLY))
    found = {(f.line, f.rule): (f.fix, f.message.split("; ", 1)[1]) for f in result.findings
             if f.path == "app/cards.py"}
    # A literal would raise "is already taken" at the second test, or the loop's second pass.
    assert found == {
        (8, "DM104"): ("manual", "take a uid prefix parameter"),
        (14, "DM104"): ("manual", "key its uid by the loop variable or a uid prefix parameter"),
    }


def test_a_definition_in_a_lambda_that_map_calls_per_item_repeats(tmp_path: Path) -> None:
    root = write_tree(tmp_path, {"app/main.py": (
        "from dara.core import ConfigurationBuilder, DerivedVariable, Variable\n\n"
        "config = ConfigurationBuilder()\n"
        "v = Variable(0, uid='v')\n\n\n"
        "def page():\n"
        "    made = list(map(lambda s: DerivedVariable(lambda x: f'{s}{x}', variables=[v]),\n"
        "                    ['a', 'b']))\n"
        "    return made\n\n\n"
        "config.router.add_page(path='p', content=page, id='p')\n")})
    result, _ = run_audit(root)
    # A literal uid would be taken by the first item and raise at the second.
    assert [(f.line, f.rule, f.fix) for f in result.findings if f.rule.startswith("DM10")] == [
        (8, "DM104", "manual")]


def test_a_route_given_id_none_has_no_id(tmp_path: Path) -> None:
    root = write_tree(tmp_path, {"app/main.py": (
        "from dara.components import Text\n"
        "from dara.core import ConfigurationBuilder\n\n"
        "config = ConfigurationBuilder()\n"
        "config.router.add_page(path='/', content=lambda: Text('x'), id=None)\n")})
    result, _ = run_audit(root)
    [route] = [f for f in result.findings if f.rule == "DM108"]
    assert (route.line, route.fix, route.suggested_uid) == (5, "safe", "index")
    assert route.autofix is not None and route.autofix.replace  # type: ignore[attr-defined]


REGISTRY_PAGES = (
    "from dara.core import DerivedVariable, Variable\n"
    "from dara.components import Text\n\n"
    "count = Variable(1, uid='count')\n\n\n"
    "def overview_page():\n"
    "    doubled = DerivedVariable(lambda c: c * 2, variables=[count])\n"
    "    return Text(doubled)\n\n\n"
    "def admin_page():\n"
    "    tripled = DerivedVariable(lambda c: c * 3, variables=[count])\n"
    "    return Text(tripled)\n"
)


@pytest.mark.parametrize("main", [
    # A dict registry, its items looped over.
    "PAGES = {'overview': overview_page, 'admin-area': admin_page}\n"
    "for name, builder in PAGES.items():\n"
    "    config.router.add_page(path=name, content=builder)\n",
    # Two loops binding the same names: each route's content is its own loop's.
    "PUBLIC = [('overview', overview_page)]\n"
    "ADMIN = [('admin-area', admin_page)]\n"
    "for path, page in PUBLIC:\n"
    "    config.router.add_page(path=path, content=page)\n"
    "for path, page in ADMIN:\n"
    "    config.router.add_page(path=path, content=page)\n",
])
def test_pages_added_from_a_registry_run_once_at_build(tmp_path: Path, main: str) -> None:
    root = write_tree(tmp_path, {
        "app/pages.py": REGISTRY_PAGES,
        "app/main.py": "from dara.core import ConfigurationBuilder\n\n"
        "from app.pages import admin_page, overview_page\n\n"
        "config = ConfigurationBuilder()\n" + main,
    })
    result, _ = run_audit(root)
    found = [(f.path, f.line, f.rule, f.fix) for f in result.findings
             if f.rule in ("DM101", "DM104", "DM108")]
    routes = [f for f in found if f[2] == "DM108"]
    assert [f for f in found if f[2] != "DM108"] == [
        ("app/pages.py", 8, "DM101", "safe"), ("app/pages.py", 13, "DM101", "safe")]
    assert all(fix == "safe" for *_, fix in routes)
    messages = {f.message.rpartition("add ")[2] for f in result.findings if f.rule == "DM108"}
    assert messages == ({"id=name"} if "items()" in main else {"id=path"})


def test_records_and_tuples_of_a_registry_key_their_route_ids(tmp_path: Path) -> None:
    main = ("from dataclasses import dataclass\n"
            "from dara.core import ConfigurationBuilder\n"
            "from dara.components import Text\n\n"
            "@dataclass\n"
            "class PageSpec:\n"
            "    path: str\n"
            "    title: str\n\n"
            "SPECS = [PageSpec('sales', 'Sales'), PageSpec('ops', 'Operations')]\n"
            "TABS = [(1, 'One'), (2, 'Two')]\n"
            "config = ConfigurationBuilder()\n"
            "docs = config.router.add_prefix(path='/docs/', id='docs')\n"
            "for spec in SPECS:\n"
            "    config.router.add_page(path=spec.path, content=Text(spec.title))\n"
            "for number, title in TABS:\n"
            "    docs.add_page(path=f'tab-{number}/', content=Text(title))\n"
            "for number, title in TABS:\n"
            "    config.router.add_page(path=number, content=Text(title))\n")
    root = write_tree(tmp_path, {"app/main.py": main})
    result, _ = run_audit(root)
    routes = [(f.line, f.fix, f.message.rpartition(": ")[2]) for f in result.findings
              if f.rule == "DM108"]
    assert routes == [
        (15, "safe", "add id=spec.path"),
        (17, "safe", "add id=f'docs-tab-{number}'"),
        (19, "safe", "add id=f'{number}'"),
    ]


def test_a_factory_called_by_route_content_lambdas_takes_a_uid_prefix(tmp_path: Path) -> None:
    root = write_tree(tmp_path, {
        "app/pages.py": "from dara.components import Stack, Text\n"
        "from dara.core import DerivedVariable, Variable\n\n\n"
        "def make_table_page(dataset: str):\n"
        "    selected = Variable(None, uid=f'{dataset}-selected')\n"
        "    rows = DerivedVariable(lambda s: [dataset, s], variables=[selected])\n"
        "    return Stack(Text(dataset), Text(rows))\n",
        "app/main.py": "from dara.core import ConfigurationBuilder\n\n"
        "from app.pages import make_table_page\n\n"
        "config = ConfigurationBuilder()\n"
        "config.router.add_page(path='orders', content=lambda: make_table_page('orders'),"
        " id='orders')\n"
        "config.router.add_page(path='customers', content=lambda: make_table_page('customers'),"
        " id='customers')\n",
    })
    result, _ = run_audit(root)
    assert [(f.rule, f.fix) for f in result.findings if f.rule == "DM104"] == [("DM104", "safe")]
    applied = apply_fixes(root)
    assert applied.exit_code == 0, applied.output
    main = (root / "app" / "main.py").read_text(encoding="utf-8")
    assert "uid_prefix='app.main:make_table_page.orders'" in main
    assert "uid_prefix='app.main:make_table_page.customers'" in main


def test_keyed_route_ids_never_meet_and_a_second_apply_changes_nothing(tmp_path: Path) -> None:
    # One registry looped twice, a prefix whose ids would meet the root's, and a loop that
    # rebinds its variable: only the first loop is keyed, the rest stay with a person, and
    # the ids written as `id=name` count as taken on the next run.
    main = ("from dara.core import ConfigurationBuilder\n"
            "from dara.components import Text\n\n"
            "config = ConfigurationBuilder()\n"
            "PAGES = {'x-home': Text('a'), 'about': Text('b')}\n"
            "HOMES = {'home': Text('c')}\n"
            "for name, page in PAGES.items():\n"
            "    config.router.add_page(path=name, content=page)\n"
            "x = config.router.add_prefix(path='x', id='x')\n"
            "for name, page in HOMES.items():\n"
            "    x.add_page(path=name, content=page)\n"
            "for name, page in PAGES.items():\n"
            "    if name == 'about':\n"
            "        name = 'team'\n"
            "    config.router.add_page(path=f'old-{name}', content=page)\n")
    root = write_tree(tmp_path, {"app/main.py": main})
    first = apply_fixes(root)
    assert first.exit_code == 1, first.output
    written = (root / "app" / "main.py").read_text(encoding="utf-8")
    assert written.count("id=name") == 1
    assert written.count("local-only[DM108]") == 2
    second = apply_fixes(root)
    assert "0 fixes; changed 0 files" in second.output
    assert (root / "app" / "main.py").read_text(encoding="utf-8") == written


def test_an_app_factory_that_makes_its_own_router_gives_its_routes_literal_ids(
        tmp_path: Path) -> None:
    # `create_app()` runs for the app and again in its tests: each run adds every route once
    # to the router it makes, so the ids a single run would get serve every run.
    root = write_tree(tmp_path, {
        "portal/app.py": (
            "from dara.core import ConfigurationBuilder\n"
            "from dara.components import Text\n\n"
            "STATIC = {'about': Text('About'), 'help': Text('Help')}\n\n\n"
            "def create_app():\n"
            "    cfg = ConfigurationBuilder()\n"
            "    cfg.router.add_index(content=Text('home'))\n"
            "    reports = cfg.router.add_prefix(path='reports')\n"
            "    reports.add_page(path='sales', content=Text('sales'))\n"
            "    for slug, page in STATIC.items():\n"
            "        cfg.router.add_page(path=slug, content=page)\n"
            "    return cfg\n"),
        "portal/main.py": "from portal.app import create_app\n\nconfig = create_app()\n",
        "tests/test_app.py": (
            "from portal.app import create_app\n\n\n"
            "def test_builds():\n"
            "    assert create_app() is not create_app()\n"),
    })
    applied = apply_fixes(root)
    assert applied.exit_code in (0, 1), applied.output
    lines = (root / "portal/app.py").read_text().splitlines()
    assert lines[8:13] == [
        "    cfg.router.add_index(content=Text('home'), id='index')",
        "    reports = cfg.router.add_prefix(path='reports', id='reports')",
        "    reports.add_page(path='sales', content=Text('sales'), id='reports-sales')",
        "    for slug, page in STATIC.items():",
        "        cfg.router.add_page(path=slug, content=page, id=slug)",
    ]


def test_a_helper_handed_the_factory_s_router_gives_its_routes_literal_ids(
        tmp_path: Path) -> None:
    # `add_admin(cfg.router)` (through a local) once per run of `create_app()` (and
    # `add_admin(Router())` in a test): each router gets the route once, so one literal id
    # serves every run. A helper called twice in one run adds its route twice to one
    # router: left to a person.
    root = write_tree(tmp_path, {
        "portal/app.py": (
            "from dara.core import ConfigurationBuilder\n"
            "from dara.core.router import Router\n"
            "from dara.components import Text\n\n\n"
            "def add_admin(router: Router) -> None:\n"
            "    router.add_page(path='admin', content=Text('admin'))\n\n\n"
            "def add_help(router):\n"
            "    router.add_page(path='help', content=Text('help'))\n\n\n"
            "def create_app():\n"
            "    cfg = ConfigurationBuilder()\n"
            "    router = cfg.router\n"
            "    add_admin(router)\n"
            "    add_help(cfg.router)\n"
            "    add_help(cfg.router)\n"
            "    return cfg\n"),
        "portal/main.py": "from portal.app import create_app\n\nconfig = create_app()\n",
        "tests/test_app.py": (
            "from dara.core.router import Router\n\n"
            "from portal.app import add_admin, create_app\n\n\n"
            "def test_builds():\n"
            "    assert create_app() is not create_app()\n\n\n"
            "def test_admin():\n"
            "    add_admin(Router())\n"),
    })
    result, _ = run_audit(root)
    assert [(f.line, f.fix) for f in result.findings if f.rule == "DM108"] == [
        (7, "safe"), (11, "manual")]
    applied = apply_fixes(root)
    assert applied.exit_code in (0, 1), applied.output
    lines = (root / "portal/app.py").read_text().splitlines()
    assert lines[6] == "    router.add_page(path='admin', content=Text('admin'), id='admin')"


def test_a_page_function_a_factory_returns_runs_for_each_route_given_it(
        tmp_path: Path) -> None:
    main = ("from dara.components import Text\n"
            "from dara.core import ConfigurationBuilder, DerivedVariable, Variable\n\n"
            "config = ConfigurationBuilder()\n\n\n"
            "def make_page(section: str):\n"
            "    def page():\n"
            "        v = Variable(section)\n"
            "        label = DerivedVariable(lambda s: s.upper(), variables=[v])\n"
            "        return Text(label)\n\n"
            "    return page\n\n\n"
            "for s in ('a', 'b'):\n"
            "    config.router.add_page(path=s, content=make_page(s), id=s)\n"
            "config.router.add_page(path='c', content=make_page('c'), id='c')\n")
    root = write_tree(tmp_path, {"app/main.py": main})
    result, _ = run_audit(root)
    (found,) = [f for f in result.findings if f.rule in ("DM101", "DM104")]
    assert (found.rule, found.line, found.fix) == ("DM104", 10, "manual")


def test_an_app_factory_its_tests_call_too_takes_a_prefix_from_the_app_alone(
        tmp_path: Path) -> None:
    # The tests' calls run for no app: they pass no prefix, and their definitions keep the
    # random ids they had.
    tests = ("from portal.app import create_app\n\n\n"
             "def test_builds():\n"
             "    assert create_app() is not create_app()\n")
    root = write_tree(tmp_path, {
        "portal/app.py": (
            "from dara.core import ConfigurationBuilder, DerivedVariable, Variable\n\n\n"
            "def create_app():\n"
            "    cfg = ConfigurationBuilder()\n"
            "    theme = Variable('light', persist_value=True)\n"
            "    label = DerivedVariable(lambda t: t.title(), variables=[theme])\n"
            "    cfg.theme_label = label\n"
            "    return cfg\n"),
        "portal/main.py": "from portal.app import create_app\n\nconfig = create_app()\n",
        "tests/test_app.py": tests,
    })
    result, _ = run_audit(root)
    assert [(f.line, f.fix) for f in result.findings if f.rule == "DM104"] == [
        (6, "safe"), (7, "safe")]
    applied = apply_fixes(root)
    assert applied.exit_code in (0, 1), applied.output
    assert (root / "portal/main.py").read_text().splitlines()[2] == (
        "config = create_app(uid_prefix='portal.main:config')")
    assert (root / "tests/test_app.py").read_text() == tests
    factory = (root / "portal/app.py").read_text()
    assert "def create_app(*, uid_prefix: str | None = None):" in factory
    assert "uid=f'{uid_prefix}.theme' if uid_prefix else None" in factory


def test_routes_added_in_a_loop_over_settings_get_their_path_as_id_as_an_unsafe_fix(
        tmp_path: Path) -> None:
    # The sections come from the deployment's settings: each pass's path is its id, as unique
    # as the paths are; whether each is a valid id, only the build can tell.
    main = ("from dara.core import ConfigurationBuilder\n"
            "from dara.components import Text\n\n\n"
            "def create_app(sections: list[str]):\n"
            "    cfg = ConfigurationBuilder()\n"
            "    reports = cfg.router.add_prefix(path='reports', id='reports')\n"
            "    for section in sections:\n"
            "        reports.add_page(path=section, content=Text(section))\n"
            "    for section in sections:\n"
            "        section = section.lower()\n"
            "        cfg.router.add_page(path=section, content=Text(section))\n"
            "    return cfg\n\n\n"
            "config = create_app(['north', 'south'])\n")
    root = write_tree(tmp_path, {"app/main.py": main})
    result, _ = run_audit(root)
    assert [(f.line, f.fix) for f in result.findings if f.rule == "DM108"] == [
        (9, "unsafe"), (12, "manual")]
    outcome = apply_fixes(root, "--unsafe-fixes")
    assert outcome.exit_code in (0, 1), outcome.output
    assert ("        reports.add_page(path=section, content=Text(section), "
            "id=f'reports-{section}')") in (root / "app/main.py").read_text().splitlines()


def test_test_modules_calling_an_app_factory_once_each_run_it_in_one_process(
        tmp_path: Path) -> None:
    # pytest runs `test_a.py` and `test_b.py` in one process: `create_app` runs twice there,
    # and a literal uid would be taken twice.
    root = write_tree(tmp_path, {
        "portal/app.py": (
            "from dara.core import ConfigurationBuilder, Variable\n\n\n"
            "def create_app():\n"
            "    cfg = ConfigurationBuilder()\n"
            "    cfg.theme = Variable('light', persist_value=True)\n"
            "    return cfg\n"),
        "portal/main.py": "from portal.app import create_app\n\nconfig = create_app()\n",
        "tests/test_a.py": ("from portal.app import create_app\n\n\n"
                            "def test_a():\n    assert create_app()\n"),
        "tests/test_b.py": ("from portal.app import create_app\n\n\n"
                            "def test_b():\n    assert create_app()\n"),
    })
    result, _ = run_audit(root)
    assert [(f.rule, f.line, f.fix) for f in result.findings if f.rule in ("DM101", "DM104")] == [
        ("DM104", 6, "safe")]


def test_chained_routes_each_get_their_id(tmp_path: Path) -> None:
    main = ("from dara.core import ConfigurationBuilder\n"
            "from dara.components import Text\n\n"
            "config = ConfigurationBuilder()\n"
            "config.router.add_layout(content=Text('s')).add_page(path='c', content=Text('c'))\n")
    root = write_tree(tmp_path, {"app/main.py": main})
    for _ in range(2):
        applied = apply_fixes(root)
        assert applied.exit_code in (0, 1), applied.output
    written = (root / "app/main.py").read_text()
    assert "id='layout'" in written and "id='c'" in written and "local" not in written
    assert "0 fixes; changed 0 files" in applied.output


def test_a_factory_with_a_uid_prefix_of_its_own_is_left_to_a_person(tmp_path: Path) -> None:
    # Its callers pass their `uid_prefix` by position: one added by keyword would be twice.
    main = ("from dara.core import ConfigurationBuilder, DerivedVariable\n\n\n"
            "def make(uid_prefix, title='x'):\n"
            "    return DerivedVariable(lambda: title + uid_prefix, variables=[])\n\n\n"
            "a = make('a')\n"
            "b = make('b')\n"
            "config = ConfigurationBuilder()\n")
    root = write_tree(tmp_path, {"app/main.py": main})
    result, _ = run_audit(root)
    assert [(f.rule, f.line, f.fix) for f in result.findings if f.rule == "DM104"] == [
        ("DM104", 5, "manual")]


def test_a_page_function_a_factory_returns_runs_where_its_result_is_called(
        tmp_path: Path) -> None:
    root = write_tree(tmp_path, {
        "app/pages.py": (
            "from dara.components import Text\n"
            "from dara.core import DerivedVariable\n\n\n"
            "def make_page(section: str):\n"
            "    def page():\n"
            "        return Text(DerivedVariable(lambda: section, variables=[]))\n\n"
            "    return page\n"),
        "app/main.py": (
            "from dara.core import ConfigurationBuilder\n\n"
            "from app.pages import make_page\n\n"
            "config = ConfigurationBuilder()\n"
            "config.router.add_page(path='a', content=make_page('a'), id='a')\n"),
        "tests/test_pages.py": (
            "from app.pages import make_page\n\n\n"
            "def test_pages():\n"
            "    assert make_page('q')() and make_page('r')()\n"),
    })
    result, _ = run_audit(root)
    assert [(f.rule, f.line) for f in result.findings if f.rule in ("DM101", "DM104")] == [
        ("DM104", 7)]


def test_no_unsafe_loop_id_where_another_route_has_an_id_of_its_shape(tmp_path: Path) -> None:
    main = ("from dara.core import ConfigurationBuilder\n"
            "from dara.components import Text\n\n"
            "SECTIONS = load_sections()\n"
            "config = ConfigurationBuilder()\n"
            "config.router.add_page(path='reports-north', content=Text('n'))\n"
            "reports = config.router.add_prefix(path='reports', id='reports')\n"
            "for section in SECTIONS:\n"
            "    reports.add_page(path=section, content=Text(section))\n")
    root = write_tree(tmp_path, {"app/main.py": main})
    result, _ = run_audit(root)
    assert [(f.line, f.fix) for f in result.findings if f.rule == "DM108"] == [
        (6, "safe"), (9, "manual")]
