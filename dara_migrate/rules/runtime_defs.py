"""DM3xx: definitions and registration at the wrong time.

A definition only survives many workers when every worker creates it while the app is built
(CONTRACT.md, "Runtime-created definitions"). These rules find definitions created while a
request is handled, nested decorators Dara cannot give a stable id, and py_components that
register lazily on their first render.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Iterable, Iterator, Set
from dataclasses import dataclass
from typing import ClassVar

from dara_migrate.autofix import Applicability, Fix, FixRound, PlannedFix
from dara_migrate.facts import Call, FileFacts, Scope, Value
from dara_migrate.index.dara_api import DECORATORS
from dara_migrate.index.definitions import collect_definitions
from dara_migrate.index.project import ProjectIndex, ScopeRef, per_index
from dara_migrate.index.queries import action_factory_calls
from dara_migrate.models import Finding
from dara_migrate.rules.base import Context, Example, Rule, RuleDocs
from dara_migrate.rules.identity import RewrittenByDM105, factory_fix

_RAISING_REGISTRIES = frozenset({"derived_variable", "server_variable", "stream_variable"})
"""Registries that raise `ValueError` when a uid is registered twice."""

Use = tuple[int, str]
"""A name loaded in a scope of one file: (scope id, name)."""


def subtree(facts: FileFacts, root: int) -> set[int]:
    """A scope and every scope nested in it."""
    inside = {root}
    for scope in facts.scopes[root + 1:]:
        if scope.parent in inside:
            inside.add(scope.id)
    return inside


def _value_uses(scope: int, value: Value) -> Iterator[Use]:
    """Names a value loads, each with the scope it is looked up from (a lambda's body uses
    its own, its defaults the scope it is made in)."""
    if value.kind == "lambda":
        yield from ((value.scope, name) for name in value.names)
        for default in value.items:
            yield from _value_uses(scope, default)
    elif value.kind in ("container", "dict") and value.items:
        for item in value.items:
            yield from _value_uses(scope, item)
    else:
        yield from ((scope, name) for name in value.names)


def _call_uses(call: Call) -> Iterator[Use]:
    if call.callee:
        yield call.scope, call.callee.split(".")[0]
    for value in (*call.args, *(v for _, v in call.kwargs)):
        yield from _value_uses(call.scope, value)


def _mentions(call: Call, names: Set[str]) -> bool:
    """Whether any of `names` is among the names a call loads (`_call_uses`, cheaply)."""
    if call.callee and call.callee.split(".")[0] in names:
        return True
    for value in call.args:
        if value.names and not names.isdisjoint(value.names):
            return True
    return any(not names.isdisjoint(value.names) for _, value in call.kwargs if value.names)


def def_uses(facts: FileFacts, scope: Scope, inside: set[int]) -> Iterator[Use]:
    """Names a `def` statement loads: its decorators and defaults, and its whole body."""
    for decorator in scope.decorators:
        yield from _value_uses(scope.parent, decorator)
    for call in facts.calls:
        if call.scope in inside or (call.scope == scope.parent and (
                call.stmt_line, call.stmt_col) == (scope.stmt_line, scope.stmt_col)):
            yield from _call_uses(call)
    for nested in facts.scopes:
        if nested.id in inside and nested.id != scope.id:
            for decorator in nested.decorators:
                yield from _value_uses(nested.parent, decorator)
    for loop in facts.loops:  # `for n in names`: the loop's name is loaded
        if loop.name and loop.scope in inside:
            yield loop.scope, loop.name
    for binding in facts.bindings:
        if binding.scope not in inside:
            continue
        if binding.value is not None:
            yield from _value_uses(binding.scope, binding.value)
        if binding.kind in ("attr", "subscript", "del"):
            yield binding.scope, binding.name.split(".")[0]


def _captured(index: ProjectIndex, facts: FileFacts, uses: Iterable[Use], inside: set[int],
              own: Scope | None = None) -> list[str]:
    """Names that resolve to a local of an enclosing function (outside `inside`)."""
    captured: set[str] = set()
    for scope_id, name in uses:
        found = index.lookup(facts, scope_id, name)
        if found is None:
            continue
        bound_in = found[1]
        if bound_in in inside or bound_in == 0 or facts.scopes[bound_in].kind == "class":
            continue
        if own is not None and bound_in == own.parent and name == own.name:
            continue
        captured.add(name)
    return sorted(captured)


def _names(names: list[str]) -> str:
    shown = ", ".join(f"`{n}`" for n in names[:3])
    return shown + (f" and {len(names) - 3} more" if len(names) > 3 else "")


def def_hoist_problem(index: ProjectIndex, facts: FileFacts, scope: Scope) -> str | None:
    """Why a nested decorated `def` cannot simply move to module level, or None if it can."""
    if facts.scopes[scope.parent].kind == "class":
        return f"it is a method of the nested class `{facts.scopes[scope.parent].qualname}`"
    inside = subtree(facts, scope.id)
    captured = _captured(index, facts, def_uses(facts, scope, inside), inside, scope)
    captured += [b.name for b in facts.bindings if b.scope in inside and b.kind == "nonlocal"
                 and b.name not in captured]
    if captured:
        outer = facts.scopes[scope.parent].qualname
        return f"it uses local name(s) {_names(captured)} of `{outer}`"
    return _name_taken(index, facts, scope.name)


def call_hoist_problem(index: ProjectIndex, facts: FileFacts, call: Call) -> str | None:
    """Why a definition call cannot simply move to module level, or None if it can."""
    inside: set[int] = set()
    for value in (*call.args, *(v for _, v in call.kwargs)):
        if value.kind == "lambda":
            inside |= subtree(facts, value.scope)
    loops = [(loop.scope, loop.name) for loop in facts.loops if loop.name and (
        loop.scope in inside or loop.holds(call))]
    captured = _captured(index, facts, [*_call_uses(call), *loops], inside)
    if captured:
        return f"it uses local name(s) {_names(captured)}"
    # `apply` moves a statement `name = <definition>`: what a `return`, an attribute or a
    # container holds has no name of its own to keep at module level (a call given as
    # another call's argument has that keyword as its target).
    if not call.target or "." in call.target or call.parent >= 0:
        return f"{_FIRST}it is not assigned to a name of its own: assign it to one"
    return _name_taken(index, facts, call.target)


def _name_taken(index: ProjectIndex, facts: FileFacts, name: str) -> str | None:
    """Moved to module level, the definition would rebind a name the module binds already
    (what `apply` refuses to do), or one another definition of the module would move to."""
    if name in index.module_bindings.get(facts.path, {}):
        return f"{_FIRST}the module already binds `{name}`: rename one of them"
    if _movable_names(index)[(facts.path, name)] > 1:
        return (f"{_FIRST}another definition in this module's functions is also named "
                f"`{name}`: rename one of them")
    return None


@per_index
def _movable_names(index: ProjectIndex) -> Counter[tuple[str, str]]:
    """(path, name) of each definition made in a function under a name of its own (a
    definition assigned to a local name, a nested `def` with a Dara decorator): the names
    hoists would give them at module level, where two of one name would be one."""
    names: Counter[tuple[str, str]] = Counter()
    for definition in collect_definitions(index):
        facts, call = definition.facts, definition.call
        if (facts.scopes[call.scope].kind == "function" and call.target
                and "." not in call.target and call.parent < 0):
            names[(facts.path, call.target)] += 1
    for kind in DECORATORS:
        for facts, scope in index.decorated.get(kind, ()):
            if scope.parent > 0 and facts.scopes[scope.parent].kind == "function":
                names[(facts.path, scope.name)] += 1
    return names


_FIRST = "it uses no local name, but "
"""Starts a hoist problem that a small change settles (the rest need a redesign)."""


def _request_caller(index: ProjectIndex, start: ScopeRef) -> ScopeRef | None:
    """The nearest request root that reaches `start` through project calls."""
    roots = index.roots["request"]
    seen = {start}
    queue = deque([start])
    while queue:
        ref = queue.popleft()
        if ref in roots:
            return ref
        for edge in index.callers.get(ref, ()):
            caller = edge.source
            if caller not in seen and index.when_of(caller) == "request":
                seen.add(caller)
                queue.append(caller)
    return None


def _label(index: ProjectIndex, ref: ScopeRef, here: FileFacts) -> str:
    scope = index.scope(ref)
    if ref[0] == here.path:
        return f"`{scope.qualname}`"
    return f"`{index.files[ref[0]].module}:{scope.qualname}`"


def where_at_request(index: ProjectIndex, facts: FileFacts, scope_id: int) -> str:
    """`in `panel`` or `in `make_card`, reached from `panel``: why this code is request-time."""
    ref = (facts.path, index.function_scope(facts, scope_id))
    where = f"in {_label(index, ref, facts)}"
    root = _request_caller(index, ref)
    if root is not None and root != ref:
        where += f", reached from {_label(index, root, facts)}"
    return where


def _hoist_advice(problem: str | None, what: str) -> str:
    if problem is None:
        return f"it uses no local name, so it can move to module level as a {what}"
    if problem.startswith(_FIRST):
        return f"{problem}, then it can move to module level as a {what}"
    return f"{problem}, so it needs a redesign: a module-level {what} that takes them as inputs"


@dataclass(frozen=True, slots=True, eq=False)
class Hoist(Fix):
    """The definition statement starting at `line` moves to module level (unsafe: a
    decorator that ran once per call of its function now runs once per import)."""

    line: int
    applicability: Applicability = "unsafe"

    def plan(self, finding: Finding, planning: FixRound) -> PlannedFix | None:
        from dara_migrate.hoist import plan_hoist

        hoist = plan_hoist(planning.text_of(finding.path), self.line)
        return PlannedFix(finding, hoist[0], hoist[1]) if hoist else None


class RuntimeDefinition(Rule):
    code = "DM301"
    name = "runtime-definition"
    severity = "error"
    fix = "blocker"
    summary = "definition created while handling a request"
    docs = RuleDocs(
        what="A DerivedVariable, DerivedDataVariable, ServerVariable, DataVariable, "
        "StreamVariable, BackendStore or uid-keyed Variable (every DM101 kind), an `@action` or "
        "`@py_component` definition (decorated `def` or `action(fn)` call), or a DM105 factory "
        "call (`UpdateVariable(...)`, `NavigateTo(<callable>)`, `DownloadContent`, "
        "`SideEffect`), created by request-time code: the body of a py_component, action, "
        "DerivedVariable function, endpoint, upload resolver or scheduler job, or a helper "
        "reached from one. Definitions in page builders, page classes and other build-time "
        "code are not this rule (DM101, DM302).",
        why="The definition is registered on the worker that handled the request, when it "
        "handled it, and again on every later run. Another worker never ran that code and "
        "cannot resolve the id; no id scheme fixes that. A literal uid makes it worse: "
        "DerivedVariable, ServerVariable and StreamVariable raise `ValueError` on the second "
        "render.",
        use_instead="Create the definition once at module level (or in a page builder) and "
        "pass the per-request values in as variables or action arguments.",
        fix_safety="Blocker: moving a definition out of a request changes when it runs. When "
        "it uses no local name of the code around it, the message says so and hoisting it to "
        "module level (after the last module-level binding it references) is offered as an "
        "unsafe fix. A factory call DM105 rewrites (a static form, or one module-level "
        "`@action`) has that fix's safety: the rewrite removes the per-request definition.",
        confidence="High for when code runs: request roots are followed through project "
        "calls across modules. Whether a definition uses a local name is judged from the "
        "names the analysis records (call arguments, assignments, decorators, stores); a name "
        "used only in a bare `return x` or a condition is not seen, so check before hoisting.",
    )
    VALID: ClassVar[list[Example]] = [
        Example.module(
            "from dara.core import ConfigurationBuilder, DerivedVariable, Variable, "
            "py_component\n"
            "from dara.components import Stack, Text\n\n"
            "config = ConfigurationBuilder()\n"
            "count = Variable(0)\n\n"
            "def home():\n"
            "    double = DerivedVariable(lambda c: c * 2, variables=[count], "
            "uid='app.main:home.double')\n"
            "    return Stack(panel(double))\n\n"
            "@py_component\n"
            "def panel(value: int):\n"
            "    return Text(str(value))\n\n"
            "config.router.add_page(path='/', content=home(), id='index')\n",
            note="a page builder called once while the app is built is build time (DM101 "
            "covers its uids)",
        ),
    ]
    INVALID: ClassVar[list[Example]] = [
        Example({
            "app/__init__.py": '"""The app package."""\n',
            "app/cards.py": "import dara.core as dc\n\n"
            "def make_card(source):\n"
            "    return dc.DerivedVariable(lambda s: s, variables=[source])  # expect: DM301\n",
            "app/main.py": "from dara.core import UpdateVariable, Variable, action, py_component\n"
            "from dara.core import ServerVariable as SV\n"
            "from dara.components import Button, Stack, Text\n"
            "from app.cards import make_card\n\n"
            "count = Variable(0)\n\n"
            "@py_component\n"
            "def panel(limit: int):\n"
            "    rows = SV(default=[], uid='rows')  # expect: DM301\n"
            "    card = make_card(count)\n\n"
            "    @action  # expect: DM301\n"
            "    async def bump(ctx: action.Ctx, old: int):\n"
            "        await ctx.update(count, min(old + 1, limit))\n\n"
            "    reset = UpdateVariable(lambda ctx: 0, count)  # expect: DM105 DM301\n"
            "    return Stack(Text(card), Button('+1', onclick=bump(count)), "
            "Button('0', onclick=reset))\n",
        },
        fixed={
            "app/main.py": (
                "from dara.core import UpdateVariable, Variable, action, py_component\n"
                "from dara.core import ServerVariable as SV\n"
                "from dara.components import Button, Stack, Text\n"
                "from app.cards import make_card\n\n"
                "rows = SV(default=[], uid='rows')\n\n"
                "count = Variable(0)\n\n"
                "@py_component\n"
                "def panel(limit: int):\n"
                "    card = make_card(count)\n\n"
                "    @action\n"
                "    async def bump(ctx: action.Ctx, old: int):\n"
                "        await ctx.update(count, min(old + 1, limit))\n\n"
                "    reset = UpdateVariable(lambda ctx: 0, count)\n"
                "    return Stack(Text(card), Button('+1', onclick=bump(count)), "
                "Button('0', onclick=reset))\n"
            ),
        }),
    ]

    def check(self, ctx: Context) -> Iterator[Finding]:
        index = ctx.index
        for definition in collect_definitions(index):
            facts, call = definition.facts, definition.call
            if not ctx.is_selected(facts) or index.when_at(facts, call.scope) != "request":
                continue
            uid = definition.uid
            crash = " (its literal uid raises ValueError on the second run)" if (
                uid is not None and uid.kind == "str"
                and definition.registry in _RAISING_REGISTRIES) else ""
            problem = call_hoist_problem(index, facts, call)
            yield ctx.at_call(
                self, facts, call,
                f"{definition.api} created while handling a request "
                f"({where_at_request(index, facts, call.scope)}) is registered again on every "
                f"run and only on this worker{crash}; "
                + _hoist_advice(problem, "definition with a uid"),
                fix=Hoist(call.stmt_line) if problem is None else "blocker",
            )
        for facts, call, api in action_factory_calls(index):
            if ctx.is_selected(facts) and index.when_at(facts, call.scope) == "request":
                rewrite = factory_fix(index, facts, call, api)
                yield ctx.at_call(
                    self, facts, call,
                    f"{api}(...) defines a new @action on every request "
                    f"({where_at_request(index, facts, call.scope)}), known only to this "
                    "worker; define one module-level @action instead (see DM105)",
                    fix=RewrittenByDM105(rewrite.applicability) if rewrite else "default",
                )
        for api in sorted(DECORATORS):
            for facts, call in index.calls_by_api.get(api, ()):
                if (call.args and ctx.is_selected(facts)
                        and index.when_at(facts, call.scope) == "request"):
                    yield ctx.at_call(
                        self, facts, call,
                        f"{api}(...) defines a new {api} while handling a request "
                        f"({where_at_request(index, facts, call.scope)}), known only to this "
                        "worker; " + _hoist_advice(call_hoist_problem(index, facts, call),
                                                   f"@{api}"),
                    )
            for facts, scope in index.decorated[api]:
                if not ctx.is_selected(facts) or index.when_at(facts, scope.parent) != "request":
                    continue
                problem = def_hoist_problem(index, facts, scope)
                yield ctx.at_scope(
                    self, facts, scope,
                    f"@{api} `{scope.name}` is defined while handling a request "
                    f"({where_at_request(index, facts, scope.parent)}): every run registers a "
                    "new definition only this worker knows; " + _hoist_advice(problem, f"@{api}"),
                    fix=Hoist(scope.stmt_line) if problem is None else "blocker",
                )


class NestedDefinition(Rule):
    code = "DM302"
    name = "nested-definition"
    severity = "warning"
    fix = "unsafe"
    summary = "@action / @py_component defined inside a build-time function"
    docs = RuleDocs(
        what="An `@action` or `@py_component` defined inside a function that runs while the "
        "app is built or started: a page builder, a page class's `__init__`/`__call__`, an "
        "`on_startup` function. Definitions inside request-time code are DM301; methods of a "
        "module-level class are DM502; functions nothing in the project calls (test bodies, "
        "say) are left alone.",
        why="Dara can only derive a stable id for a decorator at module level (module path + "
        "qualified name). A nested definition is a new object every time its function runs, "
        "and nothing outside the function can name it.",
        use_instead="Define it at module level and pass what it used from the builder as "
        "arguments (variables stay dynamic, other values become typed static kwargs).",
        fix_safety="Unsafe when the definition uses no local name of the function around it: "
        "hoisting it to module level (after the last module-level binding it references) "
        "keeps its behaviour, but a decorator that ran once per builder call now runs once "
        "per import. Manual when it uses local names.",
        confidence="High for finding nested definitions. Whether a definition uses a local "
        "name is judged from the names the analysis records (call arguments, assignments, "
        "decorators, stores); a name used only in a bare `return x` or a condition is not "
        "seen.",
    )
    VALID: ClassVar[list[Example]] = [
        Example.module(
            "from dara.core import ConfigurationBuilder, Variable, py_component\n"
            "from dara.components import Stack, Text\n\n"
            "config = ConfigurationBuilder()\n"
            "count = Variable(0)\n\n"
            "@py_component\n"
            "def counter(value: int):\n"
            "    return Text(str(value))\n\n"
            "class Home:\n"
            "    def __call__(self):\n"
            "        return Stack(counter(count))\n\n"
            "config.router.add_page(path='/', content=Home(), id='index')\n"
        ),
    ]
    INVALID: ClassVar[list[Example]] = [
        Example.module(
            "import dara.core as dc\n"
            "from dara.components import Button, Stack, Text\n\n"
            "config = dc.ConfigurationBuilder()\n"
            "count = dc.Variable(0)\n\n"
            "class Home:\n"
            "    def __call__(self):\n"
            "        @dc.py_component  # expect: DM302\n"
            "        def counter(value: int):\n"
            "            return Text(str(value))\n"
            "        return Stack(counter(count))\n\n"
            "def reports(title: str):\n"
            "    @dc.action  # expect: DM302\n"
            "    async def rename(ctx: dc.action.Ctx):\n"
            "        await ctx.notify(title, 'renamed', 'SUCCESS')\n"
            "    return Button(title, onclick=rename())\n\n"
            "config.router.add_page(path='/', content=Home(), id='index')\n"
            "config.router.add_page(path='reports', content=reports('Reports'), id='reports')\n",
            fixed=(
                "import dara.core as dc\n"
                "from dara.components import Button, Stack, Text\n\n\n"
                "@dc.py_component\n"
                "def counter(value: int):\n"
                "    return Text(str(value))\n\n\n"
                "config = dc.ConfigurationBuilder()\n"
                "count = dc.Variable(0)\n\n"
                "class Home:\n"
                "    def __call__(self):\n"
                "        return Stack(counter(count))\n\n"
                "def reports(title: str):\n"
                "    @dc.action\n"
                "    async def rename(ctx: dc.action.Ctx):\n"
                "        await ctx.notify(title, 'renamed', 'SUCCESS')\n"
                "    return Button(title, onclick=rename())\n\n"
                "config.router.add_page(path='/', content=Home(), id='index')\n"
                "config.router.add_page(path='reports', content=reports('Reports'), "
                "id='reports')\n"
            )
        ),
    ]

    def check(self, ctx: Context) -> Iterator[Finding]:
        index = ctx.index
        for api in sorted(DECORATORS):
            for facts, scope in index.decorated[api]:
                function = index.function_scope(facts, scope.parent)
                when = index.when_at(facts, scope.parent)
                if function == 0 or when not in ("build", "startup") or not ctx.is_selected(
                        facts):
                    continue
                outer = facts.scopes[function].qualname
                note = " (an on_startup function)" if when == "startup" else ""
                if index.runs_at(facts, function) > 1:
                    note += ", which runs more than once and defines a new one each time"
                problem = def_hoist_problem(index, facts, scope)
                yield ctx.at_scope(
                    self, facts, scope,
                    f"@{api} `{scope.name}` is defined inside `{outer}`{note}: Dara can only "
                    f"give a top-level {api} a stable id; "
                    + _hoist_advice(problem, f"@{api}"),
                    fix=Hoist(scope.stmt_line) if problem is None else "manual",
                )


def _reached(index: ProjectIndex, roots: Iterable[ScopeRef]) -> set[ScopeRef]:
    seen = set(roots)
    queue = deque(sorted(seen))
    while queue:
        for edge in index.edges.get(queue.popleft(), ()):
            if edge.target not in seen:
                seen.add(edge.target)
                queue.append(edge.target)
    return seen


def _mentioned_outside_requests(index: ProjectIndex, wanted: dict[ScopeRef, str]
                                ) -> set[ScopeRef]:
    """Functions in `wanted` whose name appears in code that does not run at request time
    (a reference in a dict, an argument, an alias), so they may be called from there."""
    names = set(wanted.values())
    found: set[ScopeRef] = set()
    if not names:
        return found  # no function to look for: no file can mention one
    for facts in index.files.values():
        renamed = {b.name for b in index.import_bindings.get(facts.path, ())
                   if b.kind == "import" and b.target.rsplit(".", 1)[-1] in names}
        if facts.names.isdisjoint(names) and facts.names.isdisjoint(renamed):
            continue
        aliases = names | renamed if renamed else names
        uses: list[Use] = []
        for call in facts.calls:
            if _mentions(call, aliases):
                uses += [u for u in _call_uses(call) if u[1] in aliases]
        for binding in facts.bindings:
            if binding.value is not None and binding.kind != "import" and (
                    not aliases.isdisjoint(binding.value.names)):
                uses += [u for u in _value_uses(binding.scope, binding.value) if u[1] in aliases]
        for scope_id, name in uses:
            if index.when_at(facts, scope_id) == "request":
                continue
            function = index.resolve(facts, scope_id, name).function
            if function in wanted:
                found.add(function)
    return found


class RenderOnlyPyComponent(Rule):
    code = "DM303"
    name = "render-only-py-component"
    severity = "info"
    fix = "manual"
    summary = "top-level @py_component first registered during another one's render"
    docs = RuleDocs(
        what="A module-level `@py_component` that is only ever called inside another "
        "py_component's render: every call site runs at request time, in a py_component "
        "body or in a helper reached from one, and no build-time code refers to it.",
        why="`@py_component` registers its definition lazily, on the first call. A component "
        "only called during a render is therefore registered while a request is handled, and "
        "only on the workers that have rendered its parent; a worker that has not cannot "
        "resolve it (Dara's lookup retries hide this on one worker).",
        use_instead="Nothing is wrong in the code itself. Once Dara registers py_components "
        "at decoration time this goes away; until then expect the first render on each "
        "worker to register it, or render it once from a page so it registers at build.",
        fix_safety="Manual: informational.",
        confidence="Medium: call sites are followed through project calls across modules; "
        "calls through dynamic dispatch are not seen, and any mention of the function in "
        "build-time code (a dict, an argument) suppresses the finding.",
    )
    VALID: ClassVar[list[Example]] = [
        Example.module(
            "from dara.core import ConfigurationBuilder, Variable, py_component\n"
            "from dara.components import Stack, Text\n\n"
            "config = ConfigurationBuilder()\n"
            "count = Variable(0)\n\n"
            "@py_component\n"
            "def badge(value: int):\n"
            "    return Text(str(value))\n\n"
            "@py_component\n"
            "def panel(value: int):\n"
            "    return Stack(badge(value))\n\n"
            "def home():\n"
            "    return Stack(panel(count), badge(count))\n\n"
            "config.router.add_page(path='/', content=home, id='index')\n",
            note="also called while the page is built",
        ),
    ]
    INVALID: ClassVar[list[Example]] = [
        Example({
            "app/__init__.py": '"""The app package."""\n',
            "app/parts.py": "from dara.core import py_component\n"
            "from dara.components import Text\n\n"
            "@py_component  # expect: DM303\n"
            "def badge(value: int):\n"
            "    return Text(str(value))\n\n"
            "def badges(values):\n"
            "    return [badge(v) for v in values]\n",
            "app/main.py": "import dara.core as dc\n"
            "from dara.components import Stack\n"
            "from app.parts import badges\n\n"
            "config = dc.ConfigurationBuilder()\n"
            "count = dc.Variable(0)\n\n"
            "@dc.py_component\n"
            "def panel(value: int):\n"
            "    return Stack(*badges([value, value + 1]))\n\n"
            "config.router.add_page(path='/', content=lambda: Stack(panel(count)), "
            "id='index')\n",
        }),
    ]

    def check(self, ctx: Context) -> Iterator[Finding]:
        index = ctx.index
        components = {(facts.path, scope.id): (facts, scope)
                      for facts, scope in index.decorated["py_component"] if scope.parent == 0}
        renders = _reached(index, components)
        escaped = _mentioned_outside_requests(
            index, {ref: scope.name for ref, (_, scope) in components.items()})
        for ref, (facts, scope) in sorted(components.items()):
            if ref in escaped or not ctx.is_selected(facts):
                continue
            callers = {edge.source for edge in index.callers.get(ref, ()) if edge.source != ref}
            if not callers or any(index.when_of(c) != "request" or c not in renders
                                  for c in callers):
                continue
            inside = sorted(_label(index, c, facts) for c in callers)
            yield ctx.at_scope(
                self, facts, scope,
                f"@py_component `{scope.name}` is only called during a render "
                f"(from {', '.join(inside[:3])}), so each worker registers it on its first "
                "such render, not at build; a worker that has not rendered it cannot resolve "
                "it",
            )


RULES: list[type[Rule]] = [RuntimeDefinition, NestedDefinition, RenderOnlyPyComponent]
