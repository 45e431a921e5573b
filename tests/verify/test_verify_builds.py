"""verify against real dara-core builds of the fixture apps under ``apps/``.

Each run_verify call starts two build processes, so every app is verified once per module and
the tests read the shared result.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dara_migrate.cli import app
from dara_migrate.target import CONFIGURE_RUNTIME, RUNTIME_MODULE, RUNTIME_SCOPE
from dara_migrate.verify import (
    PredictedDefinition,
    VerifiedDefinition,
    VerifyError,
    VerifyResult,
    run_verify,
)
from tests.helpers import write_tree

# Builds or serves real apps with dara-core: left out of `make test-fast`.
pytestmark = pytest.mark.slow

APPS = Path(__file__).parent / "apps"


def line_of(path: Path, text: str) -> int:
    """1-based line of the first line of ``path`` containing ``text``."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(number for number, line in enumerate(lines, 1) if text in line)


def built_at(result: VerifyResult, path: str, line: int) -> list[VerifiedDefinition]:
    return [d for d in result.definitions if d.path == path and d.line == line]


def tree_snapshot(root: Path) -> dict[str, tuple[str, int]]:
    """Every file under ``root`` with its content digest and mode."""
    return {
        file.relative_to(root).as_posix(): (
            hashlib.sha256(file.read_bytes()).hexdigest(),
            file.stat().st_mode,
        )
        for file in sorted(root.rglob("*"))
        if file.is_file()
    }


UNMIGRATED = APPS / "shop-unmigrated"
UNMIGRATED_PAGES = UNMIGRATED / "shop_unmigrated" / "pages.py"
PAGES = "shop_unmigrated/pages.py"


@pytest.fixture(scope="module")
def unmigrated() -> tuple[VerifyResult, list[PredictedDefinition], bool, bool]:
    """The unmigrated app verified with an audit's predictions; whether tree and env stayed."""
    predicted = [
        PredictedDefinition(
            "derived_variable",
            PAGES,
            line_of(UNMIGRATED_PAGES, "total = DerivedVariable("),
            "DM101",
            "shop_unmigrated.pages.total",
        ),
        PredictedDefinition(
            "server_variable",
            PAGES,
            line_of(UNMIGRATED_PAGES, "orders = ServerVariable("),
            "DM101",
            "shop_unmigrated.pages.orders",
        ),
        PredictedDefinition(
            "action",
            PAGES,
            line_of(UNMIGRATED_PAGES, "UpdateVariable(lambda"),
            "DM105",
            "shop_unmigrated.pages.home",
        ),
        PredictedDefinition(
            "derived_variable",
            PAGES,
            line_of(UNMIGRATED_PAGES, "slicer = DataSlicer("),
            "DM106",
            "shop_unmigrated.pages.reports",
        ),
        PredictedDefinition(
            "derived_variable",
            PAGES,
            line_of(UNMIGRATED_PAGES, "snapshot = DerivedVariable("),
            "DM301",
            "shop_unmigrated.pages.snapshot_total",
        ),
    ]
    tree_before = tree_snapshot(UNMIGRATED)
    environment_before = dict(os.environ)
    result = run_verify(UNMIGRATED, predicted=predicted)
    return (
        result,
        predicted,
        tree_snapshot(UNMIGRATED) == tree_before,
        dict(os.environ) == environment_before,
    )


def test_unmigrated_random_ids_are_unstable(
    unmigrated: tuple[VerifyResult, list[PredictedDefinition], bool, bool],
) -> None:
    result = unmigrated[0]
    assert result.exit_code == 1
    assert result.config == "shop_unmigrated.main:config"
    assert result.dara_core == "1.30.0"
    for text, kind in [
        ("total = DerivedVariable(", "derived_variable"),
        ("orders = ServerVariable(", "server_variable"),
        ("cart = Variable(", "backend_store"),
        ("UpdateVariable(lambda", "action"),
    ]:
        [definition] = [
            d for d in built_at(result, PAGES, line_of(UNMIGRATED_PAGES, text)) if d.owner == "app"
        ]
        assert (definition.kind, definition.stable) == (kind, False)
    routes = [d for d in result.definitions if d.kind == "route"]
    assert [(d.path, d.owner, d.stable) for d in routes] == [
        ("shop_unmigrated/main.py", "app", False)
    ] * 2
    for kind in ("derived_variable", "server_variable", "backend_store", "route", "action"):
        assert result.unstable[kind] >= 1


def test_unmigrated_framework_owned_ids_are_counted_apart(
    unmigrated: tuple[VerifyResult, list[PredictedDefinition], bool, bool],
) -> None:
    result = unmigrated[0]
    add_to_cart = line_of(UNMIGRATED_PAGES, "@action")
    [decorated] = built_at(result, PAGES, add_to_cart)
    assert (decorated.kind, decorated.owner) == ("action", "framework")
    assert decorated.qualname == "shop_unmigrated.pages.add_to_cart"
    assert result.framework_owned_unstable["py_component"] == 1
    assert result.framework_owned_unstable["static_kwargs"] >= 3
    assert "py_component" not in result.unstable


def test_cross_check_with_the_audit(
    unmigrated: tuple[VerifyResult, list[PredictedDefinition], bool, bool],
) -> None:
    result, predicted = unmigrated[0], unmigrated[1]
    [total] = built_at(result, PAGES, line_of(UNMIGRATED_PAGES, "total = DerivedVariable("))
    assert total.rule == "DM101"
    # The store and the routes carry no prediction.
    assert sorted(d.kind for d in result.unseen_by_audit) == ["backend_store", "route", "route"]
    # Created while handling a request, so never built.
    assert [p.rule for p in result.not_built] == ["DM301"]
    assert result.not_built[0] == predicted[-1]
    slicer_line = line_of(UNMIGRATED_PAGES, "slicer = DataSlicer(")
    assert result.library_owned
    assert {(d.path, d.line) for d in result.library_owned} == {(PAGES, slicer_line)}
    assert {d.kind for d in result.library_owned} >= {
        "derived_variable",
        "server_variable",
        "action",
    }
    assert all(d.rule == "DM106" for d in result.library_owned)


def test_unmigrated_json(
    unmigrated: tuple[VerifyResult, list[PredictedDefinition], bool, bool],
) -> None:
    document = json.loads(json.dumps(unmigrated[0].to_json()))
    assert document["version"] == 1
    assert document["build"] == "ok"
    assert document["runs"] == 2
    assert document["manifest"] is None
    assert document["unstable"]["backend_store"] == 1
    assert [d["kind"] for d in document["unseen_by_audit"]].count("route") == 2
    assert document["fingerprint"].startswith("sha256:")
    assert {"kind", "id", "stable", "qualname", "path", "line", "rule"} <= set(
        document["definitions"][0]
    )


def test_verify_leaves_the_app_tree_and_the_environment_alone(
    unmigrated: tuple[VerifyResult, list[PredictedDefinition], bool, bool],
) -> None:
    assert unmigrated[2], "the app tree changed"
    assert unmigrated[3], "os.environ changed"


MIGRATED = APPS / "shop-migrated"


@pytest.fixture(scope="module")
def migrated(tmp_path_factory: pytest.TempPathFactory) -> tuple[VerifyResult, VerifyResult, Path]:
    output = tmp_path_factory.mktemp("manifest") / "dara-manifest.json"
    first = run_verify(MIGRATED, output=output)
    second = run_verify(MIGRATED, output=output)
    return first, second, output


def test_migrated_app_is_stable(migrated: tuple[VerifyResult, VerifyResult, Path]) -> None:
    result = migrated[0]
    assert result.exit_code == 0
    assert result.unstable == {}
    app_owned = sorted((d.kind, d.id) for d in result.definitions if d.owner == "app")
    assert app_owned == [
        ("backend_store", "shop_migrated.pages:cart.store"),
        ("derived_variable", "shop_migrated.pages:total"),
        ("route", "home"),
        ("route", "reports"),
        ("server_variable", "shop_migrated.pages:orders"),
    ]
    # Actions, py_components and static kwargs stay random on dara-core 1.x: Dara's job.
    assert result.framework_owned_unstable["action"] == 1


def test_migrated_fingerprint_is_reproducible(
    migrated: tuple[VerifyResult, VerifyResult, Path],
) -> None:
    first, second, _ = migrated
    assert first.fingerprint == second.fingerprint
    pairs = sorted([d.kind, d.id] for d in first.definitions if d.owner == "app")
    canonical = json.dumps(pairs, sort_keys=True, separators=(",", ":")).encode()
    assert first.fingerprint == "sha256:" + hashlib.sha256(canonical).hexdigest()


def test_migrated_manifest_is_written(migrated: tuple[VerifyResult, VerifyResult, Path]) -> None:
    _, second, output = migrated
    document = json.loads(output.read_text(encoding="utf-8"))
    assert document == json.loads(json.dumps(second.to_json()))
    assert document["manifest"] == output.as_posix()
    assert document["unstable"] == {}
    assert document["fingerprint"] == second.fingerprint
    assert sorted(p.name for p in output.parent.iterdir()) == ["dara-manifest.json"]


def test_ids_from_hash_and_host_name_are_caught() -> None:
    root = APPS / "shop-volatile"
    pages = root / "shop_volatile" / "pages.py"
    result = run_verify(root)
    assert result.exit_code == 1
    assert result.unstable == {"derived_variable": 1, "server_variable": 1}
    unstable_lines = {d.line for d in result.definitions if not d.stable}
    assert unstable_lines == {line_of(pages, "summary = "), line_of(pages, "latest_orders = ")}
    [targets] = built_at(result, "shop_volatile/pages.py", line_of(pages, "targets = "))
    assert (targets.id, targets.stable) == ("shop_volatile.pages:targets", True)


def test_v2_runtime_declaration_builds_with_stand_ins() -> None:
    result = run_verify(APPS / "runtime-app")
    assert result.config == "orders.main:config"
    assert result.exit_code == 0
    assert result.stand_ins == (RUNTIME_MODULE, f"ConfigurationBuilder.{CONFIGURE_RUNTIME}")
    assert result.runtime is not None
    assert result.runtime["scope"]["type"] == RUNTIME_SCOPE
    assert result.runtime["scope"]["app_id"] == "orders"
    assert result.runtime["backend"]["url"].startswith("redis://")
    assert result.to_json()["stand_ins"] == list(result.stand_ins)


def test_missing_dependency_fails_with_its_import(tmp_path: Path) -> None:
    output = tmp_path / "dara-manifest.json"
    with pytest.raises(VerifyError) as caught:
        run_verify(APPS / "broken-import", output=output)
    assert caught.value.message.startswith(
        "ModuleNotFoundError: No module named 'shop_reporting_toolkit'; ")
    assert "--python" in caught.value.message
    assert caught.value.frame == "broken_import/pages.py:3"
    assert caught.value.exit_code == 2
    assert caught.value.to_json()["build"] == "failed"
    assert not output.exists()


def test_sys_exit_in_a_page_fails_the_build() -> None:
    pages = APPS / "exits-early" / "exits_early" / "pages.py"
    with pytest.raises(VerifyError) as caught:
        run_verify(APPS / "exits-early")
    assert caught.value.message == "the app called sys.exit('SHOP_WAREHOUSE_DSN is not set')"
    assert caught.value.frame == f"exits_early/pages.py:{line_of(pages, 'sys.exit(')}"
    assert "\n" not in caught.value.message


def test_a_store_skipped_for_a_duplicate_uid_is_said_to_be(tmp_path: Path) -> None:
    # The Variable's DM101 and its store's DM103 share a line: the store's rule is DM103,
    # and Dara skipping the second store is not dead code.
    root = write_tree(tmp_path, {"notes/main.py": (
        "from dara.core import ConfigurationBuilder, Variable\n"
        "from dara.core.persistence import BackendStore\n"
        "\n"
        "notes = Variable('', store=BackendStore(uid='notes'))\n"
        "team_notes = Variable('', store=BackendStore(uid='notes'))\n"
        "config = ConfigurationBuilder()\n"
    )})
    result = CliRunner().invoke(app, ["verify", str(root), "--format", "json"])
    document = json.loads(result.stdout)
    assert document["build"] == "ok", result.output
    assert [(p["line"], p["rule"]) for p in document["not_built"]] == [(5, "DM103")]
    text = CliRunner().invoke(app, ["verify", str(root)])
    assert ("notes/main.py:5 DM103 backend_store notes.main.store: its uid is another's, so "
            "only the first is registered") in text.stdout
