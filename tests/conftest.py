"""Hypothesis profiles: by default every property test tries the examples it asks for (`make
test`, CI); `--hypothesis-profile fast` (`make test-fast`) tries a tenth of them. Neither has a
per-example deadline: tests assert behaviour, never timing, and a busy machine is no failure."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from hypothesis import settings

PACKAGE = Path(__file__).parent.parent / "dara_migrate"

settings.register_profile("default", deadline=None)
settings.register_profile("fast", max_examples=10, deadline=None)


def pytest_configure(config: pytest.Config) -> None:
    """Python imports a compiled module (setup.py) before its source: one built before its
    source's last edit would be tested in the source's place."""
    stale = [source.relative_to(PACKAGE.parent).as_posix()
             for built in (*PACKAGE.rglob("*.so"), *PACKAGE.rglob("*.pyd"))
             if (source := built.with_name(built.name.split(".")[0] + ".py")).exists()
             and source.stat().st_mtime > built.stat().st_mtime]
    if stale:
        raise pytest.UsageError(
            f"{', '.join(sorted(stale))} changed after it was compiled: run `make` (or "
            "`pip install -e .`) to compile it again")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Modules that build or serve real apps first, those with the most such tests (the
    longest) first, then the rest: `make test` hands each module whole to one process, and a
    module of minutes handed out last (the workers' tests come last by name) runs on alone
    while the other process idles."""
    slow = Counter(item.path for item in items if item.get_closest_marker("slow"))
    items.sort(key=lambda item: -slow[item.path])
