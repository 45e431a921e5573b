"""DM502's fix: a `@py_component` method that never uses its instance becomes a module-level
function, and the class's own `self.method(...)` calls call that function."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable

from dara_migrate.edits import Edit, InsertAfter, RemoveStatement, RenameCall
from dara_migrate.hoist import (
    AROUND_DEFINITION,
    dedent_statement,
    first_line,
    set_off_what_follows,
    with_comments_above,
)
from dara_migrate.layout import split_lines
from dara_migrate.tree import walk

_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)


def _column(lines: list[str], line: int, offset: int) -> int:
    """The 1-based code-point column of a UTF-8 byte offset of 1-based `line`."""
    return len(lines[line - 1].encode()[:offset].decode(errors="replace")) + 1


def _method_at(module: ast.Module, line: int
               ) -> tuple[ast.ClassDef, ast.FunctionDef | ast.AsyncFunctionDef] | None:
    for statement in module.body:
        if isinstance(statement, ast.ClassDef):
            for member in statement.body:
                if isinstance(member, _FUNCTIONS) and first_line(member) == line:
                    return statement, member
    return None


def _receiver(function: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> str | None:
    """The name Python binds the instance to in a plain method (None for other functions)."""
    arguments = function.args
    if arguments.posonlyargs or not arguments.args:
        return None
    return arguments.args[0].arg


def _is_plain_method(member: ast.stmt) -> bool:
    return isinstance(member, _FUNCTIONS) and not any(
        isinstance(d, ast.Name) and d.id in ("staticmethod", "classmethod")
        for d in member.decorator_list)


def _own_calls(cls: ast.ClassDef, name: str) -> list[ast.Call] | None:
    """Every `self.<name>(...)` call in the plain methods of `cls`, where `self` is the
    method's own receiver (not a nested function's or lambda's); None when `<name>` is used
    any other way in the class."""
    calls: list[ast.Call] = []
    for member in cls.body:
        receiver = _receiver(member) if _is_plain_method(member) and isinstance(
            member, _FUNCTIONS) else None
        callees = {id(node.func): node for node in walk(member) if isinstance(node, ast.Call)}
        for node, inside in _nodes_with_function(member):
            if not (isinstance(node, ast.Attribute) and node.attr == name):
                continue
            call = callees.get(id(node))
            if (call is None or inside is not member or receiver is None
                    or not isinstance(node.value, ast.Name) or node.value.id != receiver):
                return None
            calls.append(call)
    return calls


def _nodes_with_function(root: ast.AST) -> Iterable[tuple[ast.AST, ast.AST | None]]:
    """Every node under `root` with the innermost function or lambda whose body it is in
    (decorators, defaults and annotations are outside the function they belong to)."""
    stack: list[tuple[ast.AST, ast.AST | None]] = [(root, None)]
    while stack:
        node, inside = stack.pop()
        yield node, inside
        is_function = isinstance(node, (*_FUNCTIONS, ast.Lambda))
        decorators = getattr(node, "decorator_list", ())
        for child in ast.iter_child_nodes(node):
            in_body = is_function and child not in decorators and not isinstance(
                child, ast.arguments) and child is not getattr(node, "returns", None)
            stack.append((child, node if in_body else inside))


def _without_receiver(source: str) -> str:
    """A module-level `def` (dedented source) without its first parameter; LibCST keeps the
    layout of the others (one per line, comments, trailing comma)."""
    import libcst as cst

    module = cst.parse_module(source)
    function = module.body[0]
    assert isinstance(function, cst.FunctionDef)
    params = function.params.with_changes(params=function.params.params[1:])
    return module.with_changes(body=[function.with_changes(params=params)]).code


def plan_unbind(text: str, line: int, other_texts: Iterable[str]
                ) -> tuple[list[Edit], str] | None:
    """Move the `@py_component` method whose statement starts at `line` out of its
    module-level class, without its receiver, and call it as a function where the class calls
    it. None unless that is sure to behave the same: the method never names its receiver,
    `super` or `__class__`; the class only calls it as `self.<name>(...)` from its own plain
    methods; nothing else in the file names it and no other file (`other_texts`) mentions
    the name; no module-level name is taken; the method has no other decorator; and the
    class keeps another statement."""
    module = ast.parse(text)
    found = _method_at(module, line)
    if found is None:
        return None
    cls, method = found
    name, receiver = method.name, _receiver(method)
    if (receiver is None or len(method.decorator_list) != 1 or len(cls.body) < 2
            or cls.decorator_list or cls.keywords):
        return None
    loaded = {n.id for n in walk(method) if isinstance(n, ast.Name)}
    if loaded & {receiver, "super", "__class__"}:
        return None
    calls = _own_calls(cls, name)
    if calls is None:
        return None
    word = re.compile(rf"\b{re.escape(name)}\b")
    elsewhere = [node for statement in module.body if statement is not cls
                 for node in walk(statement)]
    if any((isinstance(node, ast.Name) and node.id == name)
           or (isinstance(node, ast.arg) and node.arg == name)
           or (isinstance(node, ast.Attribute) and node.attr == name)
           or (isinstance(node, (*_FUNCTIONS, ast.ClassDef)) and node.name == name)
           or (isinstance(node, ast.alias) and (node.asname or node.name) == name)
           for node in elsewhere):
        return None
    if any((isinstance(node, ast.Name) and node.id == name)
           or (isinstance(node, ast.arg) and node.arg == name) for node in walk(cls)):
        return None
    if any(word.search(other) for other in other_texts):
        return None
    lines = split_lines(text, keepends=True)
    body = dedent_statement(lines, method, with_comments_above(lines, method))
    source = "\n" * AROUND_DEFINITION + _without_receiver(body)
    anchor = first_line(cls)
    edits: list[Edit] = [RemoveStatement(first_line(method)),
                         InsertAfter(anchor, source, key=f"unbind-{name}")]
    edits += [RenameCall(call.lineno, _column(lines, call.lineno, call.col_offset), name, name,
                         unbound=True) for call in calls]
    edits += set_off_what_follows(module, lines, anchor)
    return edits, f"moved `{cls.name}.{name}` to a module-level function"
