"""The audit JSON: the documented schema, one finding per line."""

from __future__ import annotations

import importlib.metadata
import io
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from dara_migrate.cli import app
from dara_migrate.models import AuditResult, Finding, Related
from dara_migrate.report.json_report import finding_json, render_json, write_json
from dara_migrate.rules import BY_CODE
from dara_migrate.rules.base import documentation_site, installed_metadata
from tests.helpers import examples

FIXTURES = Path(__file__).parent.parent / "fixtures" / "apps"


def test_every_finding_app_and_error_is_one_line_of_valid_json() -> None:
    result = CliRunner().invoke(app, ["audit", str(FIXTURES / "state_app"), "--format", "json",
                                      "--no-cache"])
    text = result.stdout
    data = json.loads(text)
    assert data["findings"] and data["apps"]
    lines = text.splitlines()
    assert [json.loads(line.strip().rstrip(",")) for line in lines
            if line.startswith('    {"rule"')] == data["findings"]
    assert [json.loads(line.strip().rstrip(",")) for line in lines
            if line.startswith('    {"name"')] == data["apps"]
    summary = lines.index('  "summary": {')
    assert lines[summary + 1] == f'    "files": {data["summary"]["files"]},'
    assert text.endswith("}\n")


def test_empty_lists_and_nested_objects_keep_their_indented_form(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("x = 1\n")
    result = CliRunner().invoke(app, ["audit", str(tmp_path), "--format", "json", "--no-cache"])
    assert '  "findings": [],\n' in result.stdout
    assert '  "summary": {\n    "files": 1,\n' in result.stdout
    assert json.loads(result.stdout)["summary"]["by_rule"] == {}


def _install(site: Path, name: str, metadata: str, kind: str = "dist-info") -> None:
    """A distribution installed in `site` as pip leaves it (only its metadata)."""
    folder = site / f"{name}-0.1.0.{kind}"
    folder.mkdir(parents=True)
    (folder / ("METADATA" if kind == "dist-info" else "PKG-INFO")).write_text(metadata)


@pytest.mark.parametrize("urls, expected", [
    (["Documentation, https://example.org/dara-migrate/"],
     "https://example.org/dara-migrate/rules/DM101.md"),
    (["Homepage, https://example.org", "documentation ,  https://docs.example.org/dm"],
     "https://docs.example.org/dm/rules/DM101.md"),
    (["Source, https://example.org/src"], None),
    ([], None),
])
def test_url_is_the_documentation_site_of_the_installed_package(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, urls: list[str],
        expected: str | None) -> None:
    headers = "".join(f"Project-URL: {url}\n" for url in urls)
    _install(tmp_path, "dara_migrate", "Metadata-Version: 2.1\nName: dara-migrate\n"
             f"Version: 0.1.0\n{headers}\nProject-URL: Documentation, https://body.example\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    documentation_site.cache_clear()
    try:
        assert finding_json(FINDING)["url"] == expected
        assert installed_metadata("dara-migrate", "Project-URL") == (
            importlib.metadata.distribution("dara-migrate").metadata.get_all("Project-URL")
            or [])
    finally:
        documentation_site.cache_clear()


def test_installed_metadata_reads_what_importlib_metadata_reads(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _install(tmp_path, "Acme.Widgets", "Metadata-Version: 2.1\nName: acme-widgets\n"
             "Version: 0.1.0\nProject-URL: Docs, https://a.example\n"
             "Summary: folded\n  over two lines\nProject-URL: Source, https://b.example\n",
             kind="egg-info")
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in ("acme-widgets", "ACME_widgets", "dara-core", "typer", "not-installed-here"):
        try:
            expected = importlib.metadata.metadata(name)
        except importlib.metadata.PackageNotFoundError:
            assert installed_metadata(name, "Project-URL") == []
            continue
        for field_name in ("Project-URL", "Name"):
            assert installed_metadata(name, field_name) == (
                expected.get_all(field_name) or []), (name, field_name)


FINDING = Finding(rule="DM101", name="missing-stable-uid", severity="error", fix="safe",
                  path="app/page.py", line=3, column=1, end_line=3, end_column=10,
                  message="m")


class _Recorder(io.StringIO):
    """A stream that remembers the length of each write."""

    def __init__(self) -> None:
        super().__init__()
        self.sizes: list[int] = []

    def write(self, text: str) -> int:
        self.sizes.append(len(text))
        return super().write(text)


def test_a_large_report_is_written_in_pieces_that_make_the_same_report() -> None:
    findings = [Finding(rule="DM101", name="missing-stable-uid", severity="error", fix="safe",
                        path=f"app/page_{n}.py", line=n + 1, column=1, end_line=n + 1,
                        end_column=10, message=f"finding {n} \u00e9")
                for n in range(3000)]
    result = AuditResult(root="/r", target="1.30", target_reason="default", mode="strict",
                         files=3000, findings=findings, apps=[], errors=[])
    stream = _Recorder()
    write_json(result, stream)
    text = stream.getvalue()
    assert len(stream.sizes) > 2 and max(stream.sizes) < len(text) / 2
    assert text == render_json(result)
    assert json.loads(text)["findings"] == [finding_json(f) for f in findings]


_TEXT = st.text(st.characters(codec="utf-8"), max_size=12)
_NUMBER = st.integers(min_value=0, max_value=10**6)


@st.composite
def _findings(draw: st.DrawFn) -> Finding:
    return Finding(
        rule=draw(st.sampled_from(sorted(BY_CODE))), name=draw(_TEXT),
        severity=draw(st.sampled_from(["error", "warning", "info"])),
        fix=draw(st.sampled_from(["safe", "unsafe", "manual", "blocker", None])),
        path=draw(_TEXT), line=draw(_NUMBER), column=draw(_NUMBER), end_line=draw(_NUMBER),
        end_column=draw(_NUMBER), message=draw(_TEXT),
        status=draw(st.sampled_from(["open", "acknowledged", "suppressed", "pending"])),
        suggested_uid=draw(st.none() | _TEXT),
        related=draw(st.lists(st.builds(Related, _TEXT, _NUMBER, _TEXT), max_size=3)),
        fingerprint=draw(_TEXT))


@settings(max_examples=examples(300))
@given(st.lists(_findings(), min_size=1, max_size=4))
def test_each_finding_line_is_the_json_encoding_of_its_fields(findings: list[Finding]) -> None:
    """Quotes, backslashes, control characters and non-ASCII text in any field, optional
    fields absent or set: each line holds what `json` writes for the finding's fields."""
    result = AuditResult(root="r", target="1.x", target_reason="", mode="enforce", files=1,
                         findings=findings, apps=[], errors=[])
    lines = render_json(result).split("\n")
    start = lines.index('  "findings": [') + 1
    written = [line.strip().removesuffix(",") for line in lines[start:start + len(findings)]]
    assert written == [json.dumps(finding_json(f), ensure_ascii=False, separators=(", ", ": "))
                       for f in findings]
