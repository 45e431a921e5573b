"""DM301/DM302's fix: move a definition out of the function that makes it to module level."""

from __future__ import annotations

import ast
from collections.abc import Iterable

from dara_migrate.autofix import MARKER_PREFIX
from dara_migrate.edits import BlankLinesAbove, Edit, InsertAfter, RemoveStatement
from dara_migrate.layout import split_lines
from dara_migrate.tree import walk

_DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
# PEP 8 (pycodestyle E302/E305): two blank lines around a top-level def or class.
AROUND_DEFINITION = 2


def first_line(node: ast.stmt) -> int:
    decorators = getattr(node, "decorator_list", None)
    return decorators[0].lineno if decorators else node.lineno


def _bound_names(node: ast.stmt) -> set[str]:
    """Names a module-level statement binds."""
    if isinstance(node, _DEFINITIONS):
        return {node.name}
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return {(a.asname or a.name).split(".")[0] for a in node.names}
    return {n.id for n in walk(node) if isinstance(n, ast.Name)
            and isinstance(n.ctx, ast.Store)}


def _stored(nodes: Iterable[ast.AST]) -> set[str]:
    names: set[str] = set()
    for node in nodes:
        for inner in walk(node):
            if isinstance(inner, ast.Name) and isinstance(inner.ctx, (ast.Store, ast.Del)):
                names.add(inner.id)
            elif isinstance(inner, ast.arg):
                names.add(inner.arg)
    return names


def _blank_lines_after_imports(lines: list[str], module: ast.Module,
                               imports: ast.stmt) -> int:
    """The blank lines isort puts between the import block ending with `imports` and an
    assignment: as many as the module has before its code (a project may ask for two),
    one where that code is a def or class (which PEP 8 sets off by two anyway)."""
    position = module.body.index(imports) + 1
    if position < len(module.body) and isinstance(module.body[position], _DEFINITIONS):
        return 1
    index = imports.end_lineno or imports.lineno
    count = 0
    while index + count < len(lines) and not lines[index + count].strip():
        count += 1
    return max(count, 1)


def plan_hoist(text: str, line: int, key_prefix: str = "hoist",
               module: ast.Module | None = None) -> tuple[list[Edit], str] | None:
    """Move the definition statement at `line` out of its function to module level, after the
    last module-level binding it references; None when it uses a local name of the function,
    is not a plain statement of the function body, or would shadow a module-level name.
    `key_prefix` names the insertion: `hoist` asks `apply` for another round (the moved
    definition may want a uid there); `move`, for a statement nothing else fixes, does not.
    `module`: the text's tree where the caller has it."""
    module = module or ast.parse(text)
    found: tuple[ast.FunctionDef | ast.AsyncFunctionDef, ast.stmt] | None = None
    for node in walk(module):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for statement in node.body:
                if first_line(statement) == line:
                    found = (node, statement)
    if found is None:
        return None
    function, statement = found
    is_def = isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef))
    is_assign = (isinstance(statement, ast.Assign) and len(statement.targets) == 1
                 and isinstance(statement.targets[0], ast.Name))
    if not (is_def or is_assign):
        return None
    name = (statement.name if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef))
            else statement.targets[0].id if isinstance(statement, ast.Assign)
            and isinstance(statement.targets[0], ast.Name) else "")
    local = _stored([function.args, *function.body]) - {name}
    loads = {n.id for n in walk(statement) if isinstance(n, ast.Name)
             and isinstance(n.ctx, ast.Load)} - _stored([statement])
    if loads & local:
        return None
    top: list[tuple[ast.stmt, set[str]]] = [(s, _bound_names(s)) for s in module.body]
    if any(name in bound for _, bound in top):
        return None
    anchors = [s for s, bound in top if bound & loads and s is not statement]
    anchors = anchors or [s for s, _ in top if isinstance(s, (ast.Import, ast.ImportFrom))]
    if not anchors:
        return None
    anchor = max(anchors, key=lambda s: s.lineno)
    # A definition goes after the imports that follow its anchor, never between two imports.
    following = module.body[module.body.index(anchor) + 1:]
    for later in following:
        if not isinstance(later, (ast.Import, ast.ImportFrom)):
            break
        anchor = later
    lines = split_lines(text, keepends=True)
    source = dedent_statement(lines, statement, with_comments_above(lines, statement))
    if is_def or isinstance(anchor, _DEFINITIONS):
        source = "\n" * AROUND_DEFINITION + source
    elif isinstance(anchor, (ast.Import, ast.ImportFrom)):
        # Set off from the imports as the module's code is (isort, PEP 8).
        source = "\n" * _blank_lines_after_imports(lines, module, anchor) + source
    edits: list[Edit] = [RemoveStatement(line),
                         InsertAfter(first_line(anchor), source, key=f"{key_prefix}-{name}")]
    if is_def:
        edits.extend(set_off_what_follows(module, lines, first_line(anchor)))
    return edits, f"moved `{name}` to module level"


def with_comments_above(lines: list[str], statement: ast.stmt) -> int:
    """The first line of a statement with the comment lines directly above it, the tool's
    markers among them too: the statement's removal takes them all, and `dedent_statement`
    leaves the markers out of what moves."""
    first = first_line(statement)
    while first > 1 and lines[first - 2].strip().startswith("#"):
        first -= 1
    return first


def dedent_statement(lines: list[str], statement: ast.stmt, first: int) -> str:
    """Lines `first` to the end of `statement` as module-level code: each line loses the
    statement's indentation, except a line inside a string literal (not a docstring), whose
    content would change; marker comments are left out."""
    indent = len(lines[statement.lineno - 1]) - len(lines[statement.lineno - 1].lstrip())
    docstrings = {id(node.body[0].value) for node in walk(statement)
                  if isinstance(node, _DEFINITIONS) and node.body
                  and isinstance(node.body[0], ast.Expr)
                  and isinstance(node.body[0].value, ast.Constant)}
    inside_strings = {line for node in walk(statement)
                      if isinstance(node, (ast.Constant, ast.JoinedStr)) and id(node) not in
                      docstrings and node.end_lineno and node.end_lineno > node.lineno
                      for line in range(node.lineno + 1, node.end_lineno + 1)}
    kept: list[str] = []
    for number in range(first, (statement.end_lineno or statement.lineno) + 1):
        line = lines[number - 1]
        if number in inside_strings:
            kept.append(line)
        elif not line.strip().startswith(MARKER_PREFIX):
            blank = len(line) - len(line.lstrip(" \t"))
            kept.append(line[min(blank, indent):])
    return "".join(kept)


def set_off_what_follows(module: ast.Module, lines: list[str], anchor: int) -> list[Edit]:
    """For a def or class inserted after the module-level statement starting at line
    `anchor`: the edit that gives the statement after it the two blank lines PEP 8 wants
    after a definition, when it has fewer (none otherwise)."""
    starts = [first_line(statement) for statement in module.body]
    position = starts.index(anchor) + 1
    if position == len(starts) or _blank_lines_above(
            lines, starts[position]) >= AROUND_DEFINITION:
        return []
    return [BlankLinesAbove(starts[position], AROUND_DEFINITION)]


def _blank_lines_above(lines: list[str], line: int) -> int:
    """The blank lines above 1-based `line` and the full-line comments directly above it."""
    index = line - 1
    while index > 0 and lines[index - 1].lstrip().startswith("#"):
        index -= 1
    blank = 0
    while index - blank > 0 and not lines[index - blank - 1].strip():
        blank += 1
    return blank
