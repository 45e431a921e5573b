"""Realistic fixture apps: the audit reports exactly the `# expect:` annotations."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

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


@pytest.mark.parametrize("root", APPS, ids=[p.name for p in APPS])
def test_same_findings_with_one_and_two_jobs(root: Path) -> None:
    one, _ = run_audit(root, jobs=1)
    two, _ = run_audit(root, jobs=2)
    assert [f.fingerprint for f in one.findings] == [f.fingerprint for f in two.findings]


def test_demo_app_findings_match_its_expectations() -> None:
    spec = json.loads((Path(__file__).parent / "fixtures" / "sales_dashboard_expected.json")
                      .read_text())
    root = Path(__file__).parent.parent / spec["app_root"]
    result, _ = run_audit(root, show_info=True)
    expected = {(f["path"], f["line"], code) for f in spec["findings"] for code in f["codes"]}
    found = reported(result)
    assert sorted(found - expected) == [], "reported but not expected"
    assert sorted(expected - found) == [], "expected but not reported"
