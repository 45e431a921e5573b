"""Build a Dara app offline and print every definition it registers, with its construction site.

Runs in the app's own interpreter, which may not have dara-migrate installed: this file imports
only the standard library at module level and dara inside functions, and is run by path
(``python build_script.py pkg.main:config --app-root ROOT --output FILE``).

The build follows ``dara.core.main.start()`` without serving (import the config, discovery,
``_to_configuration``, ``_start_application``), with ``SKIP_JSBUILD``, ``DARA_TEST_FLAG``, a
temporary ``static_files_dir`` and no bytecode written, so the app tree is left as it was.
``Registry.register`` and the route constructors are wrapped before the app is imported to record,
for each definition, the innermost stack frame inside the app root.

Output (one JSON document, ``PROTOCOL``): ``{"protocol", "ok": true, "dara_core", "python",
"definitions": [{"kind", "id", "owner", "qualname", "path", "line", "end_line",
"library_owned"}], "stand_ins", "runtime"}``, or ``{"protocol", "ok": false, "error": {"cause",
"frame"}}`` with one of the ``EXIT_*`` codes.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import importlib
import importlib.abc
import importlib.machinery
import importlib.metadata
import importlib.util
import json
import os
import platform
import re
import shutil
import socket
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from types import CodeType, FrameType, ModuleType, TracebackType
from typing import Any

PROTOCOL = 1
MINIMUM_DARA_CORE = (1, 30)

EXIT_OK = 0
EXIT_BUILD_FAILED = 3
EXIT_DARA_MISSING = 4
EXIT_DARA_TOO_OLD = 5
EXIT_BAD_CONFIG = 6

# Registry kinds whose ids the app passes (uid=). Routes (id=), ws handlers (their kind string)
# and actions from the deprecated factories are the app's too; the other kinds Dara names itself.
UID_KINDS = frozenset({"derived_variable", "server_variable", "backend_store", "stream_variable"})

# Dara modules that only carry a definition from the app's call to the registry. A definition
# whose stack holds any other dara frame was built by library code (DM106).
_DEFINITION_MACHINERY = (
    "core/interactivity/",
    "core/persistence.py",
    "core/visual/dynamic_component.py",
    "core/router/",
    "core/internal/",
    "core/main.py",
    "core/configuration.py",
    "core/definitions.py",
    "core/base_definitions.py",
)

_DEPRECATED_FACTORY_MODULE = "dara.core.interactivity.actions"


class BuildFailure(Exception):
    """The app could not be built; carries the exit code and the JSON error."""

    def __init__(self, exit_code: int, cause: str, frame: str | None = None) -> None:
        super().__init__(cause)
        self.exit_code = exit_code
        self.cause = cause
        self.frame = frame


@dataclass
class Site:
    path: str | None
    line: int | None
    end_line: int | None
    qualname: str | None
    library_owned: bool


@dataclass
class Definition:
    kind: str
    id: str
    owner: str
    qualname: str
    path: str | None
    line: int | None
    end_line: int | None
    library_owned: bool


class ProjectFiles:
    """Answers which source files belong to the app and which to dara."""

    def __init__(self, app_root: Path, dara_dirs: Sequence[str]) -> None:
        self.app_root = app_root
        self._dara_dirs = [os.path.realpath(d) + os.sep for d in dara_dirs]
        root = str(app_root) + os.sep
        # A venv inside the app root holds libraries, not app code.
        prefixes = {
            os.path.realpath(p) + os.sep for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)
        }
        self._library_prefixes = [p for p in prefixes if not root.startswith(p)]
        self._own_file = os.path.realpath(__file__)
        self._relative: dict[str, str | None] = {}

    def relative(self, filename: str) -> str | None:
        """The POSIX path of ``filename`` relative to the app root, or None outside the app."""
        if filename not in self._relative:
            self._relative[filename] = self._compute_relative(filename)
        return self._relative[filename]

    def _compute_relative(self, filename: str) -> str | None:
        if filename.startswith("<"):
            return None
        real = os.path.realpath(filename)
        if real == self._own_file or any(real.startswith(p) for p in self._library_prefixes):
            return None
        try:
            relative = Path(real).relative_to(self.app_root)
        except ValueError:
            return None
        if {"site-packages", "dist-packages"} & set(relative.parts):
            return None
        return relative.as_posix()

    def dara_relative(self, filename: str) -> str | None:
        """The path of ``filename`` inside the dara package, or None for other files."""
        real = os.path.realpath(filename)
        for directory in self._dara_dirs:
            if real.startswith(directory):
                return Path(real[len(directory) :]).as_posix()
        return None


def _frame_qualname(frame: FrameType) -> str:
    module = str(frame.f_globals.get("__name__", "?"))
    code = frame.f_code
    name = getattr(code, "co_qualname", code.co_name)
    return module if name == "<module>" else f"{module}.{name}"


def _frame_lines(frame: FrameType) -> tuple[int, int]:
    """First and last line of the expression the frame is executing (a call may span lines)."""
    if frame.f_lasti >= 0:
        positions = _positions(frame.f_code)
        # co_positions has one entry per two-byte code unit; f_lasti is a byte offset.
        first, last = positions[frame.f_lasti // 2] if frame.f_lasti // 2 < len(
            positions) else (None, None)
        if first is not None:
            return first, last or first
    return frame.f_lineno, frame.f_lineno


@functools.cache
def _positions(code: CodeType) -> tuple[tuple[int | None, int | None], ...]:
    """The (first, last) lines of each code unit of `code`, read once per code object: a module
    that registers thousands of definitions would otherwise walk its code once for each."""
    positions = getattr(code, "co_positions", None)
    return tuple((start, end) for start, end, _, _ in positions()) if positions else ()


def _frames_from(frame: FrameType | None) -> Iterator[FrameType]:
    while frame is not None:
        yield frame
        frame = frame.f_back


def _definition_site(files: ProjectFiles, function: object) -> Site:
    """Where ``function`` is defined, when that is in the app."""
    code = getattr(function, "__code__", None)
    path = files.relative(code.co_filename) if isinstance(code, CodeType) else None
    if not isinstance(code, CodeType) or path is None:
        return Site(None, None, None, None, False)
    return Site(path, code.co_firstlineno, code.co_firstlineno, _qualname(function), False)


def _qualname(obj: object) -> str | None:
    module = getattr(obj, "__module__", None)
    name = getattr(obj, "__qualname__", None)
    if module is None or name is None:
        return None
    return f"{module}.{name}"


class Recorder:
    """Collects definitions as the app registers them."""

    def __init__(self, files: ProjectFiles, registries: ModuleType, py_component_def: type) -> None:
        self.files = files
        self.definitions: list[Definition] = []
        self._py_component_def = py_component_def
        self._kinds: dict[int, str] = {
            id(registries.derived_variable_registry): "derived_variable",
            id(registries.server_variable_registry): "server_variable",
            id(registries.backend_store_registry): "backend_store",
            id(registries.stream_variable_registry): "stream_variable",
            id(registries.action_registry): "action",
            id(registries.component_registry): "py_component",
            id(registries.static_kwargs_registry): "static_kwargs",
            id(registries.upload_resolver_registry): "upload_resolver",
            id(registries.custom_ws_handlers_registry): "ws_handler",
        }
        # Route objects are kept alive here so that their id() stays theirs.
        self._route_sites: dict[int, tuple[object, Site]] = {}
        self._legacy_page_sites: dict[str, Site] = {}

    def capture_site(self) -> Site:
        """The innermost app frame of this construction; whether dara library code sat between."""
        site = self._site_in(_frames_from(sys._getframe(1)))
        if site.path is None and threading.current_thread() is not threading.main_thread():
            # call_async runs a store's registration in a portal thread while the main thread,
            # which holds the app's call, waits for it.
            main_ident = threading.main_thread().ident
            main_frame = sys._current_frames().get(main_ident) if main_ident is not None else None
            site = self._site_in(_frames_from(main_frame))
        return site

    def _site_in(self, frames: Iterator[FrameType]) -> Site:
        library_owned = False
        for frame in frames:
            filename = frame.f_code.co_filename
            path = self.files.relative(filename)
            if path is not None:
                line, end_line = _frame_lines(frame)
                return Site(path, line, end_line, _frame_qualname(frame), library_owned)
            dara_path = self.files.dara_relative(filename)
            if dara_path is not None and not dara_path.startswith(_DEFINITION_MACHINERY):
                library_owned = True
        return Site(None, None, None, None, False)

    def on_register(self, registry: object, key: str, value: object, caller: FrameType) -> None:
        kind = self._kinds.get(id(registry))
        if kind is None or (
            kind == "py_component" and not isinstance(value, self._py_component_def)
        ):
            return
        if kind == "ws_handler":
            # Registered by _start_application from the config, so the handler marks the app's site.
            self._add(kind, key, "app", _definition_site(self.files, value), _qualname(value))
            return
        owner = "app" if kind in UID_KINDS else "framework"
        if kind == "action":
            resolver = getattr(value, "resolver", None)
            # Deprecated factories (UpdateVariable, NavigateTo, ...) define a fresh action on each
            # call, which only the app can replace (DM105).
            if getattr(resolver, "__module__", None) == _DEPRECATED_FACTORY_MODULE:
                owner = "app"
            qualname = _qualname(resolver)
        elif kind in ("derived_variable", "stream_variable", "py_component"):
            qualname = _qualname(getattr(value, "func", None))
        elif kind == "upload_resolver":
            qualname = _qualname(getattr(value, "resolver", None))
        elif kind == "static_kwargs":
            qualname = _static_kwargs_owner(caller)
        else:
            qualname = None
        self._add(kind, key, owner, self.capture_site(), qualname)

    def on_route_created(self, route: object) -> None:
        self._route_sites[id(route)] = (route, self.capture_site())

    def on_legacy_page(self, name: str) -> None:
        self._legacy_page_sites[name] = self.capture_site()

    def add_routes(self, router: Any) -> None:
        no_site = Site(None, None, None, None, False)
        for identifier, data in router.to_route_map().items():
            route = data.definition
            _, site = self._route_sites.get(id(route), (route, no_site))
            if site.path is None:
                # dara converts legacy add_page pages to routes at build: their add_page call is
                # the app's site. The root layout of that conversion has none: it is dara's.
                site = self._legacy_page_sites.get(str(getattr(route, "name", None)), no_site)
            content = getattr(route, "content", None)
            qualname = (
                _qualname(content) if callable(content) else site.qualname or _qualname(type(route))
            )
            self._add("route", identifier, "app", site, qualname)

    def _add(self, kind: str, key: str, owner: str, site: Site, qualname: str | None) -> None:
        if site.path is None:
            # Built by dara on its own: the app has no call site where it could pass an id.
            owner = "framework"
        self.definitions.append(
            Definition(
                kind=kind,
                id=str(key),
                owner=owner,
                qualname=qualname or site.qualname or "",
                path=site.path,
                line=site.line,
                end_line=site.end_line,
                library_owned=site.library_owned and owner == "app",
            )
        )


def _static_kwargs_owner(caller: FrameType) -> str | None:
    """The action or py_component whose instance stored these static kwargs."""
    local = caller.f_locals
    func = local.get("func")
    if func is None:
        func = getattr(local.get("self"), "func", None)
    return _qualname(func)


class StandIns:
    """v2-only runtime names installed in this process when the installed dara-core lacks them."""

    def __init__(
        self, module_name: str | None, names: Sequence[str], method_name: str | None
    ) -> None:
        self.module_name = module_name
        self.names = list(names)
        self.method_name = method_name
        self.used: list[str] = []
        self.declared: dict[str, Any] | None = None

    def install(self, configuration_builder: type) -> None:
        if self.module_name and _module_missing(self.module_name):
            sys.meta_path.insert(0, _StandInFinder(self))
        if self.method_name:
            self._install_method(configuration_builder, self.method_name)

    def _install_method(self, configuration_builder: type, method_name: str) -> None:
        real = getattr(configuration_builder, method_name, None)
        stand_ins = self
        label = f"{configuration_builder.__name__}.{method_name}"

        def configure(builder: object, *args: Any, **kwargs: Any) -> Any:
            stand_ins.declared = {
                **{str(index): _describe(value) for index, value in enumerate(args)},
                **{name: _describe(value) for name, value in kwargs.items()},
            }
            if real is None:
                stand_ins.mark_used(label)
                return None
            return real(builder, *args, **kwargs)

        setattr(configuration_builder, method_name, configure)

    def mark_used(self, label: str) -> None:
        if label not in self.used:
            self.used.append(label)

    def build_module(self, module: ModuleType) -> None:
        for name in self.names:
            setattr(module, name, _stand_in_class(name, module.__name__))
        self.mark_used(module.__name__)


class _StandInFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def __init__(self, stand_ins: StandIns) -> None:
        self._stand_ins = stand_ins

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != self._stand_ins.module_name:
            return None
        return importlib.util.spec_from_loader(fullname, self)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return None

    def exec_module(self, module: ModuleType) -> None:
        self._stand_ins.build_module(module)


def _module_missing(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is None
    except ModuleNotFoundError:
        return True


def _stand_in_class(name: str, module_name: str) -> type:
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        self.stand_in_arguments = {**{str(i): v for i, v in enumerate(args)}, **kwargs}

    return type(name, (), {"__init__": __init__, "__module__": module_name})


def _describe(value: object) -> Any:
    """A JSON view of what the app passed to the runtime declaration."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, (list, tuple)):
        return [_describe(item) for item in value]
    arguments = getattr(value, "stand_in_arguments", None)
    if isinstance(arguments, dict):
        return {"type": type(value).__name__, **{k: _describe(v) for k, v in arguments.items()}}
    return {"type": type(value).__name__}


def _pretend_hostname(hostname: str) -> None:
    """Make the host-name APIs answer ``hostname``, so an id built from the host differs per run."""
    socket.gethostname = lambda: hostname
    platform.node = lambda: hostname


def check_dara_core() -> str:
    """The installed dara-core version; BuildFailure when it is missing or too old."""
    try:
        version = importlib.metadata.version("dara-core")
    except importlib.metadata.PackageNotFoundError:
        raise BuildFailure(
            EXIT_DARA_MISSING, f"dara-core is not installed in {sys.executable}"
        ) from None
    match = re.match(r"(\d+)\.(\d+)", version)
    if match is None or (int(match[1]), int(match[2])) < MINIMUM_DARA_CORE:
        minimum = ".".join(map(str, MINIMUM_DARA_CORE))
        raise BuildFailure(
            EXIT_DARA_TOO_OLD, f"dara-core {version} in {sys.executable} is older than {minimum}"
        )
    return version


def install_recorder(files: ProjectFiles) -> Recorder:
    """Wrap Registry.register and the route constructors; must run before the app is imported."""
    registry_module = importlib.import_module("dara.core.internal.registry")
    registries = importlib.import_module("dara.core.internal.registries")
    definitions = importlib.import_module("dara.core.definitions")
    router = importlib.import_module("dara.core.router.router")
    configuration = importlib.import_module("dara.core.configuration")
    recorder = Recorder(files, registries, definitions.PyComponentDef)

    registry_class = registry_module.Registry
    original_register = registry_class.register

    def register(self: object, key: str, value: object) -> None:
        original_register(self, key, value)
        recorder.on_register(self, key, value, sys._getframe(1))

    registry_class.register = register

    for name in ("IndexRoute", "PageRoute", "LayoutRoute", "PrefixRoute"):
        _record_route_construction(getattr(router, name), recorder)
    _record_legacy_pages(configuration.ConfigurationBuilder, recorder)
    return recorder


def _record_route_construction(route_class: Any, recorder: Recorder) -> None:
    original_init: Callable[..., None] = route_class.__init__

    def __init__(self: object, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        recorder.on_route_created(self)

    route_class.__init__ = __init__


def _record_legacy_pages(configuration_builder: Any, recorder: Recorder) -> None:
    original_add_page: Callable[..., Any] = configuration_builder.add_page

    def add_page(self: object, name: str, *args: Any, **kwargs: Any) -> Any:
        page = original_add_page(self, name, *args, **kwargs)
        recorder.on_legacy_page(name)
        return page

    configuration_builder.add_page = add_page


def build(config_path: str, files: ProjectFiles, stand_ins: StandIns) -> Recorder:
    """Build the app as ``dara start`` would, without serving it."""
    recorder = install_recorder(files)
    configuration = importlib.import_module("dara.core.configuration")
    stand_ins.install(configuration.ConfigurationBuilder)
    utils = importlib.import_module("dara.core.internal.utils")
    main = importlib.import_module("dara.core.main")

    if ":" not in config_path:
        raise BuildFailure(
            EXIT_BAD_CONFIG, f"--config must be module:attribute, got {config_path!r}"
        )
    module, config = utils.import_config(config_path)
    if not isinstance(config, configuration.ConfigurationBuilder):
        raise BuildFailure(
            EXIT_BAD_CONFIG,
            f"{config_path} is a {type(config).__name__}, not a ConfigurationBuilder",
        )

    static_dir = tempfile.mkdtemp(prefix="dara-migrate-static-")
    try:
        config.static_files_dir = static_dir
        config._run_discovery(module)
        app_config = config._to_configuration()
        main._start_application(app_config)
        recorder.add_routes(app_config.router)
    finally:
        shutil.rmtree(static_dir, ignore_errors=True)
    return recorder


def _exception_chain(error: BaseException) -> list[BaseException]:
    """The exception and its causes, outermost first."""
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or (
            None if current.__suppress_context__ else current.__context__
        )
    return chain


def _last_project_frame(files: ProjectFiles, traceback: TracebackType | None) -> str | None:
    found = None
    while traceback is not None:
        path = files.relative(traceback.tb_frame.f_code.co_filename)
        if path is not None:
            found = f"{path}:{traceback.tb_lineno}"
        traceback = traceback.tb_next
    return found


def describe_failure(files: ProjectFiles, error: BaseException) -> BuildFailure:
    """A one-line cause and the last app frame that led to it."""
    chain = _exception_chain(error)
    reported = _reported_exception(files, chain)
    if isinstance(reported, SystemExit):
        cause = f"the app called sys.exit({reported.code!r})"
    else:
        message = _first_line(str(reported))
        name = type(reported).__name__
        cause = f"{name}: {message}" if message else name
    # Search from the reported exception towards the outermost for an app frame.
    start = chain.index(reported)
    frames = (_last_project_frame(files, e.__traceback__) for e in reversed(chain[: start + 1]))
    return BuildFailure(EXIT_BUILD_FAILED, cause, next((f for f in frames if f is not None), None))


_VALIDATION_HEADING = re.compile(r"\d+ validation errors? for \S+")
_VALIDATION_TYPE = re.compile(r"\s*[\[(]type=[^\])]*[\])]$")


def _first_line(message: str) -> str:
    """An exception message on one line; a pydantic validation error (a component given a
    field it lacks) keeps its first field and reason, which its heading alone does not say."""
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    if len(lines) >= 3 and _VALIDATION_HEADING.fullmatch(lines[0]):
        return f"{lines[0]}: {lines[1]}: {_VALIDATION_TYPE.sub('', lines[2])}"
    return lines[0] if lines else ""


def _reported_exception(files: ProjectFiles, chain: list[BaseException]) -> BaseException:
    """The outermost exception not raised inside dara, else the innermost.

    dara wraps app errors (import_config's ImportError, sys.exit(1) after a failed page) and
    raises its own (a duplicate uid); an app that wraps an error means its own message.
    """
    for candidate in chain:
        traceback = candidate.__traceback__
        while traceback is not None and traceback.tb_next is not None:
            traceback = traceback.tb_next
        if traceback is None or files.dara_relative(traceback.tb_frame.f_code.co_filename) is None:
            return candidate
    return chain[-1]


def _parse_arguments(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("config", help="module:attribute of the ConfigurationBuilder")
    parser.add_argument(
        "--app-root", default=os.getcwd(), help="folder whose files are the app (default: cwd)"
    )
    parser.add_argument("--output", help="write the JSON here instead of stdout")
    parser.add_argument("--hostname", help="host name reported to the app for this build")
    parser.add_argument("--stand-in-module", help="module to provide when dara-core lacks it")
    parser.add_argument(
        "--stand-in-names", default="", help="comma-separated names in the stand-in module"
    )
    parser.add_argument(
        "--stand-in-method", help="ConfigurationBuilder method to record (and provide if missing)"
    )
    return parser.parse_args(argv)


def run(arguments: argparse.Namespace) -> tuple[int, dict[str, Any]]:
    """Build the app named by the arguments; returns the exit code and the JSON document."""
    app_root = Path(os.path.realpath(arguments.app_root))
    sys.dont_write_bytecode = True
    script_dir = os.path.dirname(os.path.realpath(__file__))
    # Python put this script's folder first on sys.path; the app must not import from it.
    sys.path[:] = [str(app_root)] + [
        p for p in sys.path if os.path.realpath(p or ".") != script_dir
    ]
    # No JS build, no metrics server, settings without writing a .env into the app.
    os.environ["SKIP_JSBUILD"] = "TRUE"
    os.environ["DARA_TEST_FLAG"] = "TRUE"
    if arguments.hostname:
        _pretend_hostname(arguments.hostname)
    names = [n for n in arguments.stand_in_names.split(",") if n]
    stand_ins = StandIns(arguments.stand_in_module, names, arguments.stand_in_method)

    files = ProjectFiles(app_root, [])
    try:
        version = check_dara_core()
        dara = importlib.import_module("dara")
        files = ProjectFiles(app_root, list(dara.__path__))
        recorder = build(arguments.config, files, stand_ins)
    except BuildFailure as failure:
        return failure.exit_code, _error_document(failure)
    except KeyboardInterrupt:
        raise
    except BaseException as error:
        # Whatever stops the app's build (SystemExit included) is the report.
        return EXIT_BUILD_FAILED, _error_document(describe_failure(files, error))
    return EXIT_OK, {
        "protocol": PROTOCOL,
        "ok": True,
        "dara_core": version,
        "python": sys.executable,
        "definitions": [asdict(d) for d in recorder.definitions],
        "stand_ins": stand_ins.used,
        "runtime": stand_ins.declared,
    }


def _error_document(failure: BuildFailure) -> dict[str, Any]:
    return {
        "protocol": PROTOCOL,
        "ok": False,
        "error": {"cause": failure.cause, "frame": failure.frame},
    }


def main(argv: Sequence[str]) -> None:
    arguments = _parse_arguments(argv)
    stdout_fd = os.dup(1)
    # Build noise (print, logging) goes to stderr so that stdout carries only the JSON document.
    os.dup2(2, 1)
    try:
        code, document = run(arguments)
    finally:
        sys.stdout.flush()
        os.dup2(stdout_fd, 1)
    text = json.dumps(document, indent=1)
    if arguments.output:
        Path(arguments.output).write_text(text, encoding="utf-8")
    else:
        with contextlib.suppress(BrokenPipeError):
            sys.stdout.write(text + "\n")
    sys.stdout.flush()
    sys.stderr.flush()
    # Threads the app left running (pools, clients) must not keep the build process alive.
    os._exit(code)


if __name__ == "__main__":
    main(sys.argv[1:])
