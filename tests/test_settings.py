"""[tool.dara-migrate] keys, flags on top, and the `auto` target profile."""

from __future__ import annotations

from pathlib import Path

import pytest

from dara_migrate.settings import SettingsError, load_settings, resolve_target
from tests.helpers import run_audit, write_tree


def test_unknown_key_is_an_error_naming_file_and_key(tmp_path: Path) -> None:
    write_tree(tmp_path, {"pyproject.toml": "[tool.dara-migrate]\nslect = ['DM1']\n"})
    with pytest.raises(SettingsError, match=r"pyproject.toml: unknown key 'slect'"):
        load_settings(tmp_path, {})


def test_flags_override_config(tmp_path: Path) -> None:
    write_tree(tmp_path, {"pyproject.toml": (
        "[tool.dara-migrate]\nmode = 'warn'\nselect = ['DM1']\ntarget = 'v2'\njobs = 3\n"
        "per-file-ignores = { 'tests/*' = ['DM104'] }\n")})
    settings = load_settings(tmp_path, {"mode": "enforce", "target": "1.x"})
    assert settings.mode == "enforce"
    assert settings.select == ("DM1",)
    assert settings.jobs == 3
    assert settings.target == "1.x"
    assert settings.per_file_ignores == {"tests/*": ("DM104",)}


def test_wrong_types_are_errors(tmp_path: Path) -> None:
    write_tree(tmp_path, {"pyproject.toml": "[tool.dara-migrate]\nmode = 'strict'\n"})
    with pytest.raises(SettingsError, match="mode must be"):
        load_settings(tmp_path, {})


@pytest.mark.parametrize(("pyproject", "target", "reason"), [
    ('[project]\ndependencies = ["dara-core>=1.20,<2.0.0"]\n', "1.x",
     "dara-core>=1.20,<2.0.0 in pyproject.toml"),
    ('[project]\ndependencies = ["dara-core==1.30.0"]\n', "1.x",
     "dara-core==1.30.0 in pyproject.toml"),
    ('[project]\ndependencies = ["dara_core >= 1.20"]\n', "v2",
     "dara-core>=1.20 in pyproject.toml allows 2.x"),
    ('[tool.poetry.dependencies]\ndara-core = "^1.28"\n', "1.x",
     "dara-core>=1.28,<2 in pyproject.toml"),
    ('[tool.poetry.dependencies]\ndara-core = { version = "^2.0" }\n', "v2",
     "dara-core>=2.0,<3 in pyproject.toml allows 2.x"),
])
def test_auto_target_from_the_pin(tmp_path: Path, pyproject: str, target: str,
                                  reason: str) -> None:
    (tmp_path / "pyproject.toml").write_text(pyproject)
    settings = load_settings(tmp_path, {})
    assert (settings.target, settings.target_reason) == (target, reason)


@pytest.mark.parametrize(("table", "flags", "reason"), [
    ("[tool.dara-migrate]\ntarget = 'v2'\n", {}, "target = 'v2' in pyproject.toml"),
    ("[tool.dara-migrate]\ntarget = 'v2'\n", {"target": "1.x"}, "--target 1.x"),
    ("", {"target": "v2"}, "--target v2"),
])
def test_a_named_target_says_where_it_was_named(tmp_path: Path, table: str,
                                                flags: dict[str, str], reason: str) -> None:
    (tmp_path / "pyproject.toml").write_text(table)
    assert load_settings(tmp_path, flags).target_reason == reason


def test_auto_target_from_requirements(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("pandas\ndara-core~=1.29.0  # pinned\n")
    assert resolve_target("auto", tmp_path, {}, "") == (
        "1.x", "dara-core~=1.29.0 in requirements.txt")


@pytest.mark.parametrize(("requirements", "expected"), [
    # A requirement ends with its line: the next line's is not dara-core's version spec.
    ("dara-core\nnumpy<2\nredis\n",
     ("1.x", "dara-core 1.30.0 installed in the active environment")),
    ("dara-core==1.30.0\r\npandas>=2\r\n", ("1.x", "dara-core==1.30.0 in requirements.txt")),
    ("dara-core[all] >=1.29,<2\n", ("1.x", "dara-core>=1.29,<2 in requirements.txt")),
    ("dara-core-extras>=3\n", ("1.x", "dara-core 1.30.0 installed in the active environment")),
])
def test_a_requirement_is_read_from_its_own_line(tmp_path: Path, requirements: str,
                                                 expected: tuple[str, str]) -> None:
    (tmp_path / "requirements.txt").write_text(requirements, newline="")
    assert resolve_target("auto", tmp_path, {}, "") == expected


def test_requirements_included_by_another_file_are_read(tmp_path: Path) -> None:
    (tmp_path / "requirements").mkdir()
    (tmp_path / "requirements" / "base.txt").write_text("pandas\ndara-core>=2.1\n")
    (tmp_path / "requirements.txt").write_text("-r requirements/base.txt  # shared\n"
                                               "--requirement=requirements.txt\n")
    assert resolve_target("auto", tmp_path, {}, "") == (
        "v2", "dara-core>=2.1 in requirements/base.txt allows 2.x")


def test_auto_target_falls_back_to_the_installed_dara(tmp_path: Path) -> None:
    target, reason = resolve_target("auto", tmp_path, {}, "")
    assert (target, reason) == ("1.x", "dara-core 1.30.0 installed in the active environment")


def test_explicit_target_wins(tmp_path: Path) -> None:
    assert resolve_target("v2", tmp_path, {}, "--target v2")[0] == "v2"


@pytest.mark.parametrize(("flag", "reason"), [
    ("v2", "--target v2, while dara-core==1.30.0 in pyproject.toml asks for 1.x"),
    ("1.x", "--target 1.x"),
])
def test_a_named_target_the_pin_does_not_run_says_so(tmp_path: Path, flag: str,
                                                      reason: str) -> None:
    (tmp_path / "pyproject.toml").write_text(
        "[project]\nname = 'shop'\ndependencies = ['dara-core==1.30.0']\n")
    settings = load_settings(tmp_path, {"target": flag})
    assert (settings.target, settings.target_reason) == (flag, reason)


def test_per_file_ignores_drop_only_the_listed_rules_in_matching_files(tmp_path: Path) -> None:
    page = ("from dara.core import ConfigurationBuilder, DerivedVariable, Variable\n\n"
            "config = ConfigurationBuilder()\ncount = Variable(0)\n"
            "double = DerivedVariable(lambda c: c * 2, variables=[count])\n")
    write_tree(tmp_path, {
        "app/__init__.py": "", "app/main.py": page,
        "app/legacy/__init__.py": "", "app/legacy/old.py": page, "app/legacy/older.py": page,
        "pyproject.toml": "[project]\nname = 'shop'\n\n[tool.dara-migrate]\n"
        "per-file-ignores = { 'app/legacy/old.*' = ['DM101'], 'app/legacy/older.py' = "
        "['DM7'], 'app/legacy/*' = ['DM2'] }\n"})
    result, _ = run_audit(tmp_path)
    assert sorted({(f.path, f.rule) for f in result.findings}) == [
        ("app/legacy/old.py", "DM701"), ("app/legacy/older.py", "DM101"),
        ("app/main.py", "DM101"), ("app/main.py", "DM201"), ("app/main.py", "DM701")]
