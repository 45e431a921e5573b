"""DM5xx: static kwargs kept server-side between render and call.

A non-variable argument of an `@action` or `@py_component` call is a static kwarg: Dara keeps
the live object in a process-local dict until the browser calls back. On many workers it
must be rebuilt from a declared, serialisable type, and a bound method's `self` cannot be.
"""

from __future__ import annotations

import builtins
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Literal

from dara_migrate.autofix import Applicability, Fix, FixRound, PlannedFix
from dara_migrate.facts import Binding, Call, FileFacts, Param, Scope, Value
from dara_migrate.index.project import ProjectIndex, ScopeRef, per_index, project_calls
from dara_migrate.models import Finding, Related
from dara_migrate.rules._helpers import (
    VARIABLE_TYPES,
    ctx_param,
    is_action_ctx,
    nested_variable,
    variable_kind,
)
from dara_migrate.rules.base import Context, Example, Rule, RuleDocs
from dara_migrate.rules.runtime_defs import def_uses, subtree
from dara_migrate.target import ENCODER_TYPES, LIBRARY_VARIABLE_METHODS

Kind = Literal["dynamic", "static", "unknown"]
CallSite = tuple[FileFacts, Call]

_DECORATORS = ("py_component", "action")
_TYPING_PREFIXES = ("typing.", "typing_extensions.", "builtins.", "collections.abc.")
_JSON_SCALARS = frozenset({"str", "int", "float", "bool", "None", "NoneType"})
_JSON_CONTAINERS = frozenset({
    "list", "dict", "tuple", "List", "Dict", "Tuple", "Sequence", "Mapping",
})
_UNIONS = frozenset({"Union", "Optional", "|"})
_OPAQUE = frozenset({"Any", "object"})
_MODEL_BASES = frozenset({"TypedDict"})
_LITERAL_KINDS = frozenset({
    "str", "const", "fstring", "container", "dict", "binop", "comprehension", "lambda",
})
_BUILTINS = frozenset(dir(builtins))
_IDENTIFIER = re.compile(r"[A-Za-z_][\w.]*")
_MAX_DEPTH = 5


def _split_top(text: str, separator: str) -> list[str]:
    """Split on `separator` outside brackets."""
    parts: list[str] = []
    depth, start = 0, 0
    for position, char in enumerate(text):
        if char == "[":
            depth += 1
        elif char == "]":
            depth -= 1
        elif char == separator and depth == 0:
            parts.append(text[start:position].strip())
            start = position + 1
    parts.append(text[start:].strip())
    return [p for p in parts if p]


def _parse(annotation: str) -> tuple[str, list[str]]:
    """`Optional[list[int]]` -> (`Optional`, [`list[int]`]); `a | b` -> (`|`, [a, b])."""
    text = annotation.strip()
    union = _split_top(text, "|")
    if len(union) > 1:
        return "|", union
    if text.endswith("]") and "[" in text:
        head, _, inner = text[:-1].partition("[")
        return head.strip(), _split_top(inner, ",")
    return text, []


def _plain(qualified: str) -> str:
    """`typing.Optional` -> `Optional`, `builtins.str` -> `str`; other names unchanged."""
    for prefix in _TYPING_PREFIXES:
        if qualified.startswith(prefix):
            return qualified[len(prefix):]
    return qualified


def _has_receiver(facts: FileFacts, scope: Scope) -> bool:
    """A method that Python binds to an instance (or class): its first parameter is taken."""
    return (bool(scope.params) and facts.scopes[scope.parent].kind == "class"
            and not any(d.text == "staticmethod" for d in scope.decorators))


class SerialisableTypes:
    """What Dara can rebuild a static kwarg from: JSON types, pydantic models, encoders."""

    def __init__(self, index: ProjectIndex) -> None:
        self.index = index
        self.encoder_names: set[str] = set()
        self.encoder_classes: set[ScopeRef] = set()
        for facts, call in index.method_calls.get(("ConfigurationBuilder", "add_encoder"), ()):
            typ = call.argument(0, "typ")
            if typ is not None and typ.kind in ("name", "attr"):
                resolved = index.resolve(facts, call.scope, typ.text)
                self.encoder_names.add(resolved.qualified)
                if resolved.function is not None:
                    self.encoder_classes.add(resolved.function)

    def offending(self, facts: FileFacts, scope_id: int, annotation: str,
                  nested: bool = False) -> str | None:
        """The part of an annotation Dara cannot serialise, or None when all of it can be.

        `Any`/`object` inside a container are accepted: the container itself is JSON.
        Fragments the reader could not spell (`?`) are not judged.
        """
        head, args = _parse(annotation)
        if head in ("", "?"):
            return None
        name, resolved_function, qualified = self._name(facts, scope_id, head)
        if name == "Literal":
            return None
        if name == "Annotated":
            return self.offending(facts, scope_id, args[0], nested) if args else None
        if name in _UNIONS:
            return self._first(facts, scope_id, args, nested)
        if name in _OPAQUE:
            return None if nested else head
        if name in _JSON_SCALARS:
            return None
        if name in _JSON_CONTAINERS:
            return self._first(facts, scope_id, args, True)
        if self._known_class(qualified, resolved_function):
            return None
        return head

    def _first(self, facts: FileFacts, scope_id: int, parts: Iterable[str],
               nested: bool) -> str | None:
        for part in parts:
            found = self.offending(facts, scope_id, part, nested)
            if found is not None:
                return found
        return None

    def _name(self, facts: FileFacts, scope_id: int, head: str
              ) -> tuple[str, ScopeRef | None, str]:
        if head == "|":
            return head, None, head
        resolved = self.index.resolve(facts, scope_id, head)
        return _plain(resolved.qualified), resolved.function, resolved.qualified

    def _known_class(self, qualified: str, function: ScopeRef | None) -> bool:
        if qualified in ENCODER_TYPES or qualified in self.encoder_names:
            return True
        # Dara's public classes (components, variables, actions) are pydantic models.
        if qualified.startswith(("dara.", "pydantic.", "pydantic_settings.")):
            return True
        return function is not None and self.class_serialisable(function)

    def class_serialisable(self, cls: ScopeRef, depth: int = 0) -> bool:
        """A project class that is a pydantic model (or TypedDict), or has an encoder."""
        if cls in self.encoder_classes:
            return True
        facts = self.index.files[cls[0]]
        scope = facts.scopes[cls[1]]
        if scope.kind != "class" or depth > _MAX_DEPTH:
            return False
        for base in scope.bases:
            resolved = self.index.resolve(facts, scope.parent, base)
            name = _plain(resolved.qualified)
            if name in _MODEL_BASES or name in self.encoder_names or name.startswith(
                    ("dara.", "pydantic.", "pydantic_settings.")):
                return True
            if resolved.function is not None and resolved.function != cls and (
                    self.class_serialisable(resolved.function, depth + 1)):
                return True
        return False


def call_sites(index: ProjectIndex) -> dict[ScopeRef, list[CallSite]]:
    """Calls of every project function, and of every `__init__` through its class."""
    sites = dict(project_calls(index))
    through_classes: dict[ScopeRef, list[CallSite]] = defaultdict(list)
    for function, calls in sites.items():
        if index.scope(function).kind == "class":
            init = index.class_member(function, "__init__")
            if init is not None:
                through_classes[init] += calls
    for init, calls in through_classes.items():
        # In path-then-call order, as `project_calls` lists each function's calls.
        sites[init] = sorted([*sites.get(init, ()), *calls],
                             key=lambda site: (site[0].path, site[1].id))
    return sites


def _bound(index: ProjectIndex, facts: FileFacts, call: Call, method: ScopeRef) -> bool:
    """`obj.method(...)` or `Cls(...)`: Python supplies the receiver; `Cls.method(obj)` not."""
    receiver = call.callee.rpartition(".")[0]
    if not receiver:
        return True
    cls = (method[0], index.scope(method).parent)
    return index.resolve(facts, call.scope, receiver).function != cls


def map_arguments(index: ProjectIndex, ref: ScopeRef, site: CallSite,
                  ctx_name: str = "") -> Iterator[tuple[Param, Value]]:
    """Which parameter of `ref` each argument of a call fills (ctx_name: skipped, injected)."""
    fn_facts = index.files[ref[0]]
    scope = fn_facts.scopes[ref[1]]
    facts, call = site
    positional = [p for p in scope.params if p.kind == "positional" and p.name != ctx_name]
    if _has_receiver(fn_facts, scope) and _bound(index, facts, call, ref):
        positional = positional[1:]
    yield from zip(positional, call.args, strict=False)
    named = {p.name: p for p in scope.params if p.kind in ("positional", "keyword")}
    for keyword, value in call.kwargs:
        by_name = named.get(keyword)
        if by_name is not None and by_name.name != ctx_name:
            yield by_name, value


def _combine(kinds: Iterable[Kind]) -> Kind:
    """A value that is static on any path is static there; all dynamic is dynamic."""
    seen = set(kinds)
    if "static" in seen:
        return "static"
    if "unknown" in seen or not seen:
        return "unknown"
    return "dynamic"


class StaticnessReader:
    """Whether an argument is provably a Dara variable (dynamic), provably not, or unknown."""

    def __init__(self, index: ProjectIndex, sites: dict[ScopeRef, list[CallSite]]) -> None:
        self.index = index
        self.sites = sites
        self.decorated = {(facts.path, scope.id) for kind in _DECORATORS
                          for facts, scope in index.decorated.get(kind, ())}
        self.factories: dict[ScopeRef, bool] = {}
        self.traced: dict[tuple[str, int, str], Kind] = {}

    def kind(self, facts: FileFacts, scope_id: int, value: Value, depth: int = 0) -> Kind:
        if depth > _MAX_DEPTH:
            return "unknown"
        if value.kind in _LITERAL_KINDS:
            return "static"
        if value.kind == "call":
            return self._call(facts, scope_id, facts.calls[value.call])
        if value.kind in ("name", "attr"):
            return self.name_kind(facts, scope_id, value.text, depth)
        if value.kind == "each":
            return "unknown"  # a loop variable: one of several values, not traced here
        # Subscripts, conditionals, operators: static only when every name in them is, and
        # no container they index holds a variable (`FILTERS['region']`).
        kinds = [self._element_kind(facts, scope_id, n, depth + 1)
                 for n in value.names if n not in _BUILTINS]
        return "static" if all(k == "static" for k in kinds) else "unknown"

    def _element_kind(self, facts: FileFacts, scope_id: int, name: str, depth: int) -> Kind:
        kind = self.name_kind(facts, scope_id, name, depth)
        bound = _assigned_value(self.index, facts, scope_id, name)
        if kind != "static" or bound is None:
            return kind
        owner, owner_scope, value = bound
        if value.kind not in ("container", "dict", "comprehension"):
            return kind
        if any(self.index.resolve(owner, owner_scope, callee).api in VARIABLE_TYPES
               for callee in value.calls):
            return "unknown"
        return "static" if all(self.kind(owner, owner_scope, item, depth + 1) == "static"
                               for item in value.items) else "unknown"

    def _call(self, facts: FileFacts, scope_id: int, call: Call) -> Kind:
        if nested_variable(self.index, facts, call):
            return "dynamic"
        resolved = self.index.resolve_call(facts, call)
        receiver = call.callee.rpartition(".")[0]
        if resolved.api in VARIABLE_TYPES or (receiver and self.index.resolve(
                facts, scope_id, receiver).api in VARIABLE_TYPES):
            return "dynamic"
        if resolved.instance_of and (
                f"{resolved.instance_of}.{resolved.attribute}" in LIBRARY_VARIABLE_METHODS):
            return "dynamic"
        if resolved.function is None:
            return "static"
        if self.index.scope(resolved.function).kind == "class":
            return "unknown" if self._variable_class(resolved.function) else "static"
        # A project factory that builds a variable may return it.
        return "unknown" if self._makes_variable(resolved.function) else "static"

    def _variable_class(self, cls: ScopeRef) -> bool:
        facts = self.index.files[cls[0]]
        scope = facts.scopes[cls[1]]
        return any(self.index.resolve(facts, scope.parent, base).api in VARIABLE_TYPES
                   for base in scope.bases)

    def _makes_variable(self, function: ScopeRef) -> bool:
        if function not in self.factories:
            facts = self.index.files[function[0]]
            self.factories[function] = any(
                call.scope == function[1] and (
                    self.index.resolve_call(facts, call).api in VARIABLE_TYPES
                    or nested_variable(self.index, facts, call) is not None)
                for call in facts.calls)
        return self.factories[function]

    def name_kind(self, facts: FileFacts, scope_id: int, dotted: str, depth: int) -> Kind:
        if depth > _MAX_DEPTH:
            return "unknown"
        if variable_kind(self.index, facts, scope_id, dotted):
            return "dynamic"
        head, _, rest = dotted.partition(".")
        found = self.index.lookup(facts, scope_id, head)
        if found is None:
            # `str.title`, `len`: a builtin is a plain value, never a Dara variable (unless
            # a star import may bring a name that shadows it).
            return "static" if head in _BUILTINS and not self.index.bindings_in(
                facts.path, 0, "*") else "unknown"
        binding, bound_in = found
        if binding.kind in ("import", "import_module"):
            return self._imported(facts, binding, rest, depth)
        if binding.kind in ("def", "class"):
            return self._definition(facts, scope_id, head, rest, depth)
        if binding.kind == "param":
            return self._param(facts, bound_in, binding, rest, depth)
        if binding.kind == "assign" and not rest:
            return _combine(
                self.kind(facts, bound_in, b.value, depth + 1)
                if b.kind == "assign" and b.value is not None else "unknown"
                for b in self.index.bindings_in(facts.path, bound_in, head))
        if binding.kind == "assign" and binding.value is not None and (
                binding.value.kind == "call"):
            # An attribute of a library object cannot be a Dara variable; of a project one, it may.
            made = self.index.resolve_call(facts, facts.calls[binding.value.call])
            return "unknown" if made.function or made.api or made.instance_of else "static"
        return "unknown"

    def _imported(self, facts: FileFacts, binding: Binding, rest: str, depth: int) -> Kind:
        qualified = f"{binding.target}.{rest}" if rest else binding.target
        parts = qualified.split(".")
        for cut in range(len(parts) - 1, 0, -1):
            module = self.index.module_named(".".join(parts[:cut]), facts)
            if module is not None:
                return self.name_kind(module, 0, ".".join(parts[cut:]), depth + 1)
        return "unknown" if qualified.startswith("dara.") else "static"

    def _definition(self, facts: FileFacts, scope_id: int, head: str, rest: str,
                    depth: int) -> Kind:
        if not rest:
            return "static"
        owner = self.index.resolve(facts, scope_id, head).function
        if owner is None or "." in rest:
            return "unknown"
        if self.index.class_member(owner, rest) is not None:
            return "static"
        attributes = self.index.bindings_in(owner[0], owner[1], rest)
        return _combine(self.kind(self.index.files[owner[0]], owner[1], b.value, depth + 1)
                        if b.kind == "assign" and b.value is not None else "unknown"
                        for b in attributes)

    def _param(self, facts: FileFacts, scope_id: int, binding: Binding, rest: str,
               depth: int) -> Kind:
        scope = facts.scopes[scope_id]
        if _has_receiver(facts, scope) and scope.params[0].name == binding.name:
            return self._receiver_attribute(facts, scope, rest, depth) if rest else "static"
        if rest:
            return "unknown"
        if (facts.path, scope_id) in self.decorated:
            # Dara calls action and py_component bodies with values, never with variables.
            return "static"
        annotation = binding.target
        if annotation and annotation.split("[")[0].strip() not in _OPAQUE:
            mentioned = [self.index.resolve(facts, scope.parent, name).api
                         for name in _IDENTIFIER.findall(annotation)]
            if any(api in VARIABLE_TYPES for api in mentioned):
                return "unknown"
            return "static"
        key = (facts.path, scope_id, binding.name)
        if key not in self.traced:
            # Marked first, so that recursion through the same parameter stops.
            self.traced[key] = "unknown"
            self.traced[key] = _combine(
                self.kind(site[0], site[1].scope, value, depth + 1)
                for site in self.sites.get((facts.path, scope_id), ())
                for param, value in map_arguments(self.index, (facts.path, scope_id), site)
                if param.name == binding.name)
        return self.traced[key]

    def _receiver_attribute(self, facts: FileFacts, method: Scope, rest: str,
                            depth: int) -> Kind:
        if "." in rest:
            return "unknown"
        stored = self.index.stores_on_self(facts, method.parent, rest)
        if self.index.class_member((facts.path, method.parent), rest) is not None:
            return "static"
        return _combine(self.kind(facts, b.scope, b.value, depth + 1)
                        if b.value is not None else "unknown" for b in stored)


def _assigned_value(index: ProjectIndex, facts: FileFacts, scope_id: int, name: str,
                    depth: int = 0) -> tuple[FileFacts, int, Value] | None:
    """The value a name is assigned, following `from module import name` in the project."""
    found = index.lookup(facts, scope_id, name)
    if found is None or depth > _MAX_DEPTH:
        return None
    binding, bound_in = found
    if binding.kind == "assign" and binding.value is not None:
        return facts, bound_in, binding.value
    if binding.kind == "import":
        module, _, imported = binding.target.rpartition(".")
        source = index.module_named(module, facts)
        if source is not None:
            return _assigned_value(index, source, 0, imported, depth + 1)
    return None


def _describe(value: Value) -> str:
    if value.kind == "str" and isinstance(value.const, str):
        text = value.const if len(value.const) <= 24 else f"{value.const[:21]}..."
        return repr(text)
    if value.kind == "const":
        return repr(value.const)
    if value.kind in ("call", "name", "attr") and value.text:
        return f"`{value.text}{'(...)' if value.kind == 'call' else ''}`"
    described = {
        "fstring": "an f-string", "container": "a list or tuple", "dict": "a dict",
        "lambda": "a lambda", "comprehension": "a comprehension",
    }.get(value.kind)
    if described:
        return described
    names = ", ".join(dict.fromkeys(value.names))
    return f"an expression of `{names}`" if names else "an expression"


def _annotation_problem(types: SerialisableTypes, facts: FileFacts, scope: Scope,
                        param: Param) -> str | None:
    if not param.annotation:
        return "has no annotation"
    offending = types.offending(facts, scope.parent, param.annotation)
    if offending is None:
        return None
    if offending in _OPAQUE or offending.rpartition(".")[2] in _OPAQUE:
        return f"is annotated `{param.annotation}`, which names no type to rebuild"
    if offending == param.annotation:
        return f"is annotated `{offending}`, which Dara cannot serialise"
    return f"is annotated `{param.annotation}`; Dara cannot serialise `{offending}`"


class UntypedStaticKwarg(Rule):
    code = "DM501"
    name = "untyped-static-kwarg"
    severity = "error"
    fix = "manual"
    summary = "action / py_component parameter given a static value without a serialisable type"
    docs = RuleDocs(
        what="An `@action` or `@py_component` parameter that receives a static value at some "
        "call site in the project (a literal, list, dict, f-string, lambda, a name bound to "
        "one, the result of a call that is not a Dara variable) and whose annotation is "
        "missing, `Any`/`object`, or a type Dara cannot serialise: not a JSON type (`str`, "
        "`int`, `float`, `bool`, `None`, `list`, `dict`, `tuple`, `Sequence`, `Mapping`, "
        "`Optional`/`Union`/`Literal` of those; `Any` is accepted inside a container), not a "
        "pydantic model or TypedDict, not a type in dara-core's encoder registry (numpy and "
        "pandas types) and not one passed to `config.add_encoder`. The action's `ctx` and a "
        "method's `self` are skipped (DM502 covers `self`). Reported at the decorator.",
        why="Dara keeps static kwargs as live objects in a dict of the worker that rendered "
        "the component, keyed by a random id. On many workers the browser's call can land "
        "elsewhere, so the runtime must serialise them and rebuild them from the declared "
        "type; without a usable type it cannot.",
        use_instead="Annotate the parameter with what it receives: a JSON type, a pydantic "
        "model, a pandas/numpy type Dara encodes, or register an encoder with "
        "`config.add_encoder(typ=..., serialize=..., deserialize=...)`. Or pass a Variable "
        "instead, so the value travels from the browser.",
        fix_safety="Manual: the right type is a decision about the data. Unsafe where a "
        "parameter with no annotation is given constants of one JSON type at every call site "
        "(`'csv'`, `40` and `99.5`), and has no default or a constant of that type: it is "
        "annotated with that type (`str`, `int`, `float`, `bool`; `float` for ints and "
        "floats); the body, or a caller outside the project, may use it as another.",
        confidence="Medium-high. A value counts as a variable only when provably one (bound "
        "to a variable constructor, a parameter annotated with a variable type, "
        "`var.get(...)`); a helper's unannotated parameter is followed to its callers; what "
        "cannot be decided (loop targets, factories that build variables) is not reported. "
        "Defaults of parameters not passed at a call site are not checked.",
    )
    VALID = [
        Example.module(
            "from typing import Literal, Optional\n\n"
            "import pandas as pd\n"
            "from pydantic import BaseModel\n"
            "from dara.core import Variable, action, py_component\n"
            "from dara.components import Text\n\n"
            "class Filters(BaseModel):\n"
            "    region: str\n\n"
            "sales = Variable([])\n\n"
            "@py_component\n"
            "def chart(data, title: str, kind: Literal['bar', 'line'] = 'bar',\n"
            "          filters: Optional[Filters] = None, frame: pd.DataFrame | None = None):\n"
            "    return Text(title)\n\n"
            "@action\n"
            "async def select(ctx: action.Ctx, row_id: int, rows) -> None: ...\n\n"
            "def section(source):\n"
            "    return chart(source, 'Sales', filters=Filters(region='EU'))\n\n"
            "page = section(sales)\n"
            "on_pick = select(3, sales)\n",
            note="typed static kwargs; an untyped parameter that only receives variables",
        ),
    ]
    INVALID = [
        Example({
            "app/__init__.py": "",
            "app/components.py": "from typing import Any\n\n"
            "from dara.core import action, py_component\n"
            "from dara.components import Text\n\n"
            "class Theme:\n"
            "    colour = 'red'\n\n"
            "@py_component  # expect: DM501\n"
            "def card(title, value: Any, theme: Theme | None = None):\n"
            "    return Text(f'{title}: {value}')\n\n"
            "@action  # expect: DM501\n"
            "async def remove(ctx: action.Ctx, row: dict, on_done) -> None: ...\n",
            "app/pages.py": "from dara.core import Variable\n\n"
            "from app import components as c\n"
            "from app.components import Theme, remove\n\n"
            "total = Variable(0)\n\n"
            "def page():\n"
            "    return c.card('Total', total, theme=Theme())\n\n"
            "delete_first = remove({'id': 1}, lambda: None)\n",
        }, note="each parameter is one finding at the decorator; a constant's type is "
        "written where every call passes one (unsafe)",
        fixed={
            "app/components.py": (
                "from typing import Any\n\n"
                "from dara.core import action, py_component\n"
                "from dara.components import Text\n\n"
                "class Theme:\n"
                "    colour = 'red'\n\n"
                "@py_component\n"
                "def card(title: str, value: Any, theme: Theme | None = None):\n"
                "    return Text(f'{title}: {value}')\n\n"
                "@action\n"
                "async def remove(ctx: action.Ctx, row: dict, on_done) -> None: ...\n"
            ),
        }),
    ]

    def check(self, ctx: Context) -> Iterator[Finding]:
        index = ctx.index
        sites = call_sites(index)
        reader = StaticnessReader(index, sites)
        types = SerialisableTypes(index)
        for kind in _DECORATORS:
            for facts, scope in index.decorated.get(kind, ()):
                if not ctx.is_selected(facts):
                    continue
                ref = (facts.path, scope.id)
                ctx_name = ctx_param(scope) if kind == "action" else ""
                receiver = scope.params[0].name if _has_receiver(facts, scope) else ""
                statics: dict[str, list[tuple[CallSite, Value]]] = defaultdict(list)
                for site in sorted(sites.get(ref, ()), key=lambda s: (s[0].path, s[1].line)):
                    if kind == "action" and self._direct_call(index, site):
                        continue
                    for param, value in map_arguments(index, ref, site, ctx_name):
                        if param.name != receiver and reader.kind(
                                site[0], site[1].scope, value) == "static":
                            statics[param.name].append((site, value))
                for param in scope.params:
                    found = statics.get(param.name)
                    problem = _annotation_problem(types, facts, scope, param) if found else None
                    if found and problem:
                        yield self._finding(ctx, facts, scope, kind, param, problem, found)

    @staticmethod
    def _direct_call(index: ProjectIndex, site: CallSite) -> bool:
        """An action called from inside another one, with its ctx, runs right away."""
        facts, call = site
        return call.awaited or any(
            value.kind == "name" and is_action_ctx(index, facts, call.scope, value.text)
            for value in call.args[:2])

    def _finding(self, ctx: Context, facts: FileFacts, scope: Scope, kind: str, param: Param,
                 problem: str, found: list[tuple[CallSite, Value]]) -> Finding:
        (first_facts, first_call), value = found[0]
        # Given constants of one JSON type everywhere, and a constant of it as the default
        # if it has one, the parameter can say so.
        given = None if param.annotation or (param.has_default and not param.default_type) or (
            param.kind not in ("positional", "keyword")) else _constant_type(
                (value for _, value in found), param.default_type)
        return ctx.at_scope(
            self, facts, scope,
            f"`{param.name}` of @{kind} {scope.name} {problem}, but "
            f"{first_facts.path}:{first_call.span.line} passes it {_describe(value)}; another "
            "worker must rebuild it from its type: annotate a JSON type, a pydantic model or "
            "an encoder type",
            related=[Related(site_facts.path, call.span.line,
                             f"static `{param.name}`: {_describe(site_value)}")
                     for (site_facts, call), site_value in found],
            fix=Annotate(scope.stmt_line, param.name, given) if given else "default",
        )


def _constant_type(values: Iterable[Value], default: str = "") -> str | None:
    """The JSON type of constants all of one type, with the default's type when there is one
    (`int` and `float` make `float`); None where a value is no constant, or `None`, or they
    differ."""
    types = {default} if default else set()
    for value in values:
        const = value.const if value.kind in ("str", "const") else None
        if const is None:
            return None
        types.add(type(const).__name__)
    if types == {"int", "float"}:
        return "float"
    return types.pop() if len(types) == 1 and types <= {"str", "int", "float", "bool"} else None


@dataclass(frozen=True, slots=True, eq=False)
class Annotate(Fix):
    """The unannotated parameter `name` of the function whose statement starts at `line`
    gets the JSON type every call site's constant has (unsafe: the body, or a caller outside
    the project, may use it as another type)."""

    line: int
    name: str
    annotation: str
    applicability: Applicability = "unsafe"

    def plan(self, finding: Finding, planning: FixRound) -> PlannedFix:
        from dara_migrate.edits import AnnotateParameter

        return PlannedFix(finding, [AnnotateParameter(self.line, self.name, self.annotation)],
                          f"{self.name}: {self.annotation}")


@dataclass(frozen=True, slots=True, eq=False)
class Unbind(Fix):
    """The `@py_component` method whose statement starts at `line`, which never uses its
    instance, becomes a module-level function (unsafe: code outside the project that calls
    the method on an instance no longer finds it)."""

    line: int
    applicability: Applicability = "unsafe"

    def plan(self, finding: Finding, planning: FixRound) -> PlannedFix | None:
        from dara_migrate.unbind import plan_unbind

        others = (planning.text_of(path) for path in planning.index.files
                  if path != finding.path)
        found = plan_unbind(planning.text_of(finding.path), self.line, others)
        return PlannedFix(finding, found[0], found[1]) if found else None


def _unbindable(index: ProjectIndex, facts: FileFacts, scope: Scope, cls: Scope) -> bool:
    """Whether a decorated method may move out of its class as it is: a method of a
    module-level class nothing in the project derives from, with no other decorator, whose
    body never names its receiver (as far as the facts show: the fix checks the source)."""
    if cls.parent != 0 or len(scope.decorators) != 1:
        return False
    receiver = scope.params[0].name
    inside = subtree(facts, scope.id)
    if any(receiver == name for _, name in def_uses(facts, scope, inside)) or any(
            b.scope in inside and b.kind != "param" and b.name.partition(".")[0] == receiver
            for b in facts.bindings):
        return False
    return cls.name not in _base_names(index) and not _named_elsewhere(index, facts, scope, cls)


def _named_elsewhere(index: ProjectIndex, facts: FileFacts, scope: Scope, cls: Scope) -> bool:
    """Whether the project names the method other than as `self.<name>(...)` in its class's
    own methods (as far as the facts show: the fix checks the source and every file's text):
    in its module, a name bound at module level, another definition of that name, a call or
    a reference (`map(self.chip, ...)`, `footer.note(...)`); elsewhere, a call resolved to
    it. Only the method's own file is read: checking every file for every method would cost
    the audit a pass over the project per method."""
    name = scope.name
    if name in index.module_bindings.get(facts.path, {}) or any(
            named.name == name for named in facts.scopes if named is not scope):
        return True
    own: dict[str, set[int]] = {}
    for method in facts.scopes:
        if method.parent == cls.id and method.kind == "function" and method.params:
            own.setdefault(f"{method.params[0].name}.{name}", set()).add(method.id)
    for call in facts.calls:
        if call.callee.rpartition(".")[2] == name and call.scope not in own.get(call.callee,
                                                                                  ()):
            return True
        if any(_names(value, name) for value in call.args) or any(
                _names(value, name) for _, value in call.kwargs):
            return True
    if any(binding.value is not None and _names(binding.value, name)
           for binding in facts.bindings):
        return True
    return any(edge.source[0] != facts.path for edge in index.callers.get(
        (facts.path, scope.id), ()))


def _names(value: Value, name: str) -> bool:
    """Whether a value is, or holds, a name or attribute whose last part is `name`."""
    if value.kind in ("name", "attr"):
        return value.text.rpartition(".")[2] == name
    return any(_names(item, name) for item in value.items)


@per_index
def _base_names(index: ProjectIndex) -> frozenset[str]:
    """The last name of every base class any class of the project names."""
    return frozenset(base.rpartition(".")[2] for facts in index.files.values()
                     for scope in facts.scopes if scope.kind == "class" for base in scope.bases)


class BoundReceiver(Rule):
    code = "DM502"
    name = "bound-receiver"
    severity = "error"
    fix = "manual"
    summary = "@action / @py_component on a method: the instance becomes a static kwarg"
    docs = RuleDocs(
        what="`@py_component` or `@action` on a method of a class (not a `staticmethod`), "
        "unless the class is a pydantic model or has an encoder registered with "
        "`config.add_encoder`.",
        why="Calling a decorated method stores its receiver as a static kwarg (`self` for a "
        "py_component, `__BOUND__self` for an action): the live instance, in the memory of "
        "the worker that rendered the page. Another worker has no such object and cannot "
        "rebuild an arbitrary class instance.",
        use_instead="A module-level function that takes the attributes it uses as typed "
        "kwargs (or as variables): `@py_component def chart(rows: list[dict], title: str)`, "
        "called as `chart(self.rows, self.title)`.",
        fix_safety="Manual: which attributes the body needs is a design decision. A "
        "`@py_component` method whose body never uses its instance is the exception: it moves "
        "out of its class to a module-level function, and the class's `self.method(...)` calls "
        "call that function (unsafe: code outside the project that calls the method on an "
        "instance no longer finds it). `apply` makes it only where the source shows it "
        "behaves the same: a module-level class nothing derives from, a method with no other "
        "decorator that never names its instance, `super` or `__class__`, called only as "
        "`self.method(...)` in the class's own methods and named nowhere else in the project.",
        confidence="High: the decorator is resolved and the function's parent is a class.",
    )
    VALID = [
        Example.module(
            "from pydantic import BaseModel\n"
            "from dara.core import action, py_component\n"
            "from dara.components import Text\n\n"
            "@py_component\n"
            "def summary(rows: list[dict], title: str):\n"
            "    return Text(f'{title}: {len(rows)}')\n\n"
            "class Card(BaseModel):\n"
            "    title: str\n\n"
            "    @py_component\n"
            "    def render(self, value):\n"
            "        return Text(f'{self.title}: {value}')\n\n"
            "class Tools:\n"
            "    @staticmethod\n"
            "    @action\n"
            "    async def refresh(ctx: action.Ctx) -> None: ...\n",
            note="module-level functions, pydantic models and static methods are fine",
        ),
    ]
    INVALID = [
        Example.module(
            "import dara.core as dc\n"
            "from dara.components import Text\n\n"
            "class SalesPage:\n"
            "    def __init__(self, rows: list[dict]) -> None:\n"
            "        self.rows = rows\n\n"
            "    @dc.py_component  # expect: DM502\n"
            "    def table(self, title: str):\n"
            "        return Text(f'{title}: {len(self.rows)}')\n\n"
            "    @dc.action  # expect: DM502\n"
            "    async def clear(self, ctx: dc.action.Ctx) -> None:\n"
            "        self.rows.clear()\n"
        ),
        Example.module(
            "from dara.core import Variable, py_component\n"
            "from dara.components import Stack, Text\n\n"
            "class OrdersPage:\n"
            "    def __init__(self) -> None:\n"
            "        self.region = Variable('EMEA')\n\n"
            "    def __call__(self):\n"
            "        return Stack(Text('Orders'), self.summary(self.region))\n\n"
            "    # Rendered again whenever the region changes.\n"
            "    @py_component  # expect: DM502\n"
            "    def summary(self, region: str):\n"
            "        return Text(f'Orders in {region}')\n",
            note="a method that never uses `self` moves to module level (unsafe fix)",
            fixed="from dara.core import Variable, py_component\n"
            "from dara.components import Stack, Text\n\n"
            "class OrdersPage:\n"
            "    def __init__(self) -> None:\n"
            "        self.region = Variable('EMEA')\n\n"
            "    def __call__(self):\n"
            "        return Stack(Text('Orders'), summary(self.region))\n\n\n"
            "# Rendered again whenever the region changes.\n"
            "@py_component\n"
            "def summary(region: str):\n"
            "    return Text(f'Orders in {region}')\n",
        ),
    ]

    def check(self, ctx: Context) -> Iterator[Finding]:
        types = SerialisableTypes(ctx.index)
        for kind in _DECORATORS:
            for facts, scope in ctx.index.decorated.get(kind, ()):
                cls = facts.scopes[scope.parent]
                if not ctx.is_selected(facts) or not _has_receiver(facts, scope):
                    continue
                if types.class_serialisable((facts.path, cls.id)):
                    continue
                problem = (f"@{kind} on method {cls.name}.{scope.name} keeps the live "
                           f"{cls.name} instance as a static kwarg that another worker cannot "
                           "rebuild; ")
                if kind == "py_component" and _unbindable(ctx.index, facts, scope, cls):
                    yield ctx.at_scope(
                        self, facts, scope,
                        problem + f"it never uses `{scope.params[0].name}`, so it can move "
                        "to a module-level function",
                        fix=Unbind(scope.stmt_line))
                    continue
                yield ctx.at_scope(
                    self, facts, scope,
                    problem + "move it to a module-level function taking the attributes it "
                    "uses as typed kwargs",
                )


RULES: list[type[Rule]] = [UntypedStaticKwarg, BoundReceiver]
