"""Planned edits and the one LibCST pass that applies them to a file.

Edits address nodes by the position the audit reported (1-based line, 1-based code-point
column of a call's start, or a statement's first line), so a file is parsed with LibCST only
when it gets an edit, and every edit to a file is applied in one traversal. Untouched code is
reproduced byte for byte by LibCST.
"""

from __future__ import annotations

import ast
import bisect
import io
import itertools
import re
import sys
import tokenize
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import cast

import libcst as cst
import libcst.helpers
from libcst.metadata import MetadataWrapper, PositionProvider

from dara_migrate.layout import DEFAULT_LINE_LENGTH, line_length, split_lines
from dara_migrate.tree import walk


@dataclass(frozen=True)
class SetKeyword:
    """Add `keyword=<literal>` to the call starting at (line, column), or replace its value;
    the imports in `unused_imports` (as for RemoveKeyword) the replaced value read through
    are then removed if nothing else uses them, and those in `imports` (`from module import
    name`) that the value needs are added where the file lacks them."""

    line: int
    column: int
    keyword: str
    value: str
    replace: bool = False
    unused_imports: tuple[tuple[str, str], ...] = ()
    imports: tuple[tuple[str, str | None], ...] = ()
    depth: int = 0
    """Of the calls chained from that position (`router.add_layout(...).add_page(...)`), the
    one addressed: 0 the innermost (`add_layout`), 1 the call on its result, ..."""


@dataclass(frozen=True)
class RemoveKeyword:
    """Drop `keyword=...` from the call at (line, column); `unused_import` (a module and the
    name its `from module import` or `import module` binds, an alias too) is then removed
    if nothing else uses it."""

    line: int
    column: int
    keyword: str
    unused_import: tuple[str, str] | None = None


@dataclass(frozen=True)
class RenameCall:
    """`x.old(...)` -> `x.new(...)` for the call at (line, column); `new(...)` when
    `unbound` (a method that became a module-level function)."""

    line: int
    column: int
    old: str
    new: str
    unbound: bool = False


@dataclass(frozen=True)
class ReplaceCall:
    """Replace the call at (line, column) by the expression `source` (with the `await` around
    it when `awaited`); `unused_import` is then removed from `module` if nothing else uses
    it. The lines of a `source` over several lines after its first are indented as they are
    to stand in the file (as the call's own are)."""

    line: int
    column: int
    source: str
    unused_import: tuple[str, str] | None = None
    awaited: bool = False


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
class BlankLinesAbove:
    """At least `count` blank lines above the statement whose first line is `line` and the
    full-line comments directly above it."""

    line: int
    count: int


@dataclass(frozen=True)
class InsertAfter:
    """Statements (source, with leading comments) after the statement at `line`; imports
    the block needs (`(module, None)` for `import module`, else `from module import name`)
    go into the file's import block. `key` names the inserted
    block so that a later run replaces instead of duplicating it."""

    line: int
    source: str
    imports: tuple[tuple[str, str | None], ...] = ()
    key: str = ""


@dataclass(frozen=True)
class RemoveStatement:
    """Remove the statement at `line` with its leading comment lines."""

    line: int


@dataclass(frozen=True)
class AddParameter:
    """A keyword-only `name: annotation = default` for the function whose statement starts
    at `line` (its first decorator); nothing when it already has a parameter of that name.
    Without annotation and default: a plain `name`, last of the positional parameters where
    one can go there (they have no defaults, and there is no `*`), else keyword-only."""

    line: int
    name: str
    annotation: str
    default: str


@dataclass(frozen=True)
class AnnotateParameter:
    """`name: annotation` for the unannotated parameter `name` of the function whose
    statement starts at `line` (its first decorator)."""

    line: int
    name: str
    annotation: str


Edit = (SetKeyword | RemoveKeyword | RenameCall | ReplaceCall | AddMarker | RemoveComments
        | BlankLinesAbove | InsertAfter | RemoveStatement | AddParameter | AnnotateParameter)


class EditError(Exception):
    """An edit could not be applied (its node was not found); a bug, reported per file."""


def quote_style(text: str) -> str:
    """The file's prevailing quote for plain strings; ties go to single quotes."""
    single, double = string_quotes(text)
    return '"' if double > single else "'"


def string_quotes(text: str) -> tuple[int, int]:
    """How many plain strings of the text are single- and double-quoted."""
    counts = _plain_string_quotes(text)
    return _tokenized_string_quotes(text) if counts is None else counts


class QuoteStyles:
    """The quote literals inserted into each file of a project use: the file's prevailing
    quote for plain strings; where its strings do not decide (a file of names and numbers),
    that of the project's files nearest to it (its folder's, then each enclosing folder's up
    to the root); ties there go to single quotes. `paths`: the project's Python files, relative
    to its root with POSIX separators; `text_of` reads one."""

    def __init__(self, paths: Iterable[str], text_of: Callable[[str], str]) -> None:
        self._paths = sorted(paths)
        self._text_of = text_of
        self._counts: dict[str, tuple[int, int]] = {}
        self._folders: dict[str, tuple[int, int]] = {}

    def __call__(self, path: str, text: str | None = None) -> str:
        """The quote for `path`, whose text is `text` when given (else `text_of` reads it)."""
        single, double = string_quotes(self._text_of(path) if text is None else text)
        folder = path
        while single == double and folder:
            folder = folder.rpartition("/")[0]
            single, double = self._folder_quotes(folder)
        return '"' if double > single else "'"

    def _folder_quotes(self, folder: str) -> tuple[int, int]:
        if folder not in self._folders:
            prefix = f"{folder}/" if folder else ""
            single = double = 0
            for path in self._paths:
                if path.startswith(prefix):
                    if path not in self._counts:
                        self._counts[path] = string_quotes(self._text_of(path))
                    single += self._counts[path][0]
                    double += self._counts[path][1]
            self._folders[folder] = single, double
        return self._folders[folder]


def _tokenized_string_quotes(text: str) -> tuple[int, int]:
    """Single- and double-quoted plain strings as `tokenize` reads them (none when it cannot)."""
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
        return 0, 0
    return single, double


# What `tokenize` reads, outside strings and comments, that can start a string, a comment,
# or change the nesting and line structure.
_CODE_MARK = re.compile(r"[#'\"()\[\]{}\\\n]")
_LINE_INDENT = re.compile(r"[ \t\f]*")
_STRING_REST = {
    "'": re.compile(r"[^'\\\n]*(?:\\(?:\r\n|[\s\S])[^'\\\n]*)*'"),
    '"': re.compile(r'[^"\\\n]*(?:\\(?:\r\n|[\s\S])[^"\\\n]*)*"'),
    "'''": re.compile(r"[^'\\]*(?:(?:\\[\s\S]|'(?!''))[^'\\]*)*'''"),
    '"""': re.compile(r'[^"\\]*(?:(?:\\[\s\S]|"(?!""))[^"\\]*)*"""'),
}
_WORD_CHARACTER = re.compile(r"\w")
_STRING_PREFIXES = frozenset({"r", "u", "b", "f", "br", "rb", "fr", "rf"})
# From 3.12 `tokenize` reads inside f-strings: their nested strings count.
_NESTED_F_STRINGS = sys.version_info >= (3, 12)


def _plain_string_quotes(text: str) -> tuple[int, int] | None:
    """What `_tokenized_string_quotes` gives, read with a few regular expressions (it is a
    visible share of `apply` on large files); None where the text is unusual enough that only
    `tokenize` can tell (unterminated strings or brackets, bad dedents, lone CRs, numbers
    right before a string, f-strings where `tokenize` reads inside them)."""
    if "\r" in text.replace("\r\n", ""):
        return None  # `tokenize` splits lines at LF only
    single = double = depth = 0
    indents = [0]
    position, end = 0, len(text)
    statement_start = True
    while position < end:
        if statement_start:
            indent = _LINE_INDENT.match(text, position)
            first = indent.end() if indent else position
            if first == end:
                break
            if text[first] in "#\r\n":  # blank or comment line: no indentation
                newline = text.find("\n", first)
                position = end if newline < 0 else newline + 1
                continue
            column = 0
            for character in text[position:first]:
                column = (0 if character == "\f" else
                          (column // 8 + 1) * 8 if character == "\t" else column + 1)
            if column > indents[-1]:
                indents.append(column)
            while column < indents[-1]:
                if column not in indents:
                    return None
                indents.pop()
            position, statement_start = first, False
        mark = _CODE_MARK.search(text, position)
        if mark is None:
            break
        character, at = mark.group(), mark.start()
        position = at + 1
        if character == "\n":
            statement_start = depth == 0
        elif character in "([{":
            depth += 1
        elif character in ")]}":
            depth -= 1
        elif character == "\\":
            for line_break in ("\n", "\r\n"):
                if text.startswith(line_break, position):
                    position += len(line_break)
                    if position == end:
                        return None
                    break
        elif character == "#":
            newline = text.find("\n", at)
            position = end if newline < 0 else newline
        else:
            start = at
            while start > 0 and _WORD_CHARACTER.match(text, start - 1):
                start -= 1
            prefix = text[start:at].lower()
            if prefix[:1].isdigit():
                return None
            formatted = prefix in _STRING_PREFIXES and "f" in prefix
            if formatted and _NESTED_F_STRINGS:
                return None
            opening = character * 3 if text.startswith(character * 3, at) else character
            rest = _STRING_REST[opening].match(text, at + len(opening))
            if rest is None:
                return None
            position = rest.end()
            if formatted or len(opening) == 3:
                continue
            if character == "'":
                single += 1
            else:
                double += 1
    return None if depth else (single, double)


def literal(value: str, quote: str) -> str:
    """`value` as a Python string literal in the given quote style."""
    escaped = value.replace("\\", "\\\\").replace(quote, f"\\{quote}")
    return f"{quote}{escaped}{quote}"


@dataclass
class _State:
    applied: set[Edit] = field(default_factory=set)


class _Transformer(cst.CSTTransformer):
    METADATA_DEPENDENCIES = (PositionProvider,)

    def __init__(self, edits: Sequence[Edit], module: cst.Module, text: str,
                 line_length: int) -> None:
        super().__init__()
        self.module = module
        self.lines = split_lines(text)
        self.line_length = line_length
        self.state = _State()
        self.call_edits: dict[tuple[int, int], list[Edit]] = {}
        self.left_at: dict[tuple[int, int], int] = {}
        """How many calls starting at each position were left so far (innermost first)."""
        self.statement_edits: dict[int, list[Edit]] = {}
        for edit in edits:
            if isinstance(edit, (SetKeyword, RemoveKeyword, RenameCall, ReplaceCall)):
                self.call_edits.setdefault((edit.line, edit.column - 1), []).append(edit)
            else:
                self.statement_edits.setdefault(edit.line, []).append(edit)

    def _start(self, node: cst.CSTNode) -> tuple[int, int]:
        position = self.get_metadata(PositionProvider, node).start
        return position.line, position.column

    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        start = self._start(original)
        edits = self.call_edits.get(start)
        if not edits:
            return updated
        depth = self.left_at.get(start, 0)
        self.left_at[start] = depth + 1
        added = 0
        for edit in edits:
            if edit in self.state.applied or (isinstance(edit, SetKeyword)
                                              and edit.depth != depth):
                continue  # `Page('x')()`: the innermost call at this position took it
            if isinstance(edit, ReplaceCall):
                if edit.awaited:
                    continue  # `leave_Await` replaces the whole `await` expression
                self.state.applied.add(edit)
                return _verbatim(cst.parse_expression(edit.source,
                                                      self.module.config_for_parsing))
            if isinstance(edit, SetKeyword):
                updated = _set_keyword(updated, edit, self.module)
                added += len(f"{edit.keyword}={edit.value}, ")
            elif isinstance(edit, RemoveKeyword):
                updated = _remove_keyword(updated, edit.keyword)
            elif (isinstance(edit, RenameCall) and isinstance(updated.func, cst.Attribute)
                  and updated.func.attr.value == edit.old):
                updated = updated.with_changes(func=cst.Name(edit.new) if edit.unbound
                                               else updated.func.with_changes(
                                                   attr=cst.Name(edit.new)))
            else:
                continue
            self.state.applied.add(edit)
        return self._split_if_too_long(original, updated, added) if added else updated

    def leave_Await(self, original: cst.Await, updated: cst.Await) -> cst.BaseExpression:
        if not isinstance(original.expression, cst.Call):
            return updated
        for edit in self.call_edits.get(self._start(original.expression), ()):
            if isinstance(edit, ReplaceCall) and edit.awaited and edit not in self.state.applied:
                self.state.applied.add(edit)
                return _verbatim(cst.parse_expression(edit.source,
                                                      self.module.config_for_parsing))
        return updated

    def _split_if_too_long(self, original: cst.Call, updated: cst.Call, added: int
                           ) -> cst.Call:
        """A one-line call its keywords (at most `added` characters) made longer than the
        line length and than it was, split one argument per line as `_exploded` splits it."""
        position = self.get_metadata(PositionProvider, original)
        if position.start.line != position.end.line:
            return updated
        text = self.lines[position.start.line - 1]
        if _width(text) + added <= self.line_length:
            return updated  # fits without generating the call's code
        code = self.module.code_for_node(updated)
        width = _width(text) - (position.end.column - position.start.column) + len(code)
        if "\n" in code or "\r" in code or width <= max(self.line_length, _width(text)):
            return updated
        return _split_call(updated, _indent(text))

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
                if isinstance(edit, InsertAfter):
                    after.extend(self._parse_block(edit.source))
                elif isinstance(edit, RemoveStatement):
                    removed = True
                elif isinstance(edit, AddParameter):
                    if not isinstance(statement, cst.FunctionDef):
                        continue
                    statement = self._fitting(source, _add_parameter(statement, edit,
                                                                     self.module))
                elif isinstance(edit, AnnotateParameter):
                    if not isinstance(statement, cst.FunctionDef):
                        continue
                    statement = _annotate_parameter(statement, edit, self.module)
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

    def _fitting(self, original: cst.CSTNode, function: cst.FunctionDef) -> cst.FunctionDef:
        """A one-line signature that parameters made longer than the line length, split one
        parameter per line (as a long call is)."""
        params = self.module.code_for_node(function.params)
        if "\n" in params or "\r" in params or not isinstance(original, cst.FunctionDef):
            return function
        line = self.lines[self.get_metadata(PositionProvider, original.name).start.line - 1]
        returns = (f" -> {self.module.code_for_node(function.returns.annotation)}"
                   if function.returns is not None else "")
        header = (f"{_indent(line)}{'async ' if function.asynchronous else ''}def "
                  f"{function.name.value}({params}){returns}:")
        if _width(header) <= self.line_length:
            return function
        return function.with_changes(params=_split_parameters(function.params, _indent(line)),
                                     whitespace_before_params=_line_break(
                                         _deeper_indent(_indent(line))))

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
        # A block whose only statement moved away (a hoist) keeps a `pass`.
        body = self._rewrite_body(original.body, updated.body) or [
            cst.SimpleStatementLine([cst.Pass()])]
        return updated.with_changes(body=body)


class _Verbatim(cst.CSTTransformer):
    def leave_ParenthesizedWhitespace(
            self, original: cst.ParenthesizedWhitespace,
            updated: cst.ParenthesizedWhitespace) -> cst.ParenthesizedWhitespace:
        return updated.with_changes(indent=False)


def _verbatim(expression: cst.BaseExpression) -> cst.BaseExpression:
    """`expression` (parsed alone) with its lines in brackets indented as written: the code
    generated for an expression in a block would add the block's indentation to them."""
    return cast(cst.BaseExpression, expression.visit(_Verbatim()))


def _deeper(whitespace: cst.ParenthesizedWhitespace) -> cst.ParenthesizedWhitespace:
    """A line break to one indent deeper than the line `whitespace` breaks to."""
    return whitespace.with_changes(first_line=cst.TrailingWhitespace(), empty_lines=[],
                                   last_line=cst.SimpleWhitespace(
                                       whitespace.last_line.value + "    "))


def _break_before_last(call: cst.Call) -> cst.ParenthesizedWhitespace | None:
    """The line break before the last argument, when it starts a line."""
    before = (call.whitespace_before_args if len(call.args) < 2
              else call.args[-2].comma.whitespace_after
              if isinstance(call.args[-2].comma, cst.Comma) else None)
    if isinstance(before, cst.ParenthesizedWhitespace):
        return before.with_changes(first_line=cst.TrailingWhitespace(), empty_lines=[])
    return None


def _line_break_before_last(call: cst.Call, closing: cst.ParenthesizedWhitespace
                            ) -> cst.ParenthesizedWhitespace:
    """A line break to where the last argument starts when it starts a line, else to one
    indent deeper than the closing parenthesis."""
    return _break_before_last(call) or _deeper(closing)


def _line_break(to: str) -> cst.ParenthesizedWhitespace:
    return cst.ParenthesizedWhitespace(first_line=cst.TrailingWhitespace(), indent=False,
                                       last_line=cst.SimpleWhitespace(to))


def _split_parameters(params: cst.Parameters, indent: str) -> cst.Parameters:
    """`params` one per line, one indent deeper than `indent`, with a trailing comma and the
    closing parenthesis back at `indent`."""
    deeper = _deeper_indent(indent)
    star = params.star_arg
    slash = params.posonly_ind
    ordered: list[cst.CSTNode] = [
        *params.posonly_params, *([slash] if isinstance(slash, cst.ParamSlash) else []),
        *params.params, *([star] if isinstance(star, (cst.Param, cst.ParamStar)) else []),
        *params.kwonly_params, *([params.star_kwarg] if params.star_kwarg else [])]
    no_space = cst.SimpleWhitespace("")
    split: dict[int, cst.CSTNode] = {}
    for index, node in enumerate(ordered):
        comma = cst.Comma(whitespace_before=no_space, whitespace_after=_line_break(
            deeper if index < len(ordered) - 1 else indent))
        if isinstance(node, cst.Param):
            split[id(node)] = node.with_changes(comma=comma, whitespace_after_param=no_space)
        elif isinstance(node, (cst.ParamSlash, cst.ParamStar)):
            split[id(node)] = node.with_changes(comma=comma)

    def each(nodes: Sequence[cst.Param]) -> list[cst.Param]:
        return [cast(cst.Param, split[id(node)]) for node in nodes]

    return params.with_changes(
        posonly_params=each(params.posonly_params), params=each(params.params),
        kwonly_params=each(params.kwonly_params),
        posonly_ind=split.get(id(slash), slash),
        star_arg=split.get(id(star), star),
        star_kwarg=(cast(cst.Param, split[id(params.star_kwarg)]) if params.star_kwarg
                    else None))


def _split_call(call: cst.Call, indent: str) -> cst.Call:
    """`call` with one argument per line, one indent deeper than `indent`, a trailing comma,
    and the closing parenthesis back at `indent`."""
    deeper = _deeper_indent(indent)
    no_space = cst.SimpleWhitespace("")
    args = [arg.with_changes(
        comma=cst.Comma(whitespace_before=no_space, whitespace_after=_line_break(
            deeper if index < len(call.args) - 1 else indent)),
        whitespace_after_arg=no_space) for index, arg in enumerate(call.args)]
    return call.with_changes(whitespace_before_args=_line_break(deeper), args=args)


def _set_keyword(call: cst.Call, edit: SetKeyword, module: cst.Module) -> cst.Call:
    """The LibCST twin of `_keyword_insertion` (for statements that also get other edits):
    the same layout; the transformer splits the call once all its keywords are in."""
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
        opening = call.whitespace_before_args
        if isinstance(opening, cst.ParenthesizedWhitespace):
            return call.with_changes(whitespace_before_args=_deeper(opening), args=[
                new_arg.with_changes(comma=cst.Comma(whitespace_after=opening.with_changes(
                    first_line=cst.TrailingWhitespace())))])
        return call.with_changes(args=[new_arg])
    args = list(call.args)
    last = args[-1]
    no_space = cst.SimpleWhitespace("")
    if isinstance(last.comma, cst.Comma):
        closing = last.comma.whitespace_after
        separator: cst.BaseParenthesizableWhitespace
        if isinstance(closing, cst.ParenthesizedWhitespace):
            # A line of its own; the old last line keeps its comment.
            separator = _line_break_before_last(call, closing).with_changes(
                first_line=closing.first_line)
            new_arg = new_arg.with_changes(comma=last.comma.with_changes(
                whitespace_after=closing.with_changes(first_line=cst.TrailingWhitespace())))
        else:
            separator = _break_before_last(call) or cst.SimpleWhitespace(" ")
            new_arg = new_arg.with_changes(comma=last.comma)
        args[-1] = last.with_changes(comma=last.comma.with_changes(whitespace_after=separator))
        return call.with_changes(args=[*args, new_arg])
    after = last.whitespace_after_arg
    if isinstance(after, cst.ParenthesizedWhitespace):
        separator = _line_break_before_last(call, after).with_changes(
            first_line=after.first_line)
        args[-1] = last.with_changes(
            comma=cst.Comma(whitespace_before=no_space, whitespace_after=separator),
            whitespace_after_arg=no_space)
        new_arg = new_arg.with_changes(whitespace_after_arg=after.with_changes(
            first_line=cst.TrailingWhitespace()))
        return call.with_changes(args=[*args, new_arg])
    args[-1] = last.with_changes(
        comma=cst.Comma(whitespace_before=no_space,
                        whitespace_after=_break_before_last(call) or cst.SimpleWhitespace(" ")),
        whitespace_after_arg=no_space)
    return call.with_changes(args=[*args, new_arg.with_changes(whitespace_after_arg=after)])


def _add_parameter(function: cst.FunctionDef, edit: AddParameter,
                   module: cst.Module) -> cst.FunctionDef:
    params = function.params
    names = [p.name.value for p in (*params.posonly_params, *params.params,
                                    *params.kwonly_params)]
    if edit.name in names:
        return function
    config = module.config_for_parsing
    star = params.star_arg
    if not edit.annotation and not edit.default:
        added = cst.Param(name=cst.Name(edit.name))
        plain = [*params.params]
        if (not isinstance(star, (cst.Param, cst.ParamStar)) and not params.kwonly_params
                and params.star_kwarg is None and (plain or not params.posonly_params)
                and not any(p.default is not None for p in plain)):
            if not plain:
                return function.with_changes(params=params.with_changes(params=[added]))
            last = plain[-1]
            if isinstance(last.comma, cst.Comma):
                # One parameter per line, with a trailing comma: the new one goes on its own.
                separator = next(p.comma for p in plain if isinstance(p.comma, cst.Comma))
                plain[-1] = last.with_changes(comma=separator)
                added = added.with_changes(comma=last.comma)
            else:
                plain[-1] = last.with_changes(
                    comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
            return function.with_changes(params=params.with_changes(params=[*plain, added]))
    else:
        added = cst.Param(
            name=cst.Name(edit.name),
            annotation=cst.Annotation(cst.parse_expression(edit.annotation, config)),
            default=cst.parse_expression(edit.default, config))
    existing = [*params.posonly_params, *params.params,
                *([star] if isinstance(star, cst.Param) else []), *params.kwonly_params]
    trailing = existing[-1].comma if existing else None
    if isinstance(trailing, cst.Comma):
        # One parameter per line, with a trailing comma: the new one goes on its own line.
        separator = next(p.comma for p in existing if isinstance(p.comma, cst.Comma))
        if len(existing) == 1:
            separator = trailing
        added = added.with_changes(comma=trailing)
        kwonly = [*params.kwonly_params]
        if kwonly:
            kwonly[-1] = kwonly[-1].with_changes(comma=separator)
        elif isinstance(star, cst.Param):
            star = star.with_changes(comma=separator)
        else:
            last = existing[-1].with_changes(comma=separator)
            params = params.with_changes(params=[*params.params[:-1], last]) if (
                params.params) else params.with_changes(
                    posonly_params=[*params.posonly_params[:-1], last])
            star = cst.ParamStar(comma=separator)
        return function.with_changes(params=params.with_changes(
            star_arg=star, kwonly_params=[*kwonly, added]))
    if not isinstance(star, (cst.Param, cst.ParamStar)):
        star = cst.ParamStar()
    return function.with_changes(params=params.with_changes(
        star_arg=star, kwonly_params=[*params.kwonly_params, added]))


def _annotate_parameter(function: cst.FunctionDef, edit: AnnotateParameter,
                        module: cst.Module) -> cst.FunctionDef:
    annotation = cst.Annotation(cst.parse_expression(edit.annotation, module.config_for_parsing))

    def one(param: cst.Param) -> cst.Param:
        if param.name.value != edit.name or param.annotation is not None:
            return param
        if param.default is None:
            return param.with_changes(annotation=annotation)
        # An annotated parameter's default takes spaces around `=` (`unit: str = '%'`).
        return param.with_changes(annotation=annotation, equal=cst.AssignEqual())

    def annotated(params: Sequence[cst.Param]) -> list[cst.Param]:
        return [one(param) for param in params]

    params = function.params
    return function.with_changes(params=params.with_changes(
        posonly_params=annotated(params.posonly_params), params=annotated(params.params),
        kwonly_params=annotated(params.kwonly_params)))


def _remove_keyword(call: cst.Call, keyword: str) -> cst.Call:
    args = list(call.args)
    for index, arg in enumerate(args):
        if arg.keyword is not None and arg.keyword.value == keyword:
            del args[index]
            if args and index == len(args):
                args[-1] = _closing_like(args[-1], arg)
            return call.with_changes(args=args)
    return call


def _closing_like(last: cst.Arg, removed: cst.Arg) -> cst.Arg:
    """`last` now ends the call: it closes it the way `removed` (the argument after it) did,
    keeping the comment on its own line."""
    previous = last.comma.whitespace_after if isinstance(last.comma, cst.Comma) else None
    closing = (removed.comma.whitespace_after if isinstance(removed.comma, cst.Comma)
               else removed.whitespace_after_arg)
    if isinstance(closing, cst.ParenthesizedWhitespace) and isinstance(
            previous, cst.ParenthesizedWhitespace):
        closing = closing.with_changes(first_line=previous.first_line)
    if isinstance(removed.comma, cst.Comma) and isinstance(last.comma, cst.Comma):
        return last.with_changes(comma=last.comma.with_changes(whitespace_after=closing))
    return last.with_changes(comma=cst.MaybeSentinel.DEFAULT, whitespace_after_arg=closing)


def _attach_header_comments(module: cst.Module) -> cst.Module:
    """Comments right above the first statement parse as the module header; hand them to
    the statement, so that they go with it when it is removed. The code is unchanged."""
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


def _edit_module(text: str, edits: Sequence[Edit], line_length: int) -> str:
    module = _attach_header_comments(cst.parse_module(text))
    wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
    transformer = _Transformer(edits, module, text, line_length)
    result = wrapper.visit(transformer)
    missing = [e for e in edits if e not in transformer.state.applied]
    if missing:
        raise EditError(f"no node for {type(missing[0]).__name__} at line {missing[0].line}")
    code = result.code
    if text.endswith("\r") and not code.endswith(("\r", "\n")):
        code += "\r"  # LibCST drops the last line break of text whose lines end in CR alone
    return code


def _shifted(edit: Edit, offset: int) -> Edit:
    return replace(edit, line=edit.line - offset)


def _statement_spans(tree: ast.Module, lines: list[str]) -> list[tuple[int, int]]:
    """Line ranges of the module's top-level statements (decorators included), with the
    comment lines right above each; statements sharing a line are merged."""
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


_LineEdit = AddMarker | RemoveComments | BlankLinesAbove
"""Edits made on whole lines above a statement, without parsing."""


def _edit_comment_lines(lines: list[str], origin: list[int], statement: int,
                        edits: Sequence[_LineEdit]) -> None:
    """The markers of the statement at 0-based `statement`, as whole comment lines above
    it; `origin` (each line's number before the edits, 0 for a new line) follows along."""
    for edit in edits:
        if isinstance(edit, RemoveComments):
            for index in reversed(_comments_above(lines, statement + 1)):
                if lines[index].lstrip().startswith(edit.prefix):
                    del lines[index]
                    del origin[index]
                    statement -= 1
    for edit in edits:
        if isinstance(edit, AddMarker) and not any(
                lines[index].strip() == edit.text
                for index in _comments_above(lines, statement + 1)):
            target = lines[statement]
            lines.insert(statement, f"{_indent(target)}{edit.text}{_newline(target)}")
            origin.insert(statement, 0)
    for edit in edits:
        if isinstance(edit, BlankLinesAbove):
            top = _comments_above(lines, statement + 1).start
            blank = 0
            while blank < top and not lines[top - blank - 1].strip():
                blank += 1
            missing = max(edit.count - blank, 0)
            lines[top:top] = [_newline(lines[statement], lines)] * missing
            origin[top:top] = [0] * missing
            statement += missing


def _edit_markers(text: str, markers: Sequence[_LineEdit]) -> tuple[str, dict[int, int]]:
    """Every marker edit of a file, as lines (no parse needed; the one way markers are
    written): the new text, and where each line of the old text now is (1-based)."""
    lines = split_lines(text, keepends=True)
    origin = list(range(1, len(lines) + 1))
    by_line: dict[int, list[_LineEdit]] = {}
    for edit in markers:
        by_line.setdefault(edit.line - 1, []).append(edit)
    # Bottom-up: the statements still to mark keep their line numbers.
    for index in sorted(by_line, reverse=True):
        _edit_comment_lines(lines, origin, index, by_line[index])
    return "".join(lines), {old: new for new, old in enumerate(origin, 1) if old}


def _edit_text(lines: list[str], replacements: Sequence[_Replacement]) -> None:
    """Replacements applied bottom-up, right to left, so that the places still to edit keep
    their line numbers and columns."""
    for index, start, end, added in sorted(replacements, reverse=True):
        lines[index] = lines[index][:start] + added + lines[index][end:]


class _DropImport(cst.CSTTransformer):
    """Removes the alias binding `name` from `from module import ...` and `import module`
    statements (the whole statement when it was the last name)."""

    def __init__(self, module: str, name: str) -> None:
        super().__init__()
        self.module, self.name = module, name

    def leave_ImportFrom(self, original: cst.ImportFrom, updated: cst.ImportFrom
                         ) -> cst.BaseSmallStatement | cst.RemovalSentinel:
        if (isinstance(updated.names, cst.ImportStar) or updated.relative
                or updated.module is None
                or cst.helpers.get_full_name_for_node(updated.module) != self.module):
            return updated
        return _without(updated, updated.names,
                        [a for a in updated.names if _bound_name(a) != self.name])

    def leave_Import(self, original: cst.Import, updated: cst.Import
                     ) -> cst.BaseSmallStatement | cst.RemovalSentinel:
        return _without(updated, updated.names, [
            a for a in updated.names if not _imports_module(a, self.module, self.name)])


def _without(statement: cst.Import | cst.ImportFrom, names: Sequence[cst.ImportAlias],
             kept: list[cst.ImportAlias]) -> cst.BaseSmallStatement | cst.RemovalSentinel:
    """The import statement with only the `kept` names (none: removed)."""
    if len(kept) == len(names):
        return statement
    if not kept:
        return cst.RemovalSentinel.REMOVE
    if not isinstance(names[-1].comma, cst.Comma):
        kept[-1] = kept[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
    return statement.with_changes(names=kept)


def _bound_name(alias: cst.ImportAlias) -> str | None:
    """The name `from module import name [as other]` binds."""
    if alias.asname is not None:
        bound = alias.asname.name
        return bound.value if isinstance(bound, cst.Name) else None
    return cst.helpers.get_full_name_for_node(alias.name)


def _imports_module(alias: cst.ImportAlias, module: str, name: str) -> bool:
    """Whether `import <alias>` binds `name` to `module` (`import a.b` binds `a`)."""
    full = cst.helpers.get_full_name_for_node(alias.name) or ""
    if alias.asname is not None:
        return full == module and _bound_name(alias) == name
    return full.split(".")[0] == module == name


def _binds(node: ast.stmt, module: str, name: str) -> bool:
    """Whether the top-level import statement binds `name` from (or to) `module`."""
    return isinstance(node, (ast.Import, ast.ImportFrom)) and any(
        _alias_binds(node, alias, module, name) for alias in node.names)


def _alias_binds(node: ast.Import | ast.ImportFrom, alias: ast.alias, module: str,
                 name: str) -> bool:
    """Whether one name of an import statement binds `name` from (or to) `module`: what
    `_DropImport` removes."""
    if isinstance(node, ast.ImportFrom):
        return not node.level and node.module == module and (alias.asname or alias.name) == name
    if alias.asname:
        return alias.name == module and alias.asname == name
    return alias.name.split(".")[0] == module == name


def _dropped_whole(tree: ast.Module, position: int, unused: Sequence[tuple[str, str]]) -> bool:
    """Whether `_DropImport` removes the whole top-level import at `position` (every name it
    binds is unused) and it is alone on its lines: LibCST would leave nothing of them."""
    node = tree.body[position]
    if not isinstance(node, (ast.Import, ast.ImportFrom)) or node.col_offset:
        return False
    first, last = node.lineno, node.end_lineno or node.lineno
    if position and (tree.body[position - 1].end_lineno or first) >= first:
        return False
    if position + 1 < len(tree.body) and tree.body[position + 1].lineno <= last:
        return False
    return all(any(_alias_binds(node, alias, module, name) for module, name in unused)
               for alias in node.names)


def _names_dropped(lines: list[str], tree: ast.Module, position: int,
                   unused: Sequence[tuple[str, str]]) -> str | None:
    """The line of the top-level import at `position` without its `unused` names, where text
    gives what `_DropImport` leaves: a plain statement on a line of its own (no brackets,
    comment, continuation or `;`); each name that stays keeps what follows it up to the
    next name, and the last one nothing (LibCST's comma). None for LibCST to make it."""
    node = tree.body[position]
    if (not isinstance(node, (ast.Import, ast.ImportFrom)) or node.col_offset
            or node.end_lineno != node.lineno):
        return None
    line = lines[node.lineno - 1]
    if any(mark in line for mark in "(#\\;"):
        return None
    spans = [(_column(line, alias.col_offset), _column(line, alias.end_col_offset or 0))
             for alias in node.names]
    kept = [(line[start:end], line[end:spans[number + 1][0]] if number + 1 < len(spans)
             else "") for number, (start, end) in enumerate(spans)
            if not any(_alias_binds(node, node.names[number], module, name)
                       for module, name in unused)]
    if not kept:
        return None
    return (line[:spans[0][0]] + "".join(name + after for name, after in kept[:-1])
            + kept[-1][0] + line[spans[-1][1]:])


def _used_names(tree: ast.Module) -> set[str]:
    """The names the module reads or binds outside its top-level imports, as the linters
    see them: code, `global` statements, and words inside strings (`__all__` entries,
    string annotations); not comments, nor attributes (`uuid.uuid4` reads no `uuid4`)."""
    names: set[str] = set()
    for statement in tree.body:
        if isinstance(statement, (ast.Import, ast.ImportFrom)):
            continue
        for node in walk(statement):
            if isinstance(node, ast.Name):
                names.add(node.id)
            elif isinstance(node, (ast.Global, ast.Nonlocal)):
                names.update(node.names)
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                names.update(re.findall(r"[^\W\d]\w*", node.value))
    return names


def _drop_unused_imports(text: str, tree: ast.Module | None,
                         imports: Sequence[tuple[str, str]]) -> str:
    """Remove imports the edits left unused; only the import statements are parsed by LibCST
    (a scope analysis of the whole module costs far more than everything else). A statement
    that was its isort section's only one takes the blank line closing the section along.
    `tree`: the text's top-level statements (`_reparsed`), None to parse it."""
    tree = tree or ast.parse(text)
    lines = split_lines(text, keepends=True)
    import_lines = {line for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))
                    for line in range(node.lineno, (node.end_lineno or node.lineno) + 1)}
    # A name the rest of the file does not even mention is unused; one it mentions is
    # unused unless code, `__all__`, a string annotation or `global` reads it.
    rest = "".join(line for number, line in enumerate(lines, 1) if number not in import_lines)
    mentioned = [(module, name) for module, name in imports
                 if re.search(rf"\b{re.escape(name)}\b", rest)]
    used = _used_names(tree) if mentioned else set()
    unused = [(module, name) for module, name in imports if name not in used]
    if not unused:
        return text
    for position in reversed(range(len(tree.body))):
        node = tree.body[position]
        if not any(_binds(node, module, name) for module, name in unused):
            continue
        first, last = node.lineno, node.end_lineno or node.lineno
        kept: str | None = ""
        if not _dropped_whole(tree, position, unused):
            kept = _names_dropped(lines, tree, position, unused)
        if kept is None:
            snippet = cst.parse_module("".join(lines[first - 1:last]))
            for module, name in unused:
                snippet = snippet.visit(_DropImport(module, name))
            kept = snippet.code if snippet.body else ""
        lines[first - 1:last] = [kept]
        if (not kept and first < len(lines) and not lines[first].strip()
                and (first == 1 or not lines[first - 2].strip())):
            lines[first] = ""
    return "".join(lines)


def _calls_at(statements: Iterable[ast.stmt], wanted: Collection[int]
              ) -> dict[tuple[int, int], list[ast.Call]]:
    """The calls of the statements by start (line, byte offset), at least all those that
    start on a `wanted` line: nested statements that span none of them are not walked (an
    edit in a large function walks one statement of its body)."""
    calls: dict[tuple[int, int], list[ast.Call]] = {}

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.expr):  # expressions hold no statements: all of it
            for inner in walk(node):
                if isinstance(inner, ast.Call):
                    calls.setdefault((inner.lineno, inner.col_offset), []).append(inner)
            return
        if isinstance(node, ast.stmt):
            first, last = _first_statement_line(node), node.end_lineno or node.lineno
            if not any(first <= line <= last for line in wanted):
                return
        for child in ast.iter_child_nodes(node):
            visit(child)

    for statement in statements:
        visit(statement)
    return calls


_Replacement = tuple[int, int, int, str]
"""A text change inside one line: 0-based line, start and end column (code points), text."""


def _column(line: str, offset: int) -> int:
    """ast's UTF-8 byte offset on `line` as a code-point column."""
    return offset if line.isascii() else len(line.encode()[:offset].decode())


def _offset(line: str, column: int) -> int:
    """A code-point column on `line` as ast's UTF-8 byte offset."""
    return column if line.isascii() else len(line[:column].encode())


def _indent(line: str) -> str:
    return line[:len(line) - len(line.lstrip(" \t"))]


def _deeper_indent(line: str) -> str:
    """One level deeper than `line`, in the file's own indentation (tabs or 4 spaces)."""
    indent = _indent(line)
    return indent + ("\t" if indent.startswith("\t") else "    ")


def _newline(line: str, lines: Sequence[str] = ()) -> str:
    """The line break ending `line`; for the last line of a file without one, the file's."""
    first = lines[0] if lines else ""
    return (line[len(line.rstrip("\r\n")):] or first[len(first.rstrip("\r\n")):]
            or "\n")


def _width(line: str) -> int:
    return len(line.rstrip("\r\n"))


def _next_token(lines: list[str], line: int, column: int) -> tuple[int, int]:
    """The first position at or after (line, column) that is not blank, a comment, a line
    continuation or a line break."""
    while True:
        text = lines[line]
        while column < len(text) and text[column] in " \t\f\\":
            column += 1
        if column < len(text) and text[column] not in "#\r\n":
            return line, column
        line, column = line + 1, 0


def _past_parentheses(lines: list[str], end: tuple[int, int], close: tuple[int, int]
                      ) -> tuple[tuple[int, int], tuple[int, int]]:
    """From the end of an argument, the end of the parentheses around it and the next token."""
    token = _next_token(lines, *end)
    while token != close and lines[token[0]][token[1]] == ")":
        end = (token[0], token[1] + 1)
        token = _next_token(lines, *end)
    return end, token


def _span(lines: list[str], node: ast.expr | ast.keyword) -> tuple[int, int, int, int]:
    """0-based start line and column, end line and column (code points) of a node."""
    end_line = (node.end_lineno or node.lineno) - 1
    return (node.lineno - 1, _column(lines[node.lineno - 1], node.col_offset), end_line,
            _column(lines[end_line], node.end_col_offset or 0))


def _arguments(call: ast.Call) -> list[ast.expr | ast.keyword]:
    """The call's arguments in source order."""
    return sorted([*call.args, *call.keywords], key=lambda a: (a.lineno, a.col_offset))


def _exploded(lines: list[str], call: ast.Call, arguments: Sequence[ast.expr | ast.keyword],
              added: str, replaced: ast.keyword | None = None,
              inner: Sequence[_Replacement] = (), indent: str | None = None
              ) -> list[_Replacement] | None:
    """A one-line call rewritten with one argument per line and a trailing comma, as black
    splits a call that does not fit: arguments one indent deeper than the call's line (or
    than `indent`, for a call that goes to a line of its own), the closing parenthesis back
    at that indentation. `added` is a new last argument, or takes the place of `replaced`;
    the `inner` insertions inside the arguments are made in them."""
    line = call.lineno - 1
    text = lines[line]
    close = _column(text, call.end_col_offset or 0) - 1
    opening = _next_token(lines, line, _span(lines, call.func)[3])
    while opening[0] == line and text[opening[1]] == ")":
        opening = _next_token(lines, line, opening[1] + 1)
    if opening[0] != line or text[opening[1]] != "(":
        return None
    pieces: list[str] = []
    start = opening[1] + 1
    placed = 0
    for argument in arguments:
        end, token = _past_parentheses(lines, _span(lines, argument)[2:], (line, close))
        if argument is replaced:
            pieces.append(added)
        else:
            origin = start + len(text[start:end[1]]) - len(text[start:end[1]].lstrip())
            piece = text[origin:end[1]].rstrip()
            within = [r for r in inner if origin <= r[1] and r[2] <= origin + len(piece)]
            for _, first, last, insertion in sorted(within, reverse=True):
                piece = piece[:first - origin] + insertion + piece[last - origin:]
            placed += len(within)
            pieces.append(piece)
        start = token[1] + 1
    if placed != len(inner):
        return None
    if replaced is None:
        pieces.append(added)
    newline = _newline(text, lines)
    indent = _indent(text) if indent is None else indent
    deeper = _deeper_indent(indent)
    body = "".join(f"{newline}{deeper}{piece}," for piece in pieces)
    return [(line, opening[1] + 1, close, f"{body}{newline}{indent}")]


def _edited_call(lines: list[str], calls: dict[tuple[int, int], list[ast.Call]],
                 edit: SetKeyword | RemoveKeyword) -> ast.Call | None:
    """The call a keyword edit addresses (None when not exactly one is found)."""
    found = calls.get((edit.line, _offset(lines[edit.line - 1], edit.column - 1)), [])
    if isinstance(edit, SetKeyword) and edit.depth:
        # `router.add_layout(...).add_page(...)`: the calls there, innermost first.
        chained = sorted(found, key=lambda c: (c.end_lineno or 0, c.end_col_offset or 0))
        return chained[edit.depth] if edit.depth < len(chained) else None
    # `Page('x')()`: the call at this position is the innermost, as for the LibCST edit.
    found = [c for c in found if not any(c.func is o for o in found)]
    return found[0] if len(found) == 1 else None


def _keyword_insertion(lines: list[str], calls: dict[tuple[int, int], list[ast.Call]],
                       edit: SetKeyword, line_length: int, inner: Sequence[_Replacement] = (),
                       indent: str | None = None) -> list[_Replacement] | None:
    """`keyword=value` added to a call as a person would add it: after the last argument on
    a call that fits on one line (split one argument per line when it no longer fits); as a
    new last argument line, with the call's indentation and trailing comma, on a call laid
    out one argument per line; comments stay on the line they annotate. None when the call
    is too unusual for plain text (the LibCST edit takes it)."""
    call = _edited_call(lines, calls, edit)
    if call is None or any(isinstance(a, ast.GeneratorExp) for a in call.args):
        return None
    existing = [k for k in call.keywords if k.arg == edit.keyword]
    if existing:
        if not edit.replace:
            return []
        first, start, last, end = _span(lines, existing[0].value)
        if first != last:
            return None
        grown = _width(lines[first]) - (end - start) + len(edit.value)
        if grown <= max(line_length, _width(lines[first])) or call.lineno != call.end_lineno:
            return [(first, start, end, edit.value)]
        return _exploded(lines, call, _arguments(call), f"{edit.keyword}={edit.value}",
                         existing[0], inner, indent)
    added = f"{edit.keyword}={edit.value}"
    close = (call.end_lineno or call.lineno) - 1, _column(
        lines[(call.end_lineno or call.lineno) - 1], call.end_col_offset or 0) - 1
    arguments = _arguments(call)
    single_line = call.lineno - 1 == close[0]
    if not arguments:
        if not single_line:
            return None
        if _width(lines[close[0]]) + len(added) <= line_length:
            return [(close[0], close[1], close[1], added)]
        return _exploded(lines, call, arguments, added, indent=indent)
    (last_line, last_end), token = _past_parentheses(lines, _span(lines, arguments[-1])[2:],
                                                     close)
    comma = token if token != close else None
    if comma is not None and (lines[comma[0]][comma[1]] != ","
                              or _next_token(lines, comma[0], comma[1] + 1) != close):
        return None
    start_line, start_column = _span(lines, arguments[-1])[:2]
    starts_line = (start_line != call.lineno - 1
                   and not lines[start_line][:start_column].strip(" \t("))
    if close[0] == last_line:
        newline = _newline(lines[last_line], lines)
        if starts_line:
            # One argument per line, closed on the last one: the new one gets a line too.
            indent = _indent(lines[start_line])
            return [(close[0], comma[1] + 1, comma[1] + 1, f"{newline}{indent}{added},")
                    if comma else (last_line, last_end, last_end, f",{newline}{indent}{added}")]
        insertion = ((close[0], comma[1] + 1, comma[1] + 1, f" {added},") if comma
                     else (last_line, last_end, last_end, f", {added}"))
        if _width(lines[close[0]]) + len(insertion[3]) <= line_length:
            return [insertion]
        if single_line:
            return _exploded(lines, call, arguments, added, inner=inner, indent=indent)
        if comma:
            return [insertion]
        indent = _indent(lines[last_line])
        if len(indent) <= len(_indent(lines[call.lineno - 1])):
            return [insertion]
        return [(last_line, last_end, last_end, f",{newline}{indent}{added}")]
    if comma is not None and comma[0] == close[0]:
        return None
    indent = _indent(lines[start_line]) if starts_line else _deeper_indent(lines[close[0]])
    if comma is not None:
        after = comma[0] + 1
        return [(after, 0, 0, f"{indent}{added},{_newline(lines[comma[0]])}")]
    return [(last_line, last_end, last_end, ","),
            (last_line + 1, 0, 0, f"{indent}{added}{_newline(lines[last_line])}")]


def _keyword_removals(lines: list[str], calls: dict[tuple[int, int], list[ast.Call]],
                      group: Sequence[Edit]) -> list[_Replacement] | None:
    """The group's keyword removals as text, where that is what LibCST leaves: a keyword
    argument followed by another argument goes with everything up to that argument (its
    comma, the comments and line breaks after it, all LibCST counts as part of it). None
    when one is the last argument, or two removals share a line."""
    removals = [e for e in group if isinstance(e, RemoveKeyword)]
    if not removals or len(removals) != len(group):
        return None
    replacements: list[_Replacement] = []
    spans: list[tuple[int, int]] = []
    for edit in removals:
        call = _edited_call(lines, calls, edit)
        if call is None:
            return None
        arguments = _arguments(call)
        position = next((n for n, a in enumerate(arguments)
                         if isinstance(a, ast.keyword) and a.arg == edit.keyword), None)
        if position is None or position + 1 == len(arguments):
            return None
        following = arguments[position + 1]
        if not isinstance(following, (ast.keyword, ast.Starred)):
            return None
        start_line, start = _span(lines, arguments[position])[:2]
        end_line, end = _span(lines, following)[:2]
        if any(not (end_line < first or last < start_line) for first, last in spans):
            return None
        spans.append((start_line, end_line))
        if start_line == end_line:
            replacements.append((start_line, start, end, ""))
            continue
        replacements.append((start_line, start, len(lines[start_line]),
                             lines[end_line][end:]))
        replacements.extend((index, 0, len(lines[index]), "")
                            for index in range(start_line + 1, end_line + 1))
    return replacements


def _removed_and_set(lines: list[str], calls: dict[tuple[int, int], list[ast.Call]],
                     group: Sequence[Edit], line_length: int, first: int, last: int
                     ) -> str | None:
    """The span's text after a keyword removal and a keyword insertion on one call (DM202's
    `backend=` removal with DM101's uid, or with the scope it carries over), made as text
    where LibCST gives the same: in LibCST's order (the insertion sees the call with or
    without the removed argument), the removal as `_keyword_removals` makes it, and the
    insertion on one line where the line still fits (LibCST then splits nothing either)."""
    if len(group) != 2:
        return None
    removal = next((e for e in group if isinstance(e, RemoveKeyword)), None)
    insertion = next((e for e in group if isinstance(e, SetKeyword)), None)
    if (removal is None or insertion is None or insertion.replace
            or (removal.line, removal.column) != (insertion.line, insertion.column)
            or removal.keyword == insertion.keyword):
        return None
    call = _edited_call(lines, calls, insertion)
    removed = _keyword_removals(lines, calls, [removal])
    if call is None or not removed or any(k.arg == insertion.keyword for k in call.keywords):
        return None
    if group[0] is insertion:
        inserted = _keyword_insertion(lines, calls, insertion, line_length)
        commented = any("#" in line for line in lines[call.lineno - 1:call.end_lineno])
        if inserted is None or not (_unsplit(inserted) or (_new_lines(inserted)
                                                           and not commented)):
            return None
        edited = lines[first - 1:last]
        changes = [(index - first + 1, start, end, text)
                   for index, start, end, text in [*removed, *inserted]]
        spans = sorted((index, start, end) for index, start, end, _ in changes)
        if any(line == next_line and next_start < end for (line, _, end), (next_line, next_start, _)
               in itertools.pairwise(spans)):
            return None
        if len({index for index, _, _, _ in removed}) > 1 and {
                index for index, _, _, _ in removed} & {index for index, _, _, _ in inserted}:
            return None
        _edit_text(edited, changes)
        return "".join(edited)
    edited = lines[first - 1:last]
    _edit_text(edited, [(index - first + 1, start, end, text)
                        for index, start, end, text in removed])
    text = "".join(edited)
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return None
    shifted = replace(insertion, line=insertion.line - first + 1)
    edited = split_lines(text, keepends=True)
    own_calls = _calls_at(tree.body, {shifted.line})
    inserted = _keyword_insertion(edited, own_calls, shifted, line_length)
    if inserted is None or not _unsplit(inserted):
        return None
    _edit_text(edited, inserted)
    return "".join(edited)


def _new_lines(inserted: Sequence[_Replacement]) -> bool:
    """Whether a keyword insertion breaks lines only in lines of its own (a new last
    argument line above a closing parenthesis on its own line): the call keeps its layout,
    as it does in LibCST where no comment sits among its arguments."""
    return all(start == end == 0 or not ("\n" in text or "\r" in text)
               for _, start, end, text in inserted)


def _set_and_replaced(lines: list[str], calls: dict[tuple[int, int], list[ast.Call]],
                      group: Sequence[Edit], line_length: int, first: int, last: int
                      ) -> str | None:
    """The span's text after keyword insertions and call replacements on lines of their own
    (DM101's uid on a page function's DerivedVariable with DM105's rewrites of its buttons),
    made as text where each is what LibCST makes of it alone: no call that gets a keyword
    shares a line with a replaced call."""
    keywords = [e for e in group if isinstance(e, SetKeyword)]
    replaced = [e for e in group if isinstance(e, ReplaceCall)]
    if (not keywords or not replaced or len(keywords) + len(replaced) != len(group)
            or any(e.awaited for e in replaced)):
        return None
    snippet = lines[first - 1:last]
    if "\r" in "".join(snippet) or not snippet[-1].endswith("\n"):
        return None
    inserted = _as_text_edits(lines, calls, keywords, line_length)
    spans = [_replaceable_call(lines, calls, e, first) for e in replaced]
    keyword_calls = [_edited_call(lines, calls, e) for e in keywords]
    if inserted is None or None in spans or None in keyword_calls:
        return None
    taken = [(span[0], span[2]) for span in spans if span is not None] + [
        (call.lineno - 1, (call.end_lineno or call.lineno) - 1)
        for call in keyword_calls if call is not None]
    taken.sort()
    if any(after[0] <= before[1] for before, after in itertools.pairwise(taken)):
        return None
    # An insertion edits one item of `snippet` (a split call's new lines are in its text),
    # so the replacements' spans still hold.
    _edit_text(snippet, [(index - first + 1, start, end, text)
                         for index, start, end, text in inserted])
    for start_line, start, end_line, end, source in sorted(
            ((*span, e.source) for span, e in zip(spans, replaced, strict=True)
             if span is not None), reverse=True):
        begin, stop = start_line - first + 1, end_line - first + 1
        snippet[begin:stop + 1] = [snippet[begin][:start] + source + snippet[stop][end:]]
    return "".join(snippet)


def _unsplit(inserted: Sequence[_Replacement]) -> bool:
    """Whether a keyword insertion went on the line of the argument before it (LibCST breaks
    lines by other rules than the text insertion does)."""
    return not any("\n" in text or "\r" in text for _, _, _, text in inserted)


def _as_text_edits(lines: list[str], calls: dict[tuple[int, int], list[ast.Call]],
                   group: Sequence[Edit], line_length: int) -> list[_Replacement] | None:
    """The group's keyword insertions as text, or None if one of them needs LibCST (also
    when one call gets two keywords, or a split call would overlap another edit: each
    insertion is planned on the original text)."""
    planned: list[tuple[SetKeyword, list[_Replacement]]] = []
    edited: set[tuple[int, int, int]] = set()
    for edit in group:
        if not isinstance(edit, SetKeyword) or (edit.line, edit.column, edit.depth) in edited:
            return None
        insertion = _keyword_insertion(lines, calls, edit, line_length)
        if insertion is None:
            return None
        edited.add((edit.line, edit.column, edit.depth))
        planned.append((edit, insertion))
    if len(planned) > 1:
        _split_until_lines_fit(lines, calls, planned, line_length)
    replacements = [r for _, insertion in planned for r in insertion]
    spans = sorted((line, start, end) for line, start, end, _ in replacements)
    for (line, _, end), (next_line, next_start, _) in itertools.pairwise(spans):
        if line == next_line and next_start < end:
            return None
    return replacements


def _split_until_lines_fit(lines: list[str], calls: dict[tuple[int, int], list[ast.Call]],
                           planned: list[tuple[SetKeyword, list[_Replacement]]],
                           line_length: int) -> None:
    """Insertions planned one by one on one line may each fit and together overflow it, or
    split calls nested in each other: split the one-line calls there, outermost and leftmost
    first (the insertions inside a split call go into its arguments), as a single insertion
    that does not fit splits its call, until the line fits or no call is left to split."""
    by_line: dict[int, list[int]] = {}
    for position, (_, insertion) in enumerate(planned):
        for line in dict.fromkeys(r[0] for r in insertion):
            by_line.setdefault(line, []).append(position)
    for line, positions in by_line.items():
        if len(positions) < 2:
            continue
        limit = max(line_length, _width(lines[line]))
        for position in sorted(positions, key=lambda p: planned[p][0].column):
            edit, insertion = planned[position]
            call = _edited_call(lines, calls, edit)
            inside = [] if call is None else [
                other for other in positions if other != position
                and _nested_in(lines, calls, planned[other][0], call)]
            # A call inside this one that its own insertion split: split this one first
            # (as black does), where the inner one may then fit on its line.
            if not any(not _unsplit(planned[other][1]) for other in inside) and _fits(
                    lines[line], [r for p in positions for r in planned[p][1] if r[0] == line],
                    limit):
                break
            if not insertion or call is None or call.lineno != call.end_lineno:
                continue
            split = _split_with_nested(lines, calls, edit,
                                       [planned[other][0] for other in inside], line_length)
            inner = any(planned[other][1] for other in inside)
            if not split or (split == insertion and not inner) or (inner and len(split) != 1):
                continue
            planned[position] = (edit, split)
            for other in inside:
                planned[other] = (planned[other][0], [])


def _nested_in(lines: list[str], calls: dict[tuple[int, int], list[ast.Call]],
               edit: SetKeyword, call: ast.Call) -> bool:
    """Whether the call `edit` addresses is inside the one-line `call`, on its line."""
    nested = _edited_call(lines, calls, edit)
    if nested is None or nested is call or nested.lineno != call.lineno:
        return False
    text = lines[call.lineno - 1]
    return (_column(text, call.col_offset) < _column(text, nested.col_offset)
            and _column(text, nested.end_col_offset or 0) < _column(
                text, call.end_col_offset or 0))


def _split_with_nested(lines: list[str], calls: dict[tuple[int, int], list[ast.Call]],
                       edit: SetKeyword, nested: Sequence[SetKeyword], limit: int
                       ) -> list[_Replacement] | None:
    """The one-line call `edit` addresses split one argument per line with its insertion,
    the insertions of `nested` (calls inside it) made in its arguments (inside a split call
    an insertion fits where a lone one did not); while lines are still longer than `limit`,
    a nested call is split the same way, one indent deeper (outermost and leftmost first),
    where that shortens what goes past the limit. None when a nested insertion cannot be
    made on one line."""
    call = _edited_call(lines, calls, edit)
    if call is None:
        return None
    unsplit: dict[SetKeyword, list[_Replacement]] = {}
    for other in nested:
        insertion = _keyword_insertion(lines, calls, other, sys.maxsize)
        if insertion is None or any("\n" in r[3] or "\r" in r[3] for r in insertion):
            return None
        unsplit[other] = insertion
    text = lines[call.lineno - 1]
    inside: dict[SetKeyword, list[SetKeyword]] = {edit: list(nested)}
    for other in nested:
        outer = _edited_call(lines, calls, other)
        inside[other] = [] if outer is None else [
            inner for inner in nested if _nested_in(lines, calls, inner, outer)]
    # Each call's parent is the innermost edited call around it.
    parent = {other: min((o for o in inside if other in inside[o]),
                         key=lambda o: len(inside[o])) for other in nested}
    split_calls: set[SetKeyword] = {edit}

    def render(target: SetKeyword, indent: str) -> list[_Replacement] | None:
        inner: list[_Replacement] = []
        for child in (o for o in nested if parent[o] == target):
            if child in split_calls:
                child_split = render(child, _deeper_indent(indent))
                if not child_split or len(child_split) != 1:
                    return None
                inner.extend(child_split)
            else:
                inner.extend(r for o in [child, *inside[child]] for r in unsplit[o])
        return _keyword_insertion(lines, calls, target, 0, inner, indent)

    split = render(edit, _indent(text))
    overlong = _overlong(text, split or [], limit)
    depth = {other: len([o for o in nested if other in inside[o]]) for other in nested}
    for other in sorted(nested, key=lambda o: (depth[o], o.column)):
        if not split or not overlong:
            break
        if parent[other] not in split_calls:
            continue
        split_calls.add(other)
        attempt = render(edit, _indent(text))
        still = _overlong(text, attempt or [], limit)
        if attempt and len(attempt) == 1 and still < overlong:
            split, overlong = attempt, still
        else:
            split_calls.discard(other)
    return split


def _overlong(line: str, replacements: Sequence[_Replacement], limit: int) -> int:
    """By how many characters in all the lines `line` becomes after the replacements go
    past `limit`."""
    return sum(max(_width(piece) - limit, 0)
               for piece in split_lines(_replaced(line, replacements)))


def _replaced(line: str, replacements: Sequence[_Replacement]) -> str:
    """`line` after replacements that do not overlap (right to left: columns stay valid)."""
    for _, start, end, added in sorted(replacements, reverse=True):
        line = line[:start] + added + line[end:]
    return line


def _fits(line: str, replacements: Sequence[_Replacement], limit: int) -> bool:
    """Whether the replacements do not overlap and every line `line` becomes after them is
    at most `limit` long."""
    ordered = sorted(replacements)
    if any(after[1] < before[2] for before, after in itertools.pairwise(ordered)):
        return False
    return all(_width(piece) <= limit for piece in split_lines(_replaced(line, ordered)))


@dataclass(frozen=True)
class EditStyle:
    """What the project's linters expect of written code: the line length, and the top-level
    package names of the project (first-party imports get their own section)."""

    line_length: int = DEFAULT_LINE_LENGTH
    first_party: frozenset[str] = frozenset()


_CALL_TEXT_EDITS = (SetKeyword, ReplaceCall, RemoveKeyword)
"""Edits that may be made as text, on calls found by their position."""

_LINE_EDITS = (InsertAfter, RemoveStatement, AddParameter, AnnotateParameter)
"""Edits that address a statement by its first line only."""


def edit_style(path: Path, modules: Iterable[str]) -> EditStyle:
    """The style for the file at `path` of a project whose modules are `modules`."""
    return EditStyle(line_length(path.parent),
                     frozenset(module.split(".")[0] for module in modules))


def apply_edits(text: str, edits: Sequence[Edit], style: EditStyle = EditStyle()) -> str:
    """Apply every edit to one module's source; raise EditError if one found no node.

    LibCST parses only the top-level statements that get an edit (most of a large file is
    untouched, and LibCST's parse and position metadata dominate the cost of `apply`);
    markers, `uid=` insertions and new imports need no LibCST at all."""
    return _applied(text, edits, style, False)[0]


def _applied(text: str, edits: Sequence[Edit], style: EditStyle, keep_tree: bool
             ) -> tuple[str, ast.Module | None]:
    """`apply_edits`, and (asked by `keep_tree`) the top-level statements of the text it
    gives (`_reparsed`) where they come cheaper than parsing it again: the import edits that
    follow the others read them."""
    dropped = list(dict.fromkeys(
        [e.unused_import for e in edits if isinstance(e, (RemoveKeyword, ReplaceCall))
         and e.unused_import is not None]
        + [i for e in edits if isinstance(e, SetKeyword) for i in e.unused_imports]))
    if dropped:
        plain = [replace(e, unused_import=None) if isinstance(e, (RemoveKeyword, ReplaceCall))
                 else replace(e, unused_imports=()) if isinstance(e, SetKeyword)
                 else e for e in edits]
        return _drop_unused_imports(*_applied(text, plain, style, True), dropped), None
    imports: list[tuple[str, str | None]] = [
        i for e in edits if isinstance(e, (InsertAfter, SetKeyword)) for i in e.imports]
    if imports:
        plain = [replace(e, imports=()) if isinstance(e, (InsertAfter, SetKeyword)) else e
                 for e in edits]
        return _added_imports(*_applied(text, plain, style, True), imports, style, keep_tree)
    markers = [e for e in edits if isinstance(e, (AddMarker, RemoveComments, BlankLinesAbove))]
    if markers:
        text, moved = _edit_markers(text, markers)
        edits = [replace(e, line=moved[e.line]) for e in edits
                 if not isinstance(e, (AddMarker, RemoveComments, BlankLinesAbove))]
        if not edits:
            return text, None
    lines = split_lines(text, keepends=True)
    groups: dict[tuple[int, int], list[Edit]] = {}
    tree = ast.parse(text)
    spans = _statement_spans(tree, lines)
    for edit in edits:
        span = next(((a, b) for a, b in spans if a <= edit.line <= b), None)
        if span is None:
            return _edit_module(text, edits, style.line_length), None
        groups.setdefault(span, []).append(edit)
    # Only the statements whose calls get an edit are walked (most of a file is untouched).
    located = sorted((first, last) for (first, last), group in groups.items()
                     if any(isinstance(e, _CALL_TEXT_EDITS) for e in group))
    calls = _calls_at((n for n in tree.body if _starts_within(n, located)),
                      {e.line for e in edits if isinstance(e, _CALL_TEXT_EDITS)})
    before = list(lines) if keep_tree else []
    for (first, last), group in sorted(groups.items(), reverse=True):
        replacements = _as_text_edits(lines, calls, group, style.line_length)
        if replacements is None:
            replacements = _keyword_removals(lines, calls, group)
        if replacements is not None:
            _edit_text(lines, replacements)
            continue
        rewritten_text = _replaced_and_inserted(lines, tree, calls, group, first, last)
        if rewritten_text is None:
            rewritten_text = _removed_and_set(lines, calls, group, style.line_length, first,
                                              last)
        if rewritten_text is None:
            rewritten_text = _set_and_replaced(lines, calls, group, style.line_length, first,
                                               last)
        if rewritten_text is not None:
            _set_span(lines, first, last, rewritten_text)
            continue
        keywords = [e for e in group if isinstance(e, SetKeyword)]
        if keywords and all(isinstance(e, _LINE_EDITS) for e in group if e not in keywords):
            # Keywords as text first (their layout), then the statement edits by LibCST at
            # the lines their statements moved to.
            replacements = _as_text_edits(lines, calls, keywords, style.line_length)
            if replacements is not None:
                _edit_text(lines, replacements)
                moved, line = {}, first
                for index in range(first - 1, last):
                    moved[index + 1] = line
                    line += len(split_lines(lines[index]))
                group = [replace(e, line=moved[e.line]) for e in group if e not in keywords]
        snippet = "".join(lines[first - 1:last])
        rewritten = _edit_module(snippet, [_shifted(e, first - 1) for e in group],
                                 style.line_length)
        # A snippet whose only statement was removed leaves no line behind, not an empty one.
        _set_span(lines, first, last, rewritten if rewritten.strip() else "")
    if not keep_tree:
        return "".join(lines), None
    touched = [index for index, (old, new) in enumerate(zip(before, lines, strict=True))
               if old is not new]
    return "".join(lines), _reparsed(tree, lines, touched)


def _starts_within(statement: ast.stmt, spans: Sequence[tuple[int, int]]) -> bool:
    """Whether the statement starts in one of the sorted, disjoint `spans`."""
    line = _first_statement_line(statement)
    position = bisect.bisect_right(spans, (line, sys.maxsize)) - 1
    return position >= 0 and spans[position][1] >= line


def _set_span(lines: list[str], first: int, last: int, text: str) -> None:
    """`text` in place of lines `first`..`last` (1-based), one item of `lines` still standing
    for each line of the text before: the places of the edits still to make, and of the
    statements `_reparsed` reuses, hold."""
    lines[first - 1:last] = [text, *[""] * (last - first)]


def _reparsed(tree: ast.Module, lines: Sequence[str], touched: Collection[int]
              ) -> ast.Module | None:
    """The top-level statements of `"".join(lines)`, from `tree` (of the text before, one
    item of `lines` for each of its lines) and a parse of only the statements on the
    `touched` items: the others keep their nodes, moved to their new lines. Only the
    statements' own positions (and their decorators') are moved, which is all the import
    edits read; None where the edited statements do not parse alone."""
    ranges = [(_first_statement_line(n), n.end_lineno or n.lineno) for n in tree.body]
    starts = [first for first, _ in ranges]
    regions: list[tuple[int, int]] = []
    for index in sorted(touched):
        low = high = index + 1
        # Whole statements: every one ending on or after the region's first line (they end
        # in order), and every one starting on or before its last (`a = 1; b = (\n 2)`).
        position = bisect.bisect_right(starts, low) - 1
        while position >= 0 and ranges[position][1] >= low:
            low, high = min(low, ranges[position][0]), max(high, ranges[position][1])
            position -= 1
        following = bisect.bisect_right(starts, high)
        while following and ranges[following - 1][1] > high:
            high = ranges[following - 1][1]
            following = bisect.bisect_right(starts, high)
        while regions and regions[-1][1] >= low:
            low, high = min(low, regions[-1][0]), max(high, regions[-1][1])
            regions.pop()
        regions.append((low, high))
    body: list[ast.stmt] = []
    shift = 0
    position = 0
    for low, high in regions:
        while position < len(tree.body) and ranges[position][0] < low:
            body.append(_moved(tree.body[position], shift))
            position += 1
        while position < len(tree.body) and ranges[position][0] <= high:
            position += 1
        text = "".join(lines[low - 1:high])
        if high < len(lines) and text and not text.endswith(("\n", "\r")):
            return None  # the edit joined the line after it: its statement changed too
        try:
            region = ast.parse(text)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return None
        body.extend(_moved(node, low - 1 + shift) for node in region.body)
        shift += len(split_lines(text)) - (high - low + 1)
    body.extend(_moved(node, shift) for node in tree.body[position:])
    return ast.Module(body=body, type_ignores=[])


def _moved(statement: ast.stmt, lines: int) -> ast.stmt:
    """The statement `lines` lines further down (its own position and its decorators')."""
    if lines:
        for node in (statement, *getattr(statement, "decorator_list", ())):
            node.lineno += lines
            if node.end_lineno is not None:
                node.end_lineno += lines
    return statement


def _replaced_and_inserted(lines: list[str], tree: ast.Module,
                           calls: dict[tuple[int, int], list[ast.Call]], group: Sequence[Edit],
                           first: int, last: int) -> str | None:
    """The span's text after call replacements and insertions after its one top-level
    statement, made as text where LibCST would give exactly this text (replacements
    of calls without parentheses of their own; blocks LibCST reproduces verbatim at module
    level: LF line breaks, indented as the span is); None where LibCST must make the edits."""
    if not all(isinstance(e, (ReplaceCall, InsertAfter)) for e in group) or any(
            isinstance(e, ReplaceCall) and e.awaited for e in group):
        return None
    statements = [n for n in tree.body
                  if first <= _first_statement_line(n) and (n.end_lineno or n.lineno) <= last]
    snippet = lines[first - 1:last]
    text = "".join(snippet)
    if len(statements) != 1 or "\r" in text or not text.endswith("\n"):
        return None
    statement = statements[0]
    blocks = [e.source for e in group if isinstance(e, InsertAfter)]
    if any(e.line != _first_statement_line(statement) for e in group
           if isinstance(e, InsertAfter)):
        return None
    indent = _first_indent(text) if blocks else None
    if blocks and not all(_verbatim_block(block, indent) for block in blocks):
        return None
    found: list[tuple[int, int, int, int, str]] = []
    for edit in group:
        if not isinstance(edit, ReplaceCall):
            continue
        span = _replaceable_call(lines, calls, edit, first)
        if span is None:
            return None
        found.append((*span, edit.source))
    found.sort()
    for before, after in itertools.pairwise(found):
        if (after[0], after[1]) < (before[2], before[3]):
            return None
    for start_line, start, end_line, end, source in reversed(found):
        begin, stop = start_line - first + 1, end_line - first + 1
        snippet[begin:stop + 1] = [snippet[begin][:start] + source + snippet[stop][end:]]
    return "".join(snippet) + "".join(blocks)


def _first_statement_line(node: ast.stmt) -> int:
    decorators = getattr(node, "decorator_list", None)
    return decorators[0].lineno if decorators else node.lineno


def _first_indent(text: str) -> str | None:
    """The indentation LibCST takes as a module's default: its first indented block's (four
    spaces without one); None when the text does not tokenize."""
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            if token.type == tokenize.INDENT:
                return token.string
    except (tokenize.TokenError, SyntaxError):
        return None
    return "    "


@lru_cache(maxsize=256)
def _verbatim_block(block: str, indent: str | None) -> bool:
    """Whether LibCST inserts `block` at module level exactly as written: statements (with
    comments above them, none after them), LF line breaks, and the first indented block
    indented as the module it goes into (LibCST re-indents those to the module's default)."""
    if indent is None or "\r" in block or not block.endswith("\n"):
        return False
    try:
        body = ast.parse(block).body
    except SyntaxError:
        return False
    return bool(body) and (body[-1].end_lineno == len(split_lines(block))
                           and _first_indent(block) == indent)


def _replaceable_call(lines: list[str], calls: dict[tuple[int, int], list[ast.Call]],
                      edit: ReplaceCall, first: int) -> tuple[int, int, int, int] | None:
    """The span (0-based lines, code-point columns) of the call a ReplaceCall replaces, when
    text replacement gives what LibCST would: LF line breaks in the replacement, and a call
    that is not wrapped in parentheses of its own (LibCST replaces those with it)."""
    if "\r" in edit.source:
        return None
    found = calls.get((edit.line, _offset(lines[edit.line - 1], edit.column - 1)), [])
    found = [c for c in found if not any(c.func is o for o in found)]
    if len(found) != 1:
        return None
    call = found[0]
    root: ast.expr = call.func
    while isinstance(root, ast.Attribute):
        root = root.value
    start_line, start, end_line, end = _span(lines, call)
    if not isinstance(root, ast.Name) or not lines[start_line][start:].startswith(root.id):
        return None
    before = lines[start_line][:start]
    index = start_line
    while not before.strip():
        index -= 1
        if index < first - 1:
            return (start_line, start, end_line, end)
        before = lines[index]
        if "#" in before:
            return None
    return None if before.rstrip().endswith(("(", "\\")) else (start_line, start, end_line, end)


_FUTURE, _STDLIB, _THIRD_PARTY, _FIRST_PARTY, _LOCAL = range(5)


def _section(module: str, level: int, first_party: frozenset[str]) -> int:
    """isort's sections, in their order."""
    top = module.split(".")[0]
    if level:
        return _LOCAL
    if module == "__future__":
        return _FUTURE
    if top in sys.stdlib_module_names:
        return _STDLIB
    return _FIRST_PARTY if top in first_party else _THIRD_PARTY


def _name_key(name: str) -> tuple[int, str]:
    """isort's `order-by-type`: CONSTANTS, then Classes, then the rest."""
    kind = 0 if name.isupper() and len(name) > 1 else 1 if name[:1].isupper() else 2
    return kind, name.lower()


def _statement_key(node: ast.Import | ast.ImportFrom, by_module: bool) -> tuple[int, str]:
    """Where isort puts a statement in its section: `import x` lines before `from x import`
    lines unless the file sorts both kinds together by module."""
    module = (node.names[0].name if isinstance(node, ast.Import)
              else "." * node.level + (node.module or ""))
    kind = 0 if by_module or isinstance(node, ast.Import) else 1
    return kind, module.lower()


def _import_block(tree: ast.Module) -> list[ast.Import | ast.ImportFrom]:
    """The module's leading import statements (after its docstring)."""
    body = tree.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
            and isinstance(body[0].value.value, str):
        body = body[1:]
    block: list[ast.Import | ast.ImportFrom] = []
    for node in body:
        if not isinstance(node, (ast.Import, ast.ImportFrom)):
            break
        block.append(node)
    return block


def _whole_lines(lines: list[str], node: ast.stmt) -> bool:
    """Whether the statement is alone on its lines (no `;`, no comment)."""
    first, last = node.lineno - 1, (node.end_lineno or node.lineno) - 1
    end = _column(lines[last], node.end_col_offset or 0)
    return (not lines[first][:_column(lines[first], node.col_offset)].strip()
            and not lines[last][end:].strip()
            and not any("#" in line for line in lines[first:last + 1]))


def _render_from(module: str, names: Sequence[str], line_length: int, newline: str) -> str:
    single = f"from {module} import {', '.join(names)}"
    if len(single) <= line_length:
        return single + newline
    body = "".join(f"    {name},{newline}" for name in names)
    return f"from {module} import ({newline}{body}){newline}"


def add_imports(text: str, imports: Sequence[tuple[str, str | None]],
                style: EditStyle = EditStyle()) -> str:
    """Add `import module` / `from module import name` where the file lacks them, as isort
    would: a name joins an existing `from module import ...`; a new statement goes into its
    section (standard library, third party, first party) at its sorted place, or opens the
    section where isort puts it. Existing top-level imports are reused (`import os.path`
    binds `os`)."""
    return _added_imports(text, None, imports, style, False)[0]


def _added_imports(text: str, tree: ast.Module | None,
                   imports: Sequence[tuple[str, str | None]], style: EditStyle,
                   keep_tree: bool) -> tuple[str, ast.Module | None]:
    """`add_imports` on a text whose top-level statements are `tree` (None: parse it), and
    (asked by `keep_tree`) the statements of the text it gives."""
    tree = tree or ast.parse(text)
    lines = split_lines(text, keepends=True)
    top = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
    bound_modules = {a.name.split(".")[0] if a.asname is None else a.asname
                     for n in top if isinstance(n, ast.Import) for a in n.names}
    bound_names = {(n.module, a.asname or a.name) for n in top
                   if isinstance(n, ast.ImportFrom) and not n.level for a in n.names}
    wanted_modules: list[str] = []
    wanted_names: dict[str, list[str]] = {}
    for module, name in imports:
        if name is None:
            if module not in bound_modules and module not in wanted_modules:
                wanted_modules.append(module)
        elif (module, name) not in bound_names and name not in wanted_names.get(module, []):
            wanted_names.setdefault(module, []).append(name)
    block = _import_block(tree)
    newline = _newline(lines[0]) if lines else "\n"
    replacements: list[_Replacement] = []
    statements: list[tuple[ast.Import | ast.ImportFrom, str]] = []
    for module, names in wanted_names.items():
        joined = next((n for n in block if isinstance(n, ast.ImportFrom) and not n.level
                       and n.module == module and _whole_lines(lines, n)
                       and all(a.asname is None for a in n.names)), None)
        if joined is not None:
            merged = [a.name for a in joined.names]
            for name in names:
                position = next((i for i, old in enumerate(merged)
                                 if _name_key(old) > _name_key(name)), len(merged))
                merged.insert(position, name)
            first, last = joined.lineno - 1, (joined.end_lineno or joined.lineno) - 1
            rendered = _render_from(module, merged, style.line_length, _newline(lines[last]))
            replacements.append((first, 0, len(lines[first]), rendered))
            replacements.extend((index, 0, len(lines[index]), "")
                                for index in range(first + 1, last + 1))
            continue
        names = sorted(names, key=_name_key)
        node = ast.ImportFrom(module=module, names=[ast.alias(n) for n in names], level=0)
        statements.append((node, _render_from(module, names, style.line_length, newline)))
    for module in wanted_modules:
        statements.append((ast.Import(names=[ast.alias(module)]), f"import {module}{newline}"))
    by_module = any(
        isinstance(before, ast.ImportFrom) and isinstance(after, ast.Import)
        and _section(before.module or "", before.level, style.first_party)
        == _section(after.names[0].name, 0, style.first_party)
        for before, after in itertools.pairwise(block))
    if block:
        present = {_section_of(n, style.first_party) for n in block}
        opening = [s for s in statements if _section_of(s[0], style.first_party) not in present]
        replacements.extend(_import_place(lines, block, node, rendered, by_module,
                                          style.first_party) for node, rendered in statements
                            if _section_of(node, style.first_party) in present)
        replacements.extend(_opened_sections(lines, block, opening, by_module,
                                             style.first_party))
    elif statements:
        replacements.append(_new_import_block(lines, tree, statements, style.first_party))
    if not replacements:
        return text, tree
    edited = [*lines, ""]
    for index, start, end, added in sorted(replacements, reverse=True):
        edited[index] = edited[index][:start] + added + edited[index][end:]
    touched = {index for index, _, _, _ in replacements}
    if not keep_tree or len(lines) in touched:  # none asked, or added after the last line
        return "".join(edited), None
    return "".join(edited), _reparsed(tree, edited[:-1], touched)


def _section_of(statement: ast.Import | ast.ImportFrom, first_party: frozenset[str]) -> int:
    if isinstance(statement, ast.Import):
        return _section(statement.names[0].name, 0, first_party)
    return _section(statement.module or "", statement.level, first_party)


def _new_import_block(lines: list[str], tree: ast.Module,
                      statements: Sequence[tuple[ast.Import | ast.ImportFrom, str]],
                      first_party: frozenset[str]) -> _Replacement:
    """A file without leading imports gets a block after its docstring and header comments,
    one section after another, followed by a blank line."""
    newline = _newline(statements[0][1])
    text = _in_sections(statements, False, first_party)[1]
    body = tree.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
            and isinstance(body[0].value.value, str):
        start = body[0].end_lineno or body[0].lineno
        text = newline + text
    else:
        start = 0
        while start < len(lines) and lines[start].lstrip().startswith("#"):
            start += 1
    if start < len(lines) and lines[start].strip():
        text += newline
    return (start, 0, 0, text)


def _in_sections(statements: Sequence[tuple[ast.Import | ast.ImportFrom, str]],
                 by_module: bool, first_party: frozenset[str]
                 ) -> tuple[list[tuple[ast.Import | ast.ImportFrom, str]], str]:
    """Import statements in isort's order, and their text: one section after another, with a
    blank line between."""
    ordered = sorted(statements, key=lambda s: (_section_of(s[0], first_party),
                                                _statement_key(s[0], by_module)))
    newline = _newline(ordered[0][1])
    text = ""
    for index, (node, rendered) in enumerate(ordered):
        if index and _section_of(node, first_party) != _section_of(ordered[index - 1][0],
                                                                    first_party):
            text += newline
        text += rendered
    return ordered, text


def _opened_sections(lines: list[str], block: Sequence[ast.Import | ast.ImportFrom],
                     statements: Sequence[tuple[ast.Import | ast.ImportFrom, str]],
                     by_module: bool, first_party: frozenset[str]) -> list[_Replacement]:
    """New statements of sections the import block lacks: those that go before the same
    existing section (or after the block) as one insertion, section after section with a
    blank line between, as isort orders them (the standard library's `import os` before a
    third-party `from dara.core.runtime import ...`, both above a first-party-only block)."""
    groups: dict[int, list[tuple[ast.Import | ast.ImportFrom, str]]] = defaultdict(list)
    for statement in statements:
        section = _section_of(statement[0], first_party)
        following = next((n for n, node in enumerate(block)
                          if _section_of(node, first_party) > section), len(block))
        groups[following].append(statement)
    replacements: list[_Replacement] = []
    for following, group in groups.items():
        ordered, text = _in_sections(group, by_module, first_party)
        if following < len(block):
            replacements.append(_import_place(lines, block, ordered[0][0], text, by_module,
                                              first_party))
        else:
            replacements.append(_import_place(lines, block, ordered[-1][0], text, by_module,
                                              first_party))
    return replacements


def _import_place(lines: list[str], block: Sequence[ast.Import | ast.ImportFrom],
                  node: ast.Import | ast.ImportFrom, rendered: str, by_module: bool,
                  first_party: frozenset[str]) -> _Replacement:
    """Where a new import statement goes in the file's import block, as a replacement that
    inserts it."""
    def section_of(statement: ast.Import | ast.ImportFrom) -> int:
        return _section_of(statement, first_party)

    section, key = section_of(node), _statement_key(node, by_module)
    same = [n for n in block if section_of(n) == section]
    def above(statement: ast.stmt) -> int:
        # Comments above an import belong to it, but not the file's header above the block.
        if statement is block[0]:
            return statement.lineno - 1
        return _comments_above(lines, statement.lineno).start

    def below(statement: ast.stmt, added: str) -> _Replacement:
        index = statement.end_lineno or statement.lineno
        if index < len(lines) or lines[index - 1].endswith(("\n", "\r")):
            return (index, 0, 0, added)
        # The statement ends the file without a line break: the new text ends it instead.
        end = len(lines[index - 1])
        return (index - 1, end, end, newline + added.rstrip("\r\n"))

    newline = _newline(rendered)
    if same:
        later = next((n for n in same if _statement_key(n, by_module) > key), None)
        if later is not None:
            return (above(later), 0, 0, rendered)
        return below(same[-1], rendered)
    after = [n for n in block if section_of(n) > section]
    if after:
        return (above(after[0]), 0, 0, rendered + newline)
    return below(block[-1], newline + rendered)
