"""`tree.walk`, the faster `ast.walk` of the apply side: the same nodes (expression contexts
aside), each node before the nodes inside it, on every Python file of the repository's apps
and on the awkward shapes their list fields take."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from dara_migrate.tree import walk

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted([*ROOT.glob("examples/**/*.py"), *ROOT.glob("tests/fixtures/**/*.py"),
                  *ROOT.glob("dara_migrate/**/*.py")])


def _parsed(path: Path) -> ast.Module | None:
    try:
        return ast.parse(path.read_text(encoding="utf-8"))
    except (SyntaxError, UnicodeDecodeError, ValueError):
        return None  # fixtures that are broken on purpose


TREES = [(path, tree) for path in SOURCES if (tree := _parsed(path)) is not None]

AWKWARD = [
    "global a, b\nnonlocal_like = {**base, 'k': 1, **more}\n",
    "def f(a, /, b=1, *args, c, d=2, **kw):\n    nonlocal x\n    return lambda *, e=3: e\n",
    "match p:\n    case Point(x=0, y=yy) | {'k': v, **rest}:\n        pass\n"
    "    case [1, *others]:\n        pass\n",
    "try:\n    pass\nexcept* ValueError as e:\n    del e\n",
    "with a as (b, c), d:\n    x[1:2, ::3] = f'{y!r:>{w}}'\n",
    "@dec(1)\n@other\nclass C(B, metaclass=M):\n    async def g(self):\n"
    "        async for i in z: await i\n        return [j async for j in k if j]\n",
    "from . import a as b, c\nimport d.e as f, g.h\n",
]


def _all_trees() -> list[tuple[str, ast.Module]]:
    return [(str(path.relative_to(ROOT)), tree) for path, tree in TREES] + [
        (f"awkward[{n}]", ast.parse(source)) for n, source in enumerate(AWKWARD)]


def test_the_repository_has_sources_to_walk() -> None:
    assert len(TREES) > 100


@pytest.mark.parametrize(("name", "tree"), _all_trees(), ids=lambda value: (
    value if isinstance(value, str) else ""))
def test_walk_yields_the_nodes_ast_walk_yields_but_contexts(name: str, tree: ast.Module
                                                            ) -> None:
    expected = [node for node in ast.walk(tree) if not isinstance(node, ast.expr_context)]
    found = list(walk(tree))
    assert len(found) == len(expected)
    assert {id(node) for node in found} == {id(node) for node in expected}


@pytest.mark.parametrize(("name", "tree"), _all_trees(), ids=lambda value: (
    value if isinstance(value, str) else ""))
def test_walk_yields_each_node_before_the_nodes_inside_it(name: str, tree: ast.Module
                                                          ) -> None:
    order = {id(node): position for position, node in enumerate(walk(tree))}
    for node in ast.walk(tree):
        if isinstance(node, ast.expr_context):
            continue
        for child in ast.iter_child_nodes(node):
            if not isinstance(child, ast.expr_context):
                assert order[id(node)] < order[id(child)]


def test_walk_of_a_node_stays_inside_it() -> None:
    tree = ast.parse("x = f(1)\ny = g(2)\n")
    assert {type(n).__name__ for n in walk(tree.body[1])} == {
        "Assign", "Name", "Call", "Constant"}
    assert {n.id for n in walk(tree.body[1]) if isinstance(n, ast.Name)} == {"y", "g"}
