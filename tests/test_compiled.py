"""The modules setup.py compiles (mypyc) behave as their sources do: a compiled module checks
its annotations at run time and unboxes typed tuples, so it can differ where the sources lean on
what the type checker is told to ignore, or on objects' identities."""

from __future__ import annotations

import ast
import importlib
import importlib.util
import os
import shutil
import subprocess
import sys
import sysconfig
from dataclasses import fields
from pathlib import Path
from types import ModuleType

import pytest

from dara_migrate.facts import extract_facts

REPO = Path(__file__).parent.parent
FIXTURES = REPO / "tests" / "fixtures"
EXAMPLE = REPO / "examples" / "sales_dashboard"
SOURCES = sorted([*FIXTURES.rglob("*.py"), *EXAMPLE.rglob("*.py")])


def _compiled_sources() -> list[str]:
    """setup.py's `COMPILED`, read without running setup.py."""
    tree = ast.parse((REPO / "setup.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and ast.unparse(node.targets[0]) == "COMPILED":
            return list(ast.literal_eval(node.value))
    raise AssertionError("setup.py names no COMPILED modules")


MODULES = [source.removesuffix(".py").replace("/", ".") for source in _compiled_sources()]


def _is_compiled(module: str) -> bool:
    return not (importlib.import_module(module).__file__ or "").endswith(".py")


def _can_compile() -> bool:
    compiler = (sysconfig.get_config_var("CC") or "cc").split()[0]
    headers = Path(sysconfig.get_paths()["include"], "Python.h")
    return shutil.which(compiler) is not None and headers.exists()


COMPILED = all(_is_compiled(module) for module in MODULES)
needs_build = pytest.mark.skipif(
    not COMPILED, reason="the modules are not compiled here (see the test above)")


def test_the_modules_are_compiled_where_this_machine_can_and_the_build_was_not_told_not_to(
) -> None:
    # The tests run the modules as installed from this folder (`pip install -e .`): compiled
    # all together, or not at all where there is no compiler or the build was told not to.
    compiled = {module: _is_compiled(module) for module in MODULES}
    expected = _can_compile() and os.environ.get("DARA_MIGRATE_COMPILE") != "0"
    assert set(compiled.values()) == {expected}, (
        f"compiled: {compiled}; install again (`make`), with DARA_MIGRATE_COMPILE=0 set in "
        "both the install's and the tests' environment to run the pure-Python modules")


def _pure_facts_module() -> ModuleType:
    """facts.py loaded from its source under another name, beside the compiled one."""
    spec = importlib.util.spec_from_file_location("dara_migrate_pure_facts",
                                                  REPO / "dara_migrate" / "facts.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # where its dataclasses look their annotations up
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[spec.name]
    return module


@needs_build
def test_the_compiled_facts_of_every_realistic_app_equal_the_sources_facts() -> None:
    pure = _pure_facts_module()
    assert (pure.__file__ or "").endswith(".py")
    compared = 0
    for path in SOURCES:
        text = path.read_text(encoding="utf-8")
        compiled = extract_facts(ast.parse(text), text, path.name, path.stem, False)
        source = pure.extract_facts(ast.parse(text), text, path.name, path.stem, False)
        for field in fields(compiled):
            # Named tuples of either module's classes compare as the tuples they are.
            assert getattr(compiled, field.name) == getattr(source, field.name), (
                path, field.name)
        compared += len(compiled.calls)
    assert compared > 1_000


def _pure_copy(folder: Path) -> Path:
    shutil.copytree(REPO / "dara_migrate", folder / "dara_migrate",
                    ignore=shutil.ignore_patterns("*.so", "*.pyd", "__pycache__"))
    return folder


# Runs `python -m dara_migrate ARGS`, from `pure` when given: first on the path, and without
# the finder an editable install puts before the path.
PURE_RUN = """import runpy, sys
sys.path.insert(0, sys.argv.pop(1))
sys.meta_path[:] = [f for f in sys.meta_path if not f.__module__.startswith("__editable__")]
sys.argv[0] = "dara-migrate"
runpy.run_module(sys.argv.pop(1), run_name="__main__", alter_sys=True)
"""


def _run(pure: Path | None, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "100"}
    command = [sys.executable, *args] if pure is None else [
        sys.executable, "-c", PURE_RUN, str(pure), *args]
    return subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=300, check=False)


@needs_build
def test_audit_and_apply_give_the_same_output_from_the_compiled_modules_and_the_sources(
        tmp_path: Path) -> None:
    pure = _pure_copy(tmp_path / "pure")
    (pure / "where.py").write_text("import dara_migrate.facts as f, dara_migrate.index.project "
                                   "as p\nprint(f.__file__, p.__file__)\n")
    where = _run(pure, "where")
    assert where.stdout.split() == [str(pure / "dara_migrate" / "facts.py"),
                                    str(pure / "dara_migrate" / "index" / "project.py")]
    for command in (["audit", "--format", "json", "--show-info"],
                    ["apply", "--dry-run", "--diff", "--no-build-check", "--unsafe-fixes"]):
        for root in (FIXTURES, EXAMPLE):
            args = [*command, str(root), "--no-cache", "--target", "1.x"]
            compiled = _run(None, "-m", "dara_migrate", *args)
            source = _run(pure, "dara_migrate", *args)
            assert compiled.returncode in (0, 1), compiled.stderr
            assert (source.returncode, source.stdout) == (compiled.returncode, compiled.stdout)
            assert compiled.stdout.count("\n") > 50


# Builds the copy's extensions in place, with the library the compiled modules share made to
# fail as a compiler that runs out of memory on it would.
FAILING_SHARED_BUILD = """import runpy, sys
import mypyc.build

real = mypyc.build.mypycify


def mypycify(*args, **kwargs):
    extensions = real(*args, **kwargs)
    for extension in extensions:
        if extension.name.endswith("__mypyc"):
            extension.extra_compile_args = [*extension.extra_compile_args, "-include",
                                            "/nonexistent/header.h"]
    return extensions


mypyc.build.mypycify = mypycify
sys.argv = ["setup.py", "build_ext", "--inplace"]
runpy.run_path("setup.py", run_name="__main__")
"""


@pytest.mark.slow
@pytest.mark.skipif(not _can_compile(), reason="no C compiler or Python headers here")
def test_a_build_whose_shared_library_fails_keeps_no_module_and_the_sources_run(
        tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    _pure_copy(copy)
    shutil.copy(REPO / "setup.py", copy)
    shutil.copy(REPO / "pyproject.toml", copy)
    shutil.copy(REPO / "README.md", copy)
    env = {**os.environ, "DARA_MIGRATE_COMPILE": "1"}
    build = subprocess.run([sys.executable, "-c", FAILING_SHARED_BUILD], cwd=copy, env=env,
                           capture_output=True, text=True, timeout=600, check=False)
    assert build.returncode == 0, build.stderr
    assert "nonexistent/header.h" in build.stdout + build.stderr  # it did fail
    # What is importable from the copy (build/ holds the build's own intermediate files).
    kept = [path for pattern in ("*.so", "*.pyd")
            for path in (*(copy / "dara_migrate").rglob(pattern), *copy.glob(pattern))]
    assert not kept
    (copy / "where.py").write_text("import dara_migrate.facts as f\nprint(f.__file__)\n")
    assert _run(copy, "where").stdout.strip() == str(copy / "dara_migrate" / "facts.py")
