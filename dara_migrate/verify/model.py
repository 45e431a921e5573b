"""What verify reports: definitions seen in the builds, their stability, and the manifest JSON."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass
from typing import Any, Literal

Owner = Literal["app", "framework"]

MANIFEST_VERSION = 1
MANIFEST_FORMAT = "dara-migrate-manifest/1"

# Exit codes of `dara-migrate verify` (SPEC.md, "verify").
EXIT_STABLE = 0
EXIT_UNSTABLE = 1
EXIT_BUILD_FAILED = 2


@dataclass(frozen=True, slots=True)
class PredictedDefinition:
    """A definition the static audit expects the build to create.

    ``path`` is relative to the app root (POSIX); ``line`` is where the audit reports it;
    ``rule`` is the finding's code when the definition has one; ``acknowledged`` says the
    finding is kept on purpose (a `local-only` marker under the escape hatch).
    """

    kind: str
    path: str
    line: int
    rule: str | None
    qualname: str
    acknowledged: bool = False
    also: tuple[tuple[str, int], ...] = ()
    """Other sites the build may name it at: a library module's definition is named at the
    app's first import of that module, which the audit does not know."""

    def sites(self) -> tuple[tuple[str, int], ...]:
        return ((self.path, self.line), *self.also)


@dataclass(frozen=True, slots=True)
class VerifiedDefinition:
    """One definition paired across the builds.

    ``id`` is the id of the first build; ``stable`` says every build gave the same id.
    ``path``/``line``/``end_line`` are the construction site (None when dara built it on its own).
    """

    kind: str
    id: str
    owner: Owner
    stable: bool
    qualname: str
    path: str | None
    line: int | None
    end_line: int | None
    library_owned: bool
    rule: str | None = None
    acknowledged: bool = False
    """Unstable on purpose: the app keeps this site process-local (escape hatch)."""

    def covers(self, path: str, line: int) -> bool:
        """Whether a position reported at ``path:line`` falls on this construction site."""
        if self.path != path or self.line is None:
            return False
        return self.line <= line <= (self.end_line or self.line)

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "id": self.id,
            "stable": self.stable,
            "owner": self.owner,
            "qualname": self.qualname,
            "path": self.path,
            "line": self.line,
            "rule": self.rule,
            "library_owned": self.library_owned,
        }

    def site_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "id": self.id,
            "qualname": self.qualname,
            "path": self.path,
            "line": self.line,
        }


class VerifyError(Exception):
    """The app could not be built (or verify could not start): a one-line cause and its frame."""

    exit_code = EXIT_BUILD_FAILED

    def __init__(self, message: str, frame: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.frame = frame
        """The last project frame (``path:line``) on the way to the failure, when known."""

    def to_json(self) -> dict[str, Any]:
        return {
            "version": MANIFEST_VERSION,
            "build": "failed",
            "error": {"cause": self.message, "frame": self.frame},
        }


class BuildTimeout(VerifyError):
    """A build that did not finish within its time limit."""


@dataclass(frozen=True, slots=True)
class VerifyResult:
    """The outcome of building an app several times in fresh processes."""

    config: str
    python: str
    dara_core: str
    runs: int
    definitions: tuple[VerifiedDefinition, ...]
    stand_ins: tuple[str, ...] = ()
    runtime: dict[str, Any] | None = None
    """What the app passed to the runtime declaration, when it made one."""
    unseen_by_audit: tuple[VerifiedDefinition, ...] = ()
    not_built: tuple[PredictedDefinition, ...] = ()
    library_owned: tuple[VerifiedDefinition, ...] = ()
    manifest: str | None = None

    @property
    def unstable(self) -> dict[str, int]:
        """Unstable app-owned definitions per kind, not counting acknowledged ones."""
        return _unstable_by_kind(
            tuple(d for d in self.definitions if not d.acknowledged), "app")

    @property
    def acknowledged_unstable(self) -> dict[str, int]:
        """Unstable app-owned definitions at sites the app keeps process-local on purpose."""
        return _unstable_by_kind(tuple(d for d in self.definitions if d.acknowledged), "app")

    @property
    def framework_owned_unstable(self) -> dict[str, int]:
        return _unstable_by_kind(self.definitions, "framework")

    @property
    def fingerprint(self) -> str:
        """sha256 of the sorted ``[kind, id]`` pairs of stable app-owned definitions."""
        pairs = sorted([d.kind, d.id] for d in self.definitions if d.owner == "app" and d.stable)
        canonical = json.dumps(pairs, sort_keys=True, separators=(",", ":"))
        return "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()

    @property
    def exit_code(self) -> int:
        """0 when every app-owned definition is stable, else 1."""
        return EXIT_UNSTABLE if self.unstable else EXIT_STABLE

    def to_json(self) -> dict[str, Any]:
        """The manifest document (SPEC.md, "verify")."""
        return {
            "version": MANIFEST_VERSION,
            "format": MANIFEST_FORMAT,
            "config": self.config,
            "python": self.python,
            "dara_core": self.dara_core,
            "runs": self.runs,
            "build": "ok",
            "stand_ins": list(self.stand_ins),
            "runtime": self.runtime,
            "unstable": self.unstable,
            "acknowledged_unstable": self.acknowledged_unstable,
            "framework_owned_unstable": self.framework_owned_unstable,
            "definitions": [d.to_json() for d in self.definitions],
            "unseen_by_audit": [d.site_json() for d in self.unseen_by_audit],
            "not_built": [
                {
                    "kind": p.kind,
                    "path": p.path,
                    "line": p.line,
                    "rule": p.rule,
                    "qualname": p.qualname,
                }
                for p in self.not_built
            ],
            "library_owned": [d.site_json() for d in self.library_owned],
            "manifest": self.manifest,
            "fingerprint": self.fingerprint,
        }


def _unstable_by_kind(definitions: tuple[VerifiedDefinition, ...], owner: Owner) -> dict[str, int]:
    counts = Counter(d.kind for d in definitions if d.owner == owner and not d.stable)
    return dict(sorted(counts.items()))
