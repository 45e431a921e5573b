"""Config discovery, pairing across builds, fingerprint, manifest writing and the text summary."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import stat
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rich.console import Console

from dara_migrate.verify import (
    VerifiedDefinition,
    VerifyError,
    VerifyResult,
    render_error,
    render_text,
    write_manifest,
)
from dara_migrate.verify.runner import _pair_definitions
from dara_migrate.verify.targets import find_app_build


def write_main(root: Path, package: str, source: str) -> None:
    (root / package).mkdir(parents=True)
    (root / package / "__init__.py").write_text("", encoding="utf-8")
    (root / package / "main.py").write_text(source, encoding="utf-8")


BUILDER = "from dara.core import ConfigurationBuilder\n\n"


def test_config_from_the_single_module_binding_a_builder(tmp_path: Path) -> None:
    root = tmp_path / "checkout"
    write_main(
        root,
        "orders",
        "import dara.core\n\n"
        "builder: dara.core.ConfigurationBuilder = dara.core.ConfigurationBuilder()\n",
    )
    write_main(root, "scripts", BUILDER + "def main() -> None:\n"
               "    config = ConfigurationBuilder()\n")
    build = find_app_build(root)
    assert build[:4] == (root.resolve(), "orders.main:builder", None, ())
    assert build.files == {"orders/main.py"}


@pytest.mark.parametrize(
    ("packages", "message"),
    [
        ({}, "no Dara app found under"),
        (
            {"a": BUILDER + "config = ConfigurationBuilder()\n",
             "b": BUILDER + "cfg = ConfigurationBuilder()\n"},
            r"2 apps found under .* \(a.main:config, b.main:cfg\); pass config='module:attr'",
        ),
    ],
)
def test_config_that_cannot_be_told(tmp_path: Path, packages: dict[str, str],
                                    message: str) -> None:
    root = tmp_path / "monorepo"
    root.mkdir()
    for package, source in packages.items():
        write_main(root, package, source)
    with pytest.raises(VerifyError, match=message):
        find_app_build(root)


def test_config_of_a_src_layout_is_imported_from_src(tmp_path: Path) -> None:
    root = tmp_path / "checkout"
    (root / "src" / "orders").mkdir(parents=True)
    (root / "pyproject.toml").write_text('[project]\nname = "orders"\n', encoding="utf-8")
    (root / "src" / "orders" / "state.py").write_text(
        "from dara.core import Variable\n\nselected = Variable('open')\n", encoding="utf-8")
    (root / "src" / "orders" / "app.py").write_text(
        BUILDER + "from orders.state import selected\n\n"
        "dashboard = ConfigurationBuilder()\n", encoding="utf-8")
    build = find_app_build(root)
    assert build[:4] == (root.resolve(), "orders.app:dashboard", (root / "src").resolve(), ())
    assert build.home == (root / "src" / "orders").resolve()
    assert build.environment({"PYTHONPATH": "/extra"})["PYTHONPATH"].split(":") == [
        str((root / "src").resolve()), "/extra"]


def build_entry(kind: str, id: str, line: int | None, owner: str = "app") -> dict[str, Any]:
    return {
        "kind": kind,
        "id": id,
        "owner": owner,
        "qualname": f"pkg.pages.{kind}",
        "path": "pkg/pages.py" if line is not None else None,
        "line": line,
        "end_line": line,
        "library_owned": False,
    }


def test_pairing_by_kind_site_and_ordinal() -> None:
    first = [
        build_entry("derived_variable", "pkg:total", 3),
        build_entry("derived_variable", "a-1", 7),
        build_entry("derived_variable", "b-1", 7),
        build_entry("route", "_layout_1", None, owner="framework"),
        build_entry("server_variable", "pkg:rows", 9),
    ]
    second = [
        build_entry("derived_variable", "pkg:total", 3),
        build_entry("derived_variable", "a-2", 7),
        build_entry("derived_variable", "b-2", 7),
        build_entry("route", "_layout_2", None, owner="framework"),
    ]
    paired = {(d.kind, d.line, d.id): d.stable for d in _pair_definitions([first, second])}
    assert paired == {
        ("derived_variable", 3, "pkg:total"): True,
        ("derived_variable", 7, "a-1"): False,
        ("derived_variable", 7, "b-1"): False,
        # Missing from the second build: another worker could not resolve it either.
        ("server_variable", 9, "pkg:rows"): False,
        ("route", None, "_layout_1"): False,
    }


def definition(
    kind: str, id: str, *, stable: bool = True, owner: str = "app"
) -> VerifiedDefinition:
    return VerifiedDefinition(
        kind=kind,
        id=id,
        owner="app" if owner == "app" else "framework",
        stable=stable,
        qualname=f"pkg.pages.{id}",
        path="pkg/pages.py",
        line=len(id),
        end_line=len(id) + 2,
        library_owned=False,
    )


def result_of(*definitions: VerifiedDefinition) -> VerifyResult:
    return VerifyResult(
        config="pkg.main:config",
        python="/usr/bin/python3",
        dara_core="1.30.0",
        runs=2,
        definitions=definitions,
    )


def test_fingerprint_is_over_stable_app_owned_kind_id_pairs() -> None:
    result = result_of(
        definition("route", "home"),
        definition("derived_variable", "pkg:total"),
        definition("server_variable", "random", stable=False),
        definition("action", "also-random", stable=False, owner="framework"),
    )
    canonical = '[["derived_variable","pkg:total"],["route","home"]]'
    assert result.fingerprint == "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()
    assert result.unstable == {"server_variable": 1}
    assert result.framework_owned_unstable == {"action": 1}
    assert result.exit_code == 1
    assert result_of(definition("route", "home")).exit_code == 0


identifiers = st.text(alphabet="abcdefgh:-._", min_size=1, max_size=12)


@given(st.lists(st.tuples(st.sampled_from(["route", "derived_variable"]), identifiers), max_size=8))
def test_fingerprint_ignores_order_and_sites(pairs: list[tuple[str, str]]) -> None:
    forward = result_of(*(definition(kind, id) for kind, id in pairs))
    backward = result_of(*(definition(kind, id) for kind, id in reversed(pairs)))
    assert forward.fingerprint == backward.fingerprint


def test_covers_every_line_of_a_multi_line_call() -> None:
    total = definition("derived_variable", "pkg:total")
    assert total.line is not None
    assert [total.covers("pkg/pages.py", total.line + n) for n in range(-1, 4)] == [
        False,
        True,
        True,
        True,
        False,
    ]
    assert not total.covers("pkg/other.py", total.line)


def test_manifest_is_replaced_atomically_and_keeps_its_mode(tmp_path: Path) -> None:
    output = tmp_path / "dara-manifest.json"
    output.write_text("{}", encoding="utf-8")
    output.chmod(0o640)
    result = result_of(definition("route", "home"))
    write_manifest(output, result)
    assert json.loads(output.read_text(encoding="utf-8")) == result.to_json()
    assert stat.S_IMODE(output.stat().st_mode) == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["dara-manifest.json"]


def test_manifest_in_a_missing_folder_is_not_written(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        write_manifest(tmp_path / "missing" / "m.json", result_of())
    assert list(tmp_path.iterdir()) == []


def test_text_summary() -> None:
    result = VerifyResult(
        config="pkg.main:config",
        python="/usr/bin/python3",
        dara_core="1.30.0",
        runs=2,
        definitions=(
            definition("derived_variable", "random-uid", stable=False),
            definition("route", "home"),
            definition("py_component", "x", stable=False, owner="framework"),
        ),
        stand_ins=("dara.core.runtime",),
        runtime={"scope": {"type": "RuntimeScope", "app_id": "shop"}},
        manifest="dara-manifest.json",
    )
    console = Console(record=True, width=200, color_system=None)
    render_text(result, console)
    text = console.export_text()
    assert "pkg/pages.py:10 derived_variable pkg.pages.random-uid" in text
    assert "Stand-ins used for this build: dara.core.runtime" in text
    assert "Runtime declared: scope=RuntimeScope(app_id='shop')" in text
    assert "1 app-owned ids change between builds" in text
    assert result.fingerprint in text


def test_the_summary_counts_ids_kept_process_local_apart() -> None:
    # The table counts an id kept local on purpose as unstable: the last line says so too.
    kept = dataclasses.replace(definition("derived_variable", "kept-uid", stable=False),
                               acknowledged=True)
    result = VerifyResult(config="pkg.main:config", python="/usr/bin/python3",
                          dara_core="1.30.0", runs=2,
                          definitions=(kept, definition("route", "home")))
    console = Console(record=True, width=200, color_system=None)
    render_text(result, console)
    assert console.export_text().splitlines()[-2] == (
        "1 app-owned ids are stable; 1 more change between builds, kept process-local on "
        "purpose")


def test_error_summary_puts_the_frame_first() -> None:
    console = Console(record=True, width=200, color_system=None)
    render_error(VerifyError("ModuleNotFoundError: No module named 'x'", "pkg/pages.py:3"), console)
    assert console.export_text() == (
        "pkg/pages.py:3: build failed: ModuleNotFoundError: No module named 'x'\n"
    )


def test_config_built_by_a_factory_in_main(tmp_path: Path) -> None:
    root = tmp_path / "checkout"
    write_main(
        root,
        "orders",
        "from dara.core import ConfigurationBuilder\n\n"
        "def build_config():\n"
        "    config = ConfigurationBuilder()\n"
        "    config.title = 'Orders'\n"
        "    return config\n\n"
        "app_config = build_config()\n",
    )
    assert find_app_build(root).config == "orders.main:app_config"
