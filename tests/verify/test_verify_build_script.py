"""The build script on its own (run by path, as in the app's interpreter) and its failure modes."""

from __future__ import annotations

import json
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from dara_migrate.verify import VerifyError, build_script, run_verify

# Builds or serves real apps with dara-core: left out of `make test-fast`.
pytestmark = pytest.mark.slow

APPS = Path(__file__).parent / "apps"


def test_script_prints_one_json_document_on_stdout() -> None:
    root = APPS / "runtime-app"
    completed = subprocess.run(
        [
            sys.executable,
            build_script.__file__,
            "orders.main:config",
            "--stand-in-module",
            "dara.core.runtime",
            "--stand-in-names",
            "RuntimeScope,ValkeyDistributedBackend",
            "--stand-in-method",
            "configure_runtime",
        ],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert completed.returncode == build_script.EXIT_OK, completed.stderr
    document = json.loads(completed.stdout)
    assert document["ok"] is True
    assert document["protocol"] == build_script.PROTOCOL
    # Without DARA_VALKEY_URL (run_verify sets a placeholder) the app skips configure_runtime.
    assert document["stand_ins"] == ["dara.core.runtime"]
    assert document["runtime"] is None
    main_lines = (root / "orders" / "main.py").read_text(encoding="utf-8").splitlines()
    add_page = next(n for n, line in enumerate(main_lines, 1) if "add_page(" in line)
    routes = [d for d in document["definitions"] if d["kind"] == "route"]
    assert routes == [
        {
            "kind": "route",
            "id": "dashboard",
            "owner": "app",
            "qualname": "orders.pages.dashboard",
            "path": "orders/main.py",
            "line": add_page,
            "end_line": add_page,
            "library_owned": False,
        }
    ]


def test_script_without_the_config_module_reports_the_import(tmp_path: Path) -> None:
    completed = subprocess.run(
        [sys.executable, build_script.__file__, "no_such_app.main:config"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert completed.returncode == build_script.EXIT_BUILD_FAILED
    error = json.loads(completed.stdout)["error"]
    assert error == {"cause": "ModuleNotFoundError: No module named 'no_such_app'", "frame": None}


@pytest.fixture(scope="module")
def bare_python(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    """An interpreter without dara-core, and its site-packages."""
    root = tmp_path_factory.mktemp("bare-venv")
    venv.create(root, with_pip=False)
    python = root / "bin" / "python"
    site_packages = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    return str(python), Path(site_packages)


def test_interpreter_without_dara_core(bare_python: tuple[str, Path]) -> None:
    python, _ = bare_python
    with pytest.raises(VerifyError, match=r"^dara-core is not installed in "):
        run_verify(APPS / "shop-migrated", python=python)


def test_interpreter_with_an_old_dara_core(tmp_path: Path, bare_python: tuple[str, Path]) -> None:
    python, site_packages = bare_python
    metadata = site_packages / "dara_core-1.29.7.dist-info"
    metadata.mkdir()
    (metadata / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: dara-core\nVersion: 1.29.7\n", encoding="utf-8"
    )
    try:
        with pytest.raises(VerifyError, match=r"dara-core 1\.29\.7 in .* is older than 1\.30"):
            run_verify(APPS / "shop-migrated", python=python)
    finally:
        (metadata / "METADATA").unlink()
        metadata.rmdir()


def test_unknown_interpreter() -> None:
    with pytest.raises(VerifyError, match="no Python interpreter at /nonexistent/python"):
        run_verify(APPS / "shop-migrated", python="/nonexistent/python")


def test_build_timeout() -> None:
    with pytest.raises(VerifyError, match=r"^the build did not finish within 0\.2 s$"):
        run_verify(APPS / "shop-migrated", timeout=0.2)


def test_config_that_is_not_a_configuration_builder() -> None:
    with pytest.raises(
        VerifyError, match=r"orders\.main:os is a module, not a ConfigurationBuilder"
    ):
        run_verify(APPS / "runtime-app", config="orders.main:os")


def test_single_build_cannot_prove_stability() -> None:
    with pytest.raises(VerifyError, match="at least 2 builds"):
        run_verify(APPS / "shop-migrated", runs=1)


def test_a_component_validation_error_names_the_field_and_the_reason(tmp_path: Path) -> None:
    from dara.components import Grid, Text

    try:
        Grid.Column(Text('Unit'), span=3, align_items='center')
    except ValueError as error:
        failure = build_script.describe_failure(build_script.ProjectFiles(tmp_path, []), error)
    else:
        pytest.fail("Grid.Column accepted an unknown field")
    assert failure.cause == (
        "ValidationError: 1 validation error for Column: align_items: Extra inputs are not"
        " permitted"
    )
