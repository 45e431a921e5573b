"""Project-wide questions about Dara calls that rules, fixes and the review all ask:
which calls make routes, which deprecated factories define an `@action` each run, and
which calls name a given method."""

from __future__ import annotations

from collections import defaultdict

from dara_migrate.facts import Call, FileFacts, Value
from dara_migrate.index.dara_api import ROUTE_CLASSES, ROUTE_METHODS
from dara_migrate.index.project import ProjectIndex, per_index

FACTORY_SLOTS: dict[str, tuple[tuple[int, str], tuple[int, str]]] = {
    "UpdateVariable": ((0, "resolver"), (2, "extras")),
    "NavigateTo": ((0, "url"), (2, "extras")),
    "DownloadContent": ((0, "resolver"), (1, "extras")),
    "SideEffect": ((0, "function"), (1, "extras")),
}
"""Per deprecated action factory: where its callable and its `extras` go (position, keyword)."""
def route_calls(index: ProjectIndex) -> list[tuple[FileFacts, Call, str]]:
    found: list[tuple[FileFacts, Call, str]] = []
    for method in ROUTE_METHODS:
        for owner in (("Router", method), ("ConfigurationBuilder", f"router.{method}")):
            for facts, call in index.method_calls.get(owner, ()):
                found.append((facts, call, method))
    for cls in ROUTE_CLASSES:
        for facts, call in index.calls_by_api.get(cls, ()):
            found.append((facts, call, cls))
    found.sort(key=lambda item: (item[0].path, item[1].line, item[1].col))
    return found


def is_callable(index: ProjectIndex, facts: FileFacts, scope: int, value: Value | None) -> bool:
    """A lambda, a project function or a parameter annotated `Callable`; unknown names are not."""
    if value is None or value.kind not in ("lambda", "name", "attr"):
        return False
    if value.kind == "lambda" or index.resolve(facts, scope, value.text).function is not None:
        return True
    found = index.lookup(facts, scope, value.text) if value.kind == "name" else None
    return found is not None and found[0].kind == "param" and "Callable" in found[0].target


def action_factory_calls(index: ProjectIndex) -> list[tuple[FileFacts, Call, str]]:
    """Deprecated factory calls that define a new `@action` every time they run (DM105):
    `UpdateVariable`, `NavigateTo(<callable>)`, `DownloadContent`, `SideEffect`."""
    found: list[tuple[FileFacts, Call, str]] = []
    for api, (callable_slot, _) in FACTORY_SLOTS.items():
        for facts, call in index.calls_by_api.get(api, ()):
            if api == "NavigateTo" and not is_callable(
                    index, facts, call.scope, call.argument(*callable_slot)):
                continue
            found.append((facts, call, api))
    found.sort(key=lambda item: (item[0].path, item[1].line, item[1].col))
    return found


METHODS_LOOKED_UP = frozenset({"update", "get_current_value", "download_file", "run_task",
                               "write", "write_partial", "delete"})
"""The methods rules look calls up by, whatever they are called on (`calls_of_method`)."""


def calls_of_method(index: ProjectIndex, method: str) -> list[tuple[FileFacts, Call]]:
    """The calls of a dotted callee ending in `method` (`ctx.run_task(...)` for `run_task`),
    in path-then-call order; `method` is one of `METHODS_LOOKED_UP`."""
    if method not in METHODS_LOOKED_UP:
        raise ValueError(f"{method} is not among the methods calls are looked up by")
    return _calls_by_method(index).get(method, [])


@per_index
def _calls_by_method(index: ProjectIndex) -> dict[str, list[tuple[FileFacts, Call]]]:
    # One pass for all the methods looked up, keeping only their calls: most calls are of
    # methods no rule asks about.
    found: dict[str, list[tuple[FileFacts, Call]]] = defaultdict(list)
    for facts in index.files.values():
        for call in facts.calls:
            if call.callee.endswith(_METHOD_ENDINGS):
                found[call.callee.rpartition(".")[2]].append((facts, call))
    return found


_METHOD_ENDINGS = tuple(f".{method}" for method in sorted(METHODS_LOOKED_UP))
"""`.update` and the like: a callee ending so is a call of one of `METHODS_LOOKED_UP`."""
