"""The codemod over the rule registry: per rule, per rule family, with unsafe fixes, and run by
`python -m libcst.tool codemod` itself, where it writes what `apply` writes."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from libcst.codemod import CodemodContext, CodemodTest

from codemods.rules import RuleFixes
from tests.helpers import write_tree

REPOSITORY = Path(__file__).parent.parent
GOLDEN = Path(__file__).parent / "apply" / "golden"

MAIN = '''"""Ledger app: the configuration and its routes."""
from dara.core import ConfigurationBuilder

from ledger.pages import accounts_page, totals_page

config = ConfigurationBuilder()
config.title = 'Ledger'

router = config.router
router.add_page(path='/', content=totals_page)
router.add_page(path='accounts', content=accounts_page)
'''
STATE = '''"""Ledger state shared by the pages."""
import dara.core as dc
from dara.core import DerivedVariable as DV
from dara.core import ServerVariable
from dara.core.interactivity.server_variable import MemoryBackend
from dara.core.persistence import BackendStore

entries = dc.Variable(default=[], store=BackendStore())
balances = ServerVariable(default={}, backend=MemoryBackend())
total = DV[float](lambda rows: sum(rows), variables=[entries])
'''
PAGES = '''"""Ledger pages."""
from dara.components import Stack, Text
from dara.core import DerivedVariable, py_component

from ledger.state import entries, total


@py_component
def balance(label: str):
    rounded = DerivedVariable(lambda rows: round(sum(rows), 2), variables=[entries])
    return Stack(Text(label), Text(rounded))


def totals_page():
    return Stack(Text('Totals'), Text(total), balance('All accounts'))


def accounts_page():
    recent = DerivedVariable(lambda rows: rows[-10:], variables=[entries])
    return Stack(Text(recent))
'''
STATE_UIDS = STATE.replace(
    "entries = dc.Variable(default=[], store=BackendStore())",
    "entries = dc.Variable(\n    default=[],\n    store=BackendStore(uid='ledger.state:store'),\n"
    "    uid='ledger.state:entries',\n)",
).replace(
    "balances = ServerVariable(default={}, backend=MemoryBackend())",
    "balances = ServerVariable(\n    default={},\n    backend=MemoryBackend(),\n"
    "    uid='ledger.state:balances',\n)",
).replace("variables=[entries])", "variables=[entries], uid='ledger.state:total')")
LEDGER = {
    "pyproject.toml": '[project]\nname = "ledger"\ndependencies = ["dara-core>=1.30,<2"]\n',
    "ledger/__init__.py": "",
    "ledger/main.py": MAIN,
    "ledger/state.py": STATE,
    "ledger/pages.py": PAGES,
}


class TestRuleFixes(CodemodTest):
    TRANSFORM = RuleFixes

    @pytest.fixture(autouse=True)
    def ledger(self, tmp_path: Path) -> None:
        self.root = write_tree(tmp_path / "ledger-app", LEDGER)

    def check(self, path: str, after: str, **options: object) -> None:
        before = LEDGER[path]
        assert CodemodTest.make_fixture_data(before) == before  # the file is what is parsed
        context = CodemodContext(filename=str(self.root / path))
        self.assertCodemod(before, after, context_override=context, root=str(self.root),
                           target="1.x", **options)

    def test_one_rule_fixes_only_that_rule(self) -> None:
        self.check("ledger/state.py", STATE_UIDS, rules=["DM101"])
        self.check("ledger/main.py", MAIN, rules=["DM101"])

    def test_route_ids(self) -> None:
        self.check("ledger/main.py", MAIN.replace(
            "content=totals_page)", "content=totals_page, id='index')").replace(
            "content=accounts_page)", "content=accounts_page, id='accounts')"),
            rules=["DM108"])

    def test_a_family_prefix_takes_every_rule_of_the_family(self) -> None:
        self.check("ledger/state.py", STATE_UIDS, rules=["DM1"])
        self.check("ledger/main.py", MAIN.replace(
            "content=totals_page)", "content=totals_page, id='index')").replace(
            "content=accounts_page)", "content=accounts_page, id='accounts')"),
            rules=["DM1"])

    def test_unsafe_fixes_only_when_asked(self) -> None:
        self.check("ledger/pages.py", PAGES, rules=["DM301"])
        self.check("ledger/pages.py", PAGES.replace(
            "from ledger.state import entries, total\n",
            "from ledger.state import entries, total\n\n"
            "rounded = DerivedVariable(lambda rows: round(sum(rows), 2), variables=[entries])\n",
        ).replace(
            "    rounded = DerivedVariable(lambda rows: round(sum(rows), 2), "
            "variables=[entries])\n", "",
        ), rules=["DM301"], unsafe=True)

    def test_without_root_the_file_is_skipped(self) -> None:
        self.assertCodemod(MAIN, MAIN, context_override=CodemodContext(
            filename=str(self.root / "ledger/main.py")), expected_skip=True)

    def test_a_file_changed_since_the_plan_is_skipped(self) -> None:
        context = CodemodContext(filename=str(self.root / "ledger/main.py"))
        edited = MAIN.replace("'Ledger'", "'Books'")
        self.assertCodemod(edited, edited, context_override=context, root=str(self.root),
                           rules=["DM108"], expected_skip=True)


def libcst_tool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "libcst.tool", "codemod", "rules.RuleFixes",
                           "--no-format", "--hide-progress", *args], cwd=REPOSITORY,
                          capture_output=True, text=True, timeout=120)


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.parametrize(("case", "options"), [
    ("shop-1x", ["--target", "1.x", "--escape-hatch"]),
    ("hoist", ["--target", "1.x", "--unsafe-fixes", "--escape-hatch"]),
])
def test_libcst_tool_writes_what_apply_writes(case: str, options: list[str],
                                               tmp_path: Path) -> None:
    source = case.split("-")[0]
    work = tmp_path / source
    shutil.copytree(GOLDEN / source / "before", work)
    ran = libcst_tool("--root", str(work), *options, str(work))
    assert ran.returncode == 0, ran.stderr
    assert tree(work) == tree(GOLDEN / source / f"after-{case}")


def test_an_unknown_rule_is_a_one_line_usage_error(tmp_path: Path) -> None:
    ran = libcst_tool("--root", str(tmp_path), "--rule", "dm1", str(tmp_path))
    assert ran.returncode == 2
    assert ran.stderr.splitlines()[-1] == (
        "libcst.tool codemod: error: argument --rule: --rule: unknown rule code 'dm1' "
        "(codes are upper-case: DM1); known prefixes: DM0, DM1, DM2, DM3, DM4, DM5, DM6, DM7")


def test_libcst_tool_takes_rules_from_the_command_line(tmp_path: Path) -> None:
    work = tmp_path / "shop"
    shutil.copytree(GOLDEN / "shop" / "before", work)
    before = tree(work)
    ran = libcst_tool("--root", str(work), "--target", "1.x", "--rule", "DM108", str(work))
    assert ran.returncode == 0, ran.stderr
    after = tree(work)
    assert [path for path in after if after[path] != before[path]] == ["shop/main.py"]
    assert b"content=overview_page, id='index')" in after["shop/main.py"]
