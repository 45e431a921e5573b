"""Shared test helpers: run a real audit on a folder and read `# expect:` annotations."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from click.testing import Result
from hypothesis import settings

from dara_migrate.engine import Project, audit
from dara_migrate.models import AuditResult
from dara_migrate.settings import load_settings

EXPECT = re.compile(r"#\s*expect:\s*(?P<codes>(?:DM\d{3}\s*)+)$")


def examples(full: int) -> int:
    """A property test's example count: `full`, or a tenth of it (at least 3) under the
    `fast` hypothesis profile (`make test-fast`)."""
    if settings.default is settings.get_profile("fast"):
        return max(3, full // 10)
    return full


def run_audit(root: Path, paths: list[Path] | None = None,
              **overrides: Any) -> tuple[AuditResult, Project]:
    overrides.setdefault("use_cache", False)
    overrides.setdefault("target", "1.x")
    settings = load_settings(root, overrides)
    return audit(settings, paths or [root])


def apply_fixes(root: Path, *options: str) -> Result:
    """`dara-migrate apply --yes` on `root` as a user runs it, without the build proof (the
    tests that build say so) and with the 1.x profile, whatever is installed; `options`
    add to that (`--unsafe-fixes`)."""
    from typer.testing import CliRunner

    from dara_migrate.cli import app

    return CliRunner().invoke(app, ["apply", str(root), "--yes", "--no-cache",
                                    "--no-build-check", "--allow-dirty", "--target", "1.x",
                                    *options])


def write_tree(root: Path, files: dict[str, str]) -> Path:
    for relative, source in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source, encoding="utf-8")
    if not (root / "pyproject.toml").exists():
        (root / "pyproject.toml").write_text('[project]\nname = "example-app"\n')
    return root


def expectations(root: Path) -> set[tuple[str, int, str]]:
    """(path, line, rule) for every `# expect: DM...` comment under root."""
    found = set()
    for path in sorted(root.rglob("*.py")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            match = EXPECT.search(line)
            if match:
                for code in match["codes"].split():
                    found.add((path.relative_to(root).as_posix(), number, code))
    return found


def reported(result: AuditResult, codes: set[str] | None = None) -> set[tuple[str, int, str]]:
    return {(f.path, f.line, f.rule) for f in result.findings
            if f.status != "suppressed" and (codes is None or f.rule in codes)}


ONE_NAME_TWO_DEFINITIONS = {"shop/main.py": (
    "from uuid import uuid4\n"
    "\n"
    "from dara.core import ConfigurationBuilder, DerivedVariable, Variable\n"
    "\n"
    "config = ConfigurationBuilder()\n"
    "v = Variable(0)\n"
    "x = DerivedVariable(lambda a: a, variables=[v])\n"
    "x = DerivedVariable(lambda a: a, variables=[v], uid=str(uuid4()))\n"
)}
"""One name bound twice: first without a uid (DM101), then with an unstable one (DM102)."""
