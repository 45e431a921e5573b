"""`apply` builds the migrated app (twice, in scratch copies) before writing anything: a fix
that breaks the build is dropped and reported, the rest is written."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dara_migrate.apply import ApplyOptions, FileChange, run_apply
from dara_migrate.cli import app
from dara_migrate.proof import BuildTarget, ProofOptions, prove, scratch_copy
from dara_migrate.settings import load_settings
from dara_migrate.verify import VerifyError, VerifyResult
from dara_migrate.verify.model import BuildTimeout
from tests.helpers import write_tree

# `summary_page` is also route content through a lookup table the analysis cannot follow, so
# Dara builds it twice: the literal uid DM101 suggests for `total` collides on the second build.
REPORT_APP = {
    "report_app/__init__.py": "",
    "report_app/main.py": (
        '"""Reports app: one page served under two paths through a lookup table."""\n\n'
        "from dara.components import Stack, Text\n"
        "from dara.core import ConfigurationBuilder, DerivedVariable, ServerVariable, Variable\n\n"
        "config = ConfigurationBuilder()\n\n"
        "base = Variable(1)\n"
        "rows = ServerVariable(scope='user')\n"
        "doubled = DerivedVariable(lambda v: v * 2, variables=[base])\n\n\n"
        "def summary_page():\n"
        "    total = DerivedVariable(lambda v: v + 1, variables=[base])\n"
        "    return Stack(Text(total), Text(doubled))\n\n\n"
        "PAGES = {'summary': summary_page}\n\n"
        "config.router.add_page(path='summary', content=summary_page, id='summary')\n"
        "config.router.add_page(path='summary-copy', content=PAGES['summary'], "
        "id='summary-copy')\n"
    ),
}
BROKEN_UID = "uid='report_app.main:summary_page.total'"


def apply(root: Path, *options: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["apply", str(root), "--target", "1.x", "--no-cache",
                                      "--allow-dirty", *options])
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.slow
def test_a_fix_that_breaks_the_build_is_dropped_and_reported_and_the_rest_written(
        tmp_path: Path) -> None:
    dry = write_tree(tmp_path / "dry" / "reports", REPORT_APP)
    root = write_tree(tmp_path / "wet" / "reports", REPORT_APP)
    _, planned, dry_stderr = apply(dry, "--dry-run")
    code, written, stderr = apply(root, "--yes", "--diff")
    main = (root / "report_app/main.py").read_text()
    assert "report_app/main.py:14: DM101 fix not made" in stderr
    assert "is already taken" in stderr
    assert BROKEN_UID not in main
    assert "uid='report_app.main:rows'" in main and "uid='report_app.main:doubled'" in main
    assert "# dara-migrate: local-only[DM101]" in main
    assert "build proof: 1 app built twice" in stderr
    assert code == 1  # the dropped fix's error remains, kept process-local
    # --dry-run runs the same proof, so it shows exactly what --yes writes.
    assert planned == written
    assert "report_app/main.py:14: DM101 fix would not be made" in dry_stderr


def test_without_dara_core_the_proof_is_skipped_in_one_line(tmp_path: Path) -> None:
    python = tmp_path / "python-without-dara"
    python.write_text("#!/bin/sh\nexit 1\n")
    python.chmod(python.stat().st_mode | stat.S_IEXEC)
    root = write_tree(tmp_path / "reports", REPORT_APP)
    _, _, stderr = apply(root, "--yes", "--python", str(python))
    skipped = [line for line in stderr.splitlines() if "build proof" in line]
    assert len(skipped) == 1
    assert skipped[0].startswith("build proof skipped: no interpreter can import dara-core")
    assert BROKEN_UID in (root / "report_app/main.py").read_text()


def test_no_build_check_turns_the_proof_off(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "reports", REPORT_APP)
    _, _, stderr = apply(root, "--yes", "--no-build-check")
    assert "build proof" not in stderr
    assert BROKEN_UID in (root / "report_app/main.py").read_text()


def test_the_breaking_fix_is_found_without_a_frame_to_point_at_it(tmp_path: Path) -> None:
    """The search over the planned fixes, with a build that only says it failed."""
    files = dict(REPORT_APP)
    files["report_app/extra.py"] = (
        "from dara.core import DerivedVariable, Variable\n\n"
        "count = Variable(0)\n"
        "a = DerivedVariable(lambda v: v, variables=[count])\n"
        "b = DerivedVariable(lambda v: v, variables=[count])\n")
    files["report_app/main.py"] += "\nfrom report_app import extra  # noqa: E402,F401\n"
    root = write_tree(tmp_path / "reports", files)
    builds: list[Path] = []

    def build(folder: Path, target: BuildTarget, python: str, timeout: float) -> VerifyResult:
        builds.append(folder)
        if BROKEN_UID in (folder / "report_app/main.py").read_text():
            raise VerifyError("the build failed")
        return VerifyResult(config=target.config, python=python, dara_core="1.30.0", runs=2,
                            definitions=())

    settings = load_settings(root, {"target": "1.x", "use_cache": False})
    result, report = prove(settings, [root], ApplyOptions(), ProofOptions(),
                           run_apply(settings, [root], ApplyOptions()), builder=build)
    assert [d.fix.finding.line for d in report.dropped] == [14]
    assert report.dropped[0].reason == "the build fails: the build failed"
    assert report.proven == ["report_app.main:config"]
    written = {change.path: change.after.decode() for change in result.changes}
    assert BROKEN_UID not in written["report_app/main.py"]
    assert "uid='report_app.extra:b'" in written["report_app/extra.py"]
    assert 3 <= len(builds) <= 8


def test_an_app_that_hangs_unmigrated_too_is_built_twice_not_searched(tmp_path: Path) -> None:
    # Every build of the search for a fix to blame would wait out the time limit: one build
    # of the unmigrated app says the migration is not the cause.
    root = write_tree(tmp_path / "reports", REPORT_APP)
    builds: list[Path] = []

    def build(folder: Path, target: BuildTarget, python: str, timeout: float) -> VerifyResult:
        builds.append(folder)
        raise BuildTimeout("the build did not finish within 120 s")

    settings = load_settings(root, {"target": "1.x", "use_cache": False})
    planned = run_apply(settings, [root], ApplyOptions())
    result, report = prove(settings, [root], ApplyOptions(), ProofOptions(), planned,
                           builder=build)
    assert len(builds) == 2
    assert report.notes == ["app config (report_app/main.py:6): not proven, it does not build "
                            "before the migration either (the build did not finish within "
                            "120 s)"]
    assert result.changes == planned.changes


def test_the_scratch_copy_never_writes_through_a_link(tmp_path: Path) -> None:
    outside = write_tree(tmp_path / "outside", {"state.py": "x = 1\n", "lib/util.py": "y = 1\n"})
    root = write_tree(tmp_path / "shop", {"main.py": "import state\n", "real.py": "z = 1\n"})
    (root / "state.py").symlink_to(outside / "state.py")
    (root / "lib").symlink_to(outside / "lib")
    (root / "alias.py").symlink_to(root / "real.py")
    changes = [FileChange(path, "utf-8", b"", b"changed = True\n")
               for path in ("state.py", "lib/util.py", "alias.py")]
    with scratch_copy(root, changes) as copy:
        for path in ("state.py", "lib/util.py", "alias.py"):
            assert not (copy / path).is_symlink()
            assert (copy / path).read_bytes() == b"changed = True\n"
        assert (copy / "lib").is_dir() and not (copy / "lib").is_symlink()
    assert (outside / "state.py").read_text() == "x = 1\n"
    assert (outside / "lib/util.py").read_text() == "y = 1\n"
    assert (root / "real.py").read_text() == "z = 1\n"


def test_the_scratch_copy_is_the_program_the_project_would_be(tmp_path: Path) -> None:
    # An absolute link into the project leads into the copy (the migrated files), and a
    # relative one out of it still leads to what it names.
    outside = write_tree(tmp_path / "shared", {"util.py": "y = 1\n"})
    root = write_tree(tmp_path / "shop", {"app/pages/home.py": "x = 1\n", "main.py": "x = 1\n"})
    (root / "app" / "legacy").symlink_to(root / "app" / "pages")
    (root / "common").symlink_to(Path("..") / "shared")
    with scratch_copy(root, [FileChange("app/pages/home.py", "utf-8", b"", b"x = 2\n")]) as copy:
        assert (copy / "app/legacy/home.py").read_bytes() == b"x = 2\n"
        assert (copy / "app/legacy").resolve() == (copy / "app/pages").resolve()
        assert (copy / "common/util.py").resolve() == (outside / "util.py").resolve()
    assert (root / "app/pages/home.py").read_bytes() == b"x = 1\n"


@pytest.mark.slow
def test_a_package_linked_under_a_second_name_gets_no_uid_its_second_import_takes(
        tmp_path: Path) -> None:
    # `app/legacy -> pages` (an absolute link) keeps old imports working: the module is run
    # once per name, so one literal uid is taken twice.
    root = write_tree(tmp_path / "shop", {
        "app/__init__.py": "",
        "app/pages/__init__.py": "",
        "app/pages/home.py": (
            "from dara.core import DerivedVariable, Variable\n\n"
            "x = Variable(1)\n"
            "doubled = DerivedVariable(lambda v: v * 2, variables=[x])\n"),
        "app/main.py": (
            "from dara.core import ConfigurationBuilder\n"
            "from dara.components import Text\n\n"
            "from app.pages.home import doubled\n"
            "from app.legacy.home import doubled as old_doubled\n\n"
            "config = ConfigurationBuilder()\n"
            "config.add_page('Home', content=Text('x'))\n"),
    })
    (root / "app" / "legacy").symlink_to(root / "app" / "pages")
    code, _, stderr = apply(root, "--yes")
    home = (root / "app/pages/home.py").read_text()
    assert "app/pages/home.py:4: DM101 fix not made" in stderr
    assert "is already taken" in stderr
    assert "uid=" not in home and "# dara-migrate: local-only[DM101]" in home
    assert (root / "app" / "legacy").is_symlink()
    assert code == 1


def test_the_scratch_copy_leaves_out_pipes_and_sockets(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "shop", {"main.py": "x = 1\n"})
    os.mkfifo(root / "data.pipe")
    with socket.socket(socket.AF_UNIX) as listener:
        listener.bind(str(root / "app.sock"))
        with scratch_copy(root, [FileChange("main.py", "utf-8", b"", b"x = 2\n")]) as copy:
            assert sorted(p.name for p in copy.iterdir()) == ["main.py", "pyproject.toml"]
            assert (copy / "main.py").read_bytes() == b"x = 2\n"


def test_the_copies_of_a_proof_killed_outright_are_removed_by_the_next(tmp_path: Path) -> None:
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                              capture_output=True, text=True, check=True)
    stale = Path(tempfile.gettempdir()) / f"dara-migrate-proof-{finished.stdout.strip()}-x1"
    (stale / "shop").mkdir(parents=True)
    root = write_tree(tmp_path / "shop", {"main.py": "x = 1\n"})
    with scratch_copy(root, []) as copy:
        assert not stale.exists()
        assert copy.parent.name.startswith(f"dara-migrate-proof-{os.getpid()}-")


@pytest.mark.slow
def test_a_dry_run_leaves_a_linked_file_outside_the_project_as_it_was(tmp_path: Path) -> None:
    outside = write_tree(tmp_path / "outside", {"state.py": (
        "from dara.core import DerivedVariable, Variable\n\n"
        "x = Variable(1)\n"
        "total = DerivedVariable(lambda v: v, variables=[x])\n")})
    root = write_tree(tmp_path / "shop", {"main.py": (
        "from dara.core import ConfigurationBuilder\n\n"
        "from state import total\n\n"
        "config = ConfigurationBuilder()\n")})
    (root / "state.py").symlink_to(outside / "state.py")
    before = (outside / "state.py").read_bytes()
    code, out, err = apply(root, "--dry-run")
    assert code == 2 and "apply would write nothing: state.py: links to" in out + err
    assert "build proof: 1 app built twice" in out + err
    assert (outside / "state.py").read_bytes() == before
