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
    found = _modules_around(top, root, missing) if missing else {}
    if not found:
        return []
    importers: dict[str, str] = {}
    for path, bindings in sorted(index.import_bindings.items()):
        for binding in bindings:
            importers.setdefault(binding.target.partition(".")[0], path)
    return [(name, importers[name], found[name]) for name in sorted(found)]


def _installed(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def _modules_around(top: Path, root: Path, names: set[str]) -> dict[str, str]:
    """Of `names`, those a folder (a package) or a `.py` file of the repository below `top`,
    outside `root`, is named: name -> its path from `top`."""
    found: dict[str, str] = {}
    queue = deque([(top, 0)])
    seen = 0
    while queue and seen < _FOLDERS_SEEN:
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
                if name in names and name not in found:
                    found[name] = path.relative_to(top).as_posix()
                if depth + 1 < _DEPTH:
                    queue.append((path, depth + 1))
            elif name.endswith(".py") and name[:-3] in names and name[:-3] not in found:
                found[name[:-3]] = path.relative_to(top).as_posix()
    return found
