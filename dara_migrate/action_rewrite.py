"""DM105: a deprecated action factory call becomes one module-level `@action`.

`UpdateVariable(resolver, variable, extras)`, `NavigateTo(<callable>, new_tab, extras)`,
`DownloadContent(resolver, extras, cleanup_file)` and `SideEffect(function, extras)` each
define a fresh `@action` every time they run. The rewrite defines that action once, at module
level, doing exactly what the factory's inner action does in dara-core 1.30: build the same
old-style context (`ctx.inputs.old/new/value`, `ctx.extras`), run the same callable through
`run_user_handler` (sync callables in a thread pool), and then `ctx.update(variable, result)`,
`ctx.navigate(result, new_tab)` or `ctx.download_file(result, cleanup)`. The call site passes
what the factory passed as the action's arguments: the variable (its value is `old`) and the
extras, evaluated where they were, so instance state in `extras=[self.x]` still works.

It applies when the callable and the variable are module-level (or imported) names, or a
lambda that uses only such names; anything else stays manual.
"""

from __future__ import annotations

import ast
import builtins
import keyword
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from dara_migrate.facts import Binding, Call, FileFacts, Value
from dara_migrate.index.definitions import snake
from dara_migrate.index.project import ProjectIndex
from dara_migrate.layout import split_lines
from dara_migrate.tree import walk

if TYPE_CHECKING:
    from dara_migrate.edits import Edit

SLOTS: dict[str, dict[str, tuple[int, str]]] = {
    "UpdateVariable": {"callable": (0, "resolver"), "variable": (1, "variable"),
                       "extras": (2, "extras")},
    "NavigateTo": {"callable": (0, "url"), "new_tab": (1, "new_tab"), "extras": (2, "extras")},
    "DownloadContent": {"callable": (0, "resolver"), "extras": (1, "extras"),
                        "cleanup": (2, "cleanup_file")},
    "SideEffect": {"callable": (0, "function"), "extras": (1, "extras"), "block": (2, "block")},
}
"""Per factory: where each argument goes (position, keyword)."""
_FLAGS = {"new_tab", "cleanup", "block"}
_BUILTINS = frozenset(dir(builtins))
_ACTIONS = "dara.core.interactivity.actions"
_HANDLER = ("dara.core.internal.utils", "run_user_handler")


@dataclass(frozen=True)
class ActionRewrite:
    edits: list[Edit]
    name: str
    result_statement: str = ""
    """The body's statement that acts on the callable's result (`await ctx.download_file(value,
    False)`); empty where there is none."""


def statement_line(text: str, name: str, statement: str) -> int | None:
    """The line of `statement` in the body of the action `name` a rewrite wrote into `text`,
    when that action is there once."""
    lines = split_lines(text)
    header = f"async def {name}("
    starts = [number for number, line in enumerate(lines) if line.startswith(header)]
    if len(starts) != 1:
        return None
    for number in range(starts[0] + 1, len(lines)):
        line = lines[number]
        if line.strip() == statement:
            return number + 1
        if line and not line[0].isspace():
            return None
    return None


def _module_level(index: ProjectIndex, facts: FileFacts, scope: int, value: Value,
                  hoisted: str = "") -> bool:
    """Whether every name a value uses is a builtin, a module-level (or imported) name, or
    (in a lambda) one of its own parameters; a lambda with a default (`lambda ctx, r=r: r`)
    holds a value from where it was made, which one shared action cannot. `hoisted`: a local
    name that moves to module level first."""
    if value.kind not in ("lambda", "name", "attr"):
        return False
    own = value.scope if value.kind == "lambda" else -1
    if own >= 0 and any(param.has_default for param in facts.scopes[own].params):
        return False
    for name in value.names:
        head = name.split(".")[0]
        if head == hoisted:
            continue
        found = index.lookup(facts, own if own >= 0 else scope, head)
        if found is None:
            if head not in _BUILTINS:
                return False
        elif found[1] not in (0, own):
            return False
    return True


def convertible(index: ProjectIndex, facts: FileFacts, call: Call, api: str,
                hoisted: str = "") -> bool:
    """Whether the factory call can become a module-level `@action` (no source needed), once
    the local name `hoisted` (if any) is a module-level one."""
    slots = SLOTS[api]
    if call.starred >= 0 or call.kwarg("**") is not None:
        return False
    known = {keyword for _, keyword in slots.values()}
    if any(name not in known for name, _ in call.kwargs) or len(call.args) > len(slots):
        return False
    function = call.argument(*slots["callable"])
    if function is None or not _module_level(index, facts, call.scope, function, hoisted):
        return False
    if api == "UpdateVariable":
        variable = call.argument(*slots["variable"])
        if variable is None or not _module_level(index, facts, call.scope, variable, hoisted):
            return False
    for flag in _FLAGS & slots.keys():
        value = call.argument(*slots[flag])
        if value is not None and value.kind != "const":
            return False
    extras = call.argument(*slots["extras"])
    return extras is None or extras.kind == "container" or (
        extras.kind == "const" and extras.const is None)


def static_form(facts: FileFacts, call: Call, api: str) -> str | None:
    """The static variable action an `UpdateVariable` call's resolver amounts to, by its shape:
    `update` for a constant (`lambda ctx: True`), `sync` for the component's value
    (`lambda ctx: ctx.inputs.new`), `toggle` for the negated old value
    (`lambda ctx: not ctx.inputs.old`); None for anything else. Whether the variable has that
    method with that meaning is the caller's to check (`update` exists on every variable
    `UpdateVariable` accepts)."""
    if api not in ("UpdateVariable", "NavigateTo") or call.starred >= 0 or call.kwarg(
            "**") is not None:
        return None
    slots = SLOTS[api]
    known = {keyword for _, keyword in slots.values()}
    if any(name not in known for name, _ in call.kwargs) or len(call.args) > len(slots):
        return None
    resolver = call.argument(*slots["callable"])
    if resolver is None or resolver.kind != "lambda" or (
            api == "UpdateVariable" and call.argument(*slots["variable"]) is None):
        return None
    scope = facts.scopes[resolver.scope]
    if len(scope.params) != 1 or scope.params[0].kind != "positional" or (
            scope.params[0].has_default) or len(scope.returned) != 1:
        return None
    returned, context = scope.returned[0], scope.params[0].name
    if api == "NavigateTo":
        # `NavigateTo(lambda ctx: '/incidents')`: the static url does the same (the extras
        # only fed the resolver; with some given, a person drops them). A bare name
        # (`lambda ctx: HOME`) does where it always holds one string: the caller checks.
        return "url" if ((returned.kind == "str" and isinstance(returned.const, str)) or (
            returned.kind == "name" and "." not in returned.text)) and (
            call.argument(*slots["extras"]) is None) else None
    if is_literal(returned):
        return "update"
    if returned.kind == "attr" and returned.text == f"{context}.inputs.new":
        return "sync"
    if returned.kind == "not" and returned.items[0].text == f"{context}.inputs.old" and (
            returned.items[0].kind == "attr"):
        return "toggle"
    return None


_LAMBDA_HEADER = re.compile(r"lambda\s+\w+\s*:(?:[ \t]*\\\n)*[ \t]*")
"""`lambda ctx: ` before a one-parameter lambda's body (`static_form`'s resolvers), with the
backslash line breaks after it: the body then starts where the lambda did."""


def is_literal(value: Value) -> bool:
    """A constant, or a list, tuple, set or dict of constants (`[]`, `{'open': False}`): the same
    object every time the resolver runs, which the static `update(value=...)` sends as it would."""
    if value.kind in ("const", "str"):
        return True
    return value.kind in ("container", "dict") and not value.names and not value.calls and all(
        map(is_literal, value.items))


def action_name(api: str, function: str, variable: str) -> str:
    """The name of the module-level `@action` that replaces a factory call, from the callable's
    and the variable's names as written (either may be empty); `apply` adds a number when the
    file already uses it."""
    if api == "UpdateVariable":
        return f"update_{_identifier(variable) or 'variable'}"
    if api == "NavigateTo":
        return f"navigate_{_identifier(function) or 'to'}"
    if api == "DownloadContent":
        return f"download_{_identifier(function) or 'content'}"
    return f"{_identifier(function) or 'side'}_effect"


def _argument(node: ast.Call, position: int, name: str) -> ast.expr | None:
    for item in node.keywords:
        if item.arg == name:
            return item.value
    return node.args[position] if position < len(node.args) else None


def _names_and_calls(tree: ast.Module) -> tuple[set[str], dict[tuple[int, int], ast.Call]]:
    """The names a module uses or binds, and its innermost call at each position (`Panel('x')()`
    is two calls at one place), in one walk."""
    names: set[str] = set()
    calls: dict[tuple[int, int], ast.Call] = {}
    for node in walk(tree):
        if isinstance(node, ast.Name):
            names.add(node.id)
        elif isinstance(node, ast.Call):
            calls[(node.lineno, node.col_offset)] = node
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.alias):
            names.add((node.asname or node.name).split(".")[0])
    return names, calls


def _identifier(text: str) -> str:
    name = snake(text.rsplit(".", 1)[-1]).strip("_")
    name = "".join(c if c.isalnum() or c == "_" else "_" for c in name)
    return name if name.isidentifier() and not keyword.iskeyword(name) else ""


def _module_targets(tree: ast.Module) -> list[set[str]]:
    """The names each module-level statement binds, in the order of `tree.body`."""
    targets: list[set[str]] = []
    for statement in tree.body:
        if isinstance(statement, (ast.Import, ast.ImportFrom)):
            targets.append({(a.asname or a.name).split(".")[0] for a in statement.names})
        elif isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            targets.append({statement.name})
        else:
            targets.append({n.id for n in walk(statement) if isinstance(n, ast.Name)
                            and isinstance(n.ctx, ast.Store)})
    return targets


def _anchor(tree: ast.Module, targets: list[set[str]], names: set[str], before: int | None
            ) -> int | None:
    """The line of the last module-level statement that binds one of `names` (else the last
    import), which must come before line `before` when the call runs at module level;
    `targets` are the statements' bound names (`_module_targets`)."""
    bound = [statement for statement, bound_names in zip(tree.body, targets, strict=True)
             if bound_names & names]
    imports = [s for s in tree.body if isinstance(s, (ast.Import, ast.ImportFrom))]
    candidates = bound or imports
    if not candidates:
        return None
    chosen = candidates[-1]
    end = chosen.end_lineno or chosen.lineno
    if before is not None and end >= before:
        return None
    # Among the functions, not between the assignments: up to the next def or class.
    following = tree.body[tree.body.index(chosen) + 1:]
    for statement in following:
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) or (
                before is not None and (statement.end_lineno or statement.lineno) >= before):
            break
        chosen = statement
    decorators = getattr(chosen, "decorator_list", None)
    return decorators[0].lineno if decorators else chosen.lineno


class ActionRewriter:
    """Plans DM105 rewrites for one file's text (names chosen stay unique within it)."""

    def __init__(self, index: ProjectIndex, facts: FileFacts, text: str,
                 taken: set[str] | None = None) -> None:
        """`taken`: names already chosen in this file (updated with the file's own and
        with every name this rewriter chooses)."""
        self.index = index
        self.facts = facts
        self.tree = ast.parse(text)
        self.taken = set() if taken is None else taken
        names, self.calls = _names_and_calls(self.tree)
        self.taken.update(names)
        self.text = text
        self.lines = split_lines(text, keepends=True)
        self.targets: list[set[str]] | None = None
        """What each module-level statement binds, once a plan needs an anchor."""

    def plan(self, call: Call, api: str, moved: Binding | None = None) -> ActionRewrite | None:
        """`moved`: the binding of the `UpdateVariable`'s variable, a local of the function,
        whose statement moves to module level with the rewrite (`plan_hoist`) so that the
        action can name it."""
        from dara_migrate.edits import InsertAfter, ReplaceCall
        from dara_migrate.hoist import plan_hoist, set_off_what_follows

        if not convertible(self.index, self.facts, call, api, moved.name if moved else ""):
            return None
        move = None
        if moved is not None:
            move = plan_hoist(self.text, moved.stmt_line, key_prefix="move", module=self.tree)
            if move is None:
                return None
        node = self._call_node(call)
        if node is None or ("action" in self.taken and not self._is_dara_action()):
            return None
        slots = SLOTS[api]
        source = self._source(node, *slots["callable"])
        if source is None:
            return None
        extras_node = _argument(node, *slots["extras"])
        extras = (extras_node.elts if isinstance(extras_node, (ast.List, ast.Tuple)) else [])
        if extras_node is not None and not isinstance(
                extras_node, (ast.List, ast.Tuple, ast.Constant)):
            return None
        parameters = [f"extra_{n}" for n in range(1, len(extras) + 1)]
        arguments = [self._segment(e) for e in extras]
        if not all(arguments):
            return None
        extras_list = f"[{', '.join(parameters)}]"
        imports: list[tuple[str, str | None]] = [("dara.core", "action"), _HANDLER]
        function = call.argument(*slots["callable"])
        named = function.text if function is not None and function.kind != "lambda" else ""
        if api == "UpdateVariable":
            variable = self._source(node, *slots["variable"])
            if variable is None:
                return None
            name = self._name(action_name(api, named, variable))
            parameters.insert(0, "old")
            arguments.insert(0, variable)
            context = ("UpdateVariableContext(\n"
                       "        inputs=UpdateVariableInputs(old=old, new=ctx.input),\n"
                       f"        extras={extras_list},\n    )")
            body = f"await ctx.update({variable}, value)"
            imports += [(_ACTIONS, "UpdateVariableContext"), (_ACTIONS, "UpdateVariableInputs")]
        else:
            context = ("ComponentActionContext(\n"
                       "        inputs=ComponentActionInputs(value=ctx.input),\n"
                       f"        extras={extras_list},\n    )")
            imports += [(_ACTIONS, "ComponentActionContext"), (_ACTIONS, "ComponentActionInputs")]
            if api == "NavigateTo":
                name = self._name(action_name(api, named, ""))
                body = f"await ctx.navigate(value, {self._flag(node, slots['new_tab'])})"
            elif api == "DownloadContent":
                name = self._name(action_name(api, named, ""))
                body = f"await ctx.download_file(value, {self._flag(node, slots['cleanup'])})"
            else:
                name = self._name(action_name(api, named, ""))
                body = ""
        used = {n.split(".")[0] for value in self._values(call, api) for n in value.names
                if not self._own_parameter(value, n.split(".")[0])}
        if used & {"ctx", "old", "context", "value", "run_user_handler", *parameters}:
            return None  # the action's own names would shadow what the callable reads
        at_module_level = self.index.function_scope(self.facts, call.scope) == 0
        if self.targets is None:
            self.targets = _module_targets(self.tree)
        anchor = _anchor(self.tree, self.targets, used,
                         call.stmt_line if at_module_level else None)
        if anchor is None:
            return None
        signature = ", ".join(["ctx: action.Ctx", *parameters])
        # One argument per line: the callable's own text is as long as the app wrote it.
        run = f"await run_user_handler(\n        {source},\n        args=(context,),\n    )"
        block = (f"\n\n@action\nasync def {name}({signature}):\n"
                 f"    \"\"\"Defined once: the deprecated helper defined it on every call.\"\"\"\n"
                 f"    context = {context}\n"
                 + (f"    value = {run}\n    {body}\n" if body else f"    {run}\n"))
        edits: list[Edit] = [
            # Before the action where both go after one statement: the variable, then what
            # names it.
            *(move[0] if move else ()),
            InsertAfter(anchor, block, imports=tuple(imports), key=f"action-{name}"),
            ReplaceCall(call.span.line, call.span.col, f"{name}({', '.join(arguments)})",
                        unused_import=self.index.removable_import(self.facts, call.callee)),
            *set_off_what_follows(self.tree, self.lines, anchor),
        ]
        return ActionRewrite(edits, name, body)

    def plan_static(self, call: Call, form: str) -> ActionRewrite | None:
        """`UpdateVariable(<resolver>, variable=v)` -> `v.update(value=<constant>)`, `v.sync()`
        or `v.toggle()`, and `NavigateTo(lambda ctx: '/x')` -> `NavigateTo('/x')` (`form`,
        from `static_form`); the extras only fed the resolver, which ignores them."""
        from dara_migrate.edits import ReplaceCall

        node = self._call_node(call)
        if form == "url":
            return self._static_url(call, node)
        slots = SLOTS["UpdateVariable"]
        resolver = _argument(node, *slots["callable"]) if node is not None else None
        target = _argument(node, *slots["variable"]) if node is not None else None
        if not isinstance(resolver, ast.Lambda) or target is None:
            return None
        variable = self._segment(target)
        method = f"{form}()"
        if form == "update":
            value = self._segment(resolver.body)
            method = f"update(value={value})" if value and "\n" not in value else ""
        if not method or not variable or "\n" in variable:
            return None
        if not isinstance(target, (ast.Name, ast.Attribute, ast.Subscript, ast.Call)):
            variable = f"({variable})"
        source = f"{variable}.{method}"
        unused = self.index.removable_import(self.facts, call.callee)
        return ActionRewrite([ReplaceCall(call.span.line, call.span.col, source,
                                          unused_import=unused)], source)

    def _static_url(self, call: Call, node: ast.Call | None) -> ActionRewrite | None:
        """`NavigateTo(lambda ctx: '/x', new_tab)` -> `NavigateTo('/x', new_tab)`: dara makes a
        static `NavigateToImpl` for a url, defining nothing."""
        from dara_migrate.edits import ReplaceCall

        resolver = _argument(node, *SLOTS["NavigateTo"]["callable"]) if node else None
        source = self._segment(node) if node is not None else ""
        written = self._segment(resolver) if isinstance(resolver, ast.Lambda) else ""
        # Only the `lambda ctx:` goes: the url stays as written, with the brackets and
        # comments around it (`lambda ctx: (  # why\n '/m')`).
        header = _LAMBDA_HEADER.match(written)
        if not source or header is None or source.count(written) != 1:
            return None
        rewritten = source.replace(written, written[header.end():], 1)
        return ActionRewrite([ReplaceCall(call.span.line, call.span.col, rewritten)],
                             rewritten)

    def _own_parameter(self, value: Value, name: str) -> bool:
        if value.kind != "lambda":
            return False
        found = self.index.lookup(self.facts, value.scope, name)
        return found is not None and found[1] == value.scope

    def _values(self, call: Call, api: str) -> list[Value]:
        slots = SLOTS[api]
        keys = ["callable", "variable"] if api == "UpdateVariable" else ["callable"]
        return [v for v in (call.argument(*slots[k]) for k in keys) if v is not None]

    def _source(self, node: ast.Call, position: int, name: str) -> str | None:
        value = _argument(node, position, name)
        if value is None:
            return None
        text = self._segment(value)
        if not text or "\n" in text:
            return None  # a callable over several lines would need re-indenting
        return text

    def _flag(self, node: ast.Call, slot: tuple[int, str]) -> str:
        value = _argument(node, *slot)
        return "False" if value is None else self._segment(value) or "False"

    def _call_node(self, call: Call) -> ast.Call | None:
        line = self.lines[call.span.line - 1]
        return self.calls.get((call.span.line, len(line[:call.span.col - 1].encode())))

    def _segment(self, node: ast.expr) -> str:
        """`ast.get_source_segment` over the lines split once (it splits the whole text on
        every call)."""
        first, last = node.lineno - 1, (node.end_lineno or node.lineno) - 1
        start, end = node.col_offset, node.end_col_offset or 0
        if first == last:
            return self.lines[first].encode()[start:end].decode()
        return "".join([self.lines[first].encode()[start:].decode(), *self.lines[first + 1:last],
                        self.lines[last].encode()[:end].decode()])

    def _name(self, base: str) -> str:
        candidate, counter = base, 1
        while candidate in self.taken:
            counter += 1
            candidate = f"{base}_{counter}"
        self.taken.add(candidate)
        return candidate

    def _is_dara_action(self) -> bool:
        """Whether the module's `action` is Dara's decorator (so the rewrite can use it)."""
        found = self.index.lookup(self.facts, 0, "action")
        return found is not None and found[0].kind == "import" and (
            self.index.resolve(self.facts, 0, "action").api == "action")
