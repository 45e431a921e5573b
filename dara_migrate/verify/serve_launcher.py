"""Serve a Dara app with uvicorn, as ``dara start`` in deploy mode would, recording definitions.

Runs in the app's own interpreter, by path (``python serve_launcher.py pkg.main:config --port P
--static-dir DIR --journal FILE --auth-fd FD``), so it imports only the standard library at
module level.
It builds the app like ``dara.core.main.start()`` (import the config, discovery,
``_to_configuration``, ``_start_application``) with ``static_files_dir`` set to a scratch folder
outside the app tree, then serves it on 127.0.0.1. Every definition the app registers, at build
and at request time, is appended to the journal as one JSON line with its construction site (the
recorder of ``build_script.py``); a ``{"event": "serving"}`` line separates the two. How a
browser logs in to the app (see ``_auth_entry``), credentials included, goes to verify as one
JSON line on the inherited pipe ``--auth-fd``, never to a file.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import importlib
import importlib.util
import json
import os
import signal
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from types import ModuleType
from typing import Any, SupportsIndex

_BUILD_SCRIPT = Path(__file__).with_name("build_script.py")
_PR_SET_PDEATHSIG = 1
_PARENT_POLL_SECONDS = 0.5


def _load_build_script() -> ModuleType:
    """build_script.py under a private name: its folder must not go on the app's sys.path."""
    spec = importlib.util.spec_from_file_location("_dara_migrate_build_script", _BUILD_SCRIPT)
    if spec is None or spec.loader is None:
        raise RuntimeError(f"cannot load {_BUILD_SCRIPT}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


class Journal(list[Any]):
    """A list of definitions that also appends each one to a JSON-lines file as it comes."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self._handle = path.open("a", encoding="utf-8")

    def append(self, definition: Any) -> None:
        super().append(definition)
        self.write({"event": "definition", **asdict(definition)})

    def insert(self, index: SupportsIndex, definition: Any) -> None:
        super().insert(index, definition)
        self.write({"event": "definition", **asdict(definition)})

    def write(self, entry: dict[str, Any]) -> None:
        self._handle.write(json.dumps(entry) + "\n")
        self._handle.flush()


def _die_with_parent(parent: int) -> None:
    """End this server when the verify process that started it ends, even when it is killed
    outright and cannot stop its workers itself."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before the request above took effect
        os._exit(1)

    def watch() -> None:  # where prctl does not exist
        while os.getppid() == parent:
            time.sleep(_PARENT_POLL_SECONDS)
        os.killpg(0, signal.SIGKILL)

    threading.Thread(target=watch, name="parent-watchdog", daemon=True).start()


def _auth_entry(auth_config: Any) -> dict[str, Any]:
    """How the replay can log in: ``login`` is ``none`` (dara's default auth: an empty body),
    ``basic`` (a Basic/MultiBasicAuthConfig: ``users`` holds its [username, password] pairs in
    the config's order) or ``unsupported`` (SSO, an app's own auth)."""
    basic = importlib.import_module("dara.core.auth.basic")
    entry: dict[str, Any] = {"auth_config": type(auth_config).__name__, "login": "unsupported"}
    if isinstance(auth_config, basic.DefaultAuthConfig):
        entry["login"] = "none"
    elif isinstance(auth_config, basic.BaseBasicAuthConfig) and auth_config.users:
        entry.update(login="basic", users=[[str(name), str(password)]
                                           for name, password in auth_config.users.items()])
    return entry


def _send_auth(descriptor: int, entry: dict[str, Any]) -> None:
    """Hand the login to verify over the pipe it passed, then close this end: the
    credentials stay in memory, out of the journal and the log."""
    with os.fdopen(descriptor, "w", encoding="utf-8") as pipe:
        pipe.write(json.dumps(entry) + "\n")


def _parse_arguments(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("config", help="module:attribute of the ConfigurationBuilder")
    parser.add_argument("--app-root", default=os.getcwd(), help="the app's folder (default: cwd)")
    parser.add_argument("--port", type=int, required=True, help="loopback port to serve on")
    parser.add_argument("--static-dir", required=True, help="scratch static_files_dir")
    parser.add_argument("--journal", required=True, help="JSON-lines file of definitions")
    parser.add_argument("--auth-fd", type=int, required=True,
                        help="inherited pipe that gets the login as one JSON line")
    parser.add_argument("--hostname", help="host name reported to the app")
    parser.add_argument("--parent", type=int, help="pid of the verify process: end with it")
    return parser.parse_args(argv)


def serve(arguments: argparse.Namespace) -> None:
    """Build the app like ``dara.core.main.start()`` and serve it until the process is stopped."""
    if arguments.parent is not None:
        _die_with_parent(arguments.parent)
    app_root = Path(os.path.realpath(arguments.app_root))
    sys.dont_write_bytecode = True
    script_dir = os.path.dirname(os.path.realpath(__file__))
    sys.path[:] = [str(app_root)] + [
        p for p in sys.path if os.path.realpath(p or ".") != script_dir
    ]
    build_script = _load_build_script()
    if arguments.hostname:
        build_script._pretend_hostname(arguments.hostname)
    build_script.check_dara_core()
    dara = importlib.import_module("dara")
    files = build_script.ProjectFiles(app_root, list(dara.__path__))
    recorder = build_script.install_recorder(files)
    journal = Journal(Path(arguments.journal))
    recorder.definitions = journal

    configuration = importlib.import_module("dara.core.configuration")
    utils = importlib.import_module("dara.core.internal.utils")
    main = importlib.import_module("dara.core.main")
    module, config = utils.import_config(arguments.config)
    if not isinstance(config, configuration.ConfigurationBuilder):
        raise SystemExit(f"{arguments.config} is not a ConfigurationBuilder")
    if os.environ.get("DARA_ENFORCE_SSO") == "TRUE":
        main.enforce_sso(config)
    config.static_files_dir = arguments.static_dir
    config._run_discovery(module)
    app_config = config._to_configuration()
    app = main._start_application(app_config)
    recorder.add_routes(app_config.router)
    _send_auth(arguments.auth_fd, _auth_entry(app_config.auth_config))
    journal.write({"event": "serving"})

    uvicorn = importlib.import_module("uvicorn")
    uvicorn.run(app, host="127.0.0.1", port=arguments.port, log_level="warning")


if __name__ == "__main__":
    serve(_parse_arguments(sys.argv[1:]))
