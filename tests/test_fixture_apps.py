"""Realistic fixture apps: the audit reports exactly the `# expect:` annotations."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

from dara_migrate import scan
from tests.helpers import expectations, reported, run_audit

APPS = sorted(p for p in (Path(__file__).parent / "fixtures" / "apps").iterdir() if p.is_dir())


@pytest.mark.parametrize("root", APPS, ids=[p.name for p in APPS])
def test_findings_match_annotations(root: Path) -> None:
    result, _ = run_audit(root, show_info=True)
    assert result.errors == []
    expected = expectations(root)
    found = reported(result)
    assert sorted(found - expected) == [], "reported but not expected"
    assert sorted(expected - found) == [], "expected but not reported"


def _analyze_chunk_slowly(jobs: Sequence[scan.FileJob]) -> list[scan.FileResult]:
    """The chunk worker, recording which process ran it; slow enough that the pool's worker
    takes chunks before this process has done them all itself."""
    with open(os.environ["DARA_MIGRATE_TEST_PIDS"], "a", encoding="utf-8") as pids:
        pids.write(f"{os.getpid()}\n")
    time.sleep(0.02)
    return [scan.analyze_file(job) for job in jobs]


@pytest.mark.parametrize("root", APPS, ids=[p.name for p in APPS])
def test_same_findings_with_one_and_two_jobs(root: Path, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    one, _ = run_audit(root, jobs=1)
    # Fixture apps are smaller than the size at which the pool pays: force it on.
    monkeypatch.setattr(scan, "_IN_PROCESS_BELOW", 0)
    monkeypatch.setattr(scan, "_analyze_chunk", _analyze_chunk_slowly)
    pids = tmp_path / "pids"
    monkeypatch.setenv("DARA_MIGRATE_TEST_PIDS", str(pids))
    two, _ = run_audit(root, jobs=2)
    assert [f.fingerprint for f in one.findings] == [f.fingerprint for f in two.findings]
    assert set(pids.read_text().split()) - {str(os.getpid())}, "no chunk ran in a worker"


def test_demo_app_findings_match_its_expectations() -> None:
    spec = json.loads((Path(__file__).parent / "fixtures" / "sales_dashboard_expected.json")
                      .read_text())
    root = Path(__file__).parent.parent / spec["app_root"]
    result, _ = run_audit(root, show_info=True)
    expected = {(f["path"], f["line"], code) for f in spec["findings"] for code in f["codes"]}
    found = reported(result)
    assert sorted(found - expected) == [], "reported but not expected"
    assert sorted(expected - found) == [], "expected but not reported"
