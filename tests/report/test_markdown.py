"""The Markdown upgrade guide, checked against golden files.

Regenerate after an intended change with `DARA_MIGRATE_REGOLD=1 python -m pytest
tests/report/test_markdown.py` and review the diff.
"""

from __future__ import annotations

import html
import json
import os
import shutil
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from markdown_it import MarkdownIt
from typer.testing import CliRunner

from dara_migrate.cli import app
from dara_migrate.models import shown_path
from dara_migrate.report import markdown
from tests.helpers import write_tree

HERE = Path(__file__).parent
FIXTURES = HERE.parent / "fixtures" / "apps"


def check_golden(name: str, text: str) -> None:
    golden = HERE / "golden" / name
    if os.environ.get("DARA_MIGRATE_REGOLD"):
        golden.write_text(text, encoding="utf-8")
    assert text == golden.read_text(encoding="utf-8")


@pytest.mark.parametrize("fixture", ["state_app", "runtime_defs_app"])
def test_upgrade_guide_matches_golden(fixture: str) -> None:
    result = CliRunner().invoke(app, ["report", str(FIXTURES / fixture), "--no-cache",
                                      "--target", "1.x"])
    assert result.exit_code == 0, result.stderr
    check_golden(f"{fixture}.md", result.stdout)


def test_audit_format_markdown_is_the_same_guide() -> None:
    root = str(FIXTURES / "state_app")
    report = CliRunner().invoke(app, ["report", root, "--no-cache", "--target", "1.x"])
    audit = CliRunner().invoke(app, ["audit", root, "--format", "markdown", "--no-cache",
                                     "--target", "1.x"])
    assert audit.stdout == report.stdout


def test_guide_with_what_apply_changed(tmp_path: Path) -> None:
    root = tmp_path / "app"
    shutil.copytree(FIXTURES / "identity_app", root)
    record = tmp_path / "applied.json"
    applied = CliRunner().invoke(app, ["apply", str(root), "--yes", "--no-cache",
                                       "--no-build-check", "--target", "1.x",
                                       "--report", str(record)])
    assert applied.exit_code == 1, applied.stderr
    result = CliRunner().invoke(app, ["report", str(root), "--no-cache", "--target", "1.x",
                                      "--applied", str(record)])
    assert result.exit_code == 0
    check_golden("identity_app-applied.md", result.stdout)


def test_the_apply_record_holds_each_statement_before_and_after(tmp_path: Path) -> None:
    # Three routes of one head in a row: each change shows its own statement, also where
    # the fix splits the call over lines.
    root = write_tree(tmp_path, {"app/main.py": (
        "from dara.core import ConfigurationBuilder, DerivedVariable, Variable\n"
        "\n"
        "count = Variable(1, uid='count')\n"
        "doubled = DerivedVariable(lambda c: c * 2, variables=[count], cache='global', "
        "polling_interval=30)\n"
        "config = ConfigurationBuilder()\n"
        "config.router.add_page(path='a', content=lambda: None)\n"
        "config.router.add_page(path='b', content=lambda: None)\n"
        "config.router.add_page(path='c', content=lambda: None)\n"
    )})
    record = tmp_path / "applied.json"
    applied = CliRunner().invoke(app, ["apply", str(root), "--dry-run", "--no-cache",
                                       "--no-build-check", "--target", "1.x",
                                       "--report", str(record)])
    assert applied.exit_code == 1, applied.stderr
    changes = {(c["rule"], c["line"]): c for c in json.loads(record.read_text())["changes"]}
    assert changes[("DM108", 7)]["before"] == (
        "config.router.add_page(path='b', content=lambda: None)\n")
    assert changes[("DM108", 7)]["after"] == (
        "config.router.add_page(path='b', content=lambda: None, id='b')\n")
    assert changes[("DM108", 7)]["fix"] == "id='b'"
    assert changes[("DM101", 4)]["after"] == (
        "doubled = DerivedVariable(\n"
        "    lambda c: c * 2,\n"
        "    variables=[count],\n"
        "    cache='global',\n"
        "    polling_interval=30,\n"
        "    uid='app.main:doubled',\n"
        ")\n")


# Text as the project can spell it: file names, uids and names with Markdown punctuation,
# HTML, backticks, control characters and line separators.
PROJECT_TEXT = st.text(st.sampled_from([*"ab_*`[]()<>&~|!#\\ \n\t\r\x1b\x00\u2028\x85", "é"]),
                       max_size=30)
INLINE = MarkdownIt("commonmark")


@given(PROJECT_TEXT)
def test_project_text_renders_as_itself(text: str) -> None:
    shown = shown_path(text)
    assert "\n" not in markdown._plain(text) and "\n" not in markdown._code(text)
    assert INLINE.renderInline(markdown._plain(text)) == html.escape(shown, quote=True)
    if text:  # names are never empty; an empty code span cannot be written
        assert INLINE.renderInline(markdown._code(text)) == (
            f"<code>{html.escape(shown, quote=True)}</code>")


def test_odd_names_stay_literal_in_the_guide(tmp_path: Path) -> None:
    odd = "app/we`ird_*[x](y)<b>\n.py"
    root = write_tree(tmp_path, {
        "app/main.py": "from dara.core import ConfigurationBuilder\n\n"
        "config = ConfigurationBuilder()\n",
        odd: "from dara.core import action\n\n_SEEN = {}\n\n\n@action\n"
        "async def remember(ctx: action.Ctx, key: str):\n    _SEEN[key] = 1\n",
    })
    result = CliRunner().invoke(app, ["report", str(root), "--no-cache", "--target", "1.x"])
    assert result.exit_code == 0, result.stderr
    [item] = [line for line in result.stdout.splitlines() if "SEEN" in line]
    rendered = INLINE.renderInline(item.removeprefix("- [ ] "))
    assert rendered.startswith("<code>app/we`ird_*[x](y)&lt;b&gt;\\n.py:8</code>: "
                               "module-level _SEEN (app.we`ird_*[x](y)&lt;b&gt;\\n) is written")
    assert "<em>" not in rendered and "<a " not in rendered


def test_an_app_blocked_only_by_unsafe_fixes_is_not_said_to_need_a_person(
        tmp_path: Path) -> None:
    root = write_tree(tmp_path, {
        "forecast/main.py": (
            "from dara.core import ConfigurationBuilder, ServerVariable, action\n"
            "\n"
            "history = ServerVariable(default=[], uid='forecast.main:history')\n"
            "\n"
            "\n"
            "@action\n"
            "async def save(ctx, rows):\n"
            "    old = await history.get_current_value()\n"
            "    return old + [rows]\n"
            "\n"
            "\n"
            "config = ConfigurationBuilder()\n"
        ),
    })
    runner = CliRunner()
    guide = runner.invoke(app, ["report", str(root), "--no-cache", "--target", "1.x"]).stdout
    assert ("Verdict: **blocked: the fixes left may change behaviour (`apply --unsafe-fixes`)** "
            "(1 error, 1 fixable with `--unsafe-fixes`, 0 need a person).") in guide
    text = runner.invoke(app, ["audit", str(root), "--no-cache", "--target", "1.x"]).stdout
    assert ("app config (forecast/main.py:12): blocked (1 error, 1 fixable with "
            "--unsafe-fixes, 0 need a person)") in text
