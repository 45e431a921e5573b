"""Namespace packages (folders without `__init__.py`, PEP 420) are modelled exactly like
regular packages: same module names, same cross-module calls, same findings and fixes."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from dara_migrate.cli import app as cli
from tests.helpers import ONE_NAME_TWO_DEFINITIONS, examples, run_audit, write_tree

HERE = Path(__file__).parent
APPS = [
    *sorted(p for p in (HERE / "fixtures" / "apps").iterdir() if p.is_dir()),
    *sorted(p for p in (HERE / "verify" / "apps").iterdir() if p.is_dir()),
    HERE.parent / "examples" / "sales_dashboard",
]


def outcome(root: Path, left_out: frozenset[str]) -> tuple[object, ...]:
    """Everything a user sees of an audit (findings, uids, fix kinds, verdicts), leaving
    out the findings in `left_out` files."""
    result, _ = run_audit(root)
    findings = sorted(
        (f.path, f.line, f.column, f.rule, f.message, f.fix, f.suggested_uid, f.status,
         f.apps) for f in result.findings if f.path not in left_out)
    apps = sorted((a.name, a.path, a.verdict, a.errors, a.blockers) for a in result.apps)
    return tuple(findings), tuple(apps)


def package_markers(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("__init__.py"))


@pytest.mark.parametrize("source", APPS, ids=[p.name for p in APPS])
def test_deleting_package_markers_changes_nothing(source: Path, tmp_path: Path) -> None:
    baseline_root = tmp_path / "baseline" / source.name
    shutil.copytree(source, baseline_root)
    markers = package_markers(baseline_root)
    assert markers, "every fixture app is a package"
    baseline = outcome(baseline_root, frozenset(markers))

    @settings(max_examples=examples(6), deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.sets(st.sampled_from(markers), min_size=1))
    @example(set(markers))
    def check(deleted: set[str]) -> None:
        with tempfile.TemporaryDirectory() as folder:
            root = Path(folder) / source.name
            shutil.copytree(baseline_root, root)
            for marker in deleted:
                (root / marker).unlink()
            assert outcome(root, frozenset(markers)) == baseline

    check()


GALLERY = {
    "pyproject.toml": '[project]\nname = "dara-interactivity"\n'
                      'dependencies = ["dara-core>=1.30,<2"]\n',
    "dara_interactivity/main.py": (
        "from dara.core import ConfigurationBuilder\n"
        "from dara.core.visual.components import Menu, RouterContent, Stack\n"
        "\n"
        "from dara_interactivity.pages.derived_variables import derived_variables_page\n"
        "from dara_interactivity.pages.intro import intro_page\n"
        "\n"
        "config = ConfigurationBuilder()\n"
        "config.router.add_page(path='intro', content=intro_page(), id='intro')\n"
        "config.router.add_page(path='derived', content=derived_variables_page(),\n"
        "                       id='derived')\n"
    ),
    "dara_interactivity/pages/intro.py": (
        "from dara.components import Text\n"
        "from dara.core import DerivedVariable, Variable\n"
        "\n"
        "from dara_interactivity.components.data import data\n"
        "\n"
        "\n"
        "def intro_page():\n"
        "    name = Variable('world')\n"
        "    greeting = DerivedVariable(lambda n: f'Hello {n}', variables=[name])\n"
        "    return Text(greeting)\n"
    ),
    "dara_interactivity/pages/derived_variables.py": (
        "from dara.components import Stack, Text\n"
        "from dara.core import DerivedVariable, Variable\n"
        "\n"
        "\n"
        "def derived_variables_page():\n"
        "    count = Variable(1)\n"
        "    doubled = DerivedVariable(lambda c: c * 2, variables=[count])\n"
        "    return Stack(Text(doubled))\n"
    ),
    "dara_interactivity/components/data.py": (
        "from dara.core import DerivedVariable, Variable\n"
        "\n"
        "rows = Variable(10)\n"
        "data = DerivedVariable(lambda r: list(range(r)), variables=[rows])\n"
    ),
    "dara_interactivity/pages/data.py": (
        "from dara.core import DerivedVariable, Variable\n"
        "\n"
        "limit = Variable(5)\n"
        "data = DerivedVariable(lambda n: n, variables=[limit])\n"
    ),
}


def test_a_gallery_app_without_package_markers_is_modelled_in_full(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "gallery", GALLERY)
    result, project = run_audit(root, target=None)
    uids = {(f.path, f.line): (f.fix, f.suggested_uid) for f in result.findings
            if f.rule == "DM101"}
    assert uids == {
        ("dara_interactivity/pages/intro.py", 9):
            ("safe", "dara_interactivity.pages.intro:intro_page.greeting"),
        ("dara_interactivity/pages/derived_variables.py", 7):
            ("safe", "dara_interactivity.pages.derived_variables:derived_variables_page.doubled"),
        ("dara_interactivity/components/data.py", 4):
            ("safe", "dara_interactivity.components.data:data"),
        ("dara_interactivity/pages/data.py", 4): ("safe", "dara_interactivity.pages.data:data"),
    }
    assert all("nothing in the project calls" not in f.message for f in result.findings)
    [app] = project.apps
    assert (app.key, app.app_id, app.target) == (
        "dara_interactivity.main:config", "dara-interactivity", "1.x")


@pytest.mark.slow
def test_a_namespace_copy_of_the_example_migrates_and_verifies(tmp_path: Path) -> None:
    root = tmp_path / "sales_dashboard"
    shutil.copytree(HERE.parent / "examples" / "sales_dashboard", root)
    for marker in package_markers(root):
        (root / marker).unlink()
    applied = CliRunner().invoke(cli, ["apply", str(root), "--yes", "--target", "1.x",
                                       "--no-cache"])
    assert applied.exit_code in (0, 1), applied.stderr
    written = "".join(p.read_text(encoding="utf-8") for p in sorted(root.rglob("*.py")))
    assert "local-only[DM101]" not in written
    assert "uid='sales_dashboard.state:" in written
    verified = CliRunner().invoke(cli, ["verify", str(root), "--format", "json",
                                        "--output", str(tmp_path / "manifest.json")])
    assert verified.exit_code == 0, verified.output
    manifest = json.loads(verified.stdout)
    assert manifest["config"] == "sales_dashboard.main:config"
    assert manifest["unstable"] == {}


TAKEN = {
    "pyproject.toml": '[project]\nname = "shop"\n',
    "shop/main.py": (
        "from dara.core import ConfigurationBuilder\n"
        "\n"
        "from shop.orders.data import summary\n"
        "from shop.billing.data import invoices\n"
        "\n"
        "config = ConfigurationBuilder()\n"
    ),
    "shop/orders/data.py": (
        "from dara.core import DerivedVariable, Variable\n"
        "\n"
        "period = Variable('month')\n"
        "summary = DerivedVariable(lambda p: p, variables=[period])\n"
    ),
    "shop/billing/data.py": (
        "from dara.core import DerivedVariable, Variable\n"
        "\n"
        "from shop.widgets import card\n"
        "\n"
        "period = Variable('month')\n"
        "summary = DerivedVariable(lambda p: p, variables=[period])\n"
        "invoices = card(uid='shop.billing.data:summary')\n"
    ),
    "shop/widgets.py": "def card(uid: str) -> str:\n    return uid\n",
}


def test_apply_never_writes_a_uid_taken_anywhere_in_the_project(tmp_path: Path) -> None:
    from dara_migrate.apply import ApplyOptions, run_apply
    from dara_migrate.planner import FixOptions
    from dara_migrate.settings import load_settings

    root = write_tree(tmp_path / "shop", TAKEN)
    result, _ = run_audit(root)
    suggested = {f.path: (f.suggested_uid, f.fingerprint) for f in result.findings
                 if f.rule == "DM101"}
    # Same file name, same variable name, different packages: different uids.
    assert suggested["shop/orders/data.py"][0] == "shop.orders.data:summary"
    assert suggested["shop/billing/data.py"][0] == "shop.billing.data:summary"
    settings = load_settings(root, {"use_cache": False, "target": "1.x"})
    # billing's suggestion is already a `uid=` of a call no rule knows; orders is asked
    # (as in an interactive review) to take a uid that billing's fix writes.
    overrides = {suggested["shop/orders/data.py"][1]: "shop.billing.data:summary"}
    applied = run_apply(settings, [root], ApplyOptions(FixOptions(uid_overrides=overrides),
                                                       local=False))
    assert applied.changes == []
    assert sorted(applied.refused) == [
        "shop/billing/data.py:6: uid 'shop.billing.data:summary' not written: "
        "shop/billing/data.py:7 already uses it",
        "shop/orders/data.py:4: uid 'shop.billing.data:summary' not written: "
        "shop/billing/data.py:7 already uses it",
    ]
    assert {f.path for f in applied.remaining if f.rule == "DM101"} == {
        "shop/orders/data.py", "shop/billing/data.py"}


def test_two_fixes_never_write_the_same_uid(tmp_path: Path) -> None:
    from dara_migrate.apply import ApplyOptions, run_apply
    from dara_migrate.planner import FixOptions
    from dara_migrate.settings import load_settings

    root = write_tree(tmp_path / "shop", ONE_NAME_TWO_DEFINITIONS)
    settings = load_settings(root, {"use_cache": False, "target": "1.x"})
    # DM101 and DM102 share one suggestion scheme: `shop.main:x` and `shop.main:x-2`.
    applied = run_apply(settings, [root], ApplyOptions(FixOptions(unsafe=True)))
    [change] = applied.changes
    text = change.after.decode()
    assert "uid='shop.main:x')" in text and "uid='shop.main:x-2')" in text
    assert (applied.remaining, applied.hatch_apps, applied.refused) == ([], [], [])


@pytest.mark.slow
def test_verify_builds_a_src_layout_from_its_project_folder(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "shop", {
        "pyproject.toml": '[project]\nname = "shop"\n',
        "src/shop/main.py": (
            "from dara.core import ConfigurationBuilder\n"
            "\n"
            "from shop.pages import home\n"
            "\n"
            "config = ConfigurationBuilder()\n"
            "config.router.add_page(path='home', content=home, id='home')\n"
        ),
        "src/shop/pages.py": (
            "from dara.components import Text\n"
            "from dara.core import DerivedVariable, Variable\n"
            "\n"
            "v = Variable(1)\n"
            "d = DerivedVariable(lambda x: x, variables=[v], uid='shop.pages:d')\n"
            "\n"
            "\n"
            "def home():\n"
            "    return Text(d)\n"
        ),
    })
    verified = CliRunner().invoke(cli, ["verify", str(root), "--format", "json"])
    assert verified.exit_code == 0, verified.output
    manifest = json.loads(verified.stdout)
    assert (manifest["config"], manifest["unstable"]) == ("shop.main:config", {})
    assert (root / "dara-manifest.json").is_file()
