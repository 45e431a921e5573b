"""The stored whole-run report (SPEC.md, "Speed"): an unchanged tree replays the report of the
same command, and any change to what decides the report makes the command run again, with
exactly the output of a run without any cache. Never timings."""

from __future__ import annotations

import io
import os
import pstats
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dara_migrate import files, result_cache, scan
from dara_migrate.cli import _run
from dara_migrate.files import CACHE_FOLDER
from dara_migrate.result_cache import RESULTS_FOLDER, Snapshot, tool_stamp
from tests.helpers import write_tree
from tests.test_cache import MAIN, PAGES, SHOP, STATE


def run(root: Path, *args: str, env: dict[str, str] | None = None,
        cwd: Path | None = None) -> tuple[int, str]:
    """`dara-migrate audit` through the real entry point, as a user (or CI) runs it."""
    done = subprocess.run(
        [sys.executable, "-m", "dara_migrate", "audit", str(root), "--format", "json", *args],
        capture_output=True, text=True, cwd=cwd or root,
        env={**os.environ, "NO_COLOR": "1", "CI": "1", **(env or {})}, check=False)
    assert done.returncode in (0, 1), done.stderr
    return done.returncode, done.stdout


def facts_entries(root: Path) -> list[Path]:
    return sorted((root / CACHE_FOLDER).rglob("*.pickle"))


def reports(root: Path) -> list[Path]:
    return sorted((root / CACHE_FOLDER / RESULTS_FOLDER).glob("*.report"))


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    return write_tree(tmp_path / "app", SHOP)


def replayed(root: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    """Run with every per-file entry deleted: a replay reads none, a real run writes them all
    again, so an empty facts cache afterwards proves the report was replayed."""
    for entry in facts_entries(root):
        entry.unlink()
    result = run(root, *args, env=env)
    assert facts_entries(root) == [], "the command ran instead of replaying"
    return result


def ran(root: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    for entry in facts_entries(root):
        entry.unlink()
    result = run(root, *args, env=env)
    assert facts_entries(root) != [], "the command replayed a stale report"
    return result


def test_an_unchanged_tree_replays_the_report_byte_for_byte(shop: Path) -> None:
    cold = run(shop, "--no-cache")
    assert not (shop / CACHE_FOLDER).exists()
    assert run(shop) == cold
    assert len(reports(shop)) == 1
    assert replayed(shop) == cold
    assert replayed(shop) == cold


def test_editing_main_reaches_other_files_findings_after_a_replay(shop: Path) -> None:
    run(shop)
    routed = replayed(shop)
    (shop / "shop/main.py").write_text(MAIN.replace("config.router.add_page", "# "))
    unrouted = ran(shop)
    assert unrouted != routed
    assert "nothing in the project calls this code" in unrouted[1]
    assert unrouted == run(shop, "--no-cache")
    assert replayed(shop) == unrouted


def test_a_touched_but_unchanged_file_is_checked_by_digest_and_still_replayed(
        shop: Path) -> None:
    first = run(shop)
    state = shop / "shop/state.py"
    later = state.stat().st_mtime_ns + 5_000_000_000
    os.utime(state, ns=(later, later))
    assert replayed(shop) == first


@pytest.mark.parametrize("change", ["new module", "deleted module", "gitignore", "pyproject",
                                    "deployment file", "same size edit",
                                    "symlink loop"])
def test_every_input_of_the_report_invalidates_it(shop: Path, change: str) -> None:
    (shop / "Dockerfile").write_text("FROM python:3.12\n")
    before = run(shop)
    if change == "new module":
        (shop / "shop/extra.py").write_text(
            "from dara.core import Variable\nextra = Variable(store=None)\n")
    elif change == "deleted module":
        (shop / "shop/pages.py").unlink()
    elif change == "gitignore":
        (shop / ".gitignore").write_text("shop/pages.py\n")
    elif change == "pyproject":
        with (shop / "pyproject.toml").open("a") as stream:
            stream.write('\n[tool.dara-migrate]\nignore = ["DM101"]\n')
    elif change == "symlink loop":  # a folder discovery cannot walk: reported as DM001
        (shop / "shop/loop").symlink_to(shop / "shop", target_is_directory=True)
    elif change == "deployment file":
        (shop / "Dockerfile").write_text("FROM python:3.12\nENV JWT_SECRET=from-the-vault\n")
    else:
        # Same size, same modification time: the change time (or the digest) still tells.
        state = shop / "shop/state.py"
        stat = state.stat()
        state.write_text(STATE.replace("'EU'", "'US'"))
        os.utime(state, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    after = ran(shop)
    assert after == run(shop, "--no-cache")
    if change != "deployment file":
        assert after != before


def test_a_symlink_moved_to_another_module_invalidates_the_report(shop: Path) -> None:
    # The app imports `shop.linked`, a symlink: moving it to another file changes what the
    # app runs, though no file's content changes.
    (shop / "shop/extra.py").write_text(
        "from dara.core import DerivedVariable\n\n\n"
        "def page():\n"
        "    return DerivedVariable(lambda: 1, variables=[])\n")
    (shop / "shop/linked.py").symlink_to("state.py")
    (shop / "shop/main.py").write_text(
        MAIN + "\nfrom shop import linked\n\n"
        "config.router.add_page(path='extra', content=linked.page, id='extra')\n")
    before = run(shop)
    (shop / "shop/linked.py").unlink()
    (shop / "shop/linked.py").symlink_to("extra.py")
    after = ran(shop)
    assert after == run(shop, "--no-cache")
    assert after != before


def test_each_invocation_has_its_own_report(shop: Path) -> None:
    json_output = run(shop)
    ignoring = run(shop, "--ignore", "DM101")
    assert ignoring != json_output
    assert len(reports(shop)) == 2
    assert replayed(shop) == json_output
    assert replayed(shop, "--ignore", "DM101") == ignoring
    assert ran(shop, "--jobs", "1") == json_output
    assert replayed(shop, "--jobs", "1") == json_output
    with_env = run(shop, env={"COLUMNS": "40"})
    assert len(reports(shop)) == 4
    assert with_env == json_output


def test_only_variables_that_can_change_the_output_key_the_report(shop: Path) -> None:
    first = run(shop)
    # A CI job's own variables differ on every run and change nothing the audit prints.
    assert replayed(shop, env={"GITHUB_RUN_ID": "8812", "RUNNER_TEMP": "/tmp/r8812"}) == first
    assert replayed(shop, env={"DARA_MIGRATE_PROFILE": ""}) == first
    assert len(reports(shop)) == 1
    for variable, value in (("PYTHONIOENCODING", "utf-8"), ("FORCE_COLOR", "1"),
                            ("DARA_MIGRATE_EXAMPLE", "1"), ("LC_ALL", "C.UTF-8")):
        assert ran(shop, env={variable: value}) == first
        assert replayed(shop, env={variable: value}) == first
    assert len(reports(shop)) == 5


def test_output_to_a_file_is_never_replayed(shop: Path, tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    run(shop, "--output", str(target))
    first = target.read_text()
    target.unlink()
    assert reports(shop) == []
    run(shop, "--output", str(target))
    assert target.read_text() == first


def test_a_forged_report_is_never_used(shop: Path) -> None:
    honest = run(shop)
    (entry,) = reports(shop)
    data = entry.read_bytes()
    entry.write_bytes(data[:32] + data[32:].replace(b'"findings"', b'"FORGED!!"'))
    assert b"FORGED" in entry.read_bytes()
    assert ran(shop) == honest
    assert b"FORGED" not in entry.read_bytes()


def test_an_edited_or_upgraded_tool_is_a_different_tool(tmp_path: Path) -> None:
    package = write_tree(tmp_path / "tool", {"dara_migrate/rules/a.py": "A = 1\n"}) / "dara_migrate"
    first = tool_stamp(package)
    assert tool_stamp(package) == first
    (package / "rules/a.py").write_text("A = 22\n")
    assert tool_stamp(package) != first


def test_profile_switch_writes_a_readable_profile(shop: Path, tmp_path: Path) -> None:
    profile = tmp_path / "audit.prof"
    _, output = run(shop, "--no-cache", env={"DARA_MIGRATE_PROFILE": str(profile)})
    assert output == run(shop, "--no-cache")[1]
    stats = pstats.Stats(str(profile))
    assert any(name == "load_project" for _, _, name in stats.stats)  # type: ignore[attr-defined]


def test_only_the_most_recent_reports_are_kept(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdout", io.StringIO())
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    monkeypatch.setattr(result_cache, "_invocation", None)
    result_cache.begin(["audit"])
    print("report")
    folder = tmp_path / "results"
    past = time.time_ns() - 10**12
    total = result_cache.MAX_REPORTS + 3
    for number in range(total):
        result_cache.store(Snapshot(f"{number:064x}", folder, (), (), "", (), ()), 1)
        written = folder / f"{number:064x}.report"
        os.utime(written, ns=(past + number * 10**9, past + number * 10**9))
    kept = sorted(int(p.stem, 16) for p in folder.glob("*.report"))
    assert kept == list(range(total - result_cache.MAX_REPORTS, total))


def test_notes_on_standard_error_are_replayed_too(shop: Path) -> None:
    command = [sys.executable, "-m", "dara_migrate", "audit", str(shop), "--format", "json",
               "--jobs", str((os.cpu_count() or 1) + 7)]
    env = {**os.environ, "NO_COLOR": "1", "CI": "1"}
    first = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    assert "note: --jobs" in first.stderr
    for entry in facts_entries(shop):
        entry.unlink()
    again = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    assert facts_entries(shop) == [], "the command ran instead of replaying"
    assert (again.returncode, again.stdout, again.stderr) == (
        first.returncode, first.stdout, first.stderr)


@pytest.mark.parametrize("argv, kept", [(["audit"], True), (["audit", "--no-cache"], False)])
def test_only_a_run_that_may_store_its_report_keeps_what_it_prints(
        monkeypatch: pytest.MonkeyPatch, argv: list[str], kept: bool) -> None:
    monkeypatch.setattr(sys, "stdout", io.StringIO())
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    monkeypatch.setattr(result_cache, "_invocation", None)
    result_cache.begin(argv)
    print("report")
    assert (getattr(sys.stdout, "parts", None) == ["report", "\n"]) is kept


def test_after_one_edit_the_run_reads_only_the_edited_module(
        shop: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The stored report's check already vouches for every file whose stat is unchanged:
    neither its stamp nor its cached facts read it again."""
    argv = ["audit", str(shop), "--format", "json"]
    monkeypatch.chdir(shop)
    monkeypatch.setattr(sys, "argv", ["dara-migrate", *argv])
    monkeypatch.setattr(result_cache, "_RACY_SECONDS", 0.0)  # the tree was written just now

    def in_process() -> tuple[int, str]:
        """The command line's run (`main` without its exit), its standard output."""
        output = io.StringIO()
        monkeypatch.setattr(sys, "stdout", output)
        monkeypatch.setattr(sys, "stderr", io.StringIO())
        monkeypatch.setattr(result_cache, "_invocation", None)
        return _run(argv), output.getvalue()

    stored = in_process()
    assert reports(shop) and stored == run(shop, "--no-cache", cwd=shop)
    pages = shop / "shop/pages.py"
    pages.write_text(PAGES.replace("p * 2", "p * 3"))
    expected = run(shop, "--no-cache", cwd=shop)
    read: list[Path] = []

    def spy(path: Path) -> bytes:
        read.append(Path(path))
        return files.read_bytes(path)

    monkeypatch.setattr(result_cache, "read_bytes", spy)
    monkeypatch.setattr(scan, "read_bytes", spy)
    assert in_process() == expected != stored
    assert sorted({p for p in read if p.suffix == ".py"}) == [pages]


def test_a_module_that_cannot_be_read_is_never_looked_up_by_a_digest(shop: Path) -> None:
    os.mkfifo(shop / "shop/pipe.py")
    run(shop)
    (shop / "shop/pages.py").write_text(PAGES.replace("p * 2", "p * 3"))
    edited = ran(shop)
    assert "not a regular file" in edited[1]
    assert edited == run(shop, "--no-cache")
    assert replayed(shop) == edited
