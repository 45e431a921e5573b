"""Output that never contradicts itself: counts, plurals, usage errors, hints."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dara_migrate.cli import app
from dara_migrate.verify.runner import _interpreter_hint
from tests.helpers import write_tree
from tests.test_interactive import ORDERS_APP, scripted, settings_for

ONE_UID = {
    "pyproject.toml": '[project]\nname = "tiny"\ndependencies = ["dara-core<2"]\n',
    "tiny/__init__.py": "",
    "tiny/main.py": (
        "from dara.core import ConfigurationBuilder, DerivedVariable, Variable\n\n"
        "count = Variable(0)\n"
        "double = DerivedVariable(lambda c: c * 2, variables=[count])\n\n"
        "config = ConfigurationBuilder()\n"
    ),
}


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_counts_of_one_are_singular(tmp_path: Path) -> None:
    root = write_tree(tmp_path, ONE_UID)
    _, audit_out, _ = invoke("audit", str(root), "--no-cache", "--select", "DM101")
    assert "2 files, 1 error, 0 warnings; 1 fixable with `dara-migrate apply`" in audit_out
    assert "(1 error, 0 need a person)" in audit_out
    _, _, applied = invoke("apply", str(root), "--yes", "--no-cache", "--no-build-check",
                           "--select", "DM101")
    assert "1 fix; changed 1 file" in applied
    assert "not in a git work tree: uncommitted changes cannot be checked" in applied
    assert applied.count("git work tree") == 1


def test_unsafe_fixes_held_back_are_counted(tmp_path: Path) -> None:
    root = write_tree(tmp_path, ORDERS_APP)
    _, out, _ = invoke("audit", str(root), "--no-cache", "--target", "1.x")
    assert "1 more fix is available with `--unsafe-fixes`" in out
    _, _, applied = invoke("apply", str(root), "--yes", "--no-cache", "--no-build-check",
                           "--target", "1.x")
    assert "; 1 more fix is available with `--unsafe-fixes`" in applied
    _, _, unsafe = invoke("apply", str(root), "--yes", "--no-cache", "--no-build-check",
                          "--target", "1.x", "--unsafe-fixes")
    assert "--unsafe-fixes`" not in unsafe


@pytest.mark.parametrize("args, named", [
    (["--select", "dm1"], "'dm1' (codes are upper-case: DM1)"),
    (["--select", "DM9"], "'DM9'"),
    (["--ignore", "E501"], "'E501'"),
])
def test_unknown_or_lower_case_codes_are_usage_errors(tmp_path: Path, args: list[str],
                                                      named: str) -> None:
    root = write_tree(tmp_path, ONE_UID)
    code, _, err = invoke("audit", str(root), "--no-cache", *args)
    assert code == 2
    assert f"error: {args[0]}: unknown rule code {named}; known prefixes: DM0, DM1" in err


def test_unknown_codes_in_the_config_are_usage_errors(tmp_path: Path) -> None:
    files = dict(ONE_UID)
    files["pyproject.toml"] += '\n[tool.dara-migrate]\nselect = ["DM1", "dm2"]\n'
    root = write_tree(tmp_path, files)
    code, _, err = invoke("audit", str(root), "--no-cache")
    assert code == 2
    assert "[tool.dara-migrate] select: unknown rule code 'dm2'" in err


def test_a_bad_target_reads_like_the_other_usage_errors(tmp_path: Path) -> None:
    root = write_tree(tmp_path, ONE_UID)
    code, _, err = invoke("audit", str(root), "--target", "3")
    assert code == 2
    assert err.strip() == "error: --target must be auto, v2 or 1.x, not '3'"


def test_verify_and_rules_offer_only_the_formats_they_write(tmp_path: Path) -> None:
    for command in (["verify", str(tmp_path)], ["rules"]):
        code, _, err = invoke(*command, "--format", "sarif")
        assert code == 2
        assert "sarif is not one of text json" in " ".join(re.findall(r"[a-z]+", err))


def test_interactive_header_counts_as_the_report_does(tmp_path: Path) -> None:
    root = write_tree(tmp_path, ORDERS_APP)
    _, report, _ = invoke("audit", str(root), "--no-cache")
    _, shown = scripted(settings_for(root), root, "\r" * 6 + "n")
    report_lines = report.splitlines()
    summary = next(line for line in report_lines if " files, " in line)
    verdicts = [line for line in report_lines if line.startswith("app ")]
    assert summary in shown.splitlines()
    assert all(line in shown.splitlines() for line in verdicts)


def test_a_missing_module_points_at_the_apps_interpreter(tmp_path: Path) -> None:
    interpreter = tmp_path / ".venv" / "bin" / "python"
    interpreter.parent.mkdir(parents=True)
    interpreter.write_text("")
    assert _interpreter_hint(tmp_path / "app", "/usr/bin/python3") == (
        f"; /usr/bin/python3 lacks the app's dependencies: try --python {interpreter}")
    assert "pass --python with the interpreter of the app's environment" in (
        _interpreter_hint(Path("/"), "/usr/bin/python3"))


def test_a_second_yes_keeps_the_reason_the_first_run_wrote(tmp_path: Path) -> None:
    root = write_tree(tmp_path, ORDERS_APP)
    invoke("apply", str(root), "--yes", "--no-cache", "--no-build-check", "--target", "1.x",
           "--reason", "order table redesign in Q3")
    main = (root / "orders" / "main.py").read_text()
    assert "order table redesign in Q3" in " ".join(main.split())
    code, out, _ = invoke("apply", str(root), "--dry-run", "--no-cache", "--no-build-check",
                          "--target", "1.x")
    assert (code, out) == (0, "")
