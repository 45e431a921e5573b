"""Imports a project cannot follow because their code lies in the repository around it.

An app of a monorepo run on its own (`cd apps/a && dara-migrate audit`) is its own project;
a library the repository keeps beside it (`libs/common`, imported as `common`) is then not
read, and what it does is missed. That is said, not guessed at: only names the project does
not hold, not the standard library's, that a folder or module of the repository has.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections import deque
from pathlib import Path

from dara_migrate.index.project import ProjectIndex

_DEPTH = 3
"""Folders below the repository's top looked into for a library's package."""
_FOLDERS_SEEN = 2000
"""At most this many folders are listed: a huge repository is not walked for a note."""
_SKIPPED = frozenset({"node_modules", "site-packages", "__pycache__", "venv", "env"})


def repository_top(root: Path) -> Path | None:
    """The nearest folder above `root` (not `root`) holding `.git`."""
    for folder in root.parents:
        if (folder / ".git").exists():
            return folder
    return None


def outside_imports(index: ProjectIndex, root: Path) -> list[tuple[str, str, str]]:
    """(name, a file importing it, where the repository has it) for each import the project
    cannot follow whose code the repository around the project holds."""
    if (root / ".git").exists():
        return []
    top = repository_top(root)
    if top is None:
        return []
    # Installed names (pandas, dara) are no library of the repository's.
    missing = {head for head in index.outside_heads - index.importable_heads
               - sys.stdlib_module_names
               if head and not _installed(head)}
    imported: dict[str, set[str]] = {}
    importers: dict[str, str] = {}
    for path, bindings in sorted(index.import_bindings.items()):
        for binding in bindings:
            head, _, rest = binding.imported_module.partition(".")
            if head in missing:
                importers.setdefault(head, path)
                imported.setdefault(head, set()).add(rest)
    found = _modules_around(top, root, imported) if imported else {}
    return [(name, importers[name], found[name]) for name in sorted(found)]


def _installed(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def _modules_around(top: Path, root: Path, imported: dict[str, set[str]]) -> dict[str, str]:
    """Of the names `imported` has (a head -> the rest of each module imported under it),
    those a folder (a package) or a `.py` file of the repository below `top`, outside `root`,
    is named: name -> its path from `top`. Of several folders of one name (a library's
    `libs/widgets/` holding its package `widgets/`), the first holding the modules imported
    under the name."""
    found: dict[str, str] = {}
    first: dict[str, str] = {}
    queue = deque([(top, 0)])
    seen = 0
    while queue and seen < _FOLDERS_SEEN and len(found) < len(imported):
        folder, depth = queue.popleft()
        seen += 1
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            name = entry.name
            if name.startswith(".") or name in _SKIPPED:
                continue
            path = Path(entry.path)
            if entry.is_dir(follow_symlinks=False):
                if path == root:
                    continue
                if name in imported and name not in found:
                    first.setdefault(name, path.relative_to(top).as_posix())
                    if all(_holds(path, rest) for rest in imported[name]):
                        found[name] = path.relative_to(top).as_posix()
                if depth + 1 < _DEPTH:
                    queue.append((path, depth + 1))
            elif name.endswith(".py") and name[:-3] in imported and name[:-3] not in found:
                found[name[:-3]] = path.relative_to(top).as_posix()
    return {**first, **found}


def _holds(package: Path, rest: str) -> bool:
    """Whether the first module of `rest` (the dotted rest of an imported name, '' for the
    package itself) is in `package`: `filters` of `widgets.filters.make_filter`, whose last
    part may be a name the module binds."""
    if not rest:
        return True
    module = package / rest.partition(".")[0]
    return module.is_dir() or module.with_suffix(".py").is_file()
