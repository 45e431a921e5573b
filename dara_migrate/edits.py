"""Planned edits and the one LibCST pass that applies them to a file.

Edits address nodes by the position the audit reported (1-based line, 1-based code-point
column of a call's start, or a statement's first line), so a file is parsed with LibCST only
when it gets an edit, and every edit to a file is applied in one traversal. Untouched code is
reproduced byte for byte by LibCST.
"""

from __future__ import annotations

import ast
import io
import itertools
import re
import tokenize
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import libcst as cst
import libcst.helpers
from libcst.codemod import CodemodContext
from libcst.codemod.visitors import AddImportsVisitor
from libcst.metadata import MetadataWrapper, PositionProvider


@dataclass(frozen=True)
class SetKeyword:
    """Add `keyword=<literal>` to the call starting at (line, column), or replace its value."""

    line: int
    column: int
    keyword: str
    value: str
    replace: bool = False


@dataclass(frozen=True)
class RemoveKeyword:
    """Drop `keyword=...` from the call at (line, column); `unused_import` is then removed
    from `module` if nothing else uses it."""

    line: int
    column: int
    keyword: str
    unused_import: tuple[str, str] | None = None


@dataclass(frozen=True)
class RenameCall:
    """`x.old(...)` -> `x.new(...)` for the call at (line, column)."""

    line: int
    column: int
    old: str
    new: str


@dataclass(frozen=True)
class AddMarker:
    """A full-line comment directly above the statement whose first line is `line`."""

    line: int
    text: str


@dataclass(frozen=True)
class RemoveComments:
    """Remove full-line comments starting with `prefix` above the statement at `line`."""

    line: int
    prefix: str


@dataclass(frozen=True)
class InsertAfter:
    """Statements (source, with leading comments) after the statement at `line`; imports
    the block needs are added through LibCST's AddImportsVisitor. `key` names the inserted
    block so that a later run replaces instead of duplicating it."""

    line: int
    source: str
    imports: tuple[tuple[str, str | None], ...] = ()
    key: str = ""


@dataclass(frozen=True)
class RemoveStatement:
    """Remove the statement at `line` with its leading comment lines."""

    line: int


Edit = (SetKeyword | RemoveKeyword | RenameCall | AddMarker | RemoveComments | InsertAfter
        | RemoveStatement)


class EditError(Exception):
    """An edit could not be applied (its node was not found); a bug, reported per file."""


def quote_style(text: str) -> str:
    """The file's prevailing quote for plain strings; ties go to single quotes."""
    single = double = 0
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            if token.type == tokenize.STRING:
                body = token.string.lstrip("rRbBuU")
                if body.startswith(("'''", '"""')):
                    continue
                if body.startswith("'"):
                    single += 1
                elif body.startswith('"'):
                    double += 1
    except (tokenize.TokenError, SyntaxError):
        return "'"
    return '"' if double > single else "'"


def literal(value: str, quote: str) -> str:
    """`value` as a Python string literal in the given quote style."""
    escaped = value.replace("\\", "\\\\").replace(quote, f"\\{quote}")
    return f"{quote}{escaped}{quote}"


@dataclass
class _State:
    applied: set[Edit] = field(default_factory=set)


class _Transformer(cst.CSTTransformer):
    METADATA_DEPENDENCIES = (PositionProvider,)

    def __init__(self, edits: Sequence[Edit], module: cst.Module) -> None:
        super().__init__()
        self.module = module
        self.state = _State()
        self.call_edits: dict[tuple[int, int], list[Edit]] = {}
        self.statement_edits: dict[int, list[Edit]] = {}
        for edit in edits:
            if isinstance(edit, (SetKeyword, RemoveKeyword, RenameCall)):
                self.call_edits.setdefault((edit.line, edit.column - 1), []).append(edit)
            else:
                self.statement_edits.setdefault(edit.line, []).append(edit)

    def _start(self, node: cst.CSTNode) -> tuple[int, int]:
        position = self.get_metadata(PositionProvider, node).start
        return position.line, position.column

    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.Call:
        edits = self.call_edits.get(self._start(original))
        if not edits:
            return updated
        for edit in edits:
            if isinstance(edit, SetKeyword):
                updated = _set_keyword(updated, edit, self.module)
            elif isinstance(edit, RemoveKeyword):
                updated = _remove_keyword(updated, edit.keyword)
            elif (isinstance(edit, RenameCall) and isinstance(updated.func, cst.Attribute)
                  and updated.func.attr.value == edit.old):
                updated = updated.with_changes(
                    func=updated.func.with_changes(attr=cst.Name(edit.new)))
            else:
                continue
            self.state.applied.add(edit)
        return updated

    def _statement_line(self, node: cst.CSTNode) -> int:
        if isinstance(node, (cst.FunctionDef, cst.ClassDef)) and node.decorators:
            return self._start(node.decorators[0])[0]
        return self._start(node)[0]

    def _rewrite_body(self, original: Sequence[cst.BaseStatement],
                      updated: Sequence[cst.BaseStatement]) -> list[cst.BaseStatement]:
        # Positions exist only for the original nodes; both lists match one to one.
        result: list[cst.BaseStatement] = []
        removed_any = False
        for source, statement in zip(original, updated, strict=True):
            line = self._statement_line(source)
            edits = self.statement_edits.get(line, [])
            after: list[cst.BaseStatement] = []
            removed = False
            for edit in edits:
                if isinstance(edit, AddMarker):
                    statement = _with_comment(statement, edit.text)
                elif isinstance(edit, RemoveComments):
                    statement = _without_comments(statement, edit.prefix)
                elif isinstance(edit, InsertAfter):
                    after.extend(self._parse_block(edit.source))
                elif isinstance(edit, RemoveStatement):
                    removed = True
                self.state.applied.add(edit)
            if not removed:
                result.append(statement)
            removed_any = removed_any or removed
            result.extend(after)
        if result and removed_any:
            # What now opens the block must not start with the blank line it had before.
            first = result[0]
            lines = list(getattr(first, "leading_lines", ()))
            while lines and lines[0].comment is None:
                lines.pop(0)
            if isinstance(first, (cst.SimpleStatementLine, cst.BaseCompoundStatement)):
                result[0] = first.with_changes(leading_lines=lines)
        return result

    def _parse_block(self, source: str) -> list[cst.BaseStatement]:
        block = cst.parse_module(source, self.module.config_for_parsing)
        body: list[cst.BaseStatement] = list(block.body)
        # Comments before the first statement parse as the module header; keep them on it.
        first = body[0] if body else None
        if block.header and isinstance(first, (cst.SimpleStatementLine,
                                               cst.BaseCompoundStatement)):
            body[0] = first.with_changes(leading_lines=[*block.header, *first.leading_lines])
        return body

    def leave_Module(self, original: cst.Module, updated: cst.Module) -> cst.Module:
        return updated.with_changes(body=self._rewrite_body(original.body, updated.body))

    def leave_IndentedBlock(self, original: cst.IndentedBlock,
                            updated: cst.IndentedBlock) -> cst.IndentedBlock:
        return updated.with_changes(body=self._rewrite_body(original.body, updated.body))


def _arg_comma(call: cst.Call) -> cst.Comma:
    """The separator the call already uses between arguments (one per line or inline)."""
    for arg in call.args[:-1]:
        if isinstance(arg.comma, cst.Comma):
            return arg.comma
    if isinstance(call.whitespace_before_args, cst.ParenthesizedWhitespace):
        return cst.Comma(whitespace_after=call.whitespace_before_args)
    return cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))


def _set_keyword(call: cst.Call, edit: SetKeyword, module: cst.Module) -> cst.Call:
    value = cst.parse_expression(edit.value, module.config_for_parsing)
    for index, arg in enumerate(call.args):
        if arg.keyword is not None and arg.keyword.value == edit.keyword:
            if not edit.replace:
                return call
            args = list(call.args)
            args[index] = arg.with_changes(value=value)
            return call.with_changes(args=args)
    new_arg = cst.Arg(
        value=value, keyword=cst.Name(edit.keyword),
        equal=cst.AssignEqual(whitespace_before=cst.SimpleWhitespace(""),
                              whitespace_after=cst.SimpleWhitespace("")),
    )
    if not call.args:
        return call.with_changes(args=[new_arg])
    args = list(call.args)
    last = args[-1]
    if isinstance(last.comma, cst.Comma):
        # The trailing comma moves to the new argument; the old one keeps its own spacing.
        separator = last.comma.with_changes(whitespace_after=_arg_comma(call).whitespace_after)
        args[-1] = last.with_changes(comma=separator)
        new_arg = new_arg.with_changes(comma=last.comma)
    else:
        args[-1] = last.with_changes(comma=_arg_comma(call))
    return call.with_changes(args=[*args, new_arg])


def _remove_keyword(call: cst.Call, keyword: str) -> cst.Call:
    args = list(call.args)
    for index, arg in enumerate(args):
        if arg.keyword is not None and arg.keyword.value == keyword:
            del args[index]
            if args and index == len(args) and not isinstance(arg.comma, cst.Comma):
                args[-1] = args[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
            return call.with_changes(args=args)
    return call


def _with_comment(statement: cst.BaseStatement, text: str) -> cst.BaseStatement:
    lines = list(getattr(statement, "leading_lines", ()))
    if any(line.comment is not None and line.comment.value == text for line in lines):
        return statement
    lines.append(cst.EmptyLine(indent=True, comment=cst.Comment(text)))
    return statement.with_changes(leading_lines=lines)


def _without_comments(statement: cst.BaseStatement, prefix: str) -> cst.BaseStatement:
    lines = list(getattr(statement, "leading_lines", ()))
    kept = [line for line in lines
            if line.comment is None or not line.comment.value.startswith(prefix)]
    return statement.with_changes(leading_lines=kept)


def _attach_header_comments(module: cst.Module) -> cst.Module:
    """Comments right above the first statement parse as the module header; hand them to
    the statement, where markers are looked for and written. The code is unchanged."""
    header = list(module.header)
    if not module.body or not isinstance(
            module.body[0], (cst.SimpleStatementLine, cst.BaseCompoundStatement)):
        return module
    attached: list[cst.EmptyLine] = []
    while header and header[-1].comment is not None:
        attached.insert(0, header.pop())
    if not attached:
        return module
    first = module.body[0]
    body = [first.with_changes(leading_lines=[*attached, *first.leading_lines]),
            *module.body[1:]]
    return module.with_changes(header=header, body=body)


def _edit_module(text: str, edits: Sequence[Edit]) -> str:
    module = _attach_header_comments(cst.parse_module(text))
    wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
    transformer = _Transformer(edits, module)
    result = wrapper.visit(transformer)
    missing = [e for e in edits if e not in transformer.state.applied]
    if missing:
        raise EditError(f"no node for {type(missing[0]).__name__} at line {missing[0].line}")
    imports = [i for e in edits if isinstance(e, InsertAfter) for i in e.imports]
    if imports:
        context = CodemodContext()
        for module_name, name in imports:
            AddImportsVisitor.add_needed_import(context, module_name, name)
        result = AddImportsVisitor(context).transform_module(result)
    return result.code


def _shifted(edit: Edit, offset: int) -> Edit:
    return replace(edit, line=edit.line - offset)


def _statement_spans(tree: ast.Module, text: str) -> list[tuple[int, int]]:
    """Line ranges of the module's top-level statements (decorators included), with the
    comment lines right above each; statements sharing a line are merged."""
    lines = text.splitlines()
    spans: list[tuple[int, int]] = []
    for node in tree.body:
        decorators = getattr(node, "decorator_list", None)
        first = decorators[0].lineno if decorators else node.lineno
        while first > 1 and lines[first - 2].lstrip().startswith("#"):
            first -= 1
        last = node.end_lineno or node.lineno
        if spans and first <= spans[-1][1]:
            spans[-1] = (spans[-1][0], max(last, spans[-1][1]))
        else:
            spans.append((first, last))
    return spans


def _comments_above(lines: list[str], line: int) -> range:
    """0-based indexes of the full-line comments directly above 1-based `line`."""
    start = line - 1
    while start > 0 and lines[start - 1].lstrip().startswith("#"):
        start -= 1
    return range(start, line - 1)


def _edit_comment_lines(lines: list[str], edits: Sequence[Edit]) -> None:
    """Markers are whole comment lines: added or removed as lines, no parse needed. Lines are
    edited bottom-up so that the line numbers of the edits above stay valid."""
    by_line: dict[int, list[Edit]] = {}
    for edit in edits:
        by_line.setdefault(edit.line, []).append(edit)
    for line in sorted(by_line, reverse=True):
        statement = line - 1
        for edit in by_line[line]:
            if isinstance(edit, RemoveComments):
                for index in reversed(_comments_above(lines, statement + 1)):
                    if lines[index].lstrip().startswith(edit.prefix):
                        del lines[index]
                        statement -= 1
        for edit in by_line[line]:
            if isinstance(edit, AddMarker) and not any(
                    lines[index].strip() == edit.text
                    for index in _comments_above(lines, statement + 1)):
                target = lines[statement]
                indent = target[:len(target) - len(target.lstrip())]
                newline = "\r\n" if target.endswith("\r\n") else "\n"
                lines.insert(statement, f"{indent}{edit.text}{newline}")


class _DropImport(cst.CSTTransformer):
    """Removes one name from `from module import ...` statements (the whole statement when
    it was the last name)."""

    def __init__(self, module: str, name: str) -> None:
        super().__init__()
        self.module, self.name = module, name

    def leave_ImportFrom(self, original: cst.ImportFrom, updated: cst.ImportFrom
                         ) -> cst.ImportFrom | cst.RemovalSentinel:
        if (isinstance(updated.names, cst.ImportStar) or updated.relative
                or updated.module is None
                or cst.helpers.get_full_name_for_node(updated.module) != self.module):
            return updated
        kept = [a for a in updated.names
                if not (a.asname is None and cst.helpers.get_full_name_for_node(a.name)
                        == self.name)]
        if len(kept) == len(updated.names):
            return updated
        if not kept:
            return cst.RemovalSentinel.REMOVE
        if not isinstance(updated.names[-1].comma, cst.Comma):
            kept[-1] = kept[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
        return updated.with_changes(names=kept)


def _drop_unused_imports(text: str, imports: Sequence[tuple[str, str]]) -> str:
    """Remove imports the edits left unused; only the import statements are parsed by LibCST
    (a scope analysis of the whole module costs far more than everything else)."""
    tree = ast.parse(text)
    lines = text.splitlines(keepends=True)
    import_lines = {line for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))
                    for line in range(node.lineno, (node.end_lineno or node.lineno) + 1)}
    # Any other mention (code, `__all__`, a string annotation, a comment) keeps the import.
    rest = "".join(line for number, line in enumerate(lines, 1) if number not in import_lines)
    unused = [(module, name) for module, name in imports
              if not re.search(rf"\b{re.escape(name)}\b", rest)]
    if not unused:
        return text
    for node in reversed(tree.body):
        if not isinstance(node, ast.ImportFrom) or not any(
                node.module == module and any(a.name == name and a.asname is None
                                              for a in node.names)
                for module, name in unused):
            continue
        first, last = node.lineno, node.end_lineno or node.lineno
        snippet = cst.parse_module("".join(lines[first - 1:last]))
        for module, name in unused:
            snippet = snippet.visit(_DropImport(module, name))
        lines[first - 1:last] = [snippet.code if snippet.body else ""]
    return "".join(lines)


def _calls_at(tree: ast.Module) -> dict[tuple[int, int], list[ast.Call]]:
    calls: dict[tuple[int, int], list[ast.Call]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            calls.setdefault((node.lineno, node.col_offset), []).append(node)
    return calls


def _keyword_insertion(lines: list[str], calls: dict[tuple[int, int], list[ast.Call]],
                       edit: SetKeyword) -> tuple[int, int, str] | None:
    """`uid=...` added by plain text insertion where the result is exactly what the LibCST
    edit would produce: an ASCII line, a call that is not nested in another call starting at
    the same place, arguments separated by ", " and closed right after the last one
    (`f(a, b=1)`, `f()`). Anything else (trailing comma, one argument per line, comments)
    goes through LibCST. Returns (0-based line, 0-based column, text)."""
    found = calls.get((edit.line, edit.column - 1), [])
    if edit.replace or len(found) != 1:
        return None
    call = found[0]
    line = lines[edit.line - 1]
    end = call.end_col_offset
    if call.end_lineno != call.lineno or end is None or not line.isascii():
        return None
    if any(k.arg == edit.keyword for k in call.keywords):
        return edit.line - 1, end, ""
    arguments: list[ast.expr | ast.keyword] = sorted(
        [*call.args, *call.keywords], key=lambda a: (a.lineno, a.col_offset))
    if not arguments:
        func_end = call.func.end_col_offset
        if func_end is None or line[func_end:end] != "()":
            return None
        return edit.line - 1, end - 1, f"{edit.keyword}={edit.value}"
    for before, after in itertools.pairwise(arguments):
        if line[before.end_col_offset or 0:after.col_offset] != ", ":
            return None
    last = arguments[-1].end_col_offset
    if last != end - 1 or line[last] != ")":
        return None
    return edit.line - 1, last, f", {edit.keyword}={edit.value}"


def _as_text_edits(lines: list[str], calls: dict[tuple[int, int], list[ast.Call]],
                   group: Sequence[Edit]) -> list[tuple[int, int, str]] | None:
    """The group's keyword insertions as text, or None if one of them needs LibCST (also
    when one call gets two keywords: each insertion is planned on the original text)."""
    insertions = []
    edited: set[tuple[int, int]] = set()
    for edit in group:
        if isinstance(edit, (AddMarker, RemoveComments)):
            continue
        if not isinstance(edit, SetKeyword) or (edit.line, edit.column) in edited:
            return None
        insertion = _keyword_insertion(lines, calls, edit)
        if insertion is None:
            return None
        edited.add((edit.line, edit.column))
        insertions.append(insertion)
    return insertions


def apply_edits(text: str, edits: Sequence[Edit]) -> str:
    """Apply every edit to one module's source; raise EditError if one found no node.

    LibCST parses only the top-level statements that get an edit (most of a large file is
    untouched, and LibCST's parse and position metadata dominate the cost of `apply`);
    markers and plain `uid=` insertions need no LibCST at all; edits that add imports take
    the whole module."""
    dropped = [e.unused_import for e in edits
               if isinstance(e, RemoveKeyword) and e.unused_import is not None]
    if dropped:
        plain = [e if not isinstance(e, RemoveKeyword) else replace(e, unused_import=None)
                 for e in edits]
        return _drop_unused_imports(apply_edits(text, plain), dropped)
    if any(isinstance(e, InsertAfter) and e.imports for e in edits):
        return _edit_module(text, edits)
    lines = text.splitlines(keepends=True)
    groups: dict[tuple[int, int], list[Edit]] = {}
    tree = ast.parse(text)
    spans = _statement_spans(tree, text)
    for edit in edits:
        span = next(((a, b) for a, b in spans if a <= edit.line <= b), None)
        if span is None:
            return _edit_module(text, edits)
        groups.setdefault(span, []).append(edit)
    calls = _calls_at(tree) if any(isinstance(e, SetKeyword) for e in edits) else {}
    for (first, last), group in sorted(groups.items(), reverse=True):
        insertions = _as_text_edits(lines, calls, group)
        if insertions is not None:
            # Right to left, so that earlier columns on the same line stay valid.
            for index, column, added in sorted(insertions, reverse=True):
                lines[index] = lines[index][:column] + added + lines[index][column:]
            _edit_comment_lines(lines, group)
            continue
        snippet = "".join(lines[first - 1:last])
        rewritten = _edit_module(snippet, [_shifted(e, first - 1) for e in group])
        # A snippet whose only statement was removed leaves no line behind, not an empty one.
        lines[first - 1:last] = [rewritten if rewritten.strip() else ""]
    return "".join(lines)
