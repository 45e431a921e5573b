"""The Dara names the analysis recognises, whatever module path they are imported from.

dara-core re-exports its API from many modules (`dara.core`, `dara.core.interactivity`,
the defining module, `dara.components` for `Variable`), so a qualified name is matched by
its last segment once its prefix is a `dara` module (dara-api.md §7).
"""

from __future__ import annotations

import re

DEFINITION_KINDS = {
    "DerivedVariable": "derived_variable",
    "DerivedDataVariable": "derived_variable",
    "ServerVariable": "server_variable",
    "DataVariable": "server_variable",
    "StreamVariable": "stream_variable",
    "BackendStore": "backend_store",
}
"""Constructors that register a server-resolved definition, by registry."""

UID_POSITIONS = {
    "DerivedVariable": 6, "DerivedDataVariable": 6, "ServerVariable": 3, "DataVariable": 2,
    "StreamVariable": 3, "BackendStore": 1, "Variable": 2,
}
"""Where `uid` sits among each constructor's positional parameters (dara-core 1.30)."""

VARIABLE = "Variable"
BROWSER_STORES = frozenset({"BrowserStore"})
ACTION_FACTORIES = frozenset({"UpdateVariable", "NavigateTo", "DownloadContent", "SideEffect"})
DECORATORS = frozenset({"action", "py_component"})
ROUTE_CLASSES = frozenset({"PageRoute", "LayoutRoute", "IndexRoute", "PrefixRoute"})
ROUTE_METHODS = frozenset({"add_page", "add_layout", "add_index", "add_prefix"})
LOCAL_BACKENDS = frozenset({"MemoryBackend", "InMemoryBackend", "FileBackend"})
AUTH_SESSION_BACKENDS = frozenset({"InMemoryAuthSessionBackend", "FileAuthSessionBackend"})
BACKEND_BASES = frozenset({"ServerBackend", "PersistenceBackend"})

OTHER_NAMES = frozenset({
    "ConfigurationBuilder", "Router", "Variable", "get_current_value", "track_progress",
    "UploadDropzone", "ResetVariables", "UpdateVariableImpl", "NavigateToImpl", "Notify",
    "TriggerVariable", "DownloadVariable", "websocket_registry", "sessions_registry",
    "utils_registry", "WebsocketManager", "DataSlicer", "DataSlicerModal", "DataFactory",
    "ScheduledJob", "SwitchVariable", "UrlVariable", "ComponentInstance",
    "AnyVariable", "AnyDataVariable", "ClientVariable", "NonDataVariable", "StateVariable",
    "LoopVariable",
    "OIDCAuthConfig",
})

KNOWN_NAMES = frozenset({
    *DEFINITION_KINDS, *BROWSER_STORES, *ACTION_FACTORIES, *DECORATORS, *ROUTE_CLASSES,
    *LOCAL_BACKENDS, *AUTH_SESSION_BACKENDS, *BACKEND_BASES, *OTHER_NAMES, "QueryParamStore",
})


def dara_name(qualified: str) -> str | None:
    """`dara.core.interactivity.DerivedVariable` -> `DerivedVariable`; non-Dara -> None."""
    if not qualified.startswith("dara."):
        return None
    module, _, name = qualified.rpartition(".")
    if name not in KNOWN_NAMES:
        return None
    if not all(part.islower() or part.replace("_", "").islower() for part in module.split(".")):
        return None
    return name

SECRET_NAME = "JWT_SECRET"
"""The setting Dara signs session tokens with; every worker must share it."""


_SECRET_WORD = re.compile(rf"(?<![A-Za-z0-9_]){SECRET_NAME}(?![A-Za-z0-9_])", re.IGNORECASE)
"""`SECRET_NAME` as a whole name, in any case: Dara's settings read the environment without
regard to case, and `JWT_SECRET_KEY` or `OLD_JWT_SECRET` is another setting."""


def names_secret(text: str) -> bool:
    """Whether `text` names `SECRET_NAME` on some line before any `#`: the files it is
    looked for in (Python, `.env`, Dockerfiles, YAML) all comment with `#`, and a
    commented-out setting sets nothing."""
    for match in _SECRET_WORD.finditer(text):
        start = match.start()
        if "#" not in text[text.rfind("\n", 0, start) + 1:start]:
            return True
    return False
