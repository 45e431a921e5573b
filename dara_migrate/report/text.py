"""The terminal report: one line per finding, then counts, the target and a verdict per app."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

from rich.markup import escape

from dara_migrate.models import AppVerdict, AuditResult, Finding, app_label, shown_path

if TYPE_CHECKING:
    from rich.console import Console

_STYLE = {"error": "bold red", "warning": "yellow", "info": "blue"}
_ANSI = {"error": "\x1b[1;31m", "warning": "\x1b[33m", "info": "\x1b[34m", "bold": "\x1b[1m",
         "dim": "\x1b[2m", "reset": "\x1b[0m"}
_VERDICT_STYLE = {"ready": "bold green", "prepared": "bold green", "fixable": "cyan",
                  "local": "yellow", "blocked": "bold red"}


def visible(result: AuditResult, show_info: bool) -> list[Finding]:
    return [f for f in result.findings
            if f.status != "suppressed" and (show_info or f.severity != "info")]


def render_text(result: AuditResult, console: Console, *, show_info: bool = False,
                statistics: bool = False, quiet: bool = False) -> None:
    findings = visible(result, show_info)
    if not quiet:
        for line in result.target_lines():
            console.print(escape(line), style="dim", soft_wrap=True, highlight=False)
    # Finding lines are written directly: rich's markup parser costs more than the audit
    # on a large tree, and these lines need nothing but a few colours.
    colour = console.color_system is not None and not console.no_color
    console.file.write("".join(_finding_lines(finding, colour) for finding in findings))
    for error in result.errors:
        console.print(f"[bold red]internal error[/] {escape(error.path)}: "
                      f"{escape(error.message)}", soft_wrap=True, highlight=False)
    if statistics:
        _statistics(findings, console)
    if quiet:
        return
    if not result.apps:
        # As ruff does, no files is not an error, but it is said (an `exclude` of `*`).
        console.print(f"no Python files to audit under {escape(result.scope or result.root)} "
                      "(after `exclude`, `extend-exclude` and .gitignore)" if not result.files
                      else f"no Dara app found under {escape(result.scope or result.root)}",
                      highlight=False, soft_wrap=True)
        if not findings:
            return
    console.print(summary_line(result, findings, show_info), highlight=False, soft_wrap=True)
    for app in result.apps:
        console.print(app_line(app), highlight=False, soft_wrap=True)


def counted(count: int, noun: str, plural: str | None = None) -> str:
    """`1 file`, `2 files`."""
    return f"{count} {noun if count == 1 else plural or noun + 's'}"


def summary_line(result: AuditResult, findings: list[Finding], show_info: bool) -> str:
    """Files and findings by severity, pending ones apart, and what `apply` can fix."""
    counts = Counter(f.severity for f in findings if f.status != "pending")
    pending = sum(1 for f in findings if f.status == "pending")
    safe = sum(1 for f in findings if f.fix == "safe" and f.status == "open")
    unsafe = sum(1 for f in findings
                 if f.fix == "unsafe" and f.status in ("open", "acknowledged"))
    return (
        f"{counted(result.files, 'file')}, {counted(counts['error'], 'error')}, "
        f"{counted(counts['warning'], 'warning')}"
        + (f", {counts['info']} info" if show_info else "")
        + (f", {pending} pending a Dara with the distributed runtime" if pending else "")
        + (f"; {safe} fixable with `dara-migrate apply`" if safe else "")
        + (f"; {unsafe_hint(unsafe)}" if unsafe else "")
    )


def unsafe_hint(count: int) -> str:
    """Said where fixes are held back as unsafe, as ruff says it."""
    return (f"{counted(count, 'more fix', 'more fixes')} "
            f"{'is' if count == 1 else 'are'} available with `--unsafe-fixes`")


def app_line(app: AppVerdict) -> str:
    """One app's verdict with its counts (markup)."""
    return (f"app {escape(app_label(app.name, app.path, app.line))}: "
            f"[{_VERDICT_STYLE[app.verdict]}]{app.verdict}[/] ({verdict_counts(app)})")


def verdict_counts(app: AppVerdict) -> str:
    """An app's errors, those only `--unsafe-fixes` fixes, and those that need a person."""
    unsafe = f"{app.unsafe} fixable with --unsafe-fixes, " if app.unsafe else ""
    return (f"{counted(app.errors, 'error')}, {unsafe}{app.blockers} "
            f"{'needs' if app.blockers == 1 else 'need'} a person")


def _finding_lines(finding: Finding, colour: bool) -> str:
    style = _ANSI if colour else dict.fromkeys(_ANSI, "")
    status = "" if finding.status == "open" else f" [{finding.status}]"
    fix = f" (fix: {finding.fix})" if finding.fix else ""
    lines = [
        f"{style['bold']}{shown_path(finding.path)}:{finding.line}:{finding.column}"
        f"{style['reset']}: "
        f"{style[finding.severity]}{finding.rule}{style['reset']} {shown_path(finding.message)}"
        f"{style['dim']}{fix}{status}{style['reset']}\n"
    ]
    lines.extend(f"    {style['dim']}{shown_path(related.path)}:{related.line}: "
                 f"{shown_path(related.message)}"
                 f"{style['reset']}\n" for related in finding.related)
    return "".join(lines)


def _statistics(findings: list[Finding], console: Console) -> None:
    from rich.table import Table  # only `--statistics` draws a table

    table = Table(box=None, show_header=True, header_style="bold")
    for column in ("count", "code", "name", "fix"):
        table.add_column(column, justify="right" if column == "count" else "left")
    grouped = Counter((f.rule, f.name, f.fix or "-") for f in findings)
    for (rule, name, fix), count in sorted(grouped.items()):
        table.add_row(str(count), rule, name, fix)
    console.print(table)
