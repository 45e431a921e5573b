"""Rule pages, made from the rule classes themselves: `explain` prints them, docs/ stores them.

`python -m dara_migrate.docs [FOLDER]` rewrites docs/rules/*.md; a test checks they match.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path

from dara_migrate.rules import ALL_RULES
from dara_migrate.rules.base import Rule, without_expectations


def _example_source(files: Mapping[str, str], named: bool) -> str:
    parts = []
    for path, source in files.items():
        if not source.strip():
            continue
        header = f"# {path}\n" if named else ""
        body = without_expectations(source.rstrip("\n"))
        parts.append(f"{header}{body}")
    return "\n\n".join(parts)


def rule_markdown(rule: type[Rule]) -> str:
    """One rule's page: What it finds, Why it breaks on many workers, Example, Use instead,
    Fix safety, Confidence."""
    docs = rule.docs
    fix = rule.fix or "none"
    lines = [
        f"# {rule.code} {rule.name}",
        "",
        f"Severity: **{rule.severity}** · Fix: **{fix}** · {rule.summary}",
        "",
        "## What it finds",
        "",
        docs.what,
        "",
        "## Why it breaks on many workers",
        "",
        docs.why,
        "",
    ]
    if rule.INVALID:
        lines += ["## Example", ""]
        command = "dara-migrate apply" + ("" if rule.fix == "safe" else " --unsafe-fixes")
        for example in rule.INVALID:
            named = len(example.files) > 1
            lines += ["```python", _example_source(example.files, named), "```", ""]
            if example.fixed:
                lines += [f"`{command}` makes it:", "",
                          "```python", _example_source(example.fixed, named), "```", ""]
    lines += ["## Use instead", "", docs.use_instead, ""]
    for example in rule.VALID:
        if example.note:
            lines += [f"{example.note[0].upper()}{example.note[1:]}:", ""]
        lines += ["```python", _example_source(example.files, len(example.files) > 1), "```",
                  ""]
    lines += ["## Fix safety", "", docs.fix_safety, "", "## Confidence", "", docs.confidence, ""]
    return "\n".join(lines)


def write_pages(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for rule in ALL_RULES:
        page = folder / f"{rule.code}.md"
        page.write_text(rule_markdown(rule), encoding="utf-8")
        written.append(page)
    return written


if __name__ == "__main__":
    for written_page in write_pages(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/rules")):
        print(written_page)
