"""The Python API finds the app to build as the CLI does, through the project's app model:
`dash = build_config()` in `storefront/main.py`, the factory in another module, no
`__init__.py` anywhere (tests/fixtures/factory_app)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dara_migrate.cli import app
from dara_migrate.verify import VerifyError, VerifyResult, run_verify
from dara_migrate.verify.workers import verify_on_workers

FIXTURES = Path(__file__).parent.parent / "fixtures"


@pytest.fixture(scope="module")
def factory_app(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("api") / "factory_app"
    shutil.copytree(FIXTURES / "factory_app", root)
    return root


@pytest.fixture(scope="module")
def built(factory_app: Path) -> VerifyResult:
    """The fixture built twice with the real dara-core, config not given."""
    return run_verify(factory_app)


@pytest.mark.slow
def test_run_verify_builds_the_app_the_app_model_finds(built: VerifyResult) -> None:
    assert built.config == "storefront.main:dash"
    basket = [d for d in built.definitions if d.kind == "server_variable"]
    assert [(d.path, d.stable) for d in basket] == [("storefront/state.py", True)]


@pytest.mark.slow
def test_the_api_and_the_cli_build_the_same_app(factory_app: Path, built: VerifyResult,
                                                tmp_path: Path) -> None:
    manifest = tmp_path / "manifest.json"
    result = CliRunner().invoke(app, ["verify", str(factory_app), "--format", "json",
                                      "--output", str(manifest)])
    assert result.exit_code == built.exit_code, result.output
    assert f'"config": "{built.config}"' in result.stdout


def test_the_api_asks_which_app_where_several_are_found() -> None:
    with pytest.raises(VerifyError, match=r"2 apps found under .*; pass config="):
        run_verify(FIXTURES / "monorepo")
    with pytest.raises(VerifyError, match=r"2 apps found under .*; pass config="):
        verify_on_workers(FIXTURES / "monorepo", config=None, python=None, count=2,
                          environment={}, findings=[], timeout=5)


def test_the_api_says_when_no_app_is_found(tmp_path: Path) -> None:
    (tmp_path / "tools.py").write_text("def main() -> None:\n    pass\n", encoding="utf-8")
    with pytest.raises(VerifyError, match="no Dara app found under"):
        run_verify(tmp_path)


@pytest.mark.slow
def test_a_config_naming_no_module_says_so(factory_app: Path) -> None:
    # A mistyped module is the config's fault, not a missing dependency of the app.
    with pytest.raises(VerifyError, match=(
            r"^storefront\.nope:dash: no module 'storefront\.nope' under .*factory_app "
            r"\(nor installed\)")):
        run_verify(factory_app, config="storefront.nope:dash")
