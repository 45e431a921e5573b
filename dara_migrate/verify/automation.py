"""How much of an app `apply` migrates on its own: of the app-owned ids that change between two
builds before the migration, the share that no longer changes after it. Ids of definitions
Dara's own libraries build (DM106) are counted apart: the app cannot pin them.

Computed from two `verify` manifests (`dara-manifest.json`) of the same app.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class AutomationFigure:
    changing_before: int
    """App-owned ids (library-built left out) that changed between the builds before."""
    changing_after: int
    """The same count after the migration (ids kept process-local on purpose included)."""
    library_before: int
    library_after: int

    @property
    def stable_share(self) -> float:
        """The share of the ids that changed before and no longer do (1.0 when none did)."""
        if self.changing_before == 0:
            return 1.0
        fixed = max(self.changing_before - self.changing_after, 0)
        return fixed / self.changing_before

    def __add__(self, other: AutomationFigure) -> AutomationFigure:
        return AutomationFigure(self.changing_before + other.changing_before,
                                self.changing_after + other.changing_after,
                                self.library_before + other.library_before,
                                self.library_after + other.library_after)


def _changing(manifest: Mapping[str, Any], library: bool) -> int:
    return sum(1 for d in manifest["definitions"]
               if d["owner"] == "app" and not d["stable"] and bool(d["library_owned"]) == library)


def automation_figure(before: Mapping[str, Any], after: Mapping[str, Any]) -> AutomationFigure:
    """The figure for one app from its manifests before and after `apply`."""
    return AutomationFigure(_changing(before, False), _changing(after, False),
                            _changing(before, True), _changing(after, True))


def combined(figures: Iterable[AutomationFigure]) -> AutomationFigure:
    """The figure over several apps: every id counts once."""
    total = AutomationFigure(0, 0, 0, 0)
    for figure in figures:
        total = total + figure
    return total
