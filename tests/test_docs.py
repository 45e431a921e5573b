"""docs/ never disagrees with the tool: rule pages are `explain`'s output, links resolve, and
every command line the guides show uses options the CLI has."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import typer.core
import typer.main

from dara_migrate.cli import app
from dara_migrate.docs import rule_markdown
from dara_migrate.rules import ALL_RULES, BY_CODE
from dara_migrate.rules.base import Rule

REPO = Path(__file__).resolve().parent.parent
DOCS = REPO / "docs"
RULE_PAGES = DOCS / "rules"
GUIDES = sorted(DOCS.glob("*.md"))
REGENERATE = "regenerate with: python -m dara_migrate.docs docs/rules"


@pytest.mark.parametrize("rule", ALL_RULES, ids=lambda rule: rule.code)
def test_rule_page_is_what_explain_prints(rule: type[Rule]) -> None:
    page = RULE_PAGES / f"{rule.code}.md"
    assert page.is_file(), f"{page} is missing; {REGENERATE}"
    assert page.read_text(encoding="utf-8") == rule_markdown(rule), f"{page} is stale; {REGENERATE}"


def test_no_page_for_a_rule_that_does_not_exist() -> None:
    stale = sorted(p.name for p in RULE_PAGES.iterdir() if p.stem not in BY_CODE)
    assert stale == [], f"pages without a rule: {stale}; delete them"


def test_guides_exist() -> None:
    assert {p.name for p in GUIDES} >= {"upgrade-guide.md", "ci.md"}


@pytest.mark.parametrize("guide", GUIDES, ids=lambda path: path.name)
def test_links_and_rule_codes_resolve(guide: Path) -> None:
    text = guide.read_text(encoding="utf-8")
    for target in re.findall(r"\]\(([^)#\s]+)\)", text):
        if not re.match(r"[a-z]+://", target):
            assert (guide.parent / target).exists(), f"{guide.name}: broken link {target}"
    unknown = sorted(set(re.findall(r"\bDM\d{3}\b", text)) - set(BY_CODE))
    assert unknown == [], f"{guide.name} names rules that do not exist: {unknown}"


@pytest.mark.parametrize("guide", GUIDES, ids=lambda path: path.name)
def test_command_lines_use_real_options(guide: Path) -> None:
    group = typer.main.get_command(app)
    assert isinstance(group, typer.core.TyperGroup)
    commands = group.commands
    text = guide.read_text(encoding="utf-8")
    for name, rest in re.findall(r"dara-migrate (audit|apply|verify|report|rules|explain)"
                                 r"([^\n`|#]*)", text):
        known = {option for param in commands[name].params
                 for option in (*param.opts, *param.secondary_opts)}
        for option in re.findall(r"(?<![\w-])--[a-z][a-z-]*", rest):
            assert option in known, f"{guide.name}: `dara-migrate {name}` has no {option}"


def test_pre_commit_hooks_are_the_documented_ones() -> None:
    yaml = pytest.importorskip("yaml")
    hooks = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    assert [(h["id"], h["entry"]) for h in hooks] == [
        ("dara-migrate-audit", "dara-migrate audit"),
        ("dara-migrate-apply-check", "dara-migrate apply --dry-run"),
    ]
    for hook in hooks:
        assert (hook["language"], hook["pass_filenames"], hook["types"]) == (
            "python", False, ["python"])
    ci = (DOCS / "ci.md").read_text(encoding="utf-8")
    assert all(f"id: {hook['id']}" in ci for hook in hooks)
