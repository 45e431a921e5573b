"""A stored audit after some files changed analyses only their parts, and reports exactly what
the whole run reports; where parts meet (a uid, a base class, a new import, the secret, a new
app), the whole project is analysed again."""

from __future__ import annotations

import io
import json
import pickle
import re
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from dara_migrate import engine, result_cache
from dara_migrate.cli import _run
from dara_migrate.files import CACHE_FOLDER
from dara_migrate.models import Finding, Related
from dara_migrate.parts import Couplings, _pickled
from dara_migrate.result_cache import RESULTS_FOLDER
from tests.helpers import write_tree

REPO = Path(__file__).resolve().parents[1]
TREES = [REPO / "examples" / "sales_dashboard", REPO / "tests" / "fixtures" / "factory_app",
         REPO / "tests" / "fixtures" / "monorepo",
         *sorted(p for p in (REPO / "tests" / "fixtures" / "apps").iterdir() if p.is_dir())]


class Runs:
    """`dara-migrate audit TREE --format json` as the command line runs it, in this process:
    a stored run keeps its report and the project's parts."""

    def __init__(self, root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.root = root
        self.given = root
        """The path the command is given (a folder of the project: only its files are
        reported)."""
        self.monkeypatch = monkeypatch
        self.whole = 0
        monkeypatch.chdir(root)
        monkeypatch.setattr(result_cache, "_RACY_SECONDS", 0.0)  # files are written just now
        load = engine.load_project

        def counted(*args: object, **kwargs: object) -> engine.Project:
            self.whole += 1
            return load(*args, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(engine, "load_project", counted)

    def audit(self, *extra: str) -> str:
        argv = ["audit", str(self.given), "--format", "json", *extra]
        output = io.StringIO()
        self.monkeypatch.setattr(sys, "argv", ["dara-migrate", *argv])
        self.monkeypatch.setattr(sys, "stdout", output)
        self.monkeypatch.setattr(sys, "stderr", io.StringIO())
        self.monkeypatch.setattr(result_cache, "_invocation", None)
        assert _run(argv) in (0, 1)
        return output.getvalue()

    def stored(self, *extra: str) -> tuple[str, bool]:
        """A run that may store its report: its output, and whether it analysed only parts."""
        before = self.whole
        output = self.audit(*extra)
        return output, self.whole == before

    def cold(self, *extra: str) -> str:
        return self.audit(*extra, "--no-cache")


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every fixture app and the example, side by side in one project."""
    root = tmp_path_factory.mktemp("tree")
    for source in TREES:
        shutil.copytree(source, root / "apps" / source.name,
                        ignore=shutil.ignore_patterns(CACHE_FOLDER, "__pycache__"))
    (root / "pyproject.toml").write_text(
        '[project]\nname = "tree"\ndependencies = ["dara-core>=1.30,<2"]\n')
    for number in range(3):  # scripts of no app, outside `apps/`
        (root / "tools").mkdir(exist_ok=True)
        (root / "tools" / f"report_{number}.py").write_text(f"REPORT = {number}\n")
    return root


@pytest.fixture
def runs(tree: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Runs:
    root = tmp_path / "tree"
    shutil.copytree(tree, root)
    found = Runs(root, monkeypatch)
    found.stored()
    return found


def edit(root: Path, path: str, change: Callable[[str], str]) -> None:
    file = root / path
    text = file.read_text(encoding="utf-8")
    changed = change(text)
    assert changed != text, path
    file.write_text(changed, encoding="utf-8")


def after_imports(line: str) -> Callable[[str], str]:
    """A statement after a module's imports: its facts change, every later line moves."""
    def change(text: str) -> str:
        lines = text.splitlines(keepends=True)
        last = max(i for i, row in enumerate(lines) if row.startswith(("import ", "from ")))
        while lines[last].rstrip().endswith(("(", ",")):  # a parenthesised import
            last += 1
        return "".join([*lines[:last + 1], line, *lines[last + 1:]])
    return change


PART_EDITS = [
    ("apps/sales_dashboard/sales_dashboard/main.py", after_imports("EDITED = 'x'\n")),
    ("apps/identity_app/identity_app/catalog.py", after_imports("EDITED = 'x'\n")),
    ("apps/keyed_app/keyed_app/state.py",
     lambda text: text.replace("uid=str(uuid4()))", "uid='session-totals')")),
    ("apps/state_app/state_app/pages.py", lambda text: text +
     "\nfrom dara.core import DerivedVariable as _DV\n\nEXTRA = _DV(lambda: 1, variables=[])\n"),
    ("apps/monorepo/nextgen/ops/main.py", after_imports("EDITED = 'x'\n")),
]


@pytest.mark.parametrize(("path", "change"), PART_EDITS, ids=[p for p, _ in PART_EDITS])
def test_after_an_edit_only_its_part_is_analysed_and_the_report_is_the_whole_run_s(
        runs: Runs, path: str, change: Callable[[str], str]) -> None:
    before = runs.cold()
    edit(runs.root, path, change)
    output, parts_only = runs.stored()
    assert parts_only
    assert output == runs.cold() != before
    # The parts stored anew serve the next edit as well.
    edit(runs.root, "apps/tasks_app/tasks_app/main.py", after_imports("AGAIN = 1\n"))
    output, parts_only = runs.stored()
    assert parts_only
    assert output == runs.cold()


def test_a_run_over_one_folder_of_the_project_reports_it_as_the_whole_run_does(
        runs: Runs) -> None:
    runs.given = runs.root / "apps"  # every app; the project is the tree around it
    runs.stored()
    # Files of no app, in a project with apps: a part with no app is analysed whole (DM201
    # reads every app).
    for path, alone in (("apps/state_app/state_app/pages.py", True), ("tools/report_1.py", False)):
        edit(runs.root, path, lambda text: text + "EDITED = 1\n")
        output, parts_only = runs.stored()
        assert parts_only is alone
        assert output == runs.cold()


def test_an_import_that_splits_a_part_is_kept_apart_afterwards(runs: Runs) -> None:
    # `main` stops importing the pages: the app's part splits; the next edit of the pages
    # analyses their part alone, and both reports are the whole run's.
    main = "apps/clean_app/clean_app/main.py"
    edit(runs.root, main, lambda text: re.sub(
        r"from clean_app\.pages import [^\n]+\n", "activity_page = board_page = shell = None\n",
        text, count=1))
    output, _ = runs.stored()
    assert output == runs.cold()
    edit(runs.root, "apps/clean_app/clean_app/pages.py", after_imports("EDITED = 1\n"))
    output, parts_only = runs.stored()
    assert parts_only
    assert output == runs.cold()


def uid_suggested(output: str, app: str) -> str:
    """A uid DM101 suggests in `app` (from its message: "add uid='...'")."""
    for finding in json.loads(output)["findings"]:
        if finding["rule"] == "DM101" and f"/{app}/" in finding["path"]:
            found = re.search(r"uid='([^']+)'", finding["message"])
            if found:
                return found.group(1)
    raise AssertionError(f"no DM101 suggestion in {app}")


MEETING_EDITS: list[tuple[str, Callable[[Runs], None]]] = [
    # A literal uid another part's suggestion had: that suggestion becomes `-2`.
    ("uid", lambda runs: edit(
        runs.root, "apps/state_app/state_app/variables.py", lambda text: text +
        "\nfrom dara.core import DerivedVariable as _DV\n\n"
        f"taken = _DV(lambda: 0, variables=[], uid={uid_suggested(runs.cold(), 'identity_app')!r})"
        "\n")),
    # A class named as another part's base.
    ("base", lambda runs: edit(
        runs.root, "apps/clean_app/clean_app/state.py",
        lambda text: text + "\n\nclass ServerBackend:\n    pass\n")),
    # An import of another app's module: the two parts become one.
    ("import", lambda runs: edit(
        runs.root, "apps/clean_app/clean_app/pages.py",
        after_imports("import state_app.pages\n"))),
    # The secret named in one app's file: no DM701 there.
    ("secret", lambda runs: edit(
        runs.root, "apps/tasks_app/tasks_app/main.py",
        after_imports("import os\n\nSECRET = os.environ['JWT_SECRET']\n"))),
    # A file that stops parsing: others' imports of it no longer resolve.
    ("broken", lambda runs: edit(
        runs.root, "apps/clean_app/clean_app/pages.py", lambda text: text + "\nbroken(\n")),
    # A second app in a part: every app's verdict and ownership may move.
    ("app", lambda runs: edit(
        runs.root, "apps/clean_app/clean_app/main.py",
        lambda text: text + "\nadmin = ConfigurationBuilder()\n")),
]


@pytest.mark.parametrize("change", [c for _, c in MEETING_EDITS],
                         ids=[name for name, _ in MEETING_EDITS])
def test_an_edit_where_parts_meet_analyses_the_whole_project(
        runs: Runs, change: Callable[[Runs], None]) -> None:
    change(runs)
    output, parts_only = runs.stored()
    assert not parts_only
    assert output == runs.cold()


APP = ("from dara.core import ConfigurationBuilder, action\n"
       "from dara.components import Button\n\n\n"
       "@action\n"
       "async def {name}(ctx: action.Ctx, value: str):\n"
       "    {body}\n\n\n"
       "config = ConfigurationBuilder()\n"
       "config.add_page('Home', content=Button('go', onclick={name}()))\n")


def test_a_local_file_one_app_writes_and_another_reads_analyses_the_whole_project(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Two apps that import nothing of each other: one writes `shared.json` at request time;
    # once the other reads it, the writer's finding appears (DM207, info).
    root = write_tree(tmp_path / "two", {
        "pyproject.toml": '[project]\nname = "two"\ndependencies = ["dara-core>=1.30,<2"]\n',
        "writer/main.py": APP.format(
            name="save", body="with open('shared.json', 'w') as out:\n        out.write(value)"),
        "reader/main.py": APP.format(name="load", body="return value"),
        # A project where one change is a small share of the files (`_MOST_CHANGED`).
        **{f"scripts/step_{n}.py": f"STEP = {n}\n" for n in range(6)},
    })
    runs = Runs(root, monkeypatch)
    runs.stored("--show-info")
    edit(root, "reader/main.py", lambda text: text.replace(
        "return value", "with open('shared.json') as stream:\n        return stream.read()"))
    output, parts_only = runs.stored("--show-info")
    assert not parts_only
    assert output == runs.cold("--show-info")
    assert "request-time write to the local file 'shared.json'" in output


PROJECT = '[project]\nname = "{}"\ndependencies = ["dara-core>=1.30,<2"]\n'
BUILDER = "from dara.core import ConfigurationBuilder\n\nconfig = ConfigurationBuilder()\n"
STORE = ("from dara.core import ServerVariable\n\n"
         "rows = ServerVariable(default=0, uid='store:rows')\n")
TOTALS = ("from dara.core import DerivedVariable\n\n"
          "totals = DerivedVariable(lambda: 1, variables=[])\n")
ROUTE = ("from dara.core import PageRoute\nfrom dara.components import Text\n\n"
         "route = PageRoute(path='reports', content=lambda: Text('r'){})\n")
LOADER = ("for name in ('sales',):\n"
          "    importlib.import_module(f'{}.{{name}}').register(config.router)\n")
REGISTER = ("from dara.components import Text\n\n\n"
            "def register(router):\n"
            "    router.add_page(path='sales', content=Text('s'){})\n")
FILLER = {f"scripts/step_{n}.py": f"STEP = {n}\n" for n in range(6)}
"""Files of no app that import nothing: one edit stays a small share of the files."""

APART = [
    # A part with no app in a project with apps: DM201 reads every app of the project.
    ("no app in the part", {"pyproject.toml": PROJECT.format("tree"),
                            "a/pyproject.toml": PROJECT.format("a"), "a/a_main.py": BUILDER,
                            "b/pyproject.toml": PROJECT.format("b"), "b/b_main.py": BUILDER,
                            "lib/store.py": STORE}, "lib/store.py"),
    # A suggestion the settings leave out of the report still takes its uid.
    ("ignored suggestion", {"pyproject.toml": PROJECT.format("tree"),
                            "alpha/pyproject.toml": PROJECT.format("alpha")
                            + "\n[tool.dara-migrate]\nignore = ['DM101']\n",
                            "alpha/helpers.py": TOTALS,
                            "beta/pyproject.toml": PROJECT.format("beta"),
                            "beta/helpers.py": TOTALS}, "beta/helpers.py"),
    # A uid given by a constant's name that another app's definition also has (DM103).
    ("uid by a constant's name", {
        "pyproject.toml": PROJECT.format("tree"),
        "a/pyproject.toml": PROJECT.format("a"),
        "a/a_main.py": BUILDER + TOTALS.replace("variables=[]", "variables=[], uid='shared'"),
        "b/pyproject.toml": PROJECT.format("b"),
        "b/b_main.py": BUILDER + "\nSHARED = 'shared'\n"
        + TOTALS.replace("variables=[]", "variables=[], uid=SHARED")}, "b/b_main.py"),
    # A name set on some object in another app (`panel.HOME = ...`) is not this app's
    # constant: only modules that import it can rebind it (DM105's static NavigateTo).
    ("attribute of the same name", {
        "pyproject.toml": PROJECT.format("tree"),
        "a/pyproject.toml": PROJECT.format("a"),
        "a/a_main.py": BUILDER + "from dara.core import NavigateTo\n"
        "from dara.components import Button\n\nHOME = '/home'\n\n"
        "config.add_page('Home', content=Button('go', onclick=NavigateTo(lambda ctx: HOME)))\n",
        "b/pyproject.toml": PROJECT.format("b"),
        "b/b_main.py": BUILDER + "\nclass Panel:\n    HOME = ''\n\n\npanel = Panel()\n"
        "panel.HOME = '/b'\n"}, "a/a_main.py"),
    # Routes of files no app owns share one router.
    ("routes of no app", {"pyproject.toml": PROJECT.format("tree"),
                          "lib/routes1.py": ROUTE.format(""), "lib/routes2.py": ROUTE.format("")},
     "lib/routes2.py"),
    # A file nothing imports belongs to the app of its project folder: its router and its
    # runtime's findings.
    ("route of the app's folder", {
        "pyproject.toml": PROJECT.format("tree"),
        "dash/main.py": BUILDER + "config.router.add_page(path='reports', content=main)\n",
        "dash/extra.py": ROUTE.format(", id='reports'")}, "dash/main.py"),
    ("store of the app's folder", {"pyproject.toml": PROJECT.format("tree"),
                                   "dash/main.py": BUILDER, "dash/store.py": STORE},
     "dash/main.py"),
]


@pytest.mark.parametrize(("files", "edited"), [(f, e) for _, f, e in APART],
                         ids=[name for name, _, _ in APART])
def test_files_that_import_nothing_of_each_other_may_still_be_one_part(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, files: dict[str, str],
        edited: str) -> None:
    runs = Runs(write_tree(tmp_path / "project", {**files, **FILLER}), monkeypatch)
    runs.stored("--show-info")
    edit(runs.root, edited, lambda text: text + "# edited\n")
    output, _ = runs.stored("--show-info")
    assert output == runs.cold("--show-info")


PAD = {"pad/pyproject.toml": PROJECT.format("pad"), "pad/pad_main.py": BUILDER,
       **{f"pad/page_{n}.py": f"PAGE = {n}\n" for n in range(8)}}
"""A third app, apart: no changed part holds half the project (`_MOST_ANALYSED`)."""
CARD = ("from fractions import Fraction\n\n"
        "from dara.core import ConfigurationBuilder, py_component\n"
        "from dara.components import Text\n\n"
        "config = ConfigurationBuilder()\n\n\n"
        "@py_component\n"
        "def card(amount: Fraction):\n"
        "    return Text(str(amount))\n\n\n"
        "config.add_page('Home', content=card(Fraction(1, 2)))\n")
ENCODER = "config.add_encoder(typ=Fraction, serialize=str, deserialize=Fraction)\n"
FRACTIONS = "from fractions import Fraction\n\n" + BUILDER
ACTION = ("import ns.mod\n"
          "from dara.core import ConfigurationBuilder, action\n"
          "from dara.components import Button\n\n"
          "config = ConfigurationBuilder()\n\n\n"
          "@action\n"
          "async def bump(ctx):\n"
          "    return ns.mod.x\n\n\n"
          "config.add_page('Home', content=Button('go', onclick=bump()))\n")
ACROSS = [
    # An encoder one app registers counts for every app's py_components (DM501).
    ("encoder added", {"dash/pyproject.toml": PROJECT.format("dash"), "dash/main.py": CARD,
                       "b/pyproject.toml": PROJECT.format("b"), "b/b_main.py": FRACTIONS},
     "b/b_main.py", lambda text: text + ENCODER),
    ("encoder elsewhere", {"dash/pyproject.toml": PROJECT.format("dash"), "dash/main.py": CARD,
                           "b/pyproject.toml": PROJECT.format("b"),
                           "b/b_main.py": FRACTIONS + ENCODER},
     "dash/main.py", lambda text: text + "# edited\n"),
    # The rule compares names as they resolve: an encoder or annotation under an alias.
    ("encoder by an alias", {"dash/pyproject.toml": PROJECT.format("dash"), "dash/main.py": CARD,
                             "b/pyproject.toml": PROJECT.format("b"),
                             "b/b_main.py": FRACTIONS.replace("Fraction\n", "Fraction as F\n")},
     "b/b_main.py", lambda text: text + ENCODER.replace("Fraction", "F")),
    ("annotation by a type alias", {
        "dash/pyproject.toml": PROJECT.format("dash"),
        "dash/main.py": CARD.replace("def card(amount: Fraction)", "def card(amount: Amount)")
        .replace("config = ConfigurationBuilder()\n", "config = ConfigurationBuilder()\n"
                 "Amount = Fraction\n"),
        "b/pyproject.toml": PROJECT.format("b"), "b/b_main.py": FRACTIONS},
     "b/b_main.py", lambda text: text + ENCODER),
    ("base by an alias", {
        "dash/pyproject.toml": PROJECT.format("dash"),
        "dash/main.py": CARD.replace("from fractions import Fraction\n",
                                     "from fractions import Fraction as F\n")
        .replace("@py_component", "class Money(F):\n    pass\n\n\n@py_component")
        .replace("amount: Fraction", "amount: Money").replace("card(Fraction(", "card(Money("),
        "b/pyproject.toml": PROJECT.format("b"), "b/b_main.py": FRACTIONS},
     "b/b_main.py", lambda text: text + ENCODER),
    # `import ns.mod` reads `ns.state` too, in a namespace package, in another part.
    ("namespace package", {"a/pyproject.toml": PROJECT.format("a"), "a/a_main.py": ACTION,
                           "ns/mod.py": "x = 1\n",
                           "ns/state.py": STORE.replace("store:rows", "ns:store")},
     "a/a_main.py", lambda text: text.replace("return ns.mod.x", "ns.state.rows.update(1)")),
    # A module imported by name may be another part's: which one, its text alone says.
    ("module imported by name", {
        "a/pyproject.toml": PROJECT.format("a"),
        "a/a_main.py": "import importlib\n\n" + BUILDER + LOADER.format("apages"),
        "a/apages/sales.py": REGISTER.format(", id='sales'"),
        "b/pyproject.toml": PROJECT.format("b"), "b/b_main.py": BUILDER,
        "b/bpages/sales.py": REGISTER.format("")},
     "a/a_main.py", lambda text: text.replace("f'apages.", "f'bpages.")),
    # A nested project's requirements give its apps their target.
    ("requirements", {"a/pyproject.toml": '[project]\nname = "a"\n',
                      "a/requirements.txt": "dara-core>=1.30,<2\n", "a/a_main.py": BUILDER},
     "a/requirements.txt", lambda text: "dara-core>=2.0\n"),
]


@pytest.mark.parametrize(("files", "edited", "change"), [(f, e, c) for _, f, e, c in ACROSS],
                         ids=[name for name, _, _, _ in ACROSS])
def test_what_one_app_reads_of_another_s_files_is_analysed_again(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, files: dict[str, str], edited: str,
        change: Callable[[str], str]) -> None:
    runs = Runs(write_tree(tmp_path / "project", {
        "pyproject.toml": PROJECT.format("tree"), **files, **PAD}), monkeypatch)
    runs.stored("--show-info")
    edit(runs.root, edited, change)
    output, _ = runs.stored("--show-info")
    assert output == runs.cold("--show-info")


def test_a_file_no_app_imports_any_longer_joins_the_files_of_no_app(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # `common/routes1.py` leaves app a; with `lib/routes2.py` it is then one router of no
    # app, where the two routes' ids must differ.
    share = "import common.share\n" + BUILDER
    runs = Runs(write_tree(tmp_path / "project", {
        "pyproject.toml": PROJECT.format("tree"),
        "a/pyproject.toml": PROJECT.format("a"), "a/a_main.py": "import common.routes1\n" + share,
        "b/pyproject.toml": PROJECT.format("b"), "b/b_main.py": share,
        "common/__init__.py": "", "common/share.py": "x = 1\n",
        "common/routes1.py": ROUTE.format(""), "lib/routes2.py": ROUTE.format(""), **PAD,
        **{f"pad/more_{n}.py": f"MORE = {n}\n" for n in range(6)}}), monkeypatch)
    runs.stored()
    edit(runs.root, "a/a_main.py", lambda text: text.replace("import common.routes1\n", ""))
    output, _ = runs.stored()
    assert output == runs.cold()
    assert "add id='reports-2'" in output


def test_apps_are_reported_in_the_order_the_whole_run_finds_them(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    two = "from dara.core import ConfigurationBuilder\n\nconfig = ConfigurationBuilder()\n"
    runs = Runs(write_tree(tmp_path / "project", {
        "pyproject.toml": PROJECT.format("tree"), "a/pyproject.toml": PROJECT.format("a"),
        "a/a_main.py": two + "admin = ConfigurationBuilder()\n", **PAD}), monkeypatch)
    runs.stored()
    edit(runs.root, "a/a_main.py", lambda text: text.replace(
        "config = ConfigurationBuilder()\nadmin = ConfigurationBuilder()\n",
        "admin = ConfigurationBuilder()\nconfig = ConfigurationBuilder()\n"))
    output, parts_only = runs.stored()
    assert parts_only
    assert output == runs.cold()
    assert [app["name"] for app in json.loads(output)["apps"]][:2] == ["admin", "config"]


def test_the_parts_go_with_their_report(runs: Runs) -> None:
    results = runs.root / CACHE_FOLDER / RESULTS_FOLDER
    assert [p.suffix for p in sorted(results.iterdir())] == [".parts", ".report"]
    next(results.glob("*.report")).unlink()
    result_cache._prune(results)
    assert list(results.iterdir()) == []


def test_a_forged_or_stale_parts_file_is_never_used(runs: Runs) -> None:
    parts = next((runs.root / CACHE_FOLDER / RESULTS_FOLDER).glob("*.parts"))
    parts.write_bytes(parts.read_bytes()[:-1] + b"!")
    edit(runs.root, "apps/state_app/state_app/pages.py", after_imports("EDITED = 1\n"))
    output, parts_only = runs.stored()
    assert not parts_only
    assert output == runs.cold()


@pytest.mark.parametrize(("one", "other", "meet"), [
    (Couplings(uids=frozenset({"a"})), Couplings(uids=frozenset({"a"})), True),
    (Couplings(classes=frozenset({"Base"})), Couplings(bases=frozenset({"Base"})), True),
    (Couplings(bases=frozenset({"Base"})), Couplings(classes=frozenset({"Base"})), True),
    (Couplings(classes=frozenset({"Base"})), Couplings(classes=frozenset({"Base"})), False),
    (Couplings(app_modules=frozenset({"app.main"})),
     Couplings(app_modules=frozenset({"app.main"})), True),
    (Couplings(local_files=frozenset({"data.json"})),
     Couplings(local_files=frozenset({"data.json"})), True),
    (Couplings(uids=frozenset({"a"})), Couplings(uids=frozenset({"b"})), False),
])
def test_couplings_meet_where_one_part_s_findings_read_the_other(
        one: Couplings, other: Couplings, meet: bool) -> None:
    assert one.meets(other) is meet
    assert other.meets(one) is meet


def test_stored_findings_are_the_reported_ones_without_their_fix_plans() -> None:
    finding = Finding("DM101", "missing-uid", "error", "safe", "app/main.py", 3, 5, 3, 9,
                      "add uid='x'", "open", "x", [Related("app/a.py", 2, "runs it")], "f0",
                      3, 1, "h", ("app.main:config",), autofix=object())  # type: ignore[arg-type]
    (again,) = pickle.loads(_pickled([finding]))
    assert again == finding and again.autofix is None and finding.autofix is not None
