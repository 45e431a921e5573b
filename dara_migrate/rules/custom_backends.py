"""DM206: custom backends, which must say whether their state is shared."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from dara_migrate.facts import FileFacts, Scope, Value
from dara_migrate.index.dara_api import BACKEND_BASES, LOCAL_BACKENDS
from dara_migrate.index.project import ProjectIndex, ScopeRef
from dara_migrate.models import Finding
from dara_migrate.rules._helpers import (
    MUTABLE_CALLS,
    ReportSite,
    binding_site,
    mutable,
)
from dara_migrate.rules.base import Context, Example, Rule, RuleDocs

# ---------------------------------------------------------------- DM206


def _backend_base(index: ProjectIndex, cls: ScopeRef, depth: int = 0) -> str | None:
    """The Dara backend class a project class derives from, through project classes."""
    facts = index.files[cls[0]]
    scope = facts.scopes[cls[1]]
    for base in scope.bases:
        resolved = index.resolve(facts, scope.parent, base)
        if resolved.api in BACKEND_BASES or resolved.api in LOCAL_BACKENDS:
            return resolved.api
        if resolved.function is not None and resolved.function != cls and depth < 5 and (
                index.scope(resolved.function).kind == "class"):
            found = _backend_base(index, resolved.function, depth + 1)
            if found:
                return found
    return None


def _kept_on_self(index: ProjectIndex, facts: FileFacts, cls: Scope) -> list[ReportSite]:
    """Dicts, lists and counters a backend class keeps on itself."""
    sites: list[ReportSite] = []
    seen: set[str] = set()
    for binding in facts.bindings:
        in_class = binding.scope == cls.id
        in_method = facts.scopes[binding.scope].parent == cls.id and not in_class
        name = binding.name
        if in_class and binding.kind == "assign" and (
                mutable(index, facts, cls.id, binding.value)
                or _factory_field(index, facts, cls.id, binding.value)):
            kept = name
        elif in_method and name.startswith("self.") and "." not in name[5:] and (
                binding.kind in ("augassign", "subscript") or (binding.kind == "attr" and (
                    mutable(index, facts, binding.scope, binding.value)))):
            kept = name[5:]
        else:
            continue
        if kept in seen:
            continue
        seen.add(kept)
        counter = binding.kind == "augassign"
        sites.append(binding_site(facts, binding, f"self.{kept}: "
                                  f"{'a counter' if counter else 'a container'} in this "
                                  "process"))
    return sites


def _factory_field(index: ProjectIndex, facts: FileFacts, scope_id: int,
                   value: Value | None) -> bool:
    """`Field(default_factory=dict)` on a pydantic backend."""
    if value is None or value.kind != "call":
        return False
    factory = facts.calls[value.call].kwarg("default_factory")
    return factory is not None and factory.kind in ("name", "attr") and (
        index.resolve(facts, scope_id, factory.text).qualified in MUTABLE_CALLS)


class CustomBackendAttestation(Rule):
    code = "DM206"
    name = "custom-backend-attestation"
    severity = "warning"
    fix = "manual"
    summary = "custom backend: accepted, but the user attests it is shared"
    docs = RuleDocs(
        what="A project subclass of `ServerBackend` or `PersistenceBackend` (also through "
        "your own base classes, and subclasses of `MemoryBackend`/`InMemoryBackend`/"
        "`FileBackend`). The message names sequence counters and dicts it keeps on `self`.",
        why="The distributed contract accepts custom backends but cannot check them: only you "
        "know whether every worker reads and writes the same store. A backend that keeps its "
        "data or its sequence numbers on `self` is process-local like MemoryBackend; the "
        "sequence number must also come from the shared store, or browsers on different "
        "workers see stale values.",
        use_instead="Keep data and sequence numbers in the shared store (a database, "
        "Valkey/Redis), not on the instance; then suppress this finding with a reason.",
        fix_safety="Manual: a person attests the backend.",
        confidence="High for the class hierarchy; state kept on `self` is found when it is "
        "assigned a container or incremented in the class's own methods.",
    )
    VALID: ClassVar[list[Example]] = [
        Example.module(
            "from dara.core import ServerVariable\n\n"
            "class Backend:\n"
            "    def __init__(self):\n"
            "        self.data = {}\n\n"
            "rows = ServerVariable(uid='app.main:rows')\n",
            note="a class that only looks like a backend",
        ),
    ]
    INVALID: ClassVar[list[Example]] = [
        Example({
            "app/__init__.py": "",
            "app/backends.py": "from collections import defaultdict\n"
            "from dara.core.interactivity.server_variable import ServerBackend\n"
            "from dara.core.persistence import PersistenceBackend as PB\n\n"
            "class SqlBackend(ServerBackend):  # expect: DM206\n"
            "    def __init__(self, url: str):\n"
            "        super().__init__(scope='global')\n"
            "        self.url = url\n"
            "        self.sequence = defaultdict(int)\n\n"
            "    async def write(self, key, value):\n"
            "        self.sequence[key] += 1\n\n"
            "class Base(PB):  # expect: DM206\n"
            "    pass\n",
            "app/more.py": "from app.backends import Base\n\n"
            "class S3Store(Base):  # expect: DM206\n"
            "    bucket = 'prefs'\n",
        }),
    ]

    def check(self, ctx: Context) -> Iterator[Finding]:
        for facts in ctx.index.files.values():
            if not ctx.is_selected(facts):
                continue
            for scope in facts.scopes:
                if scope.kind != "class":
                    continue
                base = _backend_base(ctx.index, (facts.path, scope.id))
                if base is None:
                    continue
                kept = _kept_on_self(ctx.index, facts, scope)
                state = (f"; it keeps {', '.join(s.what.split(':')[0] for s in kept)} on the "
                         "instance, which stays in this process") if kept else ""
                yield ctx.at_scope(
                    self, facts, scope,
                    f"custom {base} {scope.name} is accepted but user-attested: every worker "
                    f"must read and write the same store{state}",
                    related=[s.related() for s in kept])


RULES: list[type[Rule]] = [CustomBackendAttestation]
