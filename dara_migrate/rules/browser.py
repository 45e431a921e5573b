"""DM4xx: browser round trips, websockets and downloads.

Each of these reaches state that only the worker serving the request holds: the websocket
the browser happens to be attached to, the worker's session maps, a download code kept in
the worker's memory and a file on its disk.
"""

from __future__ import annotations

import ast
import functools
import keyword
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from dara_migrate.autofix import Applicability, Fix, FixRound, PlannedFix
from dara_migrate.facts import Call, FileFacts, Value
from dara_migrate.index.dara_api import dara_name
from dara_migrate.index.project import ProjectIndex, ScopeRef, per_index, project_calls
from dara_migrate.index.queries import calls_of_method
from dara_migrate.models import Finding
from dara_migrate.rules._helpers import (
    action_refs,
    given_to,
    is_action_ctx,
    variable_constructor,
    variable_kind,
)
from dara_migrate.rules.base import Context, Example, Rule, RuleDocs
from dara_migrate.rules.runtime_defs import subtree

if TYPE_CHECKING:
    from dara_migrate.edits import Edit

_SHARED_READ_TYPES = frozenset({"ServerVariable", "DataVariable"})
_WEBSOCKET_STATE = {
    "websocket_registry": "maps sessions to the websocket channels attached to this worker",
    "sessions_registry": "maps users to the sessions connected to this worker",
    "utils_registry": "holds this worker's WebsocketManager and other process objects",
    "WebsocketManager": "reaches only the websockets attached to this worker",
}
_MENTIONS_STATE = re.compile("|".join(_WEBSOCKET_STATE))
_NAMED = frozenset({"name", "attr"})


def _backend_backed(index: ProjectIndex, facts: FileFacts, scope_id: int, dotted: str) -> bool:
    made = variable_constructor(index, facts, scope_id, dotted)
    if made is None:
        return False
    made_facts, call = made
    store = call.argument(3, "store")
    return index.value_api(made_facts, call.scope, store) == "BackendStore"


@dataclass(frozen=True, slots=True, eq=False)
class ReadShared(Fix):
    """`await x.get_current_value()`, with or without `timeout=`, -> `await x.read()`
    (unsafe: it reads the shared backend, not what the browser shows right now)."""

    call: Call
    applicability: Applicability = "unsafe"

    def plan(self, finding: Finding, planning: FixRound) -> PlannedFix:
        from dara_migrate.edits import RemoveKeyword, RenameCall

        line, column = self.call.span.line, self.call.span.col
        # read() takes no timeout: it waits for no browser.
        edits: list[Edit] = [RemoveKeyword(line, column, "timeout")] if self.call.kwargs else []
        edits.append(RenameCall(line, column, "get_current_value", "read"))
        return PlannedFix(finding, edits, "get_current_value() -> read()")


_INPUT_KINDS = frozenset({"Variable", "DerivedVariable", "UrlVariable", "SwitchVariable",
                          "DerivedDataVariable"})
"""Variable classes Dara resolves when one is given to an `@action` or `@py_component`
(a StateVariable is refused as an input)."""


@dataclass(frozen=True, slots=True, eq=False)
class ActionInput(Fix):
    """`await X.get_current_value()` in an `@action` or `@py_component` function -> a new
    parameter, given `X` by every call site (unsafe: the value is the one the browser held
    when the action was triggered or the component rendered, not when the line runs)."""

    call: Call
    receiver: str
    function: int
    applicability: Applicability = "unsafe"

    def plan(self, finding: Finding, planning: FixRound) -> PlannedFix | None:
        from dara_migrate.edits import AddParameter, ReplaceCall, SetKeyword
        from dara_migrate.rules.identity import chain_depth

        index = planning.index
        facts = index.files[finding.path]
        scope = facts.scopes[self.function]
        sites = _input_sites(index, (facts.path, self.function))
        if sites is None or _named_as_value(index, facts, scope.name, sites):
            return None
        found = _function_names(planning.text_of(facts.path), scope.stmt_line, self.receiver)
        if found is None:
            return None
        name = _parameter_name(self.receiver, *found)
        qualified = index.resolve(facts, 0, self.receiver).qualified
        edits: dict[str, list[Edit]] = {facts.path: [
            ReplaceCall(self.call.span.line, self.call.span.col, name, awaited=True,
                        unused_import=index.removable_import(
                            facts, self.receiver.partition(".")[0])),
            AddParameter(scope.stmt_line, name, "", ""),
        ]}
        for caller, site in sites:
            spelled = _spelling(index, caller, site, qualified, self.receiver)
            if spelled is None:
                return None
            written, imported = spelled
            edits.setdefault(caller.path, []).append(SetKeyword(
                site.span.line, site.span.col, name, written, depth=chain_depth(caller, site),
                imports=() if imported is None else (imported,)))
        own = edits.pop(facts.path)
        sites_text = "its call site" if len(sites) == 1 else f"its {len(sites)} call sites"
        return PlannedFix(finding, own, f"{self.receiver} as the input {name}, given by "
                          f"{sites_text}", elsewhere=edits)


def _awaited_alone(call: Call) -> bool:
    """`await x.get_current_value()`, with at most `timeout=` (which goes with either fix:
    nothing waits for a browser then)."""
    return call.awaited and not call.args and all(key == "timeout" for key, _ in call.kwargs)


def _input_function(index: ProjectIndex, facts: FileFacts, call: Call, receiver: str
                    ) -> int | None:
    """The `@action` or `@py_component` function a `get_current_value()` call may take its
    value from as an input: the call is awaited directly in the body of a module-level async
    function so decorated, with at most `timeout=`; the receiver is a module-level object;
    and every call site is a call that may pass it."""
    if not _awaited_alone(call):
        return None
    scope = facts.scopes[call.scope]
    if scope.kind != "function" or scope.parent != 0 or not scope.is_async:
        return None
    ref = (facts.path, scope.id)
    if ref not in action_refs(index) and ref not in _component_refs(index):
        return None
    found = index.lookup(facts, scope.id, receiver.partition(".")[0])
    if found is None or found[1] != 0 or found[0].kind not in ("import", "import_module",
                                                                "assign"):
        return None
    sites = _input_sites(index, ref)
    if sites is None or not _only_read(facts, scope.id, receiver) or _named_as_value(
            index, facts, scope.name, sites):
        return None
    qualified = index.resolve(facts, 0, receiver).qualified
    if any(_spelling(index, caller, site, qualified, receiver) is None
           for caller, site in sites):
        return None
    return scope.id


def _only_read(facts: FileFacts, function: int, receiver: str) -> bool:
    """Whether the function (and what it nests) names `receiver` only to read it with
    `get_current_value()`, as far as the facts show (`plan` checks the source): an update of
    it before the read would make the input differ from what the line reads."""
    inside = subtree(facts, function)
    read = f"{receiver}.get_current_value"
    for call in facts.calls:
        if call.scope not in inside:
            continue
        if call.callee.startswith(f"{receiver}.") and call.callee != read:
            return False
        if any(_mentions(value, receiver) for value in (
                *call.args, *(value for _, value in call.kwargs))):
            return False
    return not any(binding.scope in inside and binding.value is not None
                   and _mentions(binding.value, receiver) for binding in facts.bindings)


def _mentions(value: Value, receiver: str) -> bool:
    if value.kind in ("name", "attr") and (value.text == receiver
                                           or value.text.startswith(f"{receiver}.")):
        return True
    return any(_mentions(item, receiver) for item in value.items)


@per_index
def _component_refs(index: ProjectIndex) -> set[ScopeRef]:
    return {(facts.path, scope.id) for facts, scope in index.decorated.get("py_component", ())}


def _input_sites(index: ProjectIndex, ref: ScopeRef) -> list[tuple[FileFacts, Call]] | None:
    """Every call of the function `ref`, when it is only ever called, outside an action
    (where calling an action runs its body, and an input would be the variable itself)."""
    callers = index.callers.get(ref, [])
    sites = [(caller, call) for caller, call in project_calls(index).get(ref, ())
             if call.func_call < 0]
    if not sites or len(sites) != len(callers) or any(e.via != "call" for e in callers):
        return None  # passed as a callback or route content: no call to give it to
    for caller, call in sites:
        if call.starred >= 0 or call.kwarg("**") is not None or (
                caller.path, index.function_scope(caller, call.scope)) in action_refs(index):
            return None
        if call.args and call.args[0].kind == "name" and is_action_ctx(
                index, caller, call.scope, call.args[0].text):
            return None
    return sites


def _named_as_value(index: ProjectIndex, facts: FileFacts, name: str,
                    sites: list[tuple[FileFacts, Call]]) -> bool:
    """Whether the function's module, or one importing it, names the function other than in
    its calls `sites` (keeps it in a list, hands it to `functools.partial`): a caller the
    new parameter would not reach. Any function of that last name counts."""
    for path in (facts.path, *index.direct_importers(facts.path)):
        values, called = _file_names(index, path)
        expected = sum(1 for caller, site in sites
                       if caller.path == path and site.callee.rpartition(".")[2] == name)
        if name in values or called.get(name, 0) != expected:
            return True
    return False


@per_index
def _names_by_file(index: ProjectIndex) -> dict[str, tuple[frozenset[str], dict[str, int]]]:
    """`_file_names` of the files asked about so far."""
    return {}


def _file_names(index: ProjectIndex, path: str) -> tuple[frozenset[str], dict[str, int]]:
    """The last names of the names and attributes a file passes, assigns, returns or
    decorates with as values, and how many calls it makes of each last name."""
    known = _names_by_file(index)
    if path not in known:
        facts = index.files[path]
        values: set[str] = set()
        called: dict[str, int] = {}
        for call in facts.calls:
            if call.func_call < 0:
                last = call.callee.rpartition(".")[2]
                called[last] = called.get(last, 0) + 1
            for value in call.args:
                _value_names(value, values)
            for _, value in call.kwargs:
                _value_names(value, values)
        for binding in facts.bindings:
            if binding.value is not None and binding.kind != "import":
                _value_names(binding.value, values)
        for scope in facts.scopes:
            for value in (*scope.returned, *scope.decorators):
                _value_names(value, values)
        known[path] = (frozenset(values), called)
    return known[path]


def _value_names(value: Value, into: set[str]) -> None:
    if value.kind in ("name", "attr"):
        into.add(value.text.rpartition(".")[2])
    elif value.kind == "lambda":
        into.update(name.rpartition(".")[2] for name in value.names)
    for item in value.items:
        _value_names(item, into)


def _function_names(text: str, line: int, receiver: str
                    ) -> tuple[set[str], set[str]] | None:
    """Every name the function whose statement starts at `line` uses or binds, and every
    receiver it reads with `await receiver.get_current_value(...)`; None when it names
    `receiver` other than so (an update of it before the read, a reference kept): the input
    would not be what the line reads."""
    function = next((node for node in ast.walk(_tree(text))
                     if isinstance(node, ast.AsyncFunctionDef) and (
                         node.decorator_list[0].lineno if node.decorator_list
                         else node.lineno) == line), None)
    if function is None:
        return None
    reads: dict[int, str] = {}
    for node in ast.walk(function):
        if (isinstance(node, ast.Await) and isinstance(node.value, ast.Call)
                and isinstance(node.value.func, ast.Attribute)
                and node.value.func.attr == "get_current_value"):
            reads[id(node.value.func.value)] = ast.unparse(node.value.func.value)
    names: set[str] = set()
    for node in ast.walk(function):
        if isinstance(node, (ast.Name, ast.Attribute)) and id(node) not in reads and (
                ast.unparse(node) == receiver):
            return None
        if isinstance(node, ast.Name):
            names.add(node.id)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
    return names, set(reads.values())


@functools.lru_cache(maxsize=8)
def _tree(text: str) -> ast.Module:
    """A module's tree, kept for the next fix in it (a file's findings are planned together,
    and a file of many actions would be parsed once per read)."""
    return ast.parse(text)


def _parameter_name(receiver: str, used: set[str], read: set[str]) -> str:
    """The receiver's last name (its whole dotted name where another receiver the function
    reads ends alike: `state_term`, `filters_term`), made a new one of the function's
    (`_value` added)."""
    last = receiver.rpartition(".")[2]
    alike = any(other != receiver and other.rpartition(".")[2] == last for other in read)
    base = re.sub(r"\W", "_", receiver) if alike else last
    name = base
    if name in used or keyword.iskeyword(name):
        name = f"{base}_value"
        counter = 1
        while name in used:
            counter += 1
            name = f"{base}_value{counter}"
    return name


def _spelling(index: ProjectIndex, facts: FileFacts, site: Call, qualified: str,
              receiver: str) -> tuple[str, tuple[str, str] | None] | None:
    """How a call site names the object `qualified`: as the action's module writes it,
    through a module-level import of the site's file, or by an import to add (`from module
    import name`, where the file binds no such name); None otherwise."""
    if _names_there(index, facts, site, receiver, qualified):
        return receiver, None
    for binding in index.import_bindings.get(facts.path, ()):
        target = binding.target
        if binding.scope != 0 or not (qualified == target
                                      or qualified.startswith(target + ".")):
            continue
        written = binding.name + qualified[len(target):]
        if _names_there(index, facts, site, written, qualified):
            return written, None
    parts = qualified.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        module = ".".join(parts[:cut])
        defining = index.module_named(module, facts)
        if defining is None:
            continue
        written = ".".join(parts[cut:])
        if defining is facts:
            return (written, None) if _names_there(index, facts, site, written,
                                                   qualified) else None
        head = parts[cut]
        if head in facts.names or any(b.name == head for b in facts.bindings) or (
                facts.path in index.files_reachable(defining)):
            return None  # a name taken, or an import that would close a cycle
        return written, (module, head)
    return None


def _names_there(index: ProjectIndex, facts: FileFacts, site: Call, written: str,
                 qualified: str) -> bool:
    """Whether `written` names `qualified` where the site runs: for a site run as the module
    is (not in a function), a module-level name bound above it (the call runs before a
    name bound below is)."""
    if index.resolve(facts, site.scope, written).qualified != qualified:
        return False
    if index.function_scope(facts, site.scope) != 0:
        return True
    found = index.lookup(facts, site.scope, written.partition(".")[0])
    return found is None or found[1] != 0 or found[0].span.line < site.span.line


class BrowserRead(Rule):
    code = "DM401"
    name = "browser-read"
    severity = "error"
    fix = "manual"
    summary = "get_current_value() asks the browser over this worker's websocket"
    docs = RuleDocs(
        what="`await var.get_current_value()` on anything that resolves to a Dara variable "
        "(a name bound to a variable constructor, here or in an imported module; a parameter "
        "annotated with a variable type, or one the project's calls of its function give a "
        "variable, directly or through other functions; `self.x` assigned a variable), and "
        "the module-level "
        "`get_current_value(...)` imported from dara. A method of the same name on any other "
        "object is not reported.",
        why="`get_current_value()` sends a request to the browser over the websocket that is "
        "attached to this worker and waits for the answer. With many workers the request can "
        "run on a worker the browser has no websocket with, and the read times out. The "
        "distributed contract has no browser round-trip reads.",
        use_instead="Pass the variable as an input of the action (`save(name)` gives "
        "`save(ctx, name_value)` the current value), or, for a ServerVariable, DataVariable "
        "or BackendStore-backed Variable, read the shared backend: `await var.read()`.",
        fix_safety="Unsafe, two cases. `await X.get_current_value()` where X is a "
        "ServerVariable, DataVariable or a Variable with `store=BackendStore(...)` becomes "
        "`await X.read()` (a `timeout=` goes: no browser is waited for): it returns the "
        "stored value, which can differ from what the "
        "browser shows while an update is in flight. Any other variable X read so directly "
        "in a module-level `@action` or `@py_component` function becomes an input: a new "
        "parameter replaces the read, and every call site passes X (importing it where the "
        "page lacks it). The value is then the one the browser held when the action was "
        "triggered or the component rendered, and a component now renders again when the "
        "variable changes. `apply` makes it only where that is the value "
        "the line reads: X is a module-level object the function names only in such reads, "
        "and the function is only ever called (never kept or handed on as a value), never "
        "inside an action (where the call runs the body). Otherwise manual.",
        confidence="High: the receiver must resolve to a Dara variable.",
    )
    VALID = [
        Example.module(
            "from dara.core import ServerVariable, Variable, action\n\n"
            "name = Variable('')\n"
            "rows = ServerVariable(default=[], uid='rows')\n\n"
            "class Gauge:\n"
            "    async def get_current_value(self) -> int:\n"
            "        return 1\n\n"
            "gauge = Gauge()\n\n"
            "@action\n"
            "async def save(ctx: action.Ctx, current: str) -> None:\n"
            "    stored = await rows.read()\n"
            "    level = await gauge.get_current_value()\n"
            "    await rows.write([*stored, current, level])\n\n"
            "async def poll(sensor):\n"
            "    return await sensor.get_current_value()\n\n"
            "async def level() -> int:\n"
            "    return await poll(gauge)\n\n"
            "save_name = save(name)\n",
            note="pass the variable as an action input; other objects' methods are fine",
        ),
    ]
    INVALID = [
        Example.module(
            "import dara.core as dc\n"
            "from dara.core import DerivedVariable, ServerVariable, Variable, action\n"
            "from dara.core.interactivity.any_variable import get_current_value as ask\n"
            "from dara.core.persistence import BackendStore\n\n"
            "name = Variable('')\n"
            "rows = ServerVariable(default=[], uid='rows')\n"
            "prefs = dc.Variable({}, store=BackendStore(uid='prefs-store'), uid='prefs')\n"
            "total = DerivedVariable(lambda r: len(r), variables=[rows], uid='total')\n\n"
            "@action\n"
            "async def save(ctx: action.Ctx) -> None:\n"
            "    current = await name.get_current_value()  # expect: DM401\n"
            "    stored = await rows.get_current_value()  # expect: DM401\n"
            "    settings = await prefs.get_current_value(timeout=5)  # expect: DM401\n"
            "    count = await total.get_current_value()  # expect: DM401\n"
            "    raw = await ask(name.model_dump())  # expect: DM401\n"
            "    await rows.write([*stored, current, settings, count, raw])\n",
            fixed=(
                "import dara.core as dc\n"
                "from dara.core import DerivedVariable, ServerVariable, Variable, action\n"
                "from dara.core.interactivity.any_variable import get_current_value as ask\n"
                "from dara.core.persistence import BackendStore\n\n"
                "name = Variable('')\n"
                "rows = ServerVariable(default=[], uid='rows')\n"
                "prefs = dc.Variable({}, store=BackendStore(uid='prefs-store'), uid='prefs')\n"
                "total = DerivedVariable(lambda r: len(r), variables=[rows], uid='total')\n\n"
                "@action\n"
                "async def save(ctx: action.Ctx) -> None:\n"
                "    current = await name.get_current_value()\n"
                "    stored = await rows.read()\n"
                "    settings = await prefs.read()\n"
                "    count = await total.get_current_value()\n"
                "    raw = await ask(name.model_dump())\n"
                "    await rows.write([*stored, current, settings, count, raw])\n"
            )
        ),
        Example({
            "app/reads.py": "async def current(var):\n"
            "    return await var.get_current_value()  # expect: DM401\n\n"
            "async def stored(source, timeout=5):\n"
            "    return await source.get_current_value(timeout=timeout)  # expect: DM401\n\n"
            "async def either(source):\n"
            "    return await current(source)\n",
            "app/main.py": "from dara.core import ServerVariable, Variable, action\n"
            "from app.reads import current, either, stored\n\n"
            "name = Variable('')\n"
            "rows = ServerVariable(default=[], uid='rows')\n\n"
            "@action\n"
            "async def save(ctx: action.Ctx) -> None:\n"
            "    await ctx.notify(await either(name), title='Saved')\n"
            "    await rows.write([*(await stored(rows)), await current(rows)])\n",
        }, note="a helper's parameter that the project's calls of the helper give a variable "
            "(namespace package); every call gives a ServerVariable: read it",
            fixed={
            "app/reads.py": "async def current(var):\n"
            "    return await var.get_current_value()\n\n"
            "async def stored(source, timeout=5):\n"
            "    return await source.read()\n\n"
            "async def either(source):\n"
            "    return await current(source)\n",
        }),
        Example({
            "app/__init__.py": "",
            "app/state.py": "from dara.core import ServerVariable\n\n"
            "sales = ServerVariable(default=[], uid='sales')\n",
            "app/panel.py": "from dara.core import DerivedVariable, Variable\n"
            "from app import state\n"
            "from app.state import sales as totals\n\n"
            "class Panel:\n"
            "    def __init__(self) -> None:\n"
            "        self.choice = Variable('a')\n\n"
            "    async def snapshot(self, dv: DerivedVariable) -> list:\n"
            "        a = await self.choice.get_current_value()  # expect: DM401\n"
            "        b = await dv.get_current_value()  # expect: DM401\n"
            "        c = await totals.get_current_value()  # expect: DM401\n"
            "        d = await state.sales.get_current_value()  # expect: DM401\n"
            "        return [a, b, c, d]\n",
        }, note="across modules, through `self` and annotated parameters",
        fixed={
            "app/panel.py": (
                "from dara.core import DerivedVariable, Variable\n"
                "from app import state\n"
                "from app.state import sales as totals\n\n"
                "class Panel:\n"
                "    def __init__(self) -> None:\n"
                "        self.choice = Variable('a')\n\n"
                "    async def snapshot(self, dv: DerivedVariable) -> list:\n"
                "        a = await self.choice.get_current_value()\n"
                "        b = await dv.get_current_value()\n"
                "        c = await totals.read()\n"
                "        d = await state.sales.read()\n"
                "        return [a, b, c, d]\n"
            ),
        }),
        Example({
            "console/state.py": "from dara.core import Variable\n\n"
            "term = Variable('')\n",
            "console/actions.py": "from dara.core import action\n\n"
            "from console import state\n\n"
            "@action\n"
            "async def search(ctx: action.Ctx):\n"
            "    term = await state.term.get_current_value()  # expect: DM401\n"
            "    await ctx.notify(f'Searching for {term}', title='Search')\n",
            "console/pages.py": "from dara.components import Button\n\n"
            "from console.actions import search\n\n"
            "def home():\n"
            "    return Button('Search', onclick=search())\n",
        }, note="a plain Variable read in an action becomes its input (namespace package)",
        fixed={
            "console/actions.py": (
                "from dara.core import action\n\n"
                "@action\n"
                "async def search(ctx: action.Ctx, term_value):\n"
                "    term = term_value\n"
                "    await ctx.notify(f'Searching for {term}', title='Search')\n"
            ),
            "console/pages.py": (
                "from dara.components import Button\n\n"
                "from console.actions import search\n"
                "from console.state import term\n\n"
                "def home():\n"
                "    return Button('Search', onclick=search(term_value=term))\n"
            ),
        }),
    ]

    def check(self, ctx: Context) -> Iterator[Finding]:
        index = ctx.index
        for facts, call in index.calls_by_api.get("get_current_value", ()):
            if ctx.is_selected(facts):
                yield ctx.at_call(
                    self, facts, call,
                    "get_current_value() asks the browser over the websocket attached to this "
                    "worker, which another worker does not have; pass the variable as an "
                    "action input instead",
                )
        for facts, call in calls_of_method(index, "get_current_value"):
            receiver = call.callee.rpartition(".")[0]
            if not receiver or not ctx.is_selected(facts):
                continue
            kind = variable_kind(index, facts, call.scope, receiver)
            if kind is not None:
                yield self._method_finding(ctx, facts, call, receiver, kind)
            elif "." not in receiver:
                passed = _passed_variables(index, facts, call.scope, receiver)
                if passed:
                    yield self._passed_finding(ctx, facts, call, receiver, passed)

    def _method_finding(self, ctx: Context, facts: FileFacts, call: Call, receiver: str,
                        kind: str) -> Finding:
        shared = kind in _SHARED_READ_TYPES or (
            kind == "Variable" and _backend_backed(ctx.index, facts, call.scope, receiver))
        if shared:
            return ctx.at_call(
                self, facts, call,
                f"{receiver}.get_current_value() asks the browser over this worker's "
                f"websocket; read the shared backend instead: `await {receiver}.read()`",
                fix=ReadShared(call) if _awaited_alone(call) else "manual",
            )
        function = (_input_function(ctx.index, facts, call, receiver)
                    if kind in _INPUT_KINDS else None)
        return ctx.at_call(
            self, facts, call,
            f"{receiver}.get_current_value() asks the browser over the websocket attached to "
            f"this worker, which another worker does not have; pass {receiver} ({kind}) as "
            "an action input instead",
            fix="manual" if function is None else ActionInput(call, receiver, function),
        )

    def _passed_finding(self, ctx: Context, facts: FileFacts, call: Call, receiver: str,
                        passed: set[tuple[str | None, bool]]) -> Finding:
        """A read of a helper's parameter that some call of the helper gives a variable."""
        kinds = " or ".join(sorted({kind for kind, _ in passed if kind is not None}))
        if all(shared for _, shared in passed):
            return ctx.at_call(
                self, facts, call,
                f"{receiver}.get_current_value() asks the browser over this worker's websocket "
                f"(every call of this function passes a {kinds} kept in a shared backend); "
                f"read the shared backend instead: `await {receiver}.read()`",
                fix=ReadShared(call) if _awaited_alone(call) else "manual",
            )
        return ctx.at_call(
            self, facts, call,
            f"{receiver}.get_current_value() asks the browser over the websocket attached to "
            f"this worker, which another worker does not have (calls of this function pass a "
            f"{kinds}); pass the variable as an input of the action that calls "
            "this function instead",
        )


def _passed_variables(index: ProjectIndex, facts: FileFacts, scope_id: int, name: str
                      ) -> set[tuple[str | None, bool]]:
    """What the project's calls of a function give its parameter `name` (`given_to`), as
    (the Dara variable class, whether its reads go to a shared backend): (None, False) for
    a value not provably a variable. Empty unless some call gives a variable."""
    passed: set[tuple[str | None, bool]] = set()
    for caller, call, value in given_to(index, facts, scope_id, name):
        kind = variable_kind(index, caller, call.scope, value.text) if (
            value.kind in _NAMED) else None
        passed.add((kind, kind is not None and (kind in _SHARED_READ_TYPES or (
            kind == "Variable" and _backend_backed(index, caller, call.scope, value.text)))))
    return passed if any(kind is not None for kind, _ in passed) else set()


def _websocket_state(qualified: str) -> str | None:
    """The per-worker websocket object a qualified name is, or is an attribute of."""
    if not _MENTIONS_STATE.search(qualified):
        return None  # the common case, decided without splitting
    parts = qualified.split(".")
    for cut, part in enumerate(parts):
        if part in _WEBSOCKET_STATE and dara_name(".".join(parts[: cut + 1])) == part:
            return part
    return None


class WebsocketLocal(Rule):
    code = "DM402"
    name = "websocket-local"
    severity = "error"
    fix = "manual"
    summary = "custom websocket handler or direct use of the worker's websocket registries"
    docs = RuleDocs(
        what="`config.add_ws_handler(...)` on a resolved `ConfigurationBuilder`, and direct use "
        "of `websocket_registry`, `sessions_registry`, `utils_registry` (from "
        "`dara.core.internal.registries`) or `WebsocketManager`: reported where they are "
        "called, passed or assigned, or at the import when the file only imports them.",
        why="A custom handler sees only messages from browsers whose websocket is attached to "
        "this worker, and its replies reach only them. The registries and the "
        "WebsocketManager hold this worker's sessions and channels: a message for a user "
        "connected to another worker is silently lost, and presence is per worker.",
        use_instead="Let Dara deliver: write a ServerVariable or BackendStore (the distributed "
        "runtime fans the change out to every worker through its backplane), or handle the "
        "request in an `@action` or `config.add_endpoint`. Custom websocket messaging needs "
        "the backplane of the distributed runtime; until then keep it under the escape "
        "hatch (sticky sessions).",
        fix_safety="Manual: the replacement depends on what the messages are for.",
        confidence="High: names are resolved to dara's modules; project objects with the "
        "same names are not reported.",
    )
    VALID = [
        Example.module(
            "from dara.core.internal.registries import action_registry\n\n"
            "class Bus:\n"
            "    def add_ws_handler(self, kind, handler) -> None: ...\n\n"
            "bus = Bus()\n"
            "bus.add_ws_handler('ping', print)\n"
            "websocket_registry: dict[str, str] = {}\n"
            "websocket_registry['a'] = 'b'\n"
            "actions = action_registry.get_all()\n",
            note="other registries and project objects with the same names are fine",
        ),
    ]
    INVALID = [
        Example.module(
            "from typing import Any\n\n"
            "import dara.core.internal.registries as registries\n"
            "from dara.core import ConfigurationBuilder\n"
            "from dara.core.internal.registries import utils_registry\n"
            "from dara.core.internal.websocket import WebsocketManager  # expect: DM402\n\n"
            "config = ConfigurationBuilder()\n\n"
            "def on_ping(channel: str, data: Any) -> str:\n"
            "    return 'pong'\n\n"
            "config.add_ws_handler(kind='ping', handler=on_ping)  # expect: DM402\n\n"
            "async def notify(user: str, message: dict) -> None:\n"
            "    manager: WebsocketManager = utils_registry.get('WebsocketManager')  "
            "# expect: DM402\n"
            "    for session in registries.sessions_registry.get(user):  # expect: DM402\n"
            "        await manager.send_message(session, message)\n"
        ),
    ]

    def check(self, ctx: Context) -> Iterator[Finding]:
        index = ctx.index
        for facts, call in index.method_calls.get(("ConfigurationBuilder", "add_ws_handler"), ()):
            if ctx.is_selected(facts):
                yield ctx.at_call(
                    self, facts, call,
                    "add_ws_handler() only hears browsers whose websocket is attached to this "
                    "worker and replies only to them; use an action, an endpoint or a "
                    "ServerVariable, or keep it under the escape hatch until Dara has a backplane",
                )
        may_reach = _may_reach_websocket_state(index)
        for facts in index.files.values():
            if ctx.is_selected(facts) and facts.path in may_reach:
                yield from self._file_uses(ctx, facts)

    def _file_uses(self, ctx: Context, facts: FileFacts) -> Iterator[Finding]:
        index = ctx.index
        used: set[str] = set()
        for call in facts.calls:
            state = _websocket_state(index.resolve_call(facts, call).qualified)
            if state:
                found: tuple[str, str] | None = (call.callee.split(".")[0], state)
            else:
                names = [v.text for v in call.args if v.kind in _NAMED]
                names += [v.text for _, v in call.kwargs if v.kind in _NAMED]
                found = self._first_state(index, facts, call.scope, names) if names else None
            if found is not None:
                used.add(found[0])
                yield ctx.at_call(self, facts, call, _use_message(found[1]))
        for binding in facts.bindings:
            value = binding.value
            if binding.kind in ("assign", "attr") and value is not None and value.kind in (
                    "name", "attr"):
                found = self._first_state(index, facts, binding.scope, [value.text])
                if found is not None:
                    used.add(found[0])
                    yield ctx.report(self, facts, binding.span, _use_message(found[1]),
                                     anchor=(binding.stmt_line, binding.stmt_col,
                                             f"{binding.name}={value.text}"))
        for binding in index.import_bindings.get(facts.path, ()):
            if binding.name in used:
                continue
            state = _websocket_state(binding.target)
            if state is not None:
                yield ctx.report(
                    self, facts, binding.span,
                    f"imports {state}, which {_WEBSOCKET_STATE[state]}; anything it sends or "
                    "looks up misses users on other workers",
                    anchor=(binding.stmt_line, binding.stmt_col, f"import:{binding.target}"),
                )

    @staticmethod
    def _first_state(index: ProjectIndex, facts: FileFacts, scope_id: int,
                     names: list[str]) -> tuple[str, str] | None:
        """(local head name, websocket object) of the first name that resolves to one."""
        for name in names:
            state = _websocket_state(index.resolve(facts, scope_id, name).qualified)
            if state is not None:
                return name.split(".")[0], state
        return None


def _may_reach_websocket_state(index: ProjectIndex) -> set[str]:
    """Files whose names can resolve to a websocket object: those that name one, and those
    importing such a file, directly or not (a name only resolves through what is imported).
    A plain `import pkg.module` of a project module can reach any submodule: kept too."""
    naming = {path for path, facts in index.files.items()
              if not facts.mentions.isdisjoint(_WEBSOCKET_STATE)}
    if not naming:
        return set()
    found = index.files_reaching(naming)
    for facts in index.files.values():
        if facts.path not in found and any(
                b.kind == "import_module"
                and index.split_module(b.imported_module, facts)[0] is not None
                for b in index.import_bindings.get(facts.path, ())):
            found.add(facts.path)
    return found


def _use_message(state: str) -> str:
    return (f"{state} {_WEBSOCKET_STATE[state]}: users on other workers are missed; let "
            "Dara deliver through a ServerVariable or an action, or keep this under the "
            "escape hatch")


class LocalDownload(Rule):
    code = "DM403"
    name = "local-download"
    severity = "error"
    fix = "manual"
    summary = "download served from this worker's memory and disk"
    docs = RuleDocs(
        what="`ctx.download_file(...)` where `ctx` is the context of an `@action` (its first "
        "parameter, after `self`) or a parameter annotated `action.Ctx` / `ActionCtx`; and "
        "every `DownloadContent(...)`, whatever it is imported as.",
        why="`download_file` keeps a one-time download code in this worker's memory and "
        "sends the browser to `/api/core/download?code=...`; that request can reach another "
        "worker, which does not know the code, and the file itself is on this worker's disk. "
        "`DownloadContent` does the same and also defines a fresh action per call on this "
        "worker.",
        use_instead="For data the browser can hold, `await ctx.download_variable(variable=..., "
        "file_name=..., type='csv')`. For files, write them to shared object storage and "
        "`await ctx.navigate(presigned_url, new_tab=True)`.",
        fix_safety="Manual: where the file goes is a deployment decision.",
        confidence="High: `ctx` must be an action context by position or annotation; a "
        "`download_file` method on any other object is not reported.",
    )
    VALID = [
        Example.module(
            "from dara.core import Variable, action\n\n"
            "data = Variable({'a': 1})\n\n"
            "class Storage:\n"
            "    async def download_file(self, path: str) -> bytes:\n"
            "        return b''\n\n"
            "storage = Storage()\n\n"
            "@action\n"
            "async def export(ctx: action.Ctx, key: str) -> None:\n"
            "    await storage.download_file(key)\n"
            "    await ctx.download_variable(variable=data, file_name='export', type='json')\n\n"
            "async def fetch(client, path: str) -> None:\n"
            "    await client.download_file(path)\n",
            note="download a variable's value; other objects' `download_file` is fine",
        ),
    ]
    INVALID = [
        Example.module(
            "import dara.core as dc\n"
            "from dara.core import ActionCtx, DownloadContent, action\n"
            "from dara.core.actions import DownloadContent as Download\n\n"
            "@action\n"
            "async def export(ctx) -> None:\n"
            "    await ctx.download_file(path='/tmp/report.csv', cleanup=True)  # expect: DM403\n\n"
            "@dc.action\n"
            "async def export_named(context: dc.action.Ctx, name: str) -> None:\n"
            "    await write_and_send(context, name)\n\n"
            "async def write_and_send(ctx: ActionCtx, name: str) -> None:\n"
            "    await ctx.download_file(f'/tmp/{name}.csv')  # expect: DM403\n\n"
            "class Exporter:\n"
            "    @action\n"
            "    async def run(self, ctx, path: str) -> None:\n"
            "        await ctx.download_file(path)  # expect: DM403\n\n"
            "def csv_text(ctx: DownloadContent.Ctx) -> str:\n"
            "    return 'a,b'\n\n"
            "export_csv = DownloadContent(csv_text)  # expect: DM403\n"
            "legacy = Download(csv_text, cleanup_file=True)  # expect: DM403\n"
        ),
    ]

    def check(self, ctx: Context) -> Iterator[Finding]:
        index = ctx.index
        for facts, call in calls_of_method(index, "download_file"):
            receiver = call.callee.rpartition(".")[0]
            if not receiver or "." in receiver or not ctx.is_selected(facts):
                continue
            if is_action_ctx(index, facts, call.scope, receiver):
                yield ctx.at_call(
                    self, facts, call,
                    f"{receiver}.download_file() keeps the download code in this worker's "
                    "memory and the file on its disk, so the download can 404 on another "
                    "worker; use ctx.download_variable(...) or shared storage",
                )
        for facts, call in index.calls_by_api.get("DownloadContent", ()):
            if ctx.is_selected(facts):
                yield ctx.at_call(
                    self, facts, call,
                    "DownloadContent serves a file from this worker's disk through a download "
                    "code only this worker knows; use an @action with "
                    "ctx.download_variable(...) or shared storage",
                )


RULES: list[type[Rule]] = [BrowserRead, WebsocketLocal, LocalDownload]
