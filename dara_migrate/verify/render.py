"""The human summary of a verify run (text output); the JSON is ``VerifyResult.to_json()``."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from dara_migrate.verify.model import VerifiedDefinition, VerifyError, VerifyResult


def render_text(result: VerifyResult, console: Console) -> None:
    """Per kind: total/stable/unstable; the unstable app-owned sites; stand-ins; cross-check."""
    console.print(
        Text(
            f"verify {result.config}: dara-core {result.dara_core}, {result.runs} builds"
            f" with {result.python}"
        )
    )
    console.print(_kind_table(result.definitions))

    changing = [d for d in result.definitions if d.owner == "app" and not d.stable]
    unstable = [d for d in changing if not d.acknowledged]
    acknowledged = [d for d in changing if d.acknowledged]
    # Library-made ones are listed once, under the cross-check below.
    own_unstable = [d for d in unstable if not d.library_owned]
    if own_unstable:
        console.print(
            Text(f"Unstable app-owned definitions ({len(own_unstable)}):", style="bold red")
        )
        _print_sites(console, own_unstable)
    if acknowledged:
        console.print(Text(f"Unstable, kept process-local on purpose (local-only) "
                           f"({len(acknowledged)}):", style="yellow"))
        _print_sites(console, acknowledged)
    if result.stand_ins:
        console.print(Text("Stand-ins used for this build: " + ", ".join(result.stand_ins)))
    if result.runtime is not None:
        console.print(Text(f"Runtime declared: {_format_arguments(result.runtime)}"))
    for title, definitions in (
        ("Built but not predicted by the audit", result.unseen_by_audit),
        ("Built inside dara from an app call site (DM106)", result.library_owned),
    ):
        if definitions:
            console.print(Text(f"{title} ({len(definitions)}):", style="bold"))
            _print_sites(console, definitions)
    if result.not_built:
        console.print(Text(f"Predicted but not built ({len(result.not_built)}):", style="bold"))
        for prediction in result.not_built:
            site = f"{prediction.path}:{prediction.line}"
            rule = f" {prediction.rule}" if prediction.rule else ""
            # Dara keeps the first of two stores of one uid and skips the other.
            why = ("its uid is another's, so only the first is registered"
                   if prediction.rule == "DM103" else "request-time or dead code")
            console.print(Text(f"  {site}{rule} {prediction.kind} {prediction.qualname}: {why}"))

    stable = sum(1 for d in result.definitions if d.owner == "app" and d.stable)
    verdict = (
        Text(f"{len(unstable)} app-owned ids change between builds", style="bold red")
        if unstable
        else Text(f"all {stable} app-owned ids are stable", style="bold green")
        if not acknowledged
        # Said as it is: the table counts those as unstable too.
        else Text(f"{stable} app-owned ids are stable; {len(acknowledged)} more change "
                  "between builds, kept process-local on purpose", style="bold green")
    )
    console.print(verdict)
    console.print(Text(f"fingerprint {result.fingerprint}"))
    if result.manifest is not None:
        console.print(Text(f"manifest written to {result.manifest}"))


def render_error(error: VerifyError, console: Console) -> None:
    """The last project frame and the one-line cause, as ``path:line: cause``."""
    where = f"{error.frame}: " if error.frame else ""
    console.print(Text(f"{where}build failed: {error.message}", style="bold red"))


def _format_arguments(arguments: dict[str, Any]) -> str:
    """``{"scope": {"type": "Scope", "app_id": "x"}}`` as ``scope=Scope(app_id='x')``."""
    return ", ".join(f"{name}={_format_value(value)}" for name, value in arguments.items())


def _format_value(value: Any) -> str:
    if isinstance(value, dict):
        fields = {k: v for k, v in value.items() if k != "type"}
        return f"{value.get('type', '')}({_format_arguments(fields)})"
    return repr(value)


def _kind_table(definitions: Iterable[VerifiedDefinition]) -> Table:
    tallies: dict[tuple[str, str], list[int]] = {}
    for definition in definitions:
        tally = tallies.setdefault((definition.owner, definition.kind), [0, 0])
        tally[0 if definition.stable else 1] += 1
    table = Table(box=box.SIMPLE, show_edge=False, pad_edge=False)
    for column in ("owner", "kind"):
        table.add_column(column)
    for column in ("total", "stable", "unstable"):
        table.add_column(column, justify="right")
    for (owner, kind), (stable, unstable) in sorted(tallies.items()):
        style = "red" if owner == "app" and unstable else None
        table.add_row(owner, kind, str(stable + unstable), str(stable), str(unstable), style=style)
    return table


def _print_sites(console: Console, definitions: Iterable[VerifiedDefinition]) -> None:
    for definition in definitions:
        site = f"{definition.path}:{definition.line}" if definition.path else "(built by dara)"
        console.print(Text(f"  {site} {definition.kind} {definition.qualname}"))
