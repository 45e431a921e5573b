"""The command line: formats, outputs, exit codes, determinism across --jobs and the cache."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dara_migrate.cli import app
from dara_migrate.rules import ALL_RULES
from tests.helpers import write_tree

PAGE = '''"""Page {n}."""
import dara.core as dc
from dara.core import Variable
from dara.core.persistence import BackendStore

from shop.helpers import make_total


def build_page_{n}():
    amount = Variable({n})
    prefs = Variable(store=BackendStore())
    total = dc.DerivedVariable(lambda a: a * {n}, variables=[amount])
    return make_total(amount, "p{n}"), total, prefs
'''
HELPERS = '''from dara.core import DerivedVariable


def make_total(amount, prefix: str):
    return DerivedVariable(lambda a: a, variables=[amount], uid=f"{prefix}-total")
'''


def shop(root: Path, pages: int = 60) -> Path:
    files = {"shop/__init__.py": "", "shop/helpers.py": HELPERS, "shop/pages/__init__.py": ""}
    imports = []
    for n in range(pages):
        files[f"shop/pages/page_{n:02d}.py"] = PAGE.format(n=n)
        imports.append(f"from shop.pages.page_{n:02d} import build_page_{n}")
    calls = "\n".join(f"build_page_{n}()" for n in range(pages))
    files["shop/main.py"] = "\n".join(imports) + "\n\n" + calls + "\n"
    return write_tree(root, files)


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout


def test_same_output_for_any_job_count_and_cache_state(tmp_path: Path) -> None:
    root = shop(tmp_path)
    outputs = set()
    for extra in (["--jobs", "1", "--no-cache"], ["--jobs", "2", "--no-cache"],
                  ["--jobs", "2"], ["--jobs", "1"]):
        code, out = invoke("audit", str(root), "--format", "json", "--target", "1.x", *extra)
        assert code == 1
        outputs.add(out)
    assert len(outputs) == 1
    data = json.loads(outputs.pop())
    assert data["summary"]["by_rule"]["DM101"] == 180


def test_json_follows_the_spec(tmp_path: Path) -> None:
    root = shop(tmp_path, pages=1)
    code, out = invoke("audit", str(root), "--format", "json", "--target", "1.x", "--no-cache",
                       "--select", "DM1")
    data = json.loads(out)
    assert code == 1
    assert set(data) == {"version", "tool", "tool_version", "target", "target_reason", "mode",
                         "root", "findings", "apps", "errors", "summary"}
    assert (data["version"], data["tool"], data["target"], data["mode"]) == (
        1, "dara-migrate", "1.x", "enforce")
    finding = data["findings"][0]
    assert finding == {
        "rule": "DM101", "name": "missing-stable-uid", "severity": "error", "fix": "safe",
        "status": "open", "path": "shop/pages/page_00.py", "line": 11, "column": 13,
        "end_line": 11, "end_column": 43, "message": finding["message"],
        "url": None, "fingerprint": finding["fingerprint"],
        "suggested_uid": "shop.pages.page_00:build_page_0.prefs", "related": [],
    }
    assert data["findings"][1]["suggested_uid"] == "shop.pages.page_00:build_page_0.store"
    assert data["findings"][2]["suggested_uid"] == "shop.pages.page_00:build_page_0.total"
    assert data["summary"] == {"files": 5, "findings": 3, "by_rule": {"DM101": 3},
                               "by_fix": {"safe": 3}}


def test_text_report_has_locations_summary_and_no_markup(tmp_path: Path) -> None:
    root = shop(tmp_path, pages=1)
    code, out = invoke("audit", str(root), "--no-color", "--statistics", "--no-cache",
                       "--select", "DM1")
    assert code == 1
    assert "shop/pages/page_00.py:12:13: DM101 DerivedVariable without uid=" in out
    assert "5 files, 3 errors, 0 warnings; 3 fixable with `dara-migrate apply`" in out
    assert "\x1b[" not in out


def test_output_file_and_exit_zero_when_clean(tmp_path: Path) -> None:
    write_tree(tmp_path, {"app/main.py": "from dara.core import Variable\n\nname = Variable('')\n"})
    report = tmp_path / "report.json"
    code, out = invoke("audit", str(tmp_path), "--format", "json", "--output", str(report))
    assert code == 0
    assert out == ""
    assert json.loads(report.read_text())["findings"] == []


def test_select_and_ignore(tmp_path: Path) -> None:
    root = shop(tmp_path, pages=1)
    assert invoke("audit", str(root), "--select", "DM4", "--no-cache")[0] == 0
    assert invoke("audit", str(root), "--ignore", "DM101", "--no-cache")[0] == 0


def test_a_file_that_does_not_parse_is_reported_whatever_is_selected(tmp_path: Path) -> None:
    # Its findings are unknown: a narrowed run must not call the app ready.
    root = shop(tmp_path, pages=1)
    (root / "shop" / "broken.py").write_text("def page(:\n    pass\n")
    for narrowed in (["--select", "DM1"], ["--ignore", "DM"], ["--select", "DM4"]):
        code, out = invoke("audit", str(root), *narrowed, "--no-cache")
        assert code == 1 and "DM001" in out, narrowed
    assert "DM001" not in invoke("audit", str(root), "--ignore", "DM001,DM1", "--no-cache")[1]


def test_usage_errors_exit_2_with_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["audit", str(tmp_path / "nope")])
    assert result.exit_code == 2
    assert "nope: no such file or folder" in result.stderr
    write_tree(tmp_path, {"pyproject.toml": "[tool.dara-migrate]\nbogus = 1\n"})
    result = CliRunner().invoke(app, ["audit", str(tmp_path)])
    assert result.exit_code == 2
    assert "unknown key 'bogus'" in result.stderr


def test_an_unexpected_error_is_one_line_and_exit_2(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    # A bug of the tool must not pass for findings (exit 1) in CI, nor print a traceback.
    import dara_migrate.engine as engine
    from dara_migrate.cli import _run

    def broken(apps: object, findings: object) -> None:
        raise RuntimeError("the verdicts\nbroke")

    monkeypatch.setattr(engine, "app_verdicts", broken)
    root = shop(tmp_path, pages=1)
    monkeypatch.setattr(sys, "argv", ["dara-migrate", "audit", str(root), "--no-cache"])
    assert _run(sys.argv[1:]) == 2
    [line] = capsys.readouterr().err.splitlines()
    assert re.fullmatch(r"dara-migrate: internal error: RuntimeError: the verdicts broke "
                        r"\(test_cli\.py:\d+\); please report it", line), line


def test_report_blames_the_applied_file_only_when_it_is_the_cause(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    import dara_migrate.engine as engine
    from dara_migrate.cli import _run

    def broken(apps: object, findings: object) -> None:
        raise ValueError("verdict out of range")

    root = shop(tmp_path / "project", pages=1)
    record = tmp_path / "applied.json"
    record.write_text('{"changes": [], "escape_hatch": []}\n')
    argv = ["dara-migrate", "report", str(root), "--applied", str(record), "--no-cache"]
    monkeypatch.setattr(sys, "argv", argv)
    with monkeypatch.context() as patched:
        patched.setattr(engine, "app_verdicts", broken)
        assert _run(argv[1:]) == 2
    [line] = capsys.readouterr().err.splitlines()
    assert "cannot read the apply report" not in line
    assert "internal error: ValueError: verdict out of range" in line
    record.write_text('{"changes": 1}\n')
    assert _run(argv[1:]) == 2
    assert capsys.readouterr().err == (f"error: {record}: cannot read the apply report: "
                                       "'changes' is not a list\n")


@pytest.mark.parametrize(("args", "message"), [
    (["audit", "--bogus"], "No such option: --bogus"),
    (["bogus"], "No such command 'bogus'; see 'python -m dara_migrate --help'"),
    (["audit", "--format", "xml"], "Invalid value for '--format': 'xml' is not one of 'text'"),
    (["audit", "--jobs", "x"], "Invalid value for '--jobs' / '-j'"),
    (["explain"], "Missing argument 'code'; see 'python -m dara_migrate explain --help'"),
    (["verify", "--runs", "1"], "Invalid value for '--runs'"),
])
def test_usage_errors_are_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    run = subprocess.run([sys.executable, "-m", "dara_migrate", *args], cwd=tmp_path,
                         capture_output=True, text=True, check=False)
    assert run.returncode == 2
    assert run.stdout == ""
    [line] = run.stderr.splitlines()
    assert line.startswith(f"error: {message}"), line


def test_help_is_still_the_framework_help() -> None:
    code, out = invoke("audit", "--help")
    assert code == 0
    assert "Usage: " in out and "--format" in out and "╭─ Options" in out


def test_rules_and_explain() -> None:
    code, out = invoke("rules", "--format", "json")
    assert code == 0
    assert [r["code"] for r in json.loads(out)] == [r.code for r in ALL_RULES]
    code, out = invoke("explain", "dm101")
    assert code == 0
    for heading in ("## What it finds", "## Why it breaks on many workers", "## Example",
                    "## Use instead", "## Fix safety", "## Confidence"):
        assert heading in out
    assert "# expect:" not in out
    assert invoke("explain", "DM999")[0] == 2


@pytest.mark.parametrize("output_format", ["sarif", "github"])
def test_machine_formats_render(tmp_path: Path, output_format: str) -> None:
    root = shop(tmp_path, pages=1)
    code, out = invoke("audit", str(root), "--format", output_format, "--no-cache")
    assert code == 1
    assert "DM101" in out


def test_github_annotations_name_files_from_the_repositorys_top(tmp_path: Path) -> None:
    """An app of a monorepo is its own project (its pyproject.toml), but the runner checks
    out the whole repository: annotations must name files from its top."""
    shop(tmp_path / "apps", pages=1)
    (tmp_path / "apps" / "pyproject.toml").write_text("[project]\nname = 'shop'\n")
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    code, out = invoke("audit", str(tmp_path / "apps"), "--format", "github", "--no-cache")
    assert code == 1
    files = {line.split("file=", 1)[1].split(",", 1)[0] for line in out.splitlines()}
    assert files and all(path.startswith("apps/") for path in files), files


def test_python_dash_m_works(tmp_path: Path) -> None:
    root = shop(tmp_path, pages=1)
    completed = subprocess.run(
        [sys.executable, "-m", "dara_migrate", "audit", str(root), "--quiet", "--no-cache",
         "--select", "DM1"],
        capture_output=True, text=True, check=False)
    assert completed.returncode == 1
    assert completed.stdout.count("DM101") == 3


def test_apply_summary_stays_short_on_a_monorepo(tmp_path: Path) -> None:
    app_source = (
        "from dara.core import ConfigurationBuilder, DerivedVariable, Variable, py_component\n"
        "from dara.components import Text\n\n"
        "@py_component\n"
        "def panel(x):\n"
        "    return Text(DerivedVariable(lambda v: v, variables=[x]))\n\n"
        "def page():\n"
        "    return panel(Variable(1, uid='{name}-x'))\n\n"
        "config = ConfigurationBuilder()\n"
        "config.add_page('Home', content=page)\n"
    )
    files = {}
    for number in range(23):
        name = f"service_{number:02d}"
        files[f"{name}/__init__.py"] = ""
        files[f"{name}/main.py"] = app_source.replace("{name}", name)
    write_tree(tmp_path, files)
    result = CliRunner().invoke(app, ["apply", str(tmp_path), "--yes", "--no-cache",
                                      "--no-build-check", "--target", "1.x"])
    lines = result.stderr.splitlines()
    assert sum("kept process-local (unsafe_runtime_mode" in line for line in lines) == 20
    assert "... and 3 more apps kept process-local" in lines
    assert "23 errors remain:" in lines
    assert all("config.unsafe_runtime_mode = 'local'" in
               (tmp_path / f"service_{n:02d}/main.py").read_text() for n in range(23))


def test_report_takes_format_markdown_as_audit_does(tmp_path: Path) -> None:
    root = shop(tmp_path / "project", pages=1)
    runner = CliRunner()
    guide = runner.invoke(app, ["report", str(root), "--no-cache"])
    same = runner.invoke(app, ["report", str(root), "--no-cache", "--format", "markdown"])
    audited = runner.invoke(app, ["audit", str(root), "--no-cache", "--format", "markdown"])
    assert guide.exit_code == same.exit_code == 0
    assert same.stdout == guide.stdout == audited.stdout
    assert guide.stdout.startswith("# Distributed-safe upgrade guide\n")
    other = runner.invoke(app, ["report", str(root), "--no-cache", "--format", "json"])
    assert other.exit_code == 2
    assert "'json' is not one of 'markdown'" in other.stderr


@pytest.mark.parametrize("no_cache", [True, False])
def test_verify_no_cache_leaves_no_cache_folder(tmp_path: Path, no_cache: bool) -> None:
    # The audit that predicts the ids reads and writes the cache as `audit` does, unless told.
    root = write_tree(tmp_path, {"app/__init__.py": "", "app/main.py": (
        "from dara.core import ConfigurationBuilder\n\n"
        "config = ConfigurationBuilder()\n"
        "raise RuntimeError('no database configured')\n")})
    outcome = CliRunner().invoke(app, ["verify", str(root), *(["--no-cache"] * no_cache)])
    assert outcome.exit_code == 2, outcome.output
    assert "RuntimeError: no database configured" in outcome.stderr
    assert (root / ".dara-migrate-cache").exists() is not no_cache


def test_apps_sharing_a_folder_each_get_a_manifest_named_after_their_config(
        tmp_path: Path) -> None:
    # Two services of one factory in one folder, and a third app alone in its folder.
    from dara_migrate.cli.commands import _manifest_homes, _manifests
    from dara_migrate.verify.targets import AppBuild

    shared, alone = tmp_path / "plat", tmp_path / "solo"
    builds = [AppBuild(shared, "plat.ops:config", None, home=shared),
              AppBuild(shared, "plat.sales:config", None, home=shared),
              AppBuild(alone, "solo.main:config", None, home=alone)]
    assert _manifests(builds, _manifest_homes(builds)) == [
        shared / "dara-manifest.plat.ops.config.json",
        shared / "dara-manifest.plat.sales.config.json",
        alone / "dara-manifest.json"]
