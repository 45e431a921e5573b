"""Which files an audit reads: .gitignore, default excludes, virtualenvs, symlink loops."""

from __future__ import annotations

import os
from pathlib import Path

from dara_migrate.engine import discover
from dara_migrate.files import Discovery, find_root, module_name
from dara_migrate.settings import load_settings
from tests.helpers import write_tree


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
    python, selected, _, _ = discover(settings, [tmp_path])
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
    python, selected, _, _ = discover(settings, [tmp_path / "app/pages"])
    assert len(python) == 2
    assert selected == {"app/pages/home.py"}


def test_root_and_module_names(tmp_path: Path) -> None:
    write_tree(tmp_path, {
        "src/shop/__init__.py": "", "src/shop/pages/__init__.py": "",
        "src/shop/pages/home.py": "", "tests/test_home.py": "",
    })
    assert find_root([tmp_path / "src/shop/pages"]) == tmp_path
    assert module_name(tmp_path, tmp_path / "src/shop/pages/home.py") == (
        "shop.pages.home", False)
    assert module_name(tmp_path, tmp_path / "src/shop/pages/__init__.py") == (
        "shop.pages", True)
    assert module_name(tmp_path, tmp_path / "tests/test_home.py") == ("test_home", False)
