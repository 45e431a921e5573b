"""Per-file facts: everything the project index needs from one module, read once with `ast`.

Facts are plain, picklable data so that files can be read in worker processes and cached
by content hash. Nothing here knows about Dara, except the few `WATCHED_WORDS` some rules look
for: names stay as written (`dc.DerivedVariable`); the index resolves them across modules.
"""

from __future__ import annotations

import ast
import copyreg
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from hashlib import blake2b
from itertools import islice, repeat
from sys import intern
from typing import Any, Literal, NamedTuple, cast

from dara_migrate.index.dara_api import SECRET_NAME, names_secret
from dara_migrate.layout import split_lines
from dara_migrate.loop_keys import distinct_keys, loop_key

ScopeKind = Literal["module", "function", "class", "lambda"]
BindingKind = Literal[
    "import", "import_module", "assign", "def", "class", "global", "subscript", "attr",
    "augassign", "del", "param", "nonlocal", "field",
]
Const = str | int | float | bool | None

WATCHED_WORDS = ("JWT_SECRET", "utils_registry", "websocket_registry", "sessions_registry",
                 "WebsocketManager")
"""Words some rules look for: a file that contains none of them, and imports no file that
does, cannot be about them, so those rules skip it without resolving its names."""

MARKER_RE = re.compile(
    r"^\s*#\s*dara-migrate:\s*(?P<kind>ignore|local-only)"
    r"\[(?P<codes>[A-Z0-9, ]*)\]\s*(?P<reason>.*)$"
)


IN_LOOP = 1
"""A bit of calls' and bindings' `packed` field: inside a loop or comprehension of the scope."""
AWAITED = 2
"""A bit of calls' `packed` field: the call's result is awaited."""
MEMO = 2
"""A bit of bindings' `packed` field: a store under `if key not in container:`."""
SUBSCRIPTED = 4
"""A bit of calls' `packed` field: what is called is an item (`VIEWS[kind]()`, and
`DerivedVariable[str](...)`, which the callee looks through)."""
WRITTEN_INTO = 8
"""A bit of calls' `packed` field: an item of the call's result is assigned or deleted
(`SESSIONS.setdefault(user, {})[key] = value`)."""
ATTRIBUTE_WRITTEN = 16
"""A bit of calls' `packed` field: an attribute of the call's result is assigned or deleted
(`SESSIONS.setdefault(user, Visit()).pages = 3`)."""
STMT_COL_SHIFT = 5
"""A `packed` field holds the statement's column above its bits. Facts are tuples, and a
tuple's size grows in steps of two fields: one field less saves a step in every call and
binding of a project."""


class Span(NamedTuple):
    """A source range: 1-based lines, 1-based code-point columns, `end_col` exclusive."""

    line: int
    col: int
    end_line: int
    end_col: int


class Value(NamedTuple):
    """A summary of one expression, enough for rules to reason about it without the tree.

    Facts are named tuples rather than dataclasses: a large project has hundreds of thousands
    of them, and tuples pickle (to workers and the cache) and build much faster."""

    kind: str
    text: str = ""
    """A name or a callee as written; what a `slice` slices (`rows` of `rows[1:]`); a dict
    literal's keys, comma-separated, when each is a string holding no comma."""
    data: Const = None
    """What the kind has: a constant's value, a call's id among the file's calls, a lambda's
    scope id (read as `const`, `call` and `scope`: one field for the three keeps a project's
    hundreds of thousands of values a size step smaller); for an `item` (a name unpacked from
    a call's result: `config, router = build()`), its position, the call being its `items`."""
    calls: tuple[str, ...] = ()
    names: tuple[str, ...] = ()
    items: tuple[Value, ...] = ()
    """A container's or dict's values; a lambda's defaults (its `names` are its body's)."""

    @property
    def const(self) -> Const:
        """A constant's value (`str` and `const` kinds); else None."""
        return None if self.kind == "call" or self.kind == "lambda" else self.data

    @property
    def call(self) -> int:
        """For a call: its id among the file's calls; else -1."""
        return cast(int, self.data) if self.kind == "call" else -1

    @property
    def scope(self) -> int:
        """For a lambda: the id of its scope; else -1."""
        return cast(int, self.data) if self.kind == "lambda" else -1


class Param(NamedTuple):
    name: str
    annotation: str | None
    kind: Literal["positional", "keyword", "vararg", "kwarg"]
    has_default: bool
    default_type: str = ""
    """For an unannotated parameter whose default is a `str`, `int`, `float` or `bool`
    constant, that type's name (what every call not giving it passes)."""


class Scope(NamedTuple):
    """A function, lambda or class body (id 0 is the module itself)."""

    id: int
    parent: int
    kind: ScopeKind
    name: str
    qualname: str
    span: Span
    stmt_line: int
    stmt_col: int
    stmt_digest: int
    """The statement's digest (`stmt_hash`); -1 for the module."""
    decorators: tuple[Value, ...] = ()
    params: tuple[Param, ...] = ()
    bases: tuple[str, ...] = ()
    is_async: bool = False
    loop: bool = False
    globals: tuple[str, ...] = ()
    returns: str = ""
    """The return annotation as written (`Variable`, `"Panel"`); empty without one."""
    returned: tuple[Value, ...] = ()
    """What the body's `return` statements return (a lambda: its body)."""

    @property
    def stmt_hash(self) -> str:
        return _hex_digest(self.stmt_digest)


class Call(NamedTuple):
    id: int
    callee: str
    scope: int
    line: int
    """Where the call is: `span`'s fields, kept flat (a project has as many calls as spans)."""
    col: int
    end_line: int
    end_col: int
    stmt_line: int
    packed: int
    """`stmt_col` above the `IN_LOOP`, `AWAITED`, `SUBSCRIPTED`, `WRITTEN_INTO` and
    `ATTRIBUTE_WRITTEN` bits (`STMT_COL_SHIFT`)."""
    stmt_digest: int
    """The statement's digest (`stmt_hash`)."""
    args: tuple[Value, ...]
    kwargs: tuple[tuple[str, Value], ...]
    target: str
    parent: int
    func_call: int = -1
    """For `make()(x)` or `make().fit(x)`: the id of the call whose result is called."""
    starred: int = -1
    """Index in `args` of the first `*iterable` argument (-1: none); from there on, which
    parameter an argument fills is not known."""

    @property
    def span(self) -> Span:
        """`Span(line, col, end_line, end_col)`, a new object at each use."""
        return _new_fact(Span, self[3:7])

    @property
    def stmt_col(self) -> int:
        return self.packed >> STMT_COL_SHIFT

    @property
    def stmt_hash(self) -> str:
        return _hex_digest(self.stmt_digest)

    @property
    def loop(self) -> bool:
        """Called inside a loop or comprehension of its scope."""
        return bool(self.packed & IN_LOOP)

    @property
    def awaited(self) -> bool:
        return bool(self.packed & AWAITED)

    def kwarg(self, name: str) -> Value | None:
        for key, value in self.kwargs:
            if key == name:
                return value
        return None

    def argument(self, position: int, name: str) -> Value | None:
        """The value given for a parameter, by keyword or by position; else the `*iterable`
        or `**mapping` that may carry it (its value is then not known)."""
        value = self.kwarg(name)
        if value is not None:
            return value
        if 0 <= self.starred <= position:
            return self.args[self.starred]
        if position < len(self.args):
            return self.args[position]
        return self.kwarg("**")

    def keyword(self, name: str) -> Value | None:
        """`name=...` as given, else the `**mapping` that may carry it."""
        value = self.kwarg(name)
        return value if value is not None else self.kwarg("**")


class Binding(NamedTuple):
    """A name bound or written in a scope: imports, assignments, subscript/attribute stores."""

    scope: int
    name: str
    kind: BindingKind
    span: Span
    target: str = ""
    value: Value | None = None
    stmt_line: int = 0
    packed: int = 0
    """`stmt_col` above the `IN_LOOP` and `MEMO` bits (see `STMT_COL_SHIFT`)."""

    @property
    def stmt_col(self) -> int:
        return self.packed >> STMT_COL_SHIFT

    @property
    def loop(self) -> bool:
        """Bound inside a loop or comprehension of its scope."""
        return bool(self.packed & IN_LOOP)

    @property
    def memo(self) -> bool:
        """A subscript store under `if key not in container:`, the memo-cache idiom."""
        return bool(self.packed & MEMO)

    @property
    def imported_module(self) -> str:
        """For an import: the module it loads, in full (`import a.b.c` binds `a`, its target,
        and loads `a.b.c`, kept as its value)."""
        return self.value.text if self.value is not None and self.value.kind == "module" else (
            self.target)


class Marker(NamedTuple):
    line: int
    target_line: int
    kind: Literal["ignore", "local-only"]
    codes: tuple[str, ...]
    reason: str


class Loop(NamedTuple):
    """Where in a scope definitions are made on each pass of a loop with no literal keys (a
    `while`, an `async for`, a loop over what is not a literal, a comprehension's conditions
    and iterables), or of a loop over a name (`for region in REGIONS`), whose keys are that
    name's literal, if it is bound to one."""

    scope: int
    line: int
    col: int
    end_line: int
    end_col: int
    name: str
    """The name looped over (or over its `.items()`, `.keys()`); empty: no keys."""
    dict_only: bool
    """Over `.items()` or `.keys()`: the name's literal must be a dict."""

    def holds(self, call: Call) -> bool:
        return self.scope == call.scope and (self.line, self.col) <= (call.line, call.col) < (
            self.end_line, self.end_col)


@dataclass(slots=True)
class FileFacts:
    path: str
    module: str
    is_package: bool
    scopes: list[Scope] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)
    bindings: list[Binding] = field(default_factory=list)
    markers: list[Marker] = field(default_factory=list)
    mentions: frozenset[str] = frozenset()
    """The `WATCHED_WORDS` the source contains anywhere (code, strings or comments; for
    `JWT_SECRET`, outside comments)."""
    line_count: int = 0
    names: frozenset[str] = frozenset()
    """Every name the module loads anywhere (a cheap "can this file mention X" test)."""
    loops: tuple[Loop, ...] = ()
    """Loops without literal keys, and loops over names (most loops run over a literal)."""

    def __reduce__(self) -> tuple[Callable[..., FileFacts], tuple[Any, ...]]:
        """Pickled with its scopes, calls and bindings as plain tuples, made (and made back
        into facts, by `_file_facts`) by C loops over each list: that is most facts, and
        pickling each through its reducer costs a Python call per fact."""
        return _file_facts, (
            self.path, self.module, self.is_package, list(map(tuple, self.scopes)),
            list(map(tuple, self.calls)), list(map(tuple, self.bindings)), self.markers,
            self.mentions, self.line_count, self.names, self.loops)


def _file_facts(path: str, module: str, is_package: bool, scopes: list[tuple[Any, ...]],
                calls: list[tuple[Any, ...]], bindings: list[tuple[Any, ...]],
                markers: list[Marker], mentions: frozenset[str], line_count: int,
                names: frozenset[str], loops: tuple[Loop, ...]) -> FileFacts:
    """A file's facts from their pickled form (`FileFacts.__reduce__`)."""
    return FileFacts(path, module, is_package, list(map(_new_fact, repeat(Scope), scopes)),
                     list(map(_new_fact, repeat(Call), calls)),
                     list(map(_new_fact, repeat(Binding), bindings)), markers, mentions,
                     line_count, names, loops)


_NO_WORDS: frozenset[str] = frozenset()

_new_fact = tuple.__new__
"""Builds a fact from all its fields in order: a named tuple's own constructor is a Python
function, several times slower, and extraction builds hundreds of thousands of values."""


def _pickled_as_tuple(fact: tuple[Any, ...], new: Callable[..., Any] = tuple.__new__,
                      kind: type[type] = type, plain: type[tuple[Any, ...]] = tuple,
                      ) -> tuple[Callable[..., Any], tuple[Any, ...]]:
    """How facts are pickled: a named tuple's own `__new__` is a Python function, called once
    per object when unpickling; `tuple.__new__` is not, which halves the time it takes to
    load a project's facts from the cache or from a worker. (The builtins are bound as
    defaults: this runs for every fact that is pickled.)"""
    return new, (kind(fact), plain(fact))


for _fact in (Span, Value, Param, Scope, Call, Binding, Marker):
    copyreg.pickle(_fact, _pickled_as_tuple)


def dotted_name(node: ast.expr) -> str:
    """`a.b.c` for Name/Attribute chains; subscripts are looked through (`DV[str]` -> `DV`)."""
    if type(node) is ast.Name:  # the common cases first, without the loop
        return node.id
    if type(node) is ast.Attribute and type(node.value) is ast.Name:
        return intern(f"{node.value.id}.{node.attr}")
    parts: list[str] = []
    while True:
        kind = type(node)
        if kind is ast.Attribute:
            parts.append(node.attr)  # type: ignore[attr-defined]
            node = node.value  # type: ignore[attr-defined]
        elif kind is ast.Subscript:
            node = node.value  # type: ignore[attr-defined]
        elif kind is ast.Name:
            parts.append(node.id)  # type: ignore[attr-defined]
            return parts[0] if len(parts) == 1 else intern(".".join(reversed(parts)))
        else:
            return ""


def annotation_text(node: ast.expr | None) -> str | None:
    if node is None:
        return None
    if type(node) is ast.Name:  # the common case first
        return node.id
    if type(node) is ast.Constant:
        value = node.value
        return value if isinstance(value, str) else "None" if value is None else "?"
    if isinstance(node, ast.Subscript):
        inner = node.slice
        elements = inner.elts if isinstance(inner, ast.Tuple) else [inner]
        args = ", ".join(annotation_text(e) or "?" for e in elements)
        return intern(f"{dotted_name(node.value) or '?'}[{args}]")
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return intern(f"{annotation_text(node.left)} | {annotation_text(node.right)}")
    return dotted_name(node) or "?"


class _Columns:
    """Converts ast's UTF-8 byte offsets into code-point columns."""

    def __init__(self, lines: list[str], ascii_only: bool) -> None:
        self.lines = lines
        self.ascii_only = ascii_only
        """Byte offsets are columns everywhere (most files): no line needs looking at."""

    def col(self, line: int, offset: int) -> int:
        if self.ascii_only:
            return offset + 1
        text = self.lines[line - 1] if 0 < line <= len(self.lines) else ""
        if text.isascii():
            return offset + 1
        return len(text.encode("utf-8")[:offset].decode("utf-8", "replace")) + 1

    def span(self, node: ast.expr | ast.stmt) -> Span:
        end_line = node.end_lineno or node.lineno
        if self.ascii_only:
            return _new_fact(Span, (node.lineno, node.col_offset + 1, end_line,
                                    (node.end_col_offset or 0) + 1))
        return Span(
            node.lineno,
            self.col(node.lineno, node.col_offset),
            end_line,
            self.col(end_line, node.end_col_offset or 0),
        )


def _hex_digest(digest: int) -> str:
    """A statement digest as reports show it: 12 hex digits; empty for none (-1)."""
    return f"{digest:012x}" if digest >= 0 else ""


_Name, _Constant, _Starred, _Expr = ast.Name, ast.Constant, ast.Starred, ast.Expr
_Subscript = ast.Subscript
_STATEMENT_HASHER = blake2b(digest_size=6)
"""Copied for each statement hash: cheaper than making a hasher with its options each time."""
_ASCII_WHITESPACE = bytes(c for c in range(128) if chr(c).isspace())
"""The ASCII characters `str.split()` splits on (the four separators `\x1c`-`\x1f` too)."""
_ALL_EXPRESSION_TYPES = tuple(kind for kind in vars(ast).values()
                              if isinstance(kind, type) and issubclass(kind, ast.expr))
_ALL_STATEMENT_TYPES = tuple(kind for kind in vars(ast).values()
                             if isinstance(kind, type) and issubclass(kind, ast.stmt))
_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)
_DEFINITIONS = frozenset((ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
_HEADED = frozenset((ast.If, ast.For, ast.AsyncFor, ast.While, ast.With, ast.AsyncWith,
                     ast.Try))
"""Compound statements whose statement (for hashes and anchors) is their first line."""
_LEAVES = frozenset(("name", "attr", "str", "const"))
"""Kinds of values that nothing but their text or constant tells apart."""


def _plain_name(node: ast.expr) -> bool:
    """`NAME` or `module.NAME`: names and attributes only (no call, no subscript)."""
    while type(node) is ast.Attribute:
        node = node.value
    return type(node) is _Name


_TEXT_TARGETS = frozenset({"uid", "path", "id"})
"""Keywords whose f-string parts are kept wherever they are given."""


def _path_like(node: ast.JoinedStr) -> bool:
    """An f-string whose text has no whitespace and which holds a name: a path or a key,
    not a message."""
    texts = [part.value for part in node.values if type(part) is _Constant]
    return len(texts) < len(node.values) and all(
        type(text) is str and _WHITESPACE(text) is None for text in texts)


_WHITESPACE = re.compile(r"\s").search


def _path_division(node: ast.BinOp) -> bool:
    """Whether an expression joins plain names and text with `/` only (`DATA / 'a.csv'`,
    pathlib's join), a name first."""
    leaves: list[ast.expr] = []
    pending: list[ast.expr] = [node]
    while pending:
        side = pending.pop()
        if type(side) is ast.BinOp:
            if type(side.op) is not ast.Div:
                return False
            pending += (side.right, side.left)
        else:
            leaves.append(side)
    return _plain_name(leaves[0]) and all(
        _plain_name(leaf) or (type(leaf) is _Constant and type(leaf.value) is str)
        for leaf in leaves[1:])


def _concatenation(node: ast.expr) -> bool:
    """Whether an expression joins text and plain names with `+` only (`'a-' + B + '-c'`),
    a string among them."""
    if type(node) is not ast.BinOp or type(node.op) is not ast.Add:
        return False
    text = False
    pending: list[ast.expr] = [node.left, node.right]
    while pending:
        side = pending.pop()
        if type(side) is _Constant and type(side.value) is str:
            text = True
        elif type(side) is ast.BinOp and type(side.op) is ast.Add:
            pending += (side.left, side.right)
        elif not _plain_name(side):
            return False
    return text


def squeezed(text: str) -> bytes:
    """`text` without its whitespace, UTF-8 encoded: `"".join(text.split()).encode()`. ASCII
    text (most statements) drops its whitespace bytes in one C loop, several times faster."""
    if text.isascii():
        return text.encode().translate(None, _ASCII_WHITESPACE)
    return "".join(text.split()).encode()


class _Extractor:
    def __init__(self, facts: FileFacts, lines: list[str], ascii_only: bool) -> None:
        self.facts = facts
        self.lines = lines
        self.columns = _Columns(lines, ascii_only)
        self.span = self.columns.span
        self.bindings = facts.bindings
        self.scopes = facts.scopes
        self.ascii_only = ascii_only
        self.names: set[str] = set()
        self.leaves: dict[str, Value] = {}
        """The value of each name and dotted name read so far: a file repeats them often, and
        one shared object for each keeps a project's facts small."""
        self.strings: dict[str, Value] = {}
        """The same for string constants."""
        self.constants: dict[tuple[type, Const], Value] = {}
        """The same for other constants, by type (`1`, `1.0` and `True` are equal)."""
        self.tuples: dict[tuple[str, ...], tuple[str, ...]] = {}
        """One object for each distinct tuple of names or callees in the file."""
        self.params: dict[Param, Param] = {}
        self.declarations = 0
        """`global` and `nonlocal` statements read so far: a body without one declares none."""
        self.pairs: dict[tuple[str, Value, type], Any] = {}
        """One object for each distinct keyword argument whose value is a name or constant, by
        the constant's type too (`x=1` and `x=True` are equal tuples, not the same argument).
        Its pairs, and `call`'s list of them, are `Any` rather than `tuple[str, Value]`: compiled
        (mypyc), a typed pair is unboxed when read and a copy boxed when stored, so it would be
        neither shared nor kept alive for `argument_tuples`."""
        self.callees: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {}
        """Callee -> its first name, `(callee,)` and `(first name,)`, each shared."""
        self.argument_tuples: dict[int | tuple[int, ...], tuple[Any, ...]] = {}
        """Calls' argument tuples by the identities of their items (not by equality, which
        takes `1` for `True`): calls repeat their arguments (`Text("x")`, `uid=name`), whose
        values are shared. Each tuple keeps its items alive, so no id is reused."""
        self.scope = 0
        self.qualname = ""
        self.loop = False
        self.loops: list[Loop] = []
        self.stmt: tuple[Any, Any] = (1, 1)
        """First line and column of the statement being read. `Any`, as `stmt_digest` is:
        compiled (mypyc), an `int` is kept unboxed, and each fact of the statement would box
        a copy of its own rather than share one object."""
        self.stmt_node: ast.stmt | None = None
        self.stmt_digest: Any = -1
        """The statement's digest, once a call or scope needs it (-1 before)."""
        self.returned: list[Value] = []
        """Values of the `return` statements read so far in the current function."""
        self.memos: tuple[dict[tuple[int, str], str], set[tuple[int, str]]] = ({}, set())
        """(scope, name) -> the container `name = container.get(key)` read it from; and the
        (scope, container) pairs whose stores follow `if key in container: return ...`. One
        attribute for the two: an instance with more than 30 loses CPython's fast attribute
        reads, and every handler here reads attributes of `self`."""
        self.parent_call = -1
        self.target = ""
        self.awaited = False
        module_span = Span(1, 1, max(len(lines), 1), 1)
        facts.scopes.append(Scope(0, -1, "module", "", "", module_span, 1, 1, -1))

    def run(self, tree: ast.Module) -> None:
        for stmt in tree.body:
            self.statement(stmt)

    def statement(self, node: ast.stmt) -> None:
        # Not given back: the next statement sets them again, and a block gives back those
        # of the statement that holds it (`block`).
        self.stmt = (node.lineno, node.col_offset + 1 if self.ascii_only
                     else self.columns.col(node.lineno, node.col_offset))
        self.stmt_node, self.stmt_digest = node, -1
        if type(node) is _Expr:  # the most common statement after assignments: a bare call
            value = node.value
            _EXPRESSIONS[type(value)](self, value)
        else:
            _STATEMENTS[type(node)](self, node)

    def statement_digest(self) -> Any:
        """The statement's text, whitespace removed, hashed into 48 bits: kept as an int,
        which takes half the memory of its hex digits (a project has one for each statement
        with a call or a definition). Hashed when a call or scope needs it: many statements
        have neither."""
        if self.stmt_digest < 0:
            node = self.stmt_node
            assert node is not None
            kind, first = type(node), self.stmt[0]
            if kind in _DEFINITIONS:
                body_line = node.body[0].lineno  # type: ignore[attr-defined]
                last = body_line - 1 if body_line > first else first
            elif kind in _HEADED:
                last = first
            else:
                last = max(node.end_lineno or first, first)
            lines = self.lines
            # Whitespace removed from the lines' concatenation: the same as from each line.
            text = lines[first - 1] if first == last else "".join(lines[first - 1:last])
            hasher = _STATEMENT_HASHER.copy()
            hasher.update(squeezed(text))
            self.stmt_digest = int.from_bytes(hasher.digest(), "big")
        return self.stmt_digest

    def assign_statement(self, node: ast.Assign) -> None:
        self.assign(node.targets, node.value, node)

    def annotated_assign(self, node: ast.AnnAssign) -> None:
        if node.value is not None:
            self.assign([node.target], node.value, node, annotation_text(node.annotation))
        elif type(node.target) is ast.Name and self._in_class():
            # A dataclass or NamedTuple field: its place gives a constructor's argument.
            self.bind(node.target.id, "field", self.columns.span(node),
                      target=annotation_text(node.annotation) or "")

    def _in_class(self) -> bool:
        """Whether the statement being read is in a class body. A function's scope is made
        after its body (its entry is None until then), a class's before."""
        # Read as what the list holds while extracting: compiled (mypyc), an item read as a
        # `Scope` is checked to be one.
        scope = cast("list[Scope | None]", self.facts.scopes)[self.scope]
        return scope is not None and scope.kind == "class"

    def augmented_assign(self, node: ast.AugAssign) -> None:
        value = self.expr(node.value)
        self.store(node.target, "augassign", value, node)

    def declaration(self, node: ast.Global | ast.Nonlocal) -> None:
        self.declarations += 1
        kind: BindingKind = "global" if isinstance(node, ast.Global) else "nonlocal"
        for name in node.names:
            self.bind(name, kind, self.span(node))

    def delete(self, node: ast.Delete) -> None:
        for target in node.targets:
            self.store(target, "del", None, node)

    def for_(self, node: ast.For | ast.AsyncFor) -> None:
        iterable = self.expr(node.iter)
        target = node.target
        names = _loop_names(target)
        collection, method = _dict_view(node.iter)
        if method == "items" and len(names) != 2:
            collection = None
        if (names and type(node) is ast.For and type(collection) in _UNROLLABLE
                and not _has_inner_loop(node.body)):
            # Each element of a literal (or a named) collection is one pass, as if unrolled;
            # also each item or value of a dict (`for name, page in PAGES.items()`).
            source = collection.id if type(collection) is ast.Name else ""
            items = () if source else (iterable,)
            view = (method,) if method else ()
            span = self.columns.span(node)
            whole = type(target) is ast.Name
            for position, name in enumerate(names):
                self.bind(name, "assign", span, value=_new_fact(Value, (
                    "each", source, -1 if whole else position, view, (), items)))
        else:
            self.store(target, "assign", None, node)
        if type(node) is not ast.For or not self.keyed_loop(node, target, node.iter):
            self.no_keys(self.columns.span(node))
        self.block(node.body, loop=True)
        self.block(node.orelse)

    def keyed_loop(self, node: ast.For | ast.ListComp | ast.SetComp | ast.DictComp
                   | ast.GeneratorExp, target: ast.expr, iterable: ast.expr) -> bool:
        """Whether a loop's passes may have literal keys (`loop_key`); a loop over a name is
        listed, for the name's literal to be looked up."""
        if type(iterable) is _Name and type(target) is _Name:  # the most common loop
            self.loops.append(_new_fact(Loop, (self.scope, *self.columns.span(node),
                                               iterable.id, False)))
            return True
        shape = loop_key(target, iterable)
        if shape is None:
            return False
        source, dict_only = shape[1:]
        if not isinstance(source, str):
            return distinct_keys(source, dict_only)
        self.loops.append(_new_fact(Loop, (self.scope, *self.columns.span(node), source,
                                           dict_only)))
        return True

    def no_keys(self, span: Span) -> None:
        self.loops.append(_new_fact(Loop, (self.scope, *span, "", False)))

    def while_(self, node: ast.While) -> None:
        self.expr(node.test)
        self.no_keys(self.columns.span(node))
        self.block(node.body, loop=True)
        self.block(node.orelse)

    def with_(self, node: ast.With | ast.AsyncWith) -> None:
        for item in node.items:
            self.expr(item.context_expr)
            if item.optional_vars is not None:
                self.store(item.optional_vars, "assign", None, node)
        self.block(node.body)

    def return_(self, node: ast.Return) -> None:
        if node.value is not None:
            self.returned.append(self.expr(node.value))

    def match(self, node: ast.Match) -> None:
        self.expr(node.subject)
        for case in node.cases:
            if case.guard is not None:
                self.expr(case.guard)
            self.block(case.body)

    def other_statement(self, node: ast.stmt) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.expr):
                self.expr(child)

    def block(self, body: list[ast.stmt], loop: bool = False) -> None:
        """The statements of a compound statement's block; then that statement is the one
        being read again (a `case` guard after a block is read as part of the `match`)."""
        saved = self.loop, self.stmt, self.stmt_node, self.stmt_digest
        self.loop = self.loop or loop
        for stmt in body:
            self.statement(stmt)
        self.loop, self.stmt, self.stmt_node, self.stmt_digest = saved

    def try_(self, node: ast.stmt) -> None:
        self.block(getattr(node, "body", []))
        for handler in getattr(node, "handlers", []):
            self.block(handler.body)
        self.block(getattr(node, "orelse", []))
        self.block(getattr(node, "finalbody", []))

    def if_(self, node: ast.If) -> None:
        self.expr(node.test)
        fetched, memo_after = self.memos
        missing, present = _memo_guard(node.test, self.scope, fetched)
        start = len(self.bindings)
        self.block(node.body)
        if missing:
            for index in range(start, len(self.bindings)):
                binding = self.bindings[index]
                if binding.kind == "subscript" and binding.name == missing:
                    self.bindings[index] = binding._replace(packed=binding.packed | MEMO)
        if present and node.body and type(node.body[-1]) is ast.Return:
            # `if key in cache: return cache[key]`: what the function stores after is a memo.
            memo_after.add((self.scope, present))
        self.block(node.orelse)

    def import_(self, node: ast.Import | ast.ImportFrom) -> None:
        span = self.span(node)
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    self.bind(alias.asname, "import_module", span, target=alias.name)
                else:
                    top = alias.name.partition(".")[0]
                    loaded = _new_fact(Value, ("module", alias.name, None, (), (), ())) if (
                        top != alias.name) else None
                    self.bind(top, "import_module", span, target=top, value=loaded)
            return
        base = self.absolute_module(node.module or "", node.level)
        for alias in node.names:
            if alias.name == "*":
                self.bind("*", "import", span, target=base)
                continue
            target = intern(f"{base}.{alias.name}") if base else alias.name
            self.bind(alias.asname or alias.name, "import", span, target=target)

    def absolute_module(self, module: str, level: int) -> str:
        if level == 0:
            return module
        parts = self.facts.module.split(".")
        if not self.facts.is_package:
            parts = parts[:-1]
        if level > 1:
            parts = parts[: len(parts) - (level - 1)]
        base = ".".join(parts)
        return intern(f"{base}.{module}") if base and module else (base or module)

    def bind(self, name: str, kind: BindingKind, span: Span, target: str = "",
             value: Value | None = None, memo: bool = False) -> None:
        memo = memo or (kind == "subscript" and (self.scope, name) in self.memos[1])
        stmt_line, stmt_col = self.stmt
        self.bindings.append(_new_fact(
            Binding, (self.scope, name, kind, span, target, value, stmt_line,
                      stmt_col << STMT_COL_SHIFT | (IN_LOOP if self.loop else 0)
                      | (MEMO if memo else 0))))

    def assign(self, targets: list[ast.expr], value_node: ast.expr, node: ast.stmt,
               annotation: str | None = None) -> None:
        saved = self.target
        first = targets[0]
        if len(targets) == 1 and type(first) is _Name:  # most assignments
            self.target = first.id
            value = _EXPRESSIONS[type(value_node)](self, value_node)
            self.target = saved
            if value.kind == "call" and value.text.endswith(".get") and self.scope:
                self.memos[0][(self.scope, first.id)] = value.text[:-4]
            stmt_line, stmt_col = self.stmt
            self.bindings.append(_new_fact(Binding, (
                self.scope, first.id, "assign", self.span(node), annotation or "", value,
                stmt_line, stmt_col << STMT_COL_SHIFT | (IN_LOOP if self.loop else 0))))
            return
        self.target = dotted_name(first) if len(targets) == 1 else ""
        value = _EXPRESSIONS[type(value_node)](self, value_node)
        self.target = saved
        for target in targets:
            self.store(target, "assign", value, node, annotation or "")

    def store(self, target: ast.expr, kind: BindingKind, value: Value | None,
              node: ast.stmt, annotation: str = "") -> None:
        span = self.span(node)
        form = type(target)
        if form is _Name:
            self.bind(target.id, kind, span, target=annotation,  # type: ignore[attr-defined]
                      value=value)
        elif form is ast.Tuple or form is ast.List:
            # `config, router = build()`: each name holds an item of what the call returns, up
            # to a starred name (past it, positions are not known).
            unpacked = kind == "assign" and value is not None and value.kind == "call"
            for position, element in enumerate(target.elts):  # type: ignore[attr-defined]
                unpacked = unpacked and type(element) is not _Starred
                self.store(element, kind, Value("item", "", position, items=(value,))
                           if unpacked and value is not None else None, node)
        elif form is _Starred:
            self.store(target.value, kind, None, node)  # type: ignore[attr-defined]
        elif isinstance(target, ast.Attribute):
            base = dotted_name(target.value)
            owner = self.expr(target.value)
            if base:
                self.bind(intern(f"{base}.{target.attr}"), "attr" if kind == "assign" else kind,
                          span, value=value)
            elif owner.kind == "call":
                calls = self.facts.calls
                call = calls[owner.call]
                calls[owner.call] = call._replace(packed=call.packed | ATTRIBUTE_WRITTEN)
        elif isinstance(target, ast.Subscript):
            base = dotted_name(target.value)
            container = self.expr(target.value)
            self.expr(target.slice)
            if base:
                self.bind(base, "subscript" if kind in ("assign", "augassign") else kind,
                          span, value=value)
            elif container.kind == "call":
                calls = self.facts.calls
                call = calls[container.call]
                calls[container.call] = call._replace(packed=call.packed | WRITTEN_INTO)

    def new_scope(self, kind: ScopeKind, name: str, span: Span,
                  decorators: tuple[Value, ...] = (), params: tuple[Param, ...] = (),
                  bases: tuple[str, ...] = (), is_async: bool = False) -> int:
        scope_id = len(self.scopes)
        qualname = intern(f"{self.qualname}.{name}") if self.qualname else name
        self.scopes.append(_new_fact(Scope, (
            scope_id, self.scope, kind, name, qualname, span, self.stmt[0], self.stmt[1],
            self.statement_digest(), decorators, params, bases, is_async, self.loop, (), "", ())))
        return scope_id

    def enter(self, scope_id: int, qualname: str) -> tuple[int, str, bool, int, str]:
        saved = (self.scope, self.qualname, self.loop, self.parent_call, self.target)
        self.scope, self.qualname, self.loop = scope_id, qualname, False
        self.parent_call, self.target = -1, ""
        return saved

    def leave(self, saved: tuple[int, str, bool, int, str]) -> None:
        self.scope, self.qualname, self.loop, self.parent_call, self.target = saved

    def function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        stmt_line, stmt_col = self.stmt
        decorators: tuple[Value, ...] = ()
        if node.decorator_list:  # the statement starts at its first decorator
            stmt_line = node.decorator_list[0].lineno
            self.stmt = (stmt_line, stmt_col)
            decorators = tuple(map(self.expr, node.decorator_list))
        args = node.args
        defaults = self.arguments_defaults(args) if args.defaults or args.kw_defaults else {}
        params = _params(args, self.params, self.expr)
        line = node.lineno
        column = node.col_offset + 1 if self.ascii_only else self.columns.col(
            line, node.col_offset)
        span = _new_fact(Span, (line, column, line, column + 3))
        name = node.name
        self.bind(name, "def", span)
        # The scope is made once its body is read (what it returns and declares come last);
        # its id is taken first, so that the scopes inside it come after it.
        scopes = self.scopes
        scope_id = len(scopes)
        scopes.append(None)  # type: ignore[arg-type]
        outer_qualname, loop = self.qualname, self.loop
        qualname = intern(f"{outer_qualname}.{name}") if outer_qualname else name
        digest = self.statement_digest()
        saved = (self.scope, outer_qualname, loop, self.parent_call, self.target, self.returned)
        self.scope, self.qualname, self.loop, self.parent_call, self.target = (
            scope_id, qualname, False, -1, "")
        self.returned = []
        for param in params:
            self.bind(param.name, "param", span, param.annotation or "",
                      defaults.get(param.name) if defaults else None)
        first_binding, declarations = len(self.bindings), self.declarations
        for stmt in node.body:
            self.statement(stmt)
        returned = tuple(self.returned)
        (self.scope, self.qualname, self.loop, self.parent_call, self.target,
         self.returned) = saved
        declared = tuple(b.name for b in islice(self.bindings, first_binding, None)
                         if b.kind == "global" and b.scope == scope_id
                         ) if self.declarations > declarations else ()
        scopes[scope_id] = _new_fact(Scope, (
            scope_id, saved[0], "function", name, qualname, span, stmt_line, stmt_col, digest,
            decorators, params, (), type(node) is ast.AsyncFunctionDef, loop, declared,
            annotation_text(node.returns) or "" if node.returns is not None else "", returned))

    def bind_params(self, params: tuple[Param, ...], span: Span) -> None:
        for param in params:
            self.bind(param.name, "param", span, target=param.annotation or "")

    def arguments_defaults(self, args: ast.arguments) -> dict[str, Value]:
        """Each defaulted parameter's default, read in the enclosing scope: a parameter's
        binding holds it (`uid=None` in a helper that makes a definition)."""
        positional = [*args.posonlyargs, *args.args]
        named = [*positional[len(positional) - len(args.defaults):], *args.kwonlyargs]
        return {arg.arg: self.expr(default) for arg, default in zip(
            named, (*args.defaults, *args.kw_defaults), strict=True) if default is not None}

    def class_def(self, node: ast.ClassDef) -> None:
        if node.decorator_list:  # the statement starts at its first decorator
            self.stmt = (node.decorator_list[0].lineno, self.stmt[1])
        decorators = tuple(self.expr(d) for d in node.decorator_list)
        bases = tuple(dotted_name(b) for b in node.bases)
        for base in node.bases:
            self.expr(base)
        for keyword in node.keywords:
            self.expr(keyword.value)
        column = self.columns.col(node.lineno, node.col_offset)
        span = _new_fact(Span, (node.lineno, column, node.lineno, column + 5))
        self.bind(node.name, "class", span)
        scope_id = self.new_scope("class", node.name, span, decorators=decorators,
                                  bases=bases)
        saved = self.enter(scope_id, self.scopes[scope_id].qualname)
        for stmt in node.body:
            self.statement(stmt)
        self.leave(saved)

    def lambda_(self, node: ast.Lambda) -> Value:
        args = node.args
        # The defaults are read where the lambda is made: kept as its items.
        defaults = tuple(self.expr(default) for default in (*args.defaults, *args.kw_defaults)
                         if default is not None) if args.defaults or args.kw_defaults else ()
        span = self.span(node)
        params = _params(node.args, self.params)
        scope_id = self.new_scope("lambda", "<lambda>", span, params=params)
        saved = self.enter(scope_id, self.scopes[scope_id].qualname)
        self.bind_params(params, span)
        body = self.expr(node.body)
        self.leave(saved)
        self.scopes[scope_id] = _new_fact(Scope, (*self.scopes[scope_id][:16], (body,)))
        return _new_fact(Value, ("lambda", "", scope_id, body.calls, body.names, defaults))

    def expr(self, node: ast.expr) -> Value:
        return _EXPRESSIONS[type(node)](self, node)

    def constant(self, node: ast.Constant) -> Value:
        value = node.value
        if type(value) is str:
            found = self.strings.get(value)
            if found is None:
                text = intern(value)
                found = self.strings[text] = _new_fact(Value, ("str", "", text, (), (), ()))
            return found
        if not isinstance(value, (int, float, bool)):
            value = None
        key = (type(value), value)
        found = self.constants.get(key)
        if found is None:
            found = self.constants[key] = _new_fact(Value, ("const", "", value, (), (), ()))
        return found

    def name(self, node: ast.Name) -> Value:
        found = self.leaves.get(node.id)
        if found is None:
            self.names.add(node.id)
            found = self.leaves[node.id] = _new_fact(
                Value, ("name", node.id, None, (), self.one(node.id), ()))
        return found

    def attribute(self, node: ast.Attribute) -> Value:
        text = dotted_name(node)
        if text:
            found = self.leaves.get(text)
            if found is None:
                head = text.split(".")[0]
                self.names.add(head)
                found = self.leaves[text] = _new_fact(
                    Value, ("attr", text, None, (), self.one(head), ()))
            return found
        inner = self.expr(node.value)
        return _new_fact(Value, ("other", "", None, inner.calls, inner.names, ()))

    def one(self, name: str) -> tuple[str, ...]:
        """`(name,)`, one object for each name in the file."""
        only = (name,)
        return self.tuples.setdefault(only, only)

    def await_(self, node: ast.Await) -> Value:
        saved = self.awaited
        self.awaited = True
        inner = self.expr(node.value)
        self.awaited = saved
        return inner

    def comprehension(self, node: ast.ListComp | ast.SetComp | ast.DictComp
                      | ast.GeneratorExp) -> Value:
        generators = node.generators
        for generator in generators:
            if generator.is_async or not self.keyed_loop(node, generator.target,
                                                         generator.iter):
                self.no_keys(self.columns.span(node))
                break
        else:
            if any(generator.ifs or type(generator.iter) is not _Name
                   for generator in generators):
                # A definition in a condition or an iterable has no key of its own.
                start, end = self.columns.span(generators[0].target), self.columns.span(node)
                self.no_keys(Span(start.line, start.col, end.end_line, end.end_col))
        saved_loop = self.loop
        self.loop = True
        nodes = _child_expressions(node)
        for generator in node.generators:
            nodes += generator.ifs
            nodes.append(generator.iter)
        value = self.children(node, "comprehension", nodes)
        self.loop = saved_loop
        return value

    def fstring(self, node: ast.JoinedStr) -> Value:
        value = self.children(node, "fstring")
        # Parts are kept only where the text may be a uid: given as `uid=`, or bound to a name
        # at module level (a constant another module's uid may be written of); where it is a
        # route's `path=` or `id=` (ids are written of loop variables); or where it may be a path
        # another request reads: given to a call, with no space in its text
        # (`open(f'{DATA}/{user}.csv')`). Text joined elsewhere (messages) is far more common.
        target = self.target
        kept = target in _TEXT_TARGETS or (bool(target) and not self.scope) or (
            not target and self.parent_call >= 0 and _path_like(node))
        if not kept:
            return value
        # Text and plain names (`f'{REGION}-total'`) are kept, in order: a uid written so over
        # constants is worked out as a constant one is.
        parts: list[Value] = []
        for part in node.values:
            if type(part) is _Constant:
                parts.append(self.constant(part))
            elif (type(part) is ast.FormattedValue and part.conversion == -1
                  and part.format_spec is None and _plain_name(part.value)):
                # A leaf's value: its text, nothing inside read again.
                parts.append(self.expr(part.value))
            else:
                return value
        return _new_fact(Value, ("fstring", "", None, value.calls, value.names, tuple(parts)))

    def container(self, node: ast.List | ast.Tuple | ast.Set) -> Value:
        items, calls, names = self.parts(node.elts)
        return _new_fact(Value, ("container", "", None, calls, names, items))

    def dict_(self, node: ast.Dict) -> Value:
        values, value_calls, value_names = self.parts(node.values)
        keys, calls, names = self.parts([k for k in node.keys if k is not None])
        # The keys' callees and names, then the values'.
        tuples = self.tuples
        if value_calls:
            if calls:
                calls += value_calls
                calls = tuples.setdefault(calls, calls)
            else:
                calls = value_calls
        if value_names:
            if names:
                names += value_names
                names = tuples.setdefault(names, names)
            else:
                names = value_names
        spelled = [key.data for key in keys if key.kind == "str"]
        # String keys are kept: they may be keywords (`**{"func": f}` passes `func=f`) or a
        # registry's keys (`{"churn-report": churn}`), read where a loop runs over them.
        text = ",".join(cast(list[str], spelled)) if len(spelled) == len(values) and not any(
            "," in cast(str, key) for key in spelled) else ""
        return _new_fact(Value, ("dict", text, None, calls, names, values))

    def binop(self, node: ast.BinOp) -> Value:
        target = self.target
        # As an f-string's parts, where the text may be a uid.
        if (target == "uid" or (target and not self.scope)) and _concatenation(node):
            return self._concatenated(node)
        if self.parent_call >= 0 and _path_division(node):
            # `UPLOAD_DIR / 'latest.csv'` given to a call: a path other requests may read.
            return self._concatenated(node)._replace(text="/")
        return self.children(node, "binop")

    def _concatenated(self, node: ast.BinOp) -> Value:
        """`'sales-' + REGION + '-total'` (or `DATA / 'a.csv'`): the parts in order, as an
        f-string's are (they hold no call: nothing is read twice). One flat tuple however
        long the chain: a nested value per `+` would be too deep to pickle for a generated
        module's long one."""
        parts: list[Value] = []
        pending: list[ast.expr] = [node]
        while pending:
            side = pending.pop()
            if type(side) is ast.BinOp:
                pending += (side.right, side.left)
            else:
                parts.append(self.child(side))
        names = tuple(name for part in parts for name in part.names)
        return _new_fact(Value, ("binop", "", None, (), self.tuples.setdefault(names, names),
                                 tuple(parts)))


    def unary(self, node: ast.UnaryOp) -> Value:
        # `not x` is told apart: DM105 recognises the toggle resolver `lambda ctx: not ...`.
        if type(node.op) is not ast.Not:
            return self.children(node, "other")
        operand = self.child(node.operand)
        return _new_fact(Value, ("not", "", None, operand.calls, operand.names, (operand,)))

    def named_expr(self, node: ast.NamedExpr) -> Value:
        value = self.expr(node.value)
        self.bind(node.target.id, "assign", self.span(node), value=value)
        return value

    def child(self, node: ast.expr) -> Value:
        saved = (self.parent_call, self.target)
        self.parent_call, self.target = -1, ""
        value = self.expr(node)
        self.parent_call, self.target = saved
        return value

    def parts(self, nodes: Iterable[ast.expr]
              ) -> tuple[tuple[Value, ...], tuple[str, ...], tuple[str, ...]]:
        """The values of `nodes`, read as children (no call among them is an argument), and
        their callees and names, in order."""
        saved = (self.parent_call, self.target)
        # Set once for all: each handler gives these back as it found them.
        self.parent_call, self.target = -1, ""
        expressions = _EXPRESSIONS
        values = []
        calls: tuple[str, ...] = ()
        names: tuple[str, ...] = ()
        joined_calls = joined_names = False
        for node in nodes:
            value = expressions[type(node)](self, node)
            values.append(value)
            if value.calls:
                joined_calls = joined_calls or bool(calls)
                calls += value.calls
            if value.names:
                joined_names = joined_names or bool(names)
                names += value.names
        self.parent_call, self.target = saved
        # Joined tuples are new objects: the file may have their equals already.
        tuples = self.tuples
        return (tuple(values), tuples.setdefault(calls, calls) if joined_calls else calls,
                tuples.setdefault(names, names) if joined_names else names)

    def subscript(self, node: ast.Subscript) -> Value:
        """`items[:]`, `self.rows[1:]`: a `slice` of the dotted name as its text (a slice of a
        list is a new list, of a frame a view of it); any other subscript as its children."""
        value = self.children(node)
        if type(node.slice) is not ast.Slice:
            return value
        receiver = node.value
        while type(receiver) is ast.Attribute:
            receiver = receiver.value
        if type(receiver) is not _Name:
            return value
        return _new_fact(Value, ("slice", dotted_name(node.value), None, value.calls,
                                 value.names, ()))

    def children(self, node: ast.expr, kind: str = "other",
                 nodes: list[ast.expr] | None = None) -> Value:
        """A value made of the node's child expressions (else of `nodes`), read as children."""
        saved = (self.parent_call, self.target)
        self.parent_call, self.target = -1, ""
        expressions = _EXPRESSIONS
        # What `combine` would gather, joined as the values come: their tuple is not kept.
        calls: tuple[str, ...] = ()
        names: tuple[str, ...] = ()
        joined_calls = joined_names = False
        for child in _child_expressions(node) if nodes is None else nodes:
            value = expressions[type(child)](self, child)
            if value.calls:
                joined_calls = joined_calls or bool(calls)
                calls += value.calls
            if value.names:
                joined_names = joined_names or bool(names)
                names += value.names
        self.parent_call, self.target = saved
        tuples = self.tuples
        return _new_fact(Value, (kind, "", None,
                                 tuples.setdefault(calls, calls) if joined_calls else calls,
                                 tuples.setdefault(names, names) if joined_names else names,
                                 ()))

    def call(self, node: ast.Call) -> Value:
        calls = self.facts.calls
        call_id = len(calls)
        calls.append(None)  # type: ignore[arg-type]  # reserve the id; parents first
        func = node.func
        subscripted = 0
        if type(func) is _Name:
            callee = func.id
        else:
            callee = dotted_name(func)
            if type(func) is _Subscript:
                subscripted = SUBSCRIPTED
        target, parent, awaited = self.target, self.parent_call, self.awaited
        self.awaited = False
        func_call = -1
        # The callees and names of the function's value (when not a name) and of the
        # arguments, in order, as `gather` would join them (inlined: calls are most nodes).
        inner_calls: tuple[str, ...] = ()
        inner_names: tuple[str, ...] = ()
        joined_calls = joined_names = False
        if not callee:
            function = self.child(func)
            inner_calls, inner_names = function.calls, function.names
            method = type(func) is ast.Attribute
            if type(func.value if method else func) is ast.Call:  # type: ignore[attr-defined]
                func_call = call_id + 1
            if method:
                # A method on an expression (`Model().fit(x)`): callee `.fit`, head unresolvable.
                callee = intern(f".{func.attr}")  # type: ignore[attr-defined]
        expressions = _EXPRESSIONS
        args: list[Value] = []
        starred = -1
        # Each handler gives these back as it found them: set once for all the arguments.
        self.parent_call, self.target = call_id, ""
        for arg in node.args:
            if type(arg) is _Starred:
                starred = len(args) if starred < 0 else starred
                arg = arg.value
            value = expressions[type(arg)](self, arg)
            args.append(value)
            if value.calls:
                joined_calls = joined_calls or bool(inner_calls)
                inner_calls += value.calls
            if value.names:
                joined_names = joined_names or bool(inner_names)
                inner_names += value.names
        kwargs: list[Any] = []
        pairs = self.pairs
        for keyword in node.keywords:
            name = keyword.arg or "**"
            self.parent_call, self.target = call_id, name
            argument = keyword.value
            value = expressions[type(argument)](self, argument)
            if value.kind in _LEAVES:  # `name=x`, `name="x"`: pairs a file repeats
                pair = (name, value)
                kwargs.append(pairs.setdefault((name, value, type(value.data)), pair))
            else:
                kwargs.append((name, value))
            if value.calls:
                joined_calls = joined_calls or bool(inner_calls)
                inner_calls += value.calls
            if value.names:
                joined_names = joined_names or bool(inner_names)
                inner_names += value.names
        self.parent_call, self.target = parent, target
        if self.ascii_only:
            line, col = node.lineno, node.col_offset + 1
            end_line, end_col = node.end_lineno or line, (node.end_col_offset or 0) + 1
        else:
            line, col, end_line, end_col = self.span(node)
        # One tuple for all those of the same objects in the file (`argument_tuples`).
        argument_tuples = self.argument_tuples
        shared_args: tuple[Value, ...] = ()
        if args:
            key = id(args[0]) if len(args) == 1 else tuple(map(id, args))
            shared = argument_tuples.get(key)
            if shared is None:
                shared = argument_tuples[key] = tuple(args)
            shared_args = shared
        shared_kwargs: tuple[tuple[str, Value], ...] = ()
        if kwargs:
            key = id(kwargs[0]) if len(kwargs) == 1 else tuple(map(id, kwargs))
            shared = argument_tuples.get(key)
            if shared is None:
                shared = argument_tuples[key] = tuple(kwargs)
            shared_kwargs = shared
        stmt_line, stmt_col = self.stmt
        calls[call_id] = _new_fact(Call, (
            call_id, callee, self.scope, line, col, end_line, end_col, stmt_line,
            stmt_col << STMT_COL_SHIFT | (IN_LOOP if self.loop else 0)
            | (AWAITED if awaited else 0) | subscripted,
            self.stmt_digest if self.stmt_digest >= 0 else self.statement_digest(),
            shared_args, shared_kwargs, target, parent, func_call, starred,
        ))
        named = self.callees.get(callee)
        if named is None:
            head = callee.split(".")[0]
            self.names.add(head)
            named = self.callees[callee] = (head, self.one(callee), self.one(head))
        head, only_callee, only_head = named
        tuples = self.tuples
        # A joined tuple is a new object: the file may have its equal already.
        if callee:
            if inner_calls:
                inner_calls = (callee, *inner_calls)
                inner_calls = tuples.setdefault(inner_calls, inner_calls)
            else:
                inner_calls = only_callee
        elif joined_calls:
            inner_calls = tuples.setdefault(inner_calls, inner_calls)
        if head:
            if inner_names:
                inner_names = (*inner_names, head)
                inner_names = tuples.setdefault(inner_names, inner_names)
            else:
                inner_names = only_head
        elif joined_names:
            inner_names = tuples.setdefault(inner_names, inner_names)
        return _new_fact(Value, ("call", callee, call_id, inner_calls, inner_names, ()))


_STATEMENTS: dict[type[ast.stmt], Callable[[_Extractor, Any], None]] = {
    # By exact type, as `_EXPRESSIONS`; a bare expression is handled before this lookup.
    **dict.fromkeys(_ALL_STATEMENT_TYPES, _Extractor.other_statement),
    ast.FunctionDef: _Extractor.function,
    ast.AsyncFunctionDef: _Extractor.function,
    ast.ClassDef: _Extractor.class_def,
    ast.Assign: _Extractor.assign_statement,
    ast.AnnAssign: _Extractor.annotated_assign,
    ast.AugAssign: _Extractor.augmented_assign,
    ast.Import: _Extractor.import_,
    ast.ImportFrom: _Extractor.import_,
    ast.Global: _Extractor.declaration,
    ast.Nonlocal: _Extractor.declaration,
    ast.Delete: _Extractor.delete,
    ast.For: _Extractor.for_,
    ast.AsyncFor: _Extractor.for_,
    ast.While: _Extractor.while_,
    ast.If: _Extractor.if_,
    ast.With: _Extractor.with_,
    ast.AsyncWith: _Extractor.with_,
    ast.Try: _Extractor.try_,
    **({ast.TryStar: _Extractor.try_} if hasattr(ast, "TryStar") else {}),
    ast.Return: _Extractor.return_,
    ast.Match: _Extractor.match,
}
_EXPRESSIONS: dict[type[ast.expr], Callable[[_Extractor, Any], Value]] = {
    # By exact type: ast node classes are never subclassed, and one dict lookup is cheaper
    # than a chain of isinstance tests on hundreds of thousands of nodes. Every expression
    # type has an entry: the others are read through their children.
    **dict.fromkeys(_ALL_EXPRESSION_TYPES, _Extractor.children),
    ast.Call: _Extractor.call,
    ast.Constant: _Extractor.constant,
    ast.Name: _Extractor.name,
    ast.Attribute: _Extractor.attribute,
    ast.Lambda: _Extractor.lambda_,
    ast.Await: _Extractor.await_,
    **dict.fromkeys(_COMPREHENSIONS, _Extractor.comprehension),
    ast.JoinedStr: _Extractor.fstring,
    ast.List: _Extractor.container,
    ast.Tuple: _Extractor.container,
    ast.Set: _Extractor.container,
    ast.Dict: _Extractor.dict_,
    ast.BinOp: _Extractor.binop,
    ast.UnaryOp: _Extractor.unary,
    ast.NamedExpr: _Extractor.named_expr,
    ast.Subscript: _Extractor.subscript,
}


_EXPRESSION_FIELDS: dict[type[ast.AST], tuple[tuple[str, bool], ...]] = {
    # The fields that hold expressions (and whether as a list), in `_fields` order, of the
    # nodes read as a whole most often; others are looked through field by field.
    ast.FormattedValue: (("value", False), ("format_spec", False)),
    ast.JoinedStr: (("values", True),),
    ast.BinOp: (("left", False), ("right", False)),
    ast.Subscript: (("value", False), ("slice", False)),
    ast.BoolOp: (("values", True),),
    ast.Compare: (("left", False), ("comparators", True)),
    ast.ListComp: (("elt", False),),
    ast.SetComp: (("elt", False),),
    ast.GeneratorExp: (("elt", False),),
    ast.DictComp: (("key", False), ("value", False)),
    ast.IfExp: (("test", False), ("body", False), ("orelse", False)),
    ast.Starred: (("value", False),),
    ast.Slice: (("lower", False), ("upper", False), ("step", False)),
    ast.UnaryOp: (("operand", False),),
}


_UNROLLABLE = (ast.List, ast.Tuple, ast.Name, ast.Dict)
"""Iterables whose loops are read element by element: literal collections, and names that
may be bound to one."""
_LOOPS = (ast.For, ast.AsyncFor, ast.While, *_COMPREHENSIONS)


def _dict_view(iterable: ast.expr) -> tuple[ast.expr | None, str]:
    """What a loop iterates, and how: `(PAGES, 'items')` for `PAGES.items()` (`values`,
    `keys` alike) of a name, `(literal, 'keys')` for a dict literal itself; `(iterable, '')`
    otherwise."""
    if (type(iterable) is ast.Call and type(iterable.func) is ast.Attribute
            and iterable.func.attr in ("items", "values", "keys") and not iterable.args
            and not iterable.keywords):
        receiver = iterable.func.value
        return (receiver, iterable.func.attr) if type(receiver) is ast.Name else (None, "")
    return iterable, "keys" if type(iterable) is ast.Dict else ""


def _loop_names(target: ast.expr) -> list[str]:
    """The names a loop binds: `page`, or each of `path, page`; none for other targets."""
    if isinstance(target, ast.Name):
        return [target.id]
    if not isinstance(target, ast.Tuple):
        return []
    names = [element.id for element in target.elts if isinstance(element, ast.Name)]
    return names if len(names) == len(target.elts) else []


def _has_inner_loop(body: list[ast.stmt]) -> bool:
    """A loop or comprehension anywhere in a loop's body (its passes are no longer one per
    element)."""
    return any(isinstance(node, _LOOPS) for stmt in body for node in ast.walk(stmt))


def _child_expressions(node: ast.AST) -> list[ast.expr]:
    """The expressions directly under a node, in `ast.iter_child_nodes` order."""
    found: list[ast.expr] = []
    fields = _EXPRESSION_FIELDS.get(type(node))
    if fields is not None:
        for name, many in fields:
            child = getattr(node, name)
            if many:
                found += child
            elif child is not None:
                found.append(child)
        return found
    for name in node._fields:
        child = getattr(node, name, None)
        if isinstance(child, ast.expr):
            found.append(child)
        elif isinstance(child, list):
            found.extend(item for item in child if isinstance(item, ast.expr))
    return found


def _memo_guard(test: ast.expr, scope: int, fetched: Mapping[tuple[int, str], str]
                ) -> tuple[str, str]:
    """The memo-cache idiom's container, for a test that holds when the key is missing
    (`key not in cache`, `cached is None` or `not cached` after `cached = cache.get(key)`),
    or when it is there (`key in cache`, `cached is not None`, `cached`): (missing, present),
    one of them empty."""
    if type(test) is ast.UnaryOp and type(test.op) is ast.Not:
        return _memo_guard(test.operand, scope, fetched)[::-1]
    if type(test) is _Name:
        return "", fetched.get((scope, test.id), "")
    if not (type(test) is ast.Compare and len(test.ops) == 1):
        return "", ""
    operator, left, right = type(test.ops[0]), test.left, test.comparators[0]
    if operator is ast.NotIn or operator is ast.In:
        container = dotted_name(right)
        return (container, "") if operator is ast.NotIn else ("", container)
    if (operator is ast.Is or operator is ast.IsNot) and type(left) is _Name and (
            type(right) is _Constant and right.value is None):
        container = fetched.get((scope, left.id), "")
        return (container, "") if operator is ast.Is else ("", container)
    return "", ""


def _constant_type(node: ast.expr | None) -> str:
    """The type's name of a `str`, `int`, `float` or `bool` constant; else empty."""
    if type(node) is not _Constant:
        return ""
    name = type(node.value).__name__
    return name if name in ("str", "int", "float", "bool") else ""


def _params(args: ast.arguments, shared: dict[Param, Param],
            read: Callable[[ast.expr], object] | None = None) -> tuple[Param, ...]:
    """The parameters, each one object for all its equals in the file (`shared`); `read`
    is given the annotation of each positional and keyword-only one, in order."""
    positional = [*args.posonlyargs, *args.args] if args.posonlyargs else args.args
    first_default = len(positional) - len(args.defaults)
    params = []
    for index, arg in enumerate(positional):
        annotation = arg.annotation
        if annotation is None:
            default = args.defaults[index - first_default] if index >= first_default else None
            param = _new_fact(Param, (arg.arg, None, "positional", default is not None,
                                      _constant_type(default)))
        else:
            if read is not None:
                read(annotation)
            param = _new_fact(Param, (arg.arg, annotation_text(annotation), "positional",
                                      index >= first_default, ""))
        params.append(shared.setdefault(param, param))
    if args.vararg:
        param = _new_fact(Param, (args.vararg.arg, annotation_text(args.vararg.annotation),
                                  "vararg", False, ""))
        params.append(shared.setdefault(param, param))
    for arg, default in zip(args.kwonlyargs, args.kw_defaults, strict=True):
        if arg.annotation is not None and read is not None:
            read(arg.annotation)
        param = _new_fact(Param, (arg.arg, annotation_text(arg.annotation), "keyword",
                                  default is not None,
                                  _constant_type(default) if arg.annotation is None else ""))
        params.append(shared.setdefault(param, param))
    if args.kwarg:
        param = _new_fact(Param, (args.kwarg.arg, annotation_text(args.kwarg.annotation),
                                  "kwarg", False, ""))
        params.append(shared.setdefault(param, param))
    return tuple(params)


def _markers(lines: list[str]) -> list[Marker]:
    markers: list[Marker] = []
    # A migrated project has a marker on every statement it keeps process-local, most with the
    # same codes and reason: one object for each.
    shared_codes: dict[tuple[str, ...], tuple[str, ...]] = {}
    for number, text in enumerate(lines, 1):
        if "dara-migrate" not in text:
            continue
        match = MARKER_RE.match(text)
        if not match:
            continue
        target = number + 1
        while target <= len(lines) and (
            not lines[target - 1].strip() or lines[target - 1].lstrip().startswith("#")
        ):
            target += 1
        codes = tuple(intern(c.strip()) for c in match["codes"].split(",") if c.strip())
        kind: Literal["ignore", "local-only"] = (
            "ignore" if match["kind"] == "ignore" else "local-only"
        )
        markers.append(Marker(number, target, kind, shared_codes.setdefault(codes, codes),
                              intern(match["reason"].strip())))
    return markers


def extract_facts(tree: ast.Module, text: str, path: str, module: str,
                  is_package: bool) -> FileFacts:
    """Summarise one parsed module."""
    lines = split_lines(text)
    facts = FileFacts(path, module, is_package, line_count=len(lines))
    extractor = _Extractor(facts, lines, text.isascii())
    extractor.run(tree)
    facts.names = frozenset(extractor.names)
    if extractor.loops:
        facts.loops = tuple(extractor.loops)
    if "dara-migrate" in text:  # most files have no marker: no line needs looking at
        facts.markers = _markers(lines)
    # Most files mention no watched word: they share one empty set.
    facts.mentions = frozenset(
        word for word in WATCHED_WORDS
        if word in text and (word != SECRET_NAME or names_secret(text))) or _NO_WORDS
    return facts
