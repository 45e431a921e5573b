"""A faster `ast.walk` for the `apply` side, which walks whole modules while it plans edits."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from typing import Any

_SKIPPED = (str, type(None))
"""What an AST node's list fields hold besides nodes: `global` names, `**` dict keys."""


def walk(root: ast.AST) -> Iterator[ast.AST]:
    """Every node under `root` (itself included) as `ast.walk` yields them, except the
    expression contexts (`ctx`; read them through their node), in another order: depth
    first, each node before the nodes inside it. About twice as fast as `ast.walk`."""
    stack: list[Any] = [root]
    pop, push, extend = stack.pop, stack.append, stack.extend
    node_type = ast.AST
    while stack:
        node = pop()
        if isinstance(node, _SKIPPED):
            continue
        yield node
        for field in node._fields:
            value = getattr(node, field, None)
            if type(value) is list:
                extend(value)
            elif isinstance(value, node_type) and field != "ctx":
                push(value)
