"""The per-file facts cache (SPEC.md, "Speed"): what re-analyses a file, what a broken entry
does, and that a cached run reports exactly what a fresh one does. Never timings."""

from __future__ import annotations

import hashlib
import os
import pickle
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from dara_migrate import scan
from dara_migrate.cli import app
from dara_migrate.engine import CACHE_FOLDER
from dara_migrate.facts import FileFacts, extract_facts
from dara_migrate.files import SourceRoots
from dara_migrate.models import AuditResult
from dara_migrate.report.json_report import render_json
from dara_migrate.settings import Settings
from tests.helpers import run_audit, write_tree

PYPROJECT = '[project]\nname = "shop"\ndependencies = ["dara-core>=1.30,<2"]\n'
MAIN = """from dara.core import ConfigurationBuilder

from shop.pages import catalog_page

config = ConfigurationBuilder()
config.router.add_page(path='catalog', content=catalog_page, id='catalog')
"""
STATE = """\"\"\"Shared state of the shop.\"\"\"

from dara.core import DerivedVariable, Variable

region = Variable('EU', uid='shop.state:region')
prices = DerivedVariable(lambda r: {'EU': 1.0}.get(r, 2.0), variables=[region])
"""
PAGES = """\"\"\"Pages of the shop.\"\"\"

from dara.components import Stack, Text
from dara.core import DerivedVariable

from shop import state


def catalog_page():
    total = DerivedVariable(lambda p: p * 2, variables=[state.prices])
    return Stack(Text(total))
"""
SHOP = {"pyproject.toml": PYPROJECT, "shop/__init__.py": "", "shop/main.py": MAIN,
        "shop/state.py": STATE, "shop/pages.py": PAGES}


def shop(root: Path) -> Path:
    return write_tree(root / "app", SHOP)


def big_shop(root: Path, pages: int = 60) -> Path:
    """Enough files (> scan._IN_PROCESS_BELOW) that `--jobs 2` really uses a pool."""
    files = {"pyproject.toml": PYPROJECT, "shop/__init__.py": "", "shop/state.py": STATE,
             "shop/pages/__init__.py": ""}
    imports = []
    for n in range(pages):
        files[f"shop/pages/page_{n:02d}.py"] = PAGES.replace("catalog_page", f"page_{n}")
        imports.append(f"from shop.pages.page_{n:02d} import page_{n}")
    routes = [f"config.router.add_page(path='p{n}', content=page_{n}, id='p{n}')"
              for n in range(pages)]
    files["shop/main.py"] = "\n".join([
        "from dara.core import ConfigurationBuilder", *imports, "",
        "config = ConfigurationBuilder()", *routes, ""])
    return write_tree(root / "big", files)


def audit(root: Path, cache: Path | None, **overrides: Any) -> AuditResult:
    if cache is not None:
        overrides.update(use_cache=True, cache_dir=cache)
    return run_audit(root, **overrides)[0]


def report(result: AuditResult) -> str:
    return render_json(result)


def entries(cache: Path) -> list[Path]:
    return sorted(cache.rglob("*.pickle"))


@pytest.fixture
def analysed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Paths whose facts were extracted (not read from the cache), in-process runs only."""
    seen: list[str] = []

    def spy(*args: Any, **kwargs: Any) -> FileFacts:
        facts = extract_facts(*args, **kwargs)
        seen.append(facts.path)
        return facts

    monkeypatch.setattr(scan, "extract_facts", spy)
    return seen


PY_FILES = ["shop/__init__.py", "shop/main.py", "shop/pages.py", "shop/state.py"]


def test_warm_run_reads_every_file_from_the_cache(tmp_path: Path, analysed: list[str]) -> None:
    root, cache = shop(tmp_path), tmp_path / "cache"
    fresh = report(audit(root, None))
    analysed.clear()
    assert report(audit(root, cache)) == fresh
    assert sorted(analysed) == PY_FILES
    assert len(entries(cache)) == len(PY_FILES)
    analysed.clear()
    assert report(audit(root, cache)) == fresh
    assert analysed == []


def test_past_its_limit_the_cache_drops_the_oldest_entries_the_run_did_not_use(
        tmp_path: Path, analysed: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(scan, "CACHE_ENTRIES_FLOOR", 6)
    monkeypatch.setattr(scan, "CACHE_ENTRIES_PER_FILE", 1)
    root, cache = shop(tmp_path), tmp_path / "cache"
    state = root / "shop/state.py"
    audit(root, cache)
    first = set(entries(cache))
    known = set(first)
    past = time.time_ns() - 10**12
    for entry in first:
        os.utime(entry, ns=(past, past))
    for number, region in enumerate(("'US'", "'FR'", "'DE'"), 1):
        state.write_text(STATE.replace("'EU'", region))
        result = audit(root, cache)
        (added,) = set(entries(cache)) - known
        known.add(added)
        os.utime(added, ns=(past + number * 10**9, past + number * 10**9))
    kept = set(entries(cache))
    assert len(kept) == 6
    assert len(kept & first) == len(PY_FILES) - 1  # the old state.py entry went first
    assert report(result) == report(audit(root, None))
    state.write_text(STATE)
    analysed.clear()
    audit(root, cache)
    assert analysed == ["shop/state.py"]


def test_an_edited_file_is_reanalysed_and_its_findings_change(
        tmp_path: Path, analysed: list[str]) -> None:
    root, cache = shop(tmp_path), tmp_path / "cache"
    before = audit(root, cache)
    assert ("shop/state.py", 6, "DM101") in {(f.path, f.line, f.rule) for f in before.findings}
    (root / "shop/state.py").write_text(
        STATE.replace("variables=[region])", "variables=[region], uid='shop.state:prices')"))
    analysed.clear()
    after = audit(root, cache)
    assert analysed == ["shop/state.py"]
    assert ("shop/state.py", 6, "DM101") not in {(f.path, f.line, f.rule) for f in after.findings}
    assert report(after) == report(audit(root, None))


def test_editing_main_changes_findings_in_files_read_from_the_cache(
        tmp_path: Path, analysed: list[str]) -> None:
    root, cache = shop(tmp_path), tmp_path / "cache"

    def page_finding(result: AuditResult) -> tuple[str, str | None]:
        finding = next(f for f in result.findings if f.path == "shop/pages.py")
        return finding.message, finding.fix

    routed = page_finding(audit(root, cache))
    (root / "shop/main.py").write_text(MAIN.replace("config.router.add_page", "# "))
    analysed.clear()
    unrouted = audit(root, cache)
    assert analysed == ["shop/main.py"]
    assert page_finding(unrouted) != routed
    assert "nothing in the project calls this code" in page_finding(unrouted)[0]
    assert report(unrouted) == report(audit(root, None))


def test_identical_content_at_another_path_is_analysed_for_that_path(
        tmp_path: Path, analysed: list[str]) -> None:
    root, cache = shop(tmp_path), tmp_path / "cache"
    audit(root, cache)
    (root / "shop/admin.py").write_bytes((root / "shop/pages.py").read_bytes())
    analysed.clear()
    result = audit(root, cache)
    assert analysed == ["shop/admin.py"]
    rules = {(f.path, f.rule) for f in result.findings}
    assert {("shop/pages.py", "DM101"), ("shop/admin.py", "DM101")} <= rules
    assert report(result) == report(audit(root, None))


def test_a_moved_module_is_reported_at_its_new_path(
        tmp_path: Path, analysed: list[str]) -> None:
    root, cache = shop(tmp_path), tmp_path / "cache"
    # Neither folder is a package, so the module is `helpers` at both paths: only the path
    # tells the two entries apart.
    write_tree(root, {"tools/helpers.py": STATE})
    audit(root, cache)
    (root / "scripts").mkdir()
    (root / "tools/helpers.py").rename(root / "scripts/helpers.py")
    analysed.clear()
    result = audit(root, cache)
    assert analysed == ["scripts/helpers.py"]
    assert "scripts/helpers.py" in {f.path for f in result.findings}
    assert "tools/helpers.py" not in {f.path for f in result.findings}
    assert report(result) == report(audit(root, None))


def test_a_new_project_file_changes_module_names_and_misses_the_cache(
        tmp_path: Path, analysed: list[str]) -> None:
    root, cache = shop(tmp_path), tmp_path / "cache"
    write_tree(root, {"shop/sub/__init__.py": "", "shop/sub/extra.py": STATE})
    audit(root, cache)
    # Same bytes, but shop/sub becomes a project of its own: extra.py is now module `extra`.
    (root / "shop/sub/setup.cfg").write_text("[metadata]\nname = sub\n", encoding="utf-8")
    analysed.clear()
    result = audit(root, cache)
    assert sorted(analysed) == ["shop/sub/__init__.py", "shop/sub/extra.py"]
    assert report(result) == report(audit(root, None))


def test_a_removed_package_marker_keeps_module_names_and_the_cache(
        tmp_path: Path, analysed: list[str]) -> None:
    root, cache = shop(tmp_path), tmp_path / "cache"
    write_tree(root, {"shop/sub/__init__.py": "", "shop/sub/extra.py": STATE})
    audit(root, cache)
    # A namespace package is named like a regular one: nothing needs reading again.
    (root / "shop/sub/__init__.py").unlink()
    analysed.clear()
    result = audit(root, cache)
    assert analysed == []
    assert report(result) == report(audit(root, None))


class _NextPython:
    """`sys` as seen by the cache key, one minor version later."""

    version_info = (sys.version_info[0], sys.version_info[1] + 1, 0)

    def __getattr__(self, name: str) -> Any:
        return getattr(sys, name)


KEY_CHANGES: dict[str, Callable[[pytest.MonkeyPatch], None]] = {
    "tool version": lambda mp: mp.setattr(scan, "__version__", "999.0.0"),
    "FACTS_VERSION": lambda mp: mp.setattr(scan, "FACTS_VERSION",
                                           scan.FACTS_VERSION + "-next"),
    "Python version": lambda mp: mp.setattr(scan, "sys", _NextPython()),
    "fact-relevant settings": lambda mp: mp.setattr(Settings, "fact_key",
                                                    lambda self: "facts-other"),
}


@pytest.mark.parametrize("change", sorted(KEY_CHANGES))
def test_a_change_to_the_key_reanalyses_every_file(
        tmp_path: Path, analysed: list[str], monkeypatch: pytest.MonkeyPatch,
        change: str) -> None:
    root, cache = shop(tmp_path), tmp_path / "cache"
    fresh = report(audit(root, cache))
    KEY_CHANGES[change](monkeypatch)
    analysed.clear()
    assert report(audit(root, cache)) == fresh
    assert sorted(analysed) == PY_FILES
    assert len(entries(cache)) == 2 * len(PY_FILES)


@pytest.mark.parametrize("overrides", [
    {"target": "v2"}, {"select": ("DM2",)}, {"ignore": ("DM101",)},
    {"per_file_ignores": {"shop/pages.py": ("DM101",)}},
])
def test_settings_outside_the_key_reuse_facts_but_recompute_findings(
        tmp_path: Path, analysed: list[str], overrides: dict[str, Any]) -> None:
    root, cache = shop(tmp_path), tmp_path / "cache"
    default = report(audit(root, cache))
    analysed.clear()
    changed = audit(root, cache, **overrides)
    assert analysed == []
    assert report(changed) != default
    assert report(changed) == report(audit(root, None, **overrides))


def _class_gone() -> bytes:
    # A pickle of a class a newer or older tool version no longer has.
    return b"cdara_migrate.scan\nNoSuchFileResult\n)\x81."


CORRUPTIONS: dict[str, Callable[[bytes], bytes]] = {
    "garbage bytes": lambda data: b"\x00\xffnot a pickle\x13\x37" * 7,
    "empty file": lambda data: b"",
    "truncated pickle": lambda data: data[: len(data) // 2],
    "wrong type pickled": lambda data: pickle.dumps({"facts": None, "error": None}),
    "string pickled": lambda data: pickle.dumps("FileResult"),
    "missing class": lambda data: _class_gone(),
}


@pytest.mark.parametrize("corruption", sorted(CORRUPTIONS))
def test_a_corrupt_entry_is_ignored_and_replaced(
        tmp_path: Path, analysed: list[str], corruption: str) -> None:
    root, cache = shop(tmp_path), tmp_path / "cache"
    fresh = report(audit(root, cache))
    for entry in entries(cache):
        entry.write_bytes(CORRUPTIONS[corruption](entry.read_bytes()))
    analysed.clear()
    assert report(audit(root, cache)) == fresh
    assert sorted(analysed) == PY_FILES
    analysed.clear()
    assert report(audit(root, cache)) == fresh
    assert analysed == []


def test_corrupt_entries_read_by_the_pool_are_ignored_and_replaced(
        tmp_path: Path, analysed: list[str]) -> None:
    root, cache = big_shop(tmp_path), tmp_path / "cache"
    fresh = report(audit(root, cache, jobs=2))
    kinds = sorted(CORRUPTIONS)
    for number, entry in enumerate(entries(cache)):
        entry.write_bytes(CORRUPTIONS[kinds[number % len(kinds)]](entry.read_bytes()))
    assert report(audit(root, cache, jobs=2)) == fresh
    analysed.clear()
    assert report(audit(root, cache, jobs=1)) == fresh
    assert analysed == []


def test_an_unreadable_or_unwritable_cache_is_only_slower(tmp_path: Path) -> None:
    root = shop(tmp_path)
    fresh = report(audit(root, None))
    blocker = tmp_path / "cache-is-a-file"
    blocker.write_text("not a folder")
    assert report(audit(root, blocker)) == fresh
    cache = tmp_path / "cache"
    audit(root, cache)
    for entry in entries(cache):
        entry.unlink()
        entry.mkdir()
    assert report(audit(root, cache)) == fresh
    assert list(cache.rglob("*.tmp")) == []


def test_no_cache_neither_reads_nor_writes_entries(tmp_path: Path, analysed: list[str]) -> None:
    root, cache = shop(tmp_path), tmp_path / "cache"
    audit(root, cache)
    before = {entry: entry.read_bytes() for entry in entries(cache)}
    for _ in range(2):
        analysed.clear()
        run_audit(root, use_cache=False, cache_dir=cache)
        assert sorted(analysed) == PY_FILES
    assert {entry: entry.read_bytes() for entry in entries(cache)} == before


@pytest.mark.parametrize("command", [
    ["audit", "--format", "json"], ["apply", "--dry-run", "--no-build-check"], ["report"],
])
def test_no_cache_writes_no_cache_dir(tmp_path: Path, command: list[str]) -> None:
    root = shop(tmp_path)
    configured = write_tree(tmp_path / "configured", {
        **SHOP, "pyproject.toml": PYPROJECT + '\n[tool.dara-migrate]\ncache-dir = "cache"\n'})

    def run(project: Path, *extra: str) -> None:
        result = CliRunner().invoke(app, [command[0], str(project), *command[1:], *extra])
        assert result.exit_code in (0, 1), result.output

    run(root, "--no-cache")
    run(configured, "--no-cache")
    assert not (root / CACHE_FOLDER).exists()
    assert not (configured / "cache").exists()
    assert not (configured / CACHE_FOLDER).exists()
    # Without the flag the same commands do write it, so the checks above mean something.
    run(root)
    run(configured)
    assert entries(root / CACHE_FOLDER)
    assert entries(configured / "cache")


def test_same_findings_with_and_without_cache_for_one_and_two_jobs(
        tmp_path: Path, analysed: list[str]) -> None:
    root, cache = big_shop(tmp_path), tmp_path / "cache"
    fresh = report(audit(root, None, jobs=1))
    assert report(audit(root, None, jobs=2)) == fresh
    assert report(audit(root, cache, jobs=2)) == fresh
    files = len(list(root.rglob("*.py")))
    assert len(entries(cache)) == files
    # Entries written by the pool are read in-process, and the other way round.
    analysed.clear()
    assert report(audit(root, cache, jobs=1)) == fresh
    assert analysed == []
    (root / "shop/state.py").write_text(
        STATE + "extra = DerivedVariable(lambda r: r, variables=[region])\n")
    edited = report(audit(root, cache, jobs=1))
    assert analysed == ["shop/state.py"]
    assert report(audit(root, cache, jobs=2)) == edited == report(audit(root, None, jobs=2))
    assert edited != fresh


def _spawn_audit(root: Path, jobs: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "dara_migrate", "audit", str(root), "--format", "json",
         "--jobs", str(jobs)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env={**os.environ, "NO_COLOR": "1", "CI": "1"})


def test_concurrent_runs_on_one_tree_both_succeed_with_identical_output(
        tmp_path: Path) -> None:
    root = big_shop(tmp_path)
    fresh = CliRunner().invoke(app, ["audit", str(root), "--format", "json", "--no-cache"])
    expected = fresh.stdout
    for state in ("cold", "warm"):
        runs = [_spawn_audit(root, jobs) for jobs in (2, 2, 1)]
        outputs = [run.communicate(timeout=300) for run in runs]
        for run, (out, err) in zip(runs, outputs, strict=True):
            assert run.returncode == 1, f"{state}: {err.decode()}"
            assert out.decode() == expected, state
    cache = root / CACHE_FOLDER
    assert len(entries(cache)) == len(list(root.rglob("*.py")))
    assert list(cache.rglob("*.tmp")) == []  # every write was completed or cleaned up


class _Exploit:
    """Unpickling it creates a file: what a planted cache entry could do instead."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, tuple[str, str]]:
        return open, (str(self.marker), "w")


def test_an_entry_planted_in_the_cache_is_never_unpickled(tmp_path: Path) -> None:
    # A repository can commit `.dara-migrate-cache/`, and a CI cache can be shared: entry
    # names are predictable (the key is public), so such an entry must not run code.
    root, cache = shop(tmp_path), tmp_path / "cache"
    fresh = report(audit(root, cache))
    marker = tmp_path / "pwned"
    for entry in entries(cache):
        entry.write_bytes(pickle.dumps(_Exploit(marker)))
    assert report(audit(root, cache)) == fresh
    assert not marker.exists()


@pytest.mark.parametrize(("cores", "load", "workers"), [
    (2, 0.0, 2), (2, 0.4, 2), (2, 0.6, 1), (2, 1.5, 1), (2, 9.0, 1),
    (8, 0.0, 8), (8, 3.2, 5), (8, 7.6, 1), (1, 0.0, 1),
])
def test_default_jobs_use_only_idle_cores(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                          cores: int, load: float, workers: int) -> None:
    # Other tasks running now as many as the average says: both agree the cores are busy.
    running = tmp_path / "loadavg"
    running.write_text(f"{load} {load} {load} {1 + round(load)}/300 4242\n")
    monkeypatch.setattr(scan, "_LOADAVG", str(running))
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: set(range(cores)), raising=False)
    monkeypatch.setattr(os, "getloadavg", lambda: (load, load, load))
    assert scan.default_workers() == workers


@pytest.mark.parametrize(("load", "running", "workers"), [
    (1.9, "1/300", 2),  # the load of a run that has ended: nothing else runs now
    (0.1, "3/300", 2),  # two tasks that just woke up: a moment, not a load
    (1.9, "3/300", 1),  # busy for a minute and now: the machine is taken
])
def test_default_jobs_count_a_core_busy_only_if_it_is_busy_now_and_was(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, load: float, running: str,
        workers: int) -> None:
    loadavg = tmp_path / "loadavg"
    loadavg.write_text(f"{load} {load} {load} {running} 4242\n")
    monkeypatch.setattr(scan, "_LOADAVG", str(loadavg))
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: {0, 1}, raising=False)
    monkeypatch.setattr(os, "getloadavg", lambda: (load, load, load))
    assert scan.default_workers() == workers


def test_default_jobs_without_a_task_count_use_the_load_average(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(scan, "_LOADAVG", str(tmp_path / "missing"))
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: {0, 1}, raising=False)
    monkeypatch.setattr(os, "getloadavg", lambda: (1.2, 1.2, 1.2))
    assert scan.default_workers() == 1


def test_default_jobs_without_a_load_average_use_every_core(
        monkeypatch: pytest.MonkeyPatch) -> None:
    def unavailable() -> tuple[float, float, float]:
        raise OSError("no load average")

    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: {0, 1, 2}, raising=False)
    monkeypatch.setattr(os, "getloadavg", unavailable)
    assert scan.default_workers() == 3


def test_a_known_content_digest_finds_the_facts_without_reading_and_a_stale_one_reads(
        tmp_path: Path) -> None:
    root, cache = shop(tmp_path), tmp_path / "cache"
    state = root / "shop/state.py"
    roots = SourceRoots(root, [root / "pyproject.toml"])

    def job(content_digest: bytes | None) -> scan.FileJob:
        (made,) = scan.make_jobs(roots, [state], cache, "salt", None,
                                 {str(state): content_digest} if content_digest else None)
        return made

    first = scan.analyze_file(job(None))
    assert first.facts is not None and first.error is None
    original = hashlib.sha256(STATE.encode()).digest()
    state.write_text(STATE.replace("'EU'", "'US'"))
    # A digest known for content the file no longer has: the cached facts of that content.
    assert scan.analyze_file(job(original)) == first
    assert scan.cached_result(job(original)) == first
    # A stale digest with no entry: the file is read, and its facts keyed by what was read.
    stale = scan.analyze_file(job(hashlib.sha256(b"older content").digest()))
    fresh = scan.analyze_file(job(None))
    assert stale == fresh != first
    assert len(entries(cache)) == 2
    # An overlay is analysed as given, whatever digest the file on disk had.
    (overlaid,) = scan.make_jobs(roots, [state], cache, "salt", {"shop/state.py": b"x = 1\n"},
                                 {str(state): original})
    assert overlaid.content_digest is None
    assert scan.analyze_file(overlaid) != first
