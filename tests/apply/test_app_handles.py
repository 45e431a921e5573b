"""Apps whose builder comes from a factory: declarations go next to the name that holds it."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from dara_migrate.cli import app as cli
from tests.helpers import run_audit, write_tree

PANEL = (
    "@py_component\n"
    "def panel(x):\n"
    "    shown = DerivedVariable(lambda v: v, variables=[x])\n"
    "    return Text(shown)\n\n\n"
    "def page():\n"
    "    return Stack(panel(Variable(1, uid='x')))\n\n\n"
)
IMPORTS = (
    "from dara.core import ConfigurationBuilder, DerivedVariable, Variable, py_component\n"
    "from dara.components import Stack, Text\n\n\n"
)


def verdict_label(root: Path) -> str:
    """`app NAME (PATH:LINE)`, as the audit's verdict line names the one app under root."""
    outcome = CliRunner().invoke(cli, ["audit", str(root), "--no-cache", "--target", "1.x"])
    lines = [line for line in outcome.stdout.splitlines() if line.startswith("app ")]
    assert len(lines) == 1, outcome.stdout
    return lines[0].split("): ")[0] + ")"


def apply(root: Path, *extra: str) -> tuple[int, str]:
    outcome = CliRunner().invoke(cli, ["apply", str(root), "--yes", "--no-cache",
                                       "--no-build-check", "--target", "1.x", *extra])
    return outcome.exit_code, outcome.stderr


def test_hatch_follows_the_module_level_name_of_a_returned_builder(tmp_path: Path) -> None:
    main = (IMPORTS + "def build_config():\n    return ConfigurationBuilder()\n\n\n" + PANEL
            + "config = build_config()\nconfig.add_page('Home', content=page)\n")
    root = write_tree(tmp_path, {"app/__init__.py": "", "app/main.py": main})
    code, err = apply(root)
    assert code == 1  # the error is kept local, not gone (`--mode enforce`)
    # Named as the audit of the written files names it (the builder call, not the key).
    label = verdict_label(root)
    assert label.startswith("app config (app/main.py:")
    assert f"{label}: kept process-local (unsafe_runtime_mode = 'local')" in err.splitlines()
    text = (root / "app/main.py").read_text()
    assert "config = build_config()\n# dara-migrate: this app keeps process-local" in text
    assert text.count("config.unsafe_runtime_mode = 'local'\n") == 1
    result, project = run_audit(root)
    assert [v.verdict for v in result.apps] == ["local"]
    assert project.apps[0].escape_hatch is not None
    apply(root)
    assert (root / "app/main.py").read_text() == text


def test_hatch_inside_a_factory_that_names_its_builder(tmp_path: Path) -> None:
    main = (IMPORTS + PANEL + "def create_app():\n    config = ConfigurationBuilder()\n"
            "    config.add_page('Home', content=page)\n    return config\n\n\n"
            "app = create_app()\n")
    root = write_tree(tmp_path, {"app/__init__.py": "", "app/main.py": main})
    err = apply(root)[1]
    assert f"{verdict_label(root)}: kept process-local" in err
    text = (root / "app/main.py").read_text()
    assert "    config = ConfigurationBuilder()\n    # dara-migrate: this app keeps" in text
    assert "    config.unsafe_runtime_mode = 'local'\n" in text
    assert [v.verdict for v in run_audit(root)[0].apps] == ["local"]


def test_apply_names_a_factory_built_app_as_the_audit_does(tmp_path: Path) -> None:
    bootstrap = ('"""Every deployment starts from the same config."""\n\n'
                 "from dara.core import ConfigurationBuilder\n\n\n"
                 "def build_config() -> ConfigurationBuilder:\n"
                 "    return ConfigurationBuilder()\n")
    main = (IMPORTS + "from storefront.bootstrap import build_config\n\n" + PANEL
            + "dash = build_config()\ndash.add_page('Home', content=page)\n")
    # A namespace package: no __init__.py.
    root = write_tree(tmp_path, {"storefront/bootstrap.py": bootstrap,
                                 "storefront/main.py": main})
    label = verdict_label(root)
    assert label == "app dash (storefront/bootstrap.py:7)"
    err = apply(root, "--dry-run")[1]
    assert f"{label}: kept process-local (unsafe_runtime_mode = 'local')" in err.splitlines()
    assert "storefront.bootstrap:dash" not in err and "storefront.main:dash" not in err


def test_no_hatch_and_no_markers_where_no_name_holds_the_builder(tmp_path: Path) -> None:
    main = (IMPORTS + "def build_config():\n    return ConfigurationBuilder()\n\n\n" + PANEL
            + "APPS = {'main': build_config()}\n")
    root = write_tree(tmp_path, {"app/__init__.py": "", "app/main.py": main})
    code, err = apply(root)
    assert code == 1
    assert "no escape hatch set, as no name holds its ConfigurationBuilder" in err
    assert (root / "app/main.py").read_text() == main


def test_runtime_declaration_for_a_factory_made_builder(tmp_path: Path) -> None:
    main = (IMPORTS + "def build_config():\n    return ConfigurationBuilder()\n\n\n"
            "def page():\n    return Text('hi')\n\n\n"
            "config = build_config()\nconfig.add_page('Home', content=page)\n")
    root = write_tree(tmp_path, {"app/__init__.py": "", "app/main.py": main})
    before, _ = run_audit(root, target="v2")
    assert [f.rule for f in before.findings if f.rule == "DM201"] == ["DM201"]
    outcome = CliRunner().invoke(cli, ["apply", str(root), "--yes", "--no-cache",
                                       "--no-build-check", "--target", "v2"])
    assert outcome.exit_code == 0, outcome.stderr
    text = (root / "app/main.py").read_text()
    assert "config = build_config()\n# dara-migrate (DM201)" in text
    assert "    config.configure_runtime(\n" in text
    after, _ = run_audit(root, target="v2")
    assert [f.rule for f in after.findings if f.rule == "DM201"] == []
