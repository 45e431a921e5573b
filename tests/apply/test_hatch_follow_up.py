"""What `apply` kept behind the escape hatch is not kept there for good: a later run that can
fix a site (`--unsafe-fixes`, or a version that knows how) fixes it, drops its `local-only`
marker and, once nothing blocks, the hatch. The hatch's comment fits the line length where
the builder is bound, also inside a factory."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from dara_migrate.cli import app
from tests.helpers import write_tree

MAIN = (
    "from dara.core import ConfigurationBuilder, DerivedVariable, Variable\n"
    "\n"
    "clicks = Variable(0)\n"
    "\n"
    "\n"
    "def spare_panel():\n"
    "    doubled = DerivedVariable(lambda c: c * 2, variables=[clicks])\n"
    "    return doubled\n"
    "\n"
    "\n"
    "config = ConfigurationBuilder()\n"
)


def apply(root: Path, *flags: str) -> str:
    result = CliRunner().invoke(app, ["apply", str(root), "--yes", "--allow-dirty",
                                      "--no-cache", "--no-build-check", *flags])
    assert result.exit_code in (0, 1), result.output
    return result.stderr


def test_unsafe_fixes_on_a_later_run_fix_what_the_first_run_kept_local(tmp_path: Path) -> None:
    root = write_tree(tmp_path, {"ops/main.py": MAIN})
    main = root / "ops" / "main.py"
    # Nothing calls `spare_panel`: its uid fix is unsafe, so a plain run keeps it local.
    assert "1 more fix is available with `--unsafe-fixes`" in apply(root)
    kept = main.read_text()
    assert "# dara-migrate: local-only[DM101]" in kept
    assert "config.unsafe_runtime_mode = 'local'" in kept
    apply(root, "--unsafe-fixes")
    fixed = main.read_text()
    assert "uid='ops.main:spare_panel.doubled'" in fixed
    assert "local-only" not in fixed and "unsafe_runtime_mode" not in fixed
    apply(root, "--unsafe-fixes")
    assert main.read_text() == fixed


FACTORY = (
    "from dara.core import ConfigurationBuilder, Variable\n"
    "from dara.core.interactivity import get_current_value\n"
    "\n"
    "clicks = Variable(0)\n"
    "\n"
    "\n"
    "class ShopApp:\n"
    "    def __init__(self) -> None:\n"
    "        self.config = ConfigurationBuilder()\n"
    "\n"
    "    def build(self) -> ConfigurationBuilder:\n"
    "        return self.config\n"
    "\n"
    "\n"
    "async def read_clicks():\n"
    "    return await get_current_value(clicks)\n"
    "\n"
    "\n"
    "config = ShopApp().build()\n"
)


def test_the_hatch_comment_fits_the_line_length_inside_a_factory(tmp_path: Path) -> None:
    root = write_tree(tmp_path, {"shop/main.py": FACTORY})
    (root / "pyproject.toml").write_text(
        '[project]\nname = "shop"\n\n[tool.ruff]\nline-length = 79\n', encoding="utf-8")
    apply(root)
    lines = (root / "shop" / "main.py").read_text().splitlines()
    hatch = lines.index("        self.config.unsafe_runtime_mode = 'local'")
    comment = lines[hatch - 2:hatch]
    assert all(line.startswith("        # ") for line in comment), comment
    assert max(len(line) for line in lines) <= 79
    assert apply(root).count("0 fixes; changed 0 files") == 1
