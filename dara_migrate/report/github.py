"""GitHub Actions workflow commands: one annotation line per finding the reader must see.

Suppressed findings are left out; acknowledged ones (kept local on purpose) and pending ones
(waiting for a Dara with the distributed runtime, failing no run) become notices.
Escaping follows the Actions runner: `%`, CR and LF in the message; also `:` and `,` in
property values, where they would end the value.
"""

from __future__ import annotations

import re

from dara_migrate.models import AuditResult, FileError, Finding, shown_path

COMMANDS: dict[str, str] = {"error": "error", "warning": "warning", "info": "notice"}


def render_github(result: AuditResult, folder: str = ".") -> str:
    """Workflow command lines, findings in the audit's order, then the tool's own errors;
    file paths start with `folder`, the audited root's path from the repository's top."""
    lines = [finding_command(f, folder) for f in result.findings if f.status != "suppressed"]
    lines.extend(error_command(error, folder) for error in result.errors)
    return "".join(line + "\n" for line in lines)


def _in(folder: str, path: str) -> str:
    return path if folder == "." else f"{folder}/{path}"


def finding_command(finding: Finding, folder: str = ".") -> str:
    command = ("notice" if finding.status in ("acknowledged", "pending")
               else COMMANDS[finding.severity])
    properties = {
        "file": _in(folder, finding.path), "line": str(finding.line), "col": str(finding.column),
        "endLine": str(finding.end_line), "endColumn": str(finding.end_column),
        "title": f"{finding.rule} {finding.name}",
    }
    return workflow_command(command, properties, finding.message)


def error_command(error: FileError, folder: str = ".") -> str:
    properties = {"file": _in(folder, error.path)} if error.path else {}
    properties["title"] = "dara-migrate internal error"
    return workflow_command("error", properties, error.message)


def workflow_command(command: str, properties: dict[str, str], message: str) -> str:
    rendered = ",".join(f"{key}={escape_property(_visible(value))}"
                        for key, value in properties.items())
    return f"::{command} {rendered}::{escape_data(_visible(message))}"


def _visible(text: str) -> str:
    """Control characters from the project (a uid holding a terminal escape) shown escaped,
    as in the text output (the log renders them otherwise); line breaks are the message's."""
    if text.isprintable():
        return text
    return "".join(part if part in ("\r", "\n") else shown_path(part)
                   for part in _LINE_BREAKS.split(text))


_LINE_BREAKS = re.compile(r"(\r|\n)")


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")
