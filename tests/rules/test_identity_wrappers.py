"""Definitions made by the project's own helpers: `derived(fn, deps)` of a helper that passes
its `**kwargs` or its `uid=None` parameter on to the constructor. The uid is decided where the
helper is called, so that call is where DM101, DM103 and DM104 report, and where `apply`
writes it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dara_migrate.cli import app as cli
from dara_migrate.models import AuditResult
from tests.helpers import apply_fixes, run_audit, write_tree

HELPERS = (
    "from dara.core import DerivedVariable as DV\n"
    "import dara.core as dc\n"
    "\n"
    "\n"
    "def derived(func, variables, **kwargs):\n"
    "    return DV(func, variables=variables, **kwargs)\n"
    "\n"
    "\n"
    "def cached(func, variables, uid=None, cache='global'):\n"
    "    return dc.DerivedVariable(func, variables=variables, uid=uid, cache=cache)\n"
    "\n"
    "\n"
    "def keyed(func, variables, key='shared-total'):\n"
    "    return DV(func, variables=variables, uid=key)\n"
    "\n"
    "\n"
    "def ratio(func, variables, **options):\n"
    "    return derived(func, variables, **options)\n"
    "\n"
    "\n"
    "class Metric:\n"
    "    def __init__(self, func, variables, uid=None):\n"
    "        self.variable = DV(func, variables=variables, uid=uid)\n"
)

PAGES = (
    "from dara.components import Stack, Text\n"
    "from dara.core import Variable\n"
    "\n"
    "from lib.helpers import Metric, cached, derived, keyed, ratio\n"
    "\n"
    "name = Variable('x', uid='name')\n"
    "upper = derived(lambda n: n.upper(), [name])\n"
    "lower = derived(lambda n: n.lower(), [name], uid='lower-name')\n"
    "length = cached(lambda n: len(n), [name])\n"
    "width = cached(lambda n: len(n) * 2, [name], uid='name-width')\n"
    "first = keyed(lambda n: n[:1], [name])\n"
    "last = keyed(lambda n: n[-1:], [name])\n"
    "share = ratio(lambda n: 1 / len(n), [name])\n"
    "count = Metric(lambda n: n.count('a'), [name])\n"
    "columns = [derived(lambda n, c=c: n + c, [name]) for c in ('a', 'b')]\n"
    "\n"
    "\n"
    "def page():\n"
    "    return Stack(Text(upper), Text(length))\n"
)

APP = {
    # Namespace packages, as most public apps are: no `__init__.py`.
    "lib/helpers.py": HELPERS,
    "dash/pages.py": PAGES,
    "dash/main.py": (
        "from dara.core import ConfigurationBuilder\n"
        "\n"
        "from dash.pages import page\n"
        "\n"
        "config = ConfigurationBuilder()\n"
        "config.router.add_page(path='home', content=page, id='home')\n"
    ),
}


def by_site(result: AuditResult) -> dict[tuple[str, int, str], tuple[str | None, str]]:
    return {(f.path, f.line, f.rule): (f.fix, f.message) for f in result.findings
            if f.rule.startswith("DM10")}


@pytest.fixture(scope="module")
def audited(tmp_path_factory: pytest.TempPathFactory) -> AuditResult:
    return run_audit(write_tree(tmp_path_factory.mktemp("wrappers"), APP))[0]


def test_a_helper_call_without_a_uid_is_the_finding_and_its_fix(audited: AuditResult) -> None:
    found = by_site(audited)
    assert found[("dash/pages.py", 7, "DM101")] == (
        "safe", "DerivedVariable made by derived() without uid= gets a random id per worker; "
        "add uid='dash.pages:upper'")
    assert found[("dash/pages.py", 9, "DM101")][0] == "safe"
    assert "made by cached()" in found[("dash/pages.py", 9, "DM101")][1]


def test_helpers_of_helpers_and_classes_are_followed(audited: AuditResult) -> None:
    found = by_site(audited)
    assert found[("dash/pages.py", 13, "DM101")] == (
        "safe", "DerivedVariable made by ratio() without uid= gets a random id per worker; "
        "add uid='dash.pages:share'")
    assert "made by Metric()" in found[("dash/pages.py", 14, "DM101")][1]


def test_calls_that_pass_a_uid_and_the_helpers_themselves_are_not_reported(
        audited: AuditResult) -> None:
    lines = {(path, line) for path, line, _ in by_site(audited)}
    assert ("dash/pages.py", 8) not in lines
    assert ("dash/pages.py", 10) not in lines
    assert not {line for path, line in lines if path == "lib/helpers.py"}


def test_a_literal_default_shared_by_two_calls_is_a_duplicate(audited: AuditResult) -> None:
    found = by_site(audited)
    for line in (11, 12):
        fix, message = found[("dash/pages.py", line, "DM103")]
        assert fix == "manual"
        assert message.startswith("uid 'shared-total' is also used by 1 other derived_variable")


def test_a_helper_called_in_a_loop_is_keyed_by_a_person(audited: AuditResult) -> None:
    fix, message = by_site(audited)[("dash/pages.py", 15, "DM104")]
    assert fix == "manual"
    assert message == ("DerivedVariable made by derived() in a loop: each run gets a new random "
                       "id; pass each call its own uid=, keyed by the loop variable")
    assert ("dash/pages.py", 15, "DM101") not in by_site(audited)


def test_apply_passes_the_uid_to_the_helper_call(tmp_path: Path) -> None:
    root = write_tree(tmp_path, APP)
    applied = apply_fixes(root)
    assert applied.exit_code in (0, 1), applied.output
    written = (root / "dash" / "pages.py").read_text(encoding="utf-8").splitlines()
    assert written[6:10] == [
        "upper = derived(lambda n: n.upper(), [name], uid='dash.pages:upper')",
        "lower = derived(lambda n: n.lower(), [name], uid='lower-name')",
        "length = cached(lambda n: len(n), [name], uid='dash.pages:length')",
        "width = cached(lambda n: len(n) * 2, [name], uid='name-width')",
    ]
    assert "share = ratio(lambda n: 1 / len(n), [name], uid='dash.pages:share')" in written
    assert "count = Metric(lambda n: n.count('a'), [name], uid='dash.pages:count')" in written
    # The duplicate default and the loop are a person's: marked, not rewritten.
    assert written[written.index("first = keyed(lambda n: n[:1], [name])") - 1] == (
        "# dara-migrate: local-only[DM103] automatic migration not possible")
    assert (root / "lib" / "helpers.py").read_text(encoding="utf-8") == HELPERS
    again = CliRunner().invoke(cli, ["audit", str(root), "--format", "json", "--no-cache",
                                     "--target", "1.x"])
    rules = {(f["line"], f["rule"]) for f in json.loads(again.stdout)["findings"]
             if f["path"] == "dash/pages.py"}
    assert not {line for line, rule in rules if rule == "DM101"}


def test_an_unstable_uid_passed_to_a_helper_is_replaced_at_the_call(tmp_path: Path) -> None:
    """DM102 where the helper's call gives the uid: a keyword is replaced by the scheme's
    literal there (the import only it used goes), a position is a person's."""
    pages = (
        "import uuid\n"
        "from dara.core import Variable\n"
        "\n"
        "from lib.helpers import cached, keyed\n"
        "\n"
        "name = Variable('x', uid='name')\n"
        "length = cached(lambda n: len(n), [name], uid=str(uuid.uuid4()))\n"
        "first = keyed(lambda n: n[:1], [name], key=f'first-{uuid.uuid4().hex}')\n"
        "last = cached(lambda n: n[-1:], [name], str(uuid.uuid4()))\n"
    )
    root = write_tree(tmp_path, {**APP, "dash/pages.py": pages})
    found = by_site(run_audit(root)[0])
    assert found[("dash/pages.py", 7, "DM102")] == (
        "safe", "uid of this DerivedVariable made by cached() comes from uuid.uuid4() and "
        "differs on every worker; use a literal or a factory parameter")
    assert found[("dash/pages.py", 8, "DM102")][0] == "safe"
    assert found[("dash/pages.py", 8, "DM102")][1].startswith("key of this DerivedVariable "
                                                              "made by keyed()")
    assert found[("dash/pages.py", 9, "DM102")][0] == "manual"
    applied = apply_fixes(root)
    assert applied.exit_code in (0, 1), applied.output
    written = (root / "dash" / "pages.py").read_text(encoding="utf-8").splitlines()
    assert "length = cached(lambda n: len(n), [name], uid='dash.pages:length')" in written
    assert "first = keyed(lambda n: n[:1], [name], key='dash.pages:first')" in written
    assert "import uuid" in written  # still read by the call left to a person


@pytest.mark.slow
def test_the_migrated_helper_calls_build_with_stable_ids(tmp_path: Path) -> None:
    pages = "".join(line + "\n" for line in PAGES.splitlines()
                    if not line.startswith(("first =", "last =", "columns =")))
    root = write_tree(tmp_path, {**APP, "dash/pages.py": pages})
    applied = CliRunner().invoke(cli, ["apply", str(root), "--yes", "--no-cache",
                                       "--allow-dirty", "--target", "1.x"])
    assert applied.exit_code in (0, 1), applied.output
    assert "fixed ids stable" in applied.stderr
    verified = CliRunner().invoke(cli, ["verify", str(root), "--format", "json",
                                        "--output", str(tmp_path / "manifest.json")])
    assert verified.exit_code == 0, verified.output
    manifest = json.loads(verified.stdout)
    assert manifest["unstable"] == {}
    assert {"dash.pages:upper", "dash.pages:share", "dash.pages:count"} <= {
        entry["id"] for entry in manifest["definitions"]}


TEMPLATED = {
    "shop/cards.py": (
        "from dara.components import Card, Text\n"
        "from dara.core import DerivedVariable, Variable\n"
        "\n"
        "sales = Variable(0, uid='sales')\n"
        "\n"
        "\n"
        "def kpi(title: str, prefix: str = 'sales'):\n"
        "    total = DerivedVariable(lambda s: s * 2, variables=[sales], uid=f'{prefix}-total')\n"
        "    return Card(Text(total), title=title)\n"
        "\n"
        "\n"
        "def metric(title: str, *, uid_prefix: str | None = None):\n"
        "    made = DerivedVariable(lambda s: s + 1, variables=[sales], uid=f'{uid_prefix}-m')\n"
        "    return Card(Text(made), title=title)\n"
    ),
    "shop/main.py": (
        "from dara.components import Stack\n"
        "from dara.core import ConfigurationBuilder\n"
        "\n"
        "from shop.cards import kpi, metric\n"
        "\n"
        "config = ConfigurationBuilder()\n"
        "\n"
        "\n"
        "def home():\n"
        "    return Stack(kpi('North'), kpi('South'), kpi('East', prefix='east'),\n"
        "                 metric('A', uid_prefix='a'), metric('B'), metric('C', uid_prefix='c'))\n"
        "\n"
        "\n"
        "config.router.add_page(path='home', content=home, id='home')\n"
    ),
}
"""A uid written over a defaulted parameter: two calls that leave it out register one uid
twice, and the build fails (`sales-total ... is already taken`)."""


def test_calls_that_leave_a_uid_template_to_its_default_collide(tmp_path: Path) -> None:
    result, _ = run_audit(write_tree(tmp_path, TEMPLATED))
    found = [(f.path, f.line, f.column, f.rule, f.fix) for f in result.findings
             if f.rule.startswith("DM10")]
    assert found == [("shop/main.py", 10, 18, "DM103", "manual"),
                     ("shop/main.py", 10, 32, "DM103", "manual")]
    [first, _] = [f for f in result.findings if f.rule == "DM103"]
    assert first.message.startswith("uid 'sales-total' is also used by 1 other")


UNSURE = (
    "import functools\n"
    "\n"
    "from dara.core import DerivedVariable as DV\n"
    "\n"
    "\n"
    "def pair(func, variables, uid=None):\n"
    "    return DV(func, variables=variables, uid=uid), DV(func, variables=variables, uid=uid)\n"
    "\n"
    "\n"
    "def per_column(func, columns, uid=None):\n"
    "    return {c: DV(func, variables=[], uid=uid) for c in columns}\n"
    "\n"
    "\n"
    "def named(prefix):\n"
    "    def wrap(fn):\n"
    "        @functools.wraps(fn)\n"
    "        def inner(*args, **kw):\n"
    "            return fn(*args, uid=f'{prefix}-{fn.__name__}', **kw)\n"
    "        return inner\n"
    "    return wrap\n"
    "\n"
    "\n"
    "@named('metric')\n"
    "def decorated(func, variables, uid=None):\n"
    "    return DV(func, variables=variables, uid=uid)\n"
    "\n"
    "\n"
    "def popped(func, variables, **kwargs):\n"
    "    kwargs.pop('uid', None)\n"
    "    return DV(func, variables=variables, **kwargs)\n"
    "\n"
    "\n"
    "def assigned(func, variables, **kwargs):\n"
    "    kwargs['uid'] = f'{func.__module__}.{func.__name__}'\n"
    "    return DV(func, variables=variables, **kwargs)\n"
    "\n"
    "\n"
    "def keyed(func, variables, key=None):\n"
    "    return DV(func, variables=variables, uid=key)\n"
    "\n"
    "\n"
    "def share(func, variables, **options):\n"
    "    return keyed(func, variables, **options)\n"
)


def test_helpers_that_do_not_pass_one_uid_on_to_one_definition_are_left_alone(
        tmp_path: Path) -> None:
    calls = "".join(f"{name}_made = {name}(lambda: 1, [])\n" for name in (
        "pair", "per_column", "decorated", "popped", "assigned"))
    root = write_tree(tmp_path, {
        "lib/helpers.py": UNSURE,
        "dash/main.py": "from dara.core import ConfigurationBuilder\n\n"
        "from lib.helpers import assigned, decorated, keyed, pair, per_column, popped, share\n\n"
        "config = ConfigurationBuilder()\n" + calls
        + "ratio = share(lambda: 2, [])\nfixed = keyed(lambda: 3, [], key='dash.main:ratio')\n",
    })
    result, _ = run_audit(root)
    found = {(f.line, f.rule): f.message for f in result.findings if f.rule.startswith("DM10")}
    # The keyword is the one the inner helper takes, and the suggestion avoids the literal
    # another call passes.
    assert found == {(11, "DM101"): (
        "DerivedVariable made by share() without key= gets a random id per worker; "
        "add key='dash.main:ratio-2'")}


def test_a_subclass_that_inherits_the_initialiser_is_followed(tmp_path: Path) -> None:
    root = write_tree(tmp_path, {
        **APP,
        "dash/extra.py": (
            "from dara.core import Variable\n"
            "\n"
            "from lib.helpers import Metric\n"
            "\n"
            "\n"
            "class Percent(Metric):\n"
            "    pass\n"
            "\n"
            "\n"
            "share = Percent(lambda n: n, [Variable(1, uid='one')])\n"
        ),
    })
    result, _ = run_audit(root)
    found = [(f.line, f.rule, f.message) for f in result.findings if f.path == "dash/extra.py"]
    assert found == [(10, "DM101", "DerivedVariable made by Percent() without uid= gets a random "
                      "id per worker; add uid='dash.extra:share'")]


def test_an_empty_uid_and_a_constant_default_are_uids_dara_keeps(tmp_path: Path) -> None:
    root = write_tree(tmp_path, {
        "lib/keys.py": (
            "from dara.core import DerivedVariable\n"
            "\n"
            "DEFAULT_KEY = 'shared-key'\n"
            "\n"
            "\n"
            "def cached(func, variables, uid=DEFAULT_KEY):\n"
            "    return DerivedVariable(func, variables=variables, uid=uid)\n"
        ),
        "dash/main.py": (
            "from dara.core import ConfigurationBuilder, DerivedVariable\n"
            "\n"
            "from lib.keys import cached\n"
            "\n"
            "config = ConfigurationBuilder()\n"
            "a = cached(lambda: 1, [])\n"
            "b = cached(lambda: 2, [])\n"
            "c = DerivedVariable(lambda: 3, variables=[], uid='')\n"
            "d = DerivedVariable(lambda: 4, variables=[], uid='')\n"
        ),
    })
    result, _ = run_audit(root)
    found = [(f.line, f.rule, f.message.split(" is also")[0]) for f in result.findings
             if f.rule.startswith("DM10")]
    # AnyVariable replaces only None with uuid4: these are two pairs of one uid each.
    assert found == [(6, "DM103", "uid 'shared-key'"), (7, "DM103", "uid 'shared-key'"),
                     (8, "DM103", "uid ''"), (9, "DM103", "uid ''")]


def test_constructors_preset_with_partial_are_definitions(tmp_path: Path) -> None:
    # `functools.partial` presets a constructor's options once for a module's definitions,
    # also from another module; each call of the preset is a definition, fixed where it is.
    root = write_tree(tmp_path, {
        "lib/presets.py": "import functools\n"
        "from functools import partial\n"
        "\n"
        "import dara.core as dc\n"
        "from dara.core import DerivedVariable\n"
        "\n"
        "global_dv = partial(DerivedVariable, cache='global')\n"
        "session_dv = functools.partial(dc.DerivedVariable, cache='session')\n"
        "# A preset uid: stored data is keyed by it, no fix may write another.\n"
        "orders_dv = partial(DerivedVariable, uid='orders')\n",
        "dash/pages.py": "from dara.core import ConfigurationBuilder, Variable\n"
        "\n"
        "from lib.presets import global_dv, orders_dv, session_dv\n"
        "\n"
        "name = Variable('x', uid='name')\n"
        "upper = global_dv(lambda n: n.upper(), variables=[name])\n"
        "lower = session_dv(lambda n: n.lower(), variables=[name], uid='lower-name')\n"
        "orders = orders_dv(lambda n: n, variables=[name])\n"
        "\n"
        "config = ConfigurationBuilder()\n",
    })
    found = [(f.path, f.line, f.rule) for f in run_audit(root)[0].findings
             if f.rule.startswith("DM10")]
    assert found == [("dash/pages.py", 6, "DM101")]
    applied = apply_fixes(root)
    assert applied.exit_code in (0, 1), applied.output
    written = (root / "dash" / "pages.py").read_text(encoding="utf-8").splitlines()
    assert written[5] == "upper = global_dv(lambda n: n.upper(), variables=[name], " \
        "uid='dash.pages:upper')"
    assert written[7] == "orders = orders_dv(lambda n: n, variables=[name])"
