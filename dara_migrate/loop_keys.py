"""Which loops give a definition made in them a distinct key on every pass, the same on every
worker (DM104): one test, read by fact extraction (for the audit) and by `apply`'s planner
(on the source), so that the two agree."""

from __future__ import annotations

import ast
import re

KEY_ALPHABET = re.compile(r"^[A-Za-z0-9_.:-]+$")
"""What a key may hold to become part of a uid."""
_KEYS = re.compile(r"[A-Za-z0-9_.:-]+(?:\n[A-Za-z0-9_.:-]+)*")
"""Keys joined by line breaks (which no key holds), each of `KEY_ALPHABET`."""


def loop_key(target: ast.expr, iterable: ast.expr) -> tuple[str, ast.expr | str, bool] | None:
    """The loop variable of a loop that may run over literal keys, what the keys come from
    (a node, or a name whose module-level literal stands for it) and whether that must be
    a dict (`.items()`, `.keys()`); None when the loop's shape rules keys out."""
    dict_only = False
    if (type(iterable) is ast.Call and type(iterable.func) is ast.Attribute
            and iterable.func.attr in ("items", "keys") and not iterable.args
            and not iterable.keywords):
        if iterable.func.attr == "items":
            if not (type(target) is ast.Tuple and len(target.elts) == 2):
                return None
            target = target.elts[0]
        iterable = iterable.func.value
        dict_only = True
    if type(target) is not ast.Name:
        return None
    if type(iterable) is ast.Name:
        return target.id, iterable.id, dict_only
    return (target.id, iterable, dict_only) if not dict_only or type(
        iterable) is ast.Dict else None


def distinct_keys(iterable: ast.expr, dict_only: bool) -> bool:
    """Whether a loop over `iterable` (a literal, as `loop_key` gives it or a name stands for)
    passes once for each of distinct keys: the elements of a literal list, tuple or set, the
    keys of a literal dict, or `range(<int>)`."""
    if type(iterable) is ast.Dict:
        if any(key is None for key in iterable.keys):
            return False  # `**other` adds keys not written here
        elements: list[ast.expr | None] = list(iterable.keys)
    elif dict_only:
        return False
    elif (type(iterable) is ast.Call and type(iterable.func) is ast.Name
            and iterable.func.id == "range" and len(iterable.args) == 1
            and not iterable.keywords and type(iterable.args[0]) is ast.Constant
            and type(iterable.args[0].value) is int):
        return True
    elif type(iterable) in (ast.List, ast.Tuple, ast.Set):
        elements = list(iterable.elts)  # type: ignore[attr-defined]
    else:
        return False
    # Checked a list at a time, not key by key: facts check every literal loop of a project.
    if not elements or any(type(element) is not ast.Constant for element in elements):
        return False
    values = [element.value for element in elements]  # type: ignore[union-attr]
    if any(type(value) is not str and type(value) is not int for value in values):
        return False
    return distinct([value if type(value) is str else str(value) for value in values])


def distinct(keys: list[str]) -> bool:
    """Whether `keys` are at least one, each different and each of `KEY_ALPHABET`."""
    joined = "\n".join(keys)
    return (bool(keys) and len(set(keys)) == len(keys) and joined.count("\n") == len(keys) - 1
            and _KEYS.fullmatch(joined) is not None)
