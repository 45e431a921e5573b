"""The Markdown upgrade guide: per app, what `apply` does, what a person must do, and what
the deployment needs. Good enough to paste into a pull request."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from dara_migrate.models import AuditResult, Finding, shown_path
from dara_migrate.report.text import counted
from dara_migrate.rules import BY_CODE
from dara_migrate.target import ENV_DEPLOYMENT_ID, ENV_NAMESPACE, ENV_VALKEY_URL, has_runtime

_VERDICT_TEXT = {
    "ready": "ready: no error left",
    "fixable": "fixable: `dara-migrate apply` fixes every error",
    "blocked": "blocked: some errors need a person",
    "local": "local: kept process-local on purpose (sticky sessions, no failover)",
    "prepared": "prepared: everything dara-core 1.x allows is done",
}

_UNSAFE_ONLY = "blocked: the fixes left may change behaviour (`apply --unsafe-fixes`)"
"""A blocked app whose errors all have fixes, some of them unsafe: no person is needed."""

_CODE_SPAN = re.compile(r"`[^`\n]*`")
# Punctuation that can start markup inside a line; `_` only where it can open emphasis.
_MARKUP = re.compile(r"[\\`*\[\]<>&~|]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")


def _plain(text: str) -> str:
    """Text from the project (a name, a uid, a path) as literal Markdown: nothing in it turns
    into markup, a link or HTML, and it stays on its line."""
    return shown_path(_MARKUP.sub(lambda match: "\\" + match.group(), text))


def _code(text: str) -> str:
    """`text` as one inline code span, fenced past any backticks it holds."""
    text = shown_path(text)
    fence = "`" * (max((len(run) for run in re.findall("`+", text)), default=0) + 1)
    # CommonMark drops one space at each end when both are there (unless all are spaces).
    edges = f"{text[:1]}{text[-1:]}"
    padded = f" {text} " if text.strip(" ") and ("`" in edges or " " in edges) else text
    return f"{fence}{padded}{fence}"


def _message(text: str) -> str:
    """A finding message: its code spans kept as code, the rest as literal text."""
    parts: list[str] = []
    last = 0
    for span in _CODE_SPAN.finditer(text):
        parts += [_plain(text[last:span.start()]), _code(span.group()[1:-1])]
        last = span.end()
    return "".join([*parts, _plain(text[last:])])


def _location(finding: Finding) -> str:
    return _code(f"{finding.path}:{finding.line}")


def _group(findings: list[Finding]) -> dict[str, list[Finding]]:
    grouped: dict[str, list[Finding]] = defaultdict(list)
    for finding in findings:
        grouped[finding.rule].append(finding)
    return dict(sorted(grouped.items()))


def _applied_section(applied: Mapping[str, Any]) -> list[str]:
    changes = applied.get("changes", [])
    lines = ["## What `apply` changed", ""]
    if not changes:
        return [*lines, "Nothing.", ""]
    for change in changes:
        where = _code(f"{change['path']}:{change['line']}")
        # `fix` says what was done; files written before it was recorded have it in `after`.
        done = change.get("fix", change["after"])
        lines.append(f"- {_plain(change['rule'])} {where}: {_plain(str(done))}")
    hatch = applied.get("escape_hatch", [])
    if hatch:
        lines += ["", f"Kept process-local (escape hatch): "
                      f"{', '.join(_code(name) for name in hatch)}."]
    return [*lines, ""]


def render_markdown(result: AuditResult, applied: Mapping[str, Any] | None = None) -> str:
    """The upgrade guide for every app in the audit (`applied`: an `apply --report` file)."""
    lines = ["# Distributed-safe upgrade guide", ""]
    lines.append(f"Target profile **{result.target}** ({_plain(result.target_reason)}); "
                 f"{counted(result.files, 'file')} audited.")
    lines.append("")
    for app in result.apps:
        where = _code(f"{app.path}:{app.line}")
        verdict = (_UNSAFE_ONLY if app.verdict == "blocked" and not app.blockers
                   else _VERDICT_TEXT[app.verdict])
        unsafe = f"{app.unsafe} fixable with `--unsafe-fixes`, " if app.unsafe else ""
        lines += [f"## App {_code(app.name)} ({where})", "",
                  f"Verdict: **{verdict}** ({counted(app.errors, 'error')}, {unsafe}"
                  f"{app.blockers} {'needs' if app.blockers == 1 else 'need'} a person).", ""]
    if applied is not None:
        lines += _applied_section(applied)
    live = [f for f in result.findings if f.status in ("open", "acknowledged", "pending")]
    automatic = [f for f in live if f.fix == "safe" and f.status == "open"]
    manual = [f for f in live if f not in automatic and f.severity != "info"]
    unsafe_fixes = sum(f.fix == "unsafe" and f.status == "open" for f in live)
    lines += ["## What `dara-migrate apply` does for you", ""]
    if not automatic:
        lines.append("Nothing is left for it to do." if not unsafe_fixes else
                     "No safe fix is left for it to do.")
    for rule, findings in _group(automatic).items():
        lines.append(f"- **{rule} {BY_CODE[rule].name}** ({len(findings)}): "
                     + ", ".join(_location(f) for f in findings))
    if unsafe_fixes:
        lines += ["", f"With `--unsafe-fixes` it also makes {unsafe_fixes} more "
                      f"{'fix' if unsafe_fixes == 1 else 'fixes'} (in the checklist below)."]
    lines += ["", "## Checklist for a person", ""]
    if not manual:
        lines += ["Nothing.", ""]
    for rule, findings in _group(manual).items():
        docs = BY_CODE[rule].docs
        lines += [f"### {rule} {BY_CODE[rule].name}", "", docs.why, "",
                  f"How to fix: {docs.use_instead}", ""]
        for finding in findings:
            note = "" if finding.status == "open" else f" ({finding.status})"
            lines.append(f"- [ ] {_location(finding)}{note}: {_message(finding.message)}")
        lines.append("")
    lines += _deployment_notes(result)
    return "\n".join(lines).rstrip("\n") + "\n"


def _deployment_notes(result: AuditResult) -> list[str]:
    rules = {f.rule for f in result.findings}
    lines = ["## Deployment", ""]
    lines.append("- Every worker must share one `JWT_SECRET` (set it in the environment of all "
                 "workers; never commit the value)."
                 + (" No file in the project mentions it yet (DM701)." if "DM701" in rules
                    else ""))
    if rules & {"DM601"}:
        lines.append("- Tasks: run the task workers from the same image; payloads must pickle.")
    if has_runtime(result.target):
        lines.append(f"- Shared runtime: set `{ENV_VALKEY_URL}`, `{ENV_NAMESPACE}` (one per "
                     f"environment: staging and prod must not share it) and "
                     f"`{ENV_DEPLOYMENT_ID}` on every worker.")
    else:
        lines.append("- Until a Dara with the distributed runtime is released, run several "
                     "workers only behind sticky sessions.")
    lines.append("- Run `dara-migrate verify` in CI to prove the ids are stable and to write "
                 "the build manifest.")
    return [*lines, ""]
