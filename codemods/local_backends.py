"""DM202: remove explicit `MemoryBackend(...)` / `InMemoryBackend()` backends.

The backend's scope moves onto the ServerVariable (`MemoryBackend()` defaults to scope
'user'; dropping it without the scope would share per-user data with everyone), and the
import is removed when nothing else uses it.
"""

from __future__ import annotations

from codemods._base import ProjectCodemod


class RemoveLocalBackends(ProjectCodemod):
    DESCRIPTION = "Remove explicit in-memory backends, keeping their scope (DM202)."
    RULES = ("DM202",)
