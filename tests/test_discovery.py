"""Which files an audit reads: .gitignore, default excludes, virtualenvs, symlink loops."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dara_migrate.engine import discover
from dara_migrate.files import (
    Discovery,
    SourceRoots,
    find_files,
    find_root,
    module_name,
    relative_path,
)
from dara_migrate.settings import load_settings
from tests.helpers import examples, write_tree


def relative(root: Path, paths: list[Path]) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in paths)


def test_gitignore_default_excludes_and_virtualenvs_are_skipped(tmp_path: Path) -> None:
    write_tree(tmp_path, {
        ".gitignore": "generated/\n*.gen.py\n",
        "app/__init__.py": "",
        "app/main.py": "x = 1\n",
        "app/pages/.gitignore": "scratch.py\n",
        "app/pages/scratch.py": "x = 1\n",
        "app/pages/home.py": "x = 1\n",
        "app/models.gen.py": "x = 1\n",
        "generated/out.py": "x = 1\n",
        "node_modules/pkg/index.py": "x = 1\n",
        "build/lib/app.py": "x = 1\n",
        "env/pyvenv.cfg": "home = /usr\n",
        "env/lib/site.py": "x = 1\n",
    })
    python = [p for p in Discovery(tmp_path).walk() if p.suffix == ".py"]
    assert relative(tmp_path, python) == ["app/__init__.py", "app/main.py", "app/pages/home.py"]


def test_exclude_patterns_from_config_and_flags(tmp_path: Path) -> None:
    write_tree(tmp_path, {
        "pyproject.toml": '[tool.dara-migrate]\nextend-exclude = ["legacy/"]\n',
        "app/main.py": "x = 1\n", "legacy/old.py": "x = 1\n", "scripts/tool.py": "x = 1\n",
    })
    settings = load_settings(tmp_path, {"exclude": ("scripts/*.py",)})
    python, selected, *_ = discover(settings, [tmp_path])
    assert relative(tmp_path, python) == ["app/main.py"]
    assert selected == {"app/main.py"}


def test_symlink_loops_are_not_followed(tmp_path: Path) -> None:
    write_tree(tmp_path, {"app/main.py": "x = 1\n"})
    os.symlink(tmp_path / "app", tmp_path / "app" / "again")
    python = [p for p in Discovery(tmp_path).walk() if p.suffix == ".py"]
    assert relative(tmp_path, python) == ["app/main.py"]


def test_paths_select_files_but_the_index_covers_the_project(tmp_path: Path) -> None:
    write_tree(tmp_path, {"app/main.py": "x = 1\n", "app/pages/home.py": "x = 1\n"})
    settings = load_settings(tmp_path, {})
    python, selected, *_ = discover(settings, [tmp_path / "app/pages"])
    assert len(python) == 2
    assert selected == {"app/pages/home.py"}


def roots_of(root: Path) -> SourceRoots:
    return SourceRoots(root, [p for p in Discovery(root).walk()])


def test_root_and_module_names(tmp_path: Path) -> None:
    write_tree(tmp_path, {
        "src/shop/__init__.py": "", "src/shop/pages/__init__.py": "",
        "src/shop/pages/home.py": "", "tests/test_home.py": "",
    })
    roots = roots_of(tmp_path)
    assert find_root([tmp_path / "src/shop/pages"]) == tmp_path
    assert module_name(roots, tmp_path / "src/shop/pages/home.py") == (
        "shop.pages.home", False)
    assert module_name(roots, tmp_path / "src/shop/pages/__init__.py") == (
        "shop.pages", True)
    assert module_name(roots, tmp_path / "tests/test_home.py") == ("tests.test_home", False)


def test_namespace_packages_are_named_like_regular_ones(tmp_path: Path) -> None:
    write_tree(tmp_path, {
        "gallery/pyproject.toml": '[project]\nname = "gallery"\n',
        "gallery/dara_interactivity/main.py": "",
        "gallery/dara_interactivity/pages/derived_variables.py": "",
        "gallery/dara_interactivity/pages/__init__.py": "",
    })
    roots = roots_of(tmp_path)
    assert roots.module_name("gallery/dara_interactivity/pages/derived_variables.py") == (
        "dara_interactivity.pages.derived_variables", False)
    assert roots.module_name("gallery/dara_interactivity/main.py") == (
        "dara_interactivity.main", False)
    assert roots.module_name("gallery/dara_interactivity/pages/__init__.py") == (
        "dara_interactivity.pages", True)
    assert roots.project_of("gallery/dara_interactivity/main.py") == "gallery"


def test_declared_package_folders_are_source_roots(tmp_path: Path) -> None:
    write_tree(tmp_path, {
        "setuptools/pyproject.toml": '[tool.setuptools.packages.find]\nwhere = ["lib"]\n',
        "setuptools/lib/shop/main.py": "",
        "dir/pyproject.toml": '[tool.setuptools]\npackage-dir = {"" = "code"}\n',
        "dir/code/shop/main.py": "",
        "poetry/pyproject.toml": '[tool.poetry]\npackages = [{include = "shop", from = "app"}]\n',
        "poetry/app/shop/main.py": "",
        "hatch/pyproject.toml": '[tool.hatch.build.targets.wheel]\npackages = ["python/shop"]\n',
        "hatch/python/shop/main.py": "",
        "cfg/setup.cfg": "[options]\npackage_dir =\n    =source\n",
        "cfg/source/shop/main.py": "",
        "legacy/setup.py": "",
        "legacy/src/shop/main.py": "",
        "setup_dir/setup.py": "from setuptools import setup\n\n"
                              "setup(name='shop', package_dir={'': 'lib'}, packages=['shop'])\n",
        "setup_dir/lib/shop/main.py": "",
        "setup_find/setup.py": "import setuptools\n\nsetuptools.setup(\n"
                               "    packages=setuptools.find_packages(where='code'))\n",
        "setup_find/code/shop/main.py": "",
        "setup_arg/setup.py": "from setuptools import find_namespace_packages, setup\n\n"
                              "setup(packages=find_namespace_packages('pkgs'))\n",
        "setup_arg/pkgs/shop/main.py": "",
        # A folder worked out at run time is not read.
        "computed/setup.py": "import os\nfrom setuptools import setup\n\n"
                             "setup(package_dir={'': os.environ['SRC']})\n",
        "computed/lib/shop/main.py": "",
        # Keys spelt with escapes name no tool in the text: still read.
        "escaped/pyproject.toml": '[tool."\\u0073etuptools"]\npackage-dir = {"" = "esc"}\n',
        "escaped/esc/shop/main.py": "",
        "plain/pyproject.toml": '[project]\nname = "plain"\n[tool.ruff]\nline-length = 99\n',
        "plain/esc/shop/main.py": "",
    })
    roots = roots_of(tmp_path)
    assert roots.module_name("plain/esc/shop/main.py") == ("esc.shop.main", False)
    assert roots.module_name("computed/lib/shop/main.py") == ("lib.shop.main", False)
    for folder in ("setuptools/lib", "dir/code", "poetry/app", "hatch/python", "cfg/source",
                   "legacy/src", "escaped/esc", "setup_dir/lib", "setup_find/code",
                   "setup_arg/pkgs"):
        assert roots.module_name(f"{folder}/shop/main.py") == ("shop.main", False), folder


APP = {
    "shop/main.py": (
        "from dara.core import ConfigurationBuilder\n"
        "\n"
        "from shop.pages.home import home_page\n"
        "\n"
        "config = ConfigurationBuilder()\n"
        "config.add_page('Home', content=home_page)\n"
    ),
    "shop/pages/home.py": (
        "from dara.core import DerivedVariable, Variable\n"
        "\n"
        "count = Variable(0)\n"
        "double = DerivedVariable(lambda c: c * 2, variables=[count])\n"
        "\n"
        "\n"
        "def home_page():\n"
        "    return double\n"
    ),
    "shop/state.py": (
        "from dara.core import DerivedVariable, Variable\n"
        "\n"
        "other = DerivedVariable(lambda c: c, variables=[Variable(0)])\n"
    ),
    "tools/report.py": "print('report')\n",
}


def test_explicit_paths_narrow_findings_counts_and_apps(tmp_path: Path) -> None:
    from tests.helpers import run_audit

    root = write_tree(tmp_path, APP)
    result, project = run_audit(root, [root / "shop/pages"])
    assert {f.path for f in result.findings} == {"shop/pages/home.py"}
    assert result.files == 1
    # The whole project is still read: the page is known to run at build time.
    assert len(project.results) == 4
    assert [a.path for a in result.apps] == ["shop/main.py"]
    result, _ = run_audit(root, [root / "tools"])
    assert (result.findings, result.apps, result.files) == ([], [], 1)


def test_explicit_paths_are_audited_even_when_ignored(tmp_path: Path) -> None:
    from tests.helpers import run_audit

    root = write_tree(tmp_path, {**APP, ".gitignore": "shop/pages/\nshop/state.py\n"})
    result, _ = run_audit(root)
    assert {f.path for f in result.findings if f.rule == "DM101"} == set()
    result, _ = run_audit(root, [root / "shop/pages", root / "shop/state.py"])
    assert {f.path for f in result.findings if f.rule == "DM101"} == {
        "shop/pages/home.py", "shop/state.py"}


def test_a_folder_without_an_app_says_so(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from dara_migrate.cli import app

    root = write_tree(tmp_path, APP)
    audited = CliRunner().invoke(app, ["audit", str(root / "tools"), "--no-cache"])
    assert audited.exit_code == 0
    assert audited.stdout.splitlines()[-1] == f"no Dara app found under {root / 'tools'}"
    verified = CliRunner().invoke(app, ["verify", str(root / "tools")])
    assert verified.exit_code == 2
    assert f"no Dara app found under {root / 'tools'}" in verified.stderr


def test_a_folder_whose_files_are_all_excluded_says_so(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from dara_migrate.cli import app

    root = write_tree(tmp_path, {**APP, "pyproject.toml": "[tool.dara-migrate]\nexclude = ['*']\n"})
    audited = CliRunner().invoke(app, ["audit", str(root), "--no-cache"])
    assert audited.exit_code == 0
    assert audited.stdout.splitlines()[-1] == (
        f"no Python files to audit under {root} (after `exclude`, `extend-exclude` and "
        ".gitignore)")


def test_paths_in_two_projects_are_audited_from_the_folder_above_both(tmp_path: Path) -> None:
    write_tree(tmp_path, {"a/pyproject.toml": "", "a/app/main.py": "",
                          "b/pyproject.toml": "", "b/app/main.py": ""})
    assert find_root([tmp_path / "a/app", tmp_path / "a"]) == tmp_path / "a"
    assert find_root([tmp_path / "a/app", tmp_path / "b/app/main.py"]) == tmp_path


_NAMES = st.sampled_from(["app", "build", "docs", "x.py", "y.py", "gen.py", "a.egg-info",
                          "pkg", "tmp"])
_TREES = st.lists(st.lists(_NAMES, min_size=1, max_size=4).map("/".join), min_size=1,
                  max_size=12)
_PATTERNS = st.lists(st.sampled_from(["docs", "docs/", "*.py", "gen.*", "tmp/", "t?p", "[bp]kg",
                                      "*.egg-info", "build/", "x.py/", "**", "app*/"]),
                     max_size=3)


@settings(max_examples=examples(60), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(paths=_TREES, patterns=_PATTERNS)
def test_excludes_matched_by_name_leave_out_what_matching_whole_paths_does(
        tmp_path_factory: pytest.TempPathFactory, paths: list[str], patterns: list[str]) -> None:
    root = tmp_path_factory.mktemp("tree")
    for path in paths:
        file = root / path / "m.py" if (root / path).is_dir() else root / path
        if any(parent.is_file() for parent in file.parents):
            continue  # a file where a folder of this path would be
        file.parent.mkdir(parents=True, exist_ok=True)
        if not file.is_dir():
            file.write_text("x = 1\n")
    by_name = Discovery(root, patterns)
    by_path = Discovery(root, patterns)
    assert by_name._by_name
    by_path._by_name = False
    assert list(by_name.walk()) == list(by_path.walk())


_PARTS = st.lists(st.sampled_from(["a", "b", "a.py", "..", "é", "a b", "-"]), max_size=4)


@settings(max_examples=examples(200), deadline=None)
@given(root=_PARTS, rest=_PARTS, absolute=st.booleans())
def test_relative_path_is_relative_to_as_posix(root: list[str], rest: list[str],
                                               absolute: bool) -> None:
    top = Path("/" if absolute else ".", *root)
    for path in (top.joinpath(*rest), Path("/elsewhere", *rest), top):
        try:
            expected = path.relative_to(top).as_posix()
        except ValueError:
            with pytest.raises(ValueError):
                relative_path(path, top)
        else:
            assert relative_path(path, top) == expected


def test_a_symlink_to_a_project_file_is_that_file_under_a_second_name(tmp_path: Path) -> None:
    # `state_alias.py -> state.py`, kept for old imports: the app imports the link's name.
    # One file: reported and edited once, where it is, and the link stays a link.
    from tests.helpers import apply_fixes, run_audit

    root = write_tree(tmp_path, {
        "shop/state.py": "from dara.core import DerivedVariable, Variable\n\n"
        "count = Variable(0, uid='count')\n"
        "double = DerivedVariable(lambda c: c * 2, variables=[count])\n",
        "shop/main.py": "from dara.core import ConfigurationBuilder\n"
        "from dara.components import Text\n\n"
        "from shop.state_alias import double\n\n"
        "config = ConfigurationBuilder()\n"
        "config.add_page('Home', content=Text('x'))\n",
    })
    (root / "shop" / "state_alias.py").symlink_to("state.py")
    result, project = run_audit(root)
    assert [(f.path, f.line, f.apps) for f in result.findings if f.rule == "DM101"] == [
        ("shop/state.py", 4, ("shop.main:config",))]
    assert project.index.module_named("shop.state_alias") is project.index.files["shop/state.py"]
    given, _ = run_audit(root, [root / "shop" / "state_alias.py"])
    assert [(f.path, f.rule) for f in given.findings] == [("shop/state.py", "DM101")]
    for _ in range(2):
        applied = apply_fixes(root)
        assert applied.exit_code in (0, 1), applied.output
    assert (root / "shop" / "state_alias.py").is_symlink()
    assert (root / "shop" / "state.py").read_text(encoding="utf-8").splitlines()[3] == (
        "double = DerivedVariable(lambda c: c * 2, variables=[count], uid='shop.state:double')")
    assert "0 fixes; changed 0 files" in applied.output


def test_a_folder_linked_under_a_second_name_is_read_where_it_is(tmp_path: Path) -> None:
    # `legacy -> pages` sorts first, yet the files are the folder's own: reported and edited
    # at `pages/`, and known under both module names.
    from tests.helpers import run_audit

    root = write_tree(tmp_path, {
        "shop/__init__.py": "",
        "shop/pages/__init__.py": "",
        "shop/pages/home.py": "from dara.core import DerivedVariable, Variable\n\n"
        "count = Variable(0, uid='count')\n"
        "double = DerivedVariable(lambda c: c * 2, variables=[count])\n",
        "shop/main.py": "from dara.core import ConfigurationBuilder\n"
        "from dara.components import Text\n\n"
        "from shop.legacy.home import double\n\n"
        "config = ConfigurationBuilder()\n"
        "config.add_page('Home', content=Text('x'))\n",
    })
    (root / "shop" / "legacy").symlink_to("pages")
    result, project = run_audit(root)
    assert sorted(project.index.files) == [
        "shop/__init__.py", "shop/main.py", "shop/pages/__init__.py", "shop/pages/home.py"]
    assert [(f.path, f.line, f.apps) for f in result.findings if f.rule == "DM101"] == [
        ("shop/pages/home.py", 4, ("shop.main:config",))]
    assert project.index.module_named("shop.legacy.home") is project.index.files[
        "shop/pages/home.py"]
    given, _ = run_audit(root, [root / "shop" / "legacy" / "home.py"])
    assert [(f.path, f.rule) for f in given.findings] == [("shop/pages/home.py", "DM101")]


def test_a_link_does_not_lead_to_what_the_walk_leaves_out(tmp_path: Path) -> None:
    # A git-ignored or excluded folder, one outside the project, and a folder above it (`/`
    # would be the whole disk) are not read through a link to them either.
    root = write_tree(tmp_path / "project", {
        ".gitignore": "vendor/\n",
        "pyproject.toml": '[tool.dara-migrate]\nextend-exclude = ["legacy/"]\n',
        "app/main.py": "x = 1\n", "vendor/ext.py": "x = 1\n", "legacy/old.py": "x = 1\n",
    })
    write_tree(tmp_path / "outside", {"lib.py": "x = 1\n"})
    for name, target in (("vendored", "../vendor"), ("old", "../legacy"),
                         ("shared", "../../outside"), ("everything", "../..")):
        (root / "app" / name).symlink_to(target)
    found = find_files(load_settings(root, {}), [root])
    assert relative(root, found.python) == ["app/main.py"]
    assert not found.aliases and not found.problems


def test_a_module_named_setup_is_no_project_file(tmp_path: Path) -> None:
    # `shop/setup.py` holds the shop's set-up helpers; only a setup.py calling setuptools'
    # `setup()` makes its folder a project whose modules are named from there.
    from tests.helpers import run_audit

    root = write_tree(tmp_path, {
        "pyproject.toml": "[project]\nname = 'shop'\n",
        "shop/__init__.py": "",
        "shop/setup.py": "\"\"\"The shop's set-up, as setuptools' setup() is a package's.\"\"\"\n\n"
        "from dara.core import DerivedVariable, Variable\n\n"
        "HISTORY: list[str] = []\n"
        "count = Variable(0, uid='count')\n\n\n"
        "def remember(item: str) -> None:\n"
        "    HISTORY.append(item)\n",
        "shop/main.py": "from dara.core import ConfigurationBuilder, action\n\n"
        "from shop.setup import remember\n\n"
        "config = ConfigurationBuilder()\n\n\n"
        "@action\n"
        "async def save(ctx: action.Ctx, item: str):\n"
        "    remember(item)\n",
        "tools/setup.py": "from setuptools import setup\n\nsetup(name='tools')\n",
        "tools/tools/cli.py": "",
    })
    result, project = run_audit(root)
    assert [(f.path, f.line, f.rule) for f in result.findings if f.rule == "DM205"] == [
        ("shop/setup.py", 10, "DM205")]
    assert [app.key for app in project.apps] == ["shop.main:config"]
    assert project.index.files["tools/tools/cli.py"].module == "tools.cli"
