"""The fixes rules attach to their findings, as Fixit and ruff do.

A rule decides where it has the call in hand whether a finding can be fixed, how safely and
with which id; it reports the finding with a `Fix` that holds what it found. The edits are
built only when `apply` asks (`Fix.plan`), so the audit never pays for them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from dara_migrate.target import CONTRACT_ENV, RuntimeEnv

if TYPE_CHECKING:
    from dara_migrate.action_rewrite import ActionRewriter
    from dara_migrate.edits import Edit
    from dara_migrate.index.apps import App
    from dara_migrate.index.project import ProjectIndex
    from dara_migrate.keyed import KeyedPlanner
    from dara_migrate.models import Finding

Applicability = Literal["safe", "unsafe"]
MARKER_PREFIX = "# dara-migrate: local-only["
"""How every `local-only` marker starts (`apply` writes them; a moved statement drops its own)."""


@dataclass(frozen=True)
class Carried:
    """An error on the call a fix replaces that the fix's new code still has: findings of
    `rule` there move to the line `statement` of the function the fix defines, `function`."""

    rule: str
    function: str
    statement: str


@dataclass
class PlannedFix:
    """One finding's fix: the edits for its file and a one-line description."""

    finding: Finding
    edits: list[Edit]
    description: str
    ids: tuple[str, ...] = ()
    """The ids the fix gives definitions (keyed uids: the literal parts their ids start
    with); the build proof checks that they are stable."""
    keyed: bool = False
    elsewhere: dict[str, list[Edit]] = field(default_factory=dict)
    """Edits in other files that belong to the fix (call sites passing a uid prefix)."""
    carries: tuple[Carried, ...] = ()


@dataclass
class FixOptions:
    unsafe: bool = False
    accept: Callable[[PlannedFix], bool] | None = None
    """Asked for every planned fix (interactive review); None accepts safe ones."""
    uid_overrides: dict[str, str] = field(default_factory=dict)
    """Fingerprint -> uid the user typed instead of the suggestion."""
    runtime_app_id: str | None = None
    runtime_env: RuntimeEnv = CONTRACT_ENV


@dataclass
class FixRound:
    """What the fixes planned together in one round of `apply` read (the project as it is
    in this round) and share (the names and keys they have chosen so far)."""

    index: ProjectIndex
    apps: Sequence[App]
    """Every app of the project, selected or not."""
    text_of: Callable[[str], str]
    quote_of: Callable[[str], str]
    options: FixOptions
    action: ActionRewriter | None = None
    """The DM105 rewriter of the file being planned (findings come file by file): one
    file's tree alive at a time."""
    action_names: dict[str, set[str]] = field(default_factory=dict)
    """Per file, the names taken there (by its code and by the actions planned so far)."""
    _keyed: KeyedPlanner | None = None

    @property
    def keyed(self) -> KeyedPlanner:
        """The keyed uids chosen so far (DM104), shared by every fix of one factory."""
        if self._keyed is None:
            from dara_migrate.keyed import KeyedPlanner

            self._keyed = KeyedPlanner(self.index, self.text_of, self.quote_of,
                                       frozenset().union(*(app.files for app in self.apps)))
        return self._keyed

    def chosen_id(self, finding: Finding, proposed: str) -> str:
        """The id the fix writes: the one the user typed for this finding, else the rule's."""
        return self.options.uid_overrides.get(finding.fingerprint, proposed)


class Fix:
    """A fix a rule attaches to its finding: how safe it is, the id it proposes, and the
    edits it makes when `apply` asks (None when the code no longer allows them)."""

    __slots__ = ()
    applicability: Applicability
    proposed_id: str | None = None
    """The uid or route id the fix writes unless the user types another."""

    def written_uid(self, finding: Finding, planning: FixRound) -> str | None:
        """The `uid=` literal the fix writes, if it writes one: `apply` never writes a uid
        the project already has, nor one that another fix writes."""
        return None

    def plan(self, finding: Finding, planning: FixRound) -> PlannedFix | None:
        raise NotImplementedError
