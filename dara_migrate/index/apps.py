"""The apps of a project, found once per load on the project index and read by the rules, the
engine, apply, interactive and verify alike: each `ConfigurationBuilder()` the settings
want, with its name, where it is bound, its project, target profile, app id and the
runtime declared on it."""

from __future__ import annotations

import functools
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from dara_migrate.facts import Binding, Call, FileFacts
from dara_migrate.files import SourceRoots
from dara_migrate.index.bindings import defining_call
from dara_migrate.index.project import ProjectIndex, per_index
from dara_migrate.models import app_label
from dara_migrate.settings import Settings, SettingsError, read_pyproject
from dara_migrate.target import (
    CONFIGURE_RUNTIME,
    ESCAPE_HATCH_ATTRIBUTE,
    ESCAPE_HATCH_VALUE,
    LATEST,
    Target,
)

BUILDER = "ConfigurationBuilder"


class BoundName(NamedTuple):
    """Where code can name an app's builder: `name` is bound to it by the statement at `line`
    of `facts`. The escape hatch, the distributed mode and the runtime go right after it."""

    facts: FileFacts
    name: str
    line: int


@dataclass(eq=False, slots=True)
class App:
    """One `ConfigurationBuilder()` call and the project files it imports."""

    name: str
    """What reports and messages call the app, as `dara start` and `verify` import it: the
    module-level name that holds its builder (`config` for `config = make_config()`, also
    when the factory binds the builder to a local `builder`), else the name its builder is
    bound to (`bound_name`), else `config`."""
    facts: FileFacts
    call: Call
    files: frozenset[str]
    bound_name: BoundName | None
    """None: nothing binds the builder to a name (`return ConfigurationBuilder()` whose
    result no module-level name keeps), so nothing can be declared on it."""
    escape_hatch: Binding | None = None
    key: str = ""
    """`module:name` (apps are mostly all called `config`); `path:name` where two source
    roots of a monorepo both have that module."""
    project: str = ""
    """The folder (relative to the root) of the nearest project file above the config."""
    target: Target = LATEST
    target_reason: str = ""
    app_id: str = ""
    """The runtime scope's app id: the project's name, else the config's top package."""
    runtime: list[tuple[FileFacts, Call]] = field(default_factory=list)
    """The `configure_runtime(...)` calls declared on this app's builder."""
    shared: bool = False
    """One of several apps one factory builds (`config = create_app('sales')` in one module,
    `create_app('ops')` in another): each is declared on its own module-level name
    (`bound_name`)."""
    builder: BoundName | None = None
    """For a `shared` app: where the factory binds the builder, whose declarations hold for
    all of its apps."""

    @property
    def declared_as(self) -> str:
        """The name declarations on the builder use where they go (`bound_name`: `builder`
        inside a factory), as the fixes write them."""
        return self.bound_name.name.rsplit(".", 1)[-1] if self.bound_name else self.name

    @property
    def where(self) -> tuple[str, int]:
        """Where reports place the app: its builder call, or for a `shared` app the
        statement of its own module that holds it."""
        if self.shared and self.bound_name is not None:
            return self.bound_name.facts.path, self.bound_name.line
        return self.facts.path, self.call.span.line

    @property
    def label(self) -> str:
        """How terminal output names the app, as the audit's verdict line does."""
        return app_label(self.name, *self.where)

    def declares(self, attribute: str) -> Binding | None:
        """The `<name>.<attribute> = ...` statement next to the builder, if there is one."""
        for bound in (self.bound_name, self.builder):
            if bound is not None:
                wanted = f"{bound.name}.{attribute}"
                found = next((b for b in bound.facts.bindings
                              if b.kind == "attr" and b.name == wanted), None)
                if found is not None:
                    return found
        return None


@dataclass(slots=True)
class ProjectApps:
    """Every app of a project (as `apps` in the settings narrows them)."""

    apps: list[App] = field(default_factory=list)
    owners: dict[str, list[App]] = field(default_factory=dict)
    """path -> the apps importing it; built once, since a monorepo has hundreds of apps."""
    roots: SourceRoots | None = None
    by_project: dict[str, list[App]] = field(default_factory=dict)
    """project folder -> the apps whose config lives under its project file."""
    unmatched: tuple[tuple[Path, str], ...] = ()
    """Entries of an `apps` setting that name no app of the project (a typo, a moved app),
    with the pyproject.toml that lists them."""
    unreadable: dict[str, SettingsError] = field(default_factory=dict)
    """Project folder -> why its project file could not be read for its apps' target: an
    error only for a run that reports on one of those apps (`owning_selected`)."""

    @classmethod
    def build(cls, index: ProjectIndex, settings: Settings, roots: SourceRoots) -> ProjectApps:
        """The apps, each with the target profile and app id of its nearest project and the
        runtime declared on it; one pass over the builders and the runtime declarations."""
        apps: list[App] = []
        unreadable: dict[str, SettingsError] = {}
        profiles: dict[str, tuple[Target, str, str | None]] = {}
        read = functools.cache(read_pyproject)  # a project's file gives its target and its name
        tables = [settings, *settings.nested.values()]
        listed = {entry for table in tables for entry in table.apps}
        answered: set[str] = set()
        for app in _builds(index):
            facts = app.facts
            governing = settings.governing(facts.path)
            if listed:
                # Any table's entry may name the app; only the table governing it narrows.
                naming = _listed_names(index, listed, app)
                answered |= naming
                if governing.apps and naming.isdisjoint(governing.apps):
                    continue
            app.files = frozenset(index.files_reachable(facts))
            app.project = roots.project_of(facts.path)
            if app.shared and app.bound_name is not None:
                # Each of a factory's apps is its holder module's, as `dara start` runs it.
                app.files |= index.files_reachable(app.bound_name.facts)
                app.project = roots.project_of(app.bound_name.facts.path)
            if app.project not in profiles:
                try:
                    profiles[app.project] = (
                        *governing.target_for(settings.root / app.project, read),
                        _project_name(settings.root / app.project, read))
                except SettingsError as error:
                    unreadable[app.project] = error
                    profiles[app.project] = (settings.target, settings.target_reason, None)
            app.target, app.target_reason, named = profiles[app.project]
            app.app_id = named or facts.module.split(".")[0].replace("_", "-")
            hatch = app.declares(ESCAPE_HATCH_ATTRIBUTE)
            if hatch is not None and hatch.value is not None and (
                    hatch.value.const == ESCAPE_HATCH_VALUE):
                app.escape_hatch = hatch
            apps.append(app)
        taken = Counter(app.key for app in apps)
        for app in apps:
            if taken[app.key] > 1:
                app.key = f"{app.facts.path}:{app.name}"
        owners: dict[str, list[App]] = defaultdict(list)
        for app in apps:
            for path in app.files:
                owners[path].append(app)
        by_project: dict[str, list[App]] = defaultdict(list)
        for app in apps:
            by_project[app.project].append(app)
        found = cls(apps, owners, roots, by_project,
                    tuple((table.root / "pyproject.toml", entry) for table in tables
                          for entry in table.apps if entry not in answered), unreadable)
        found._attach_runtime(index)
        return found

    def owning(self, path: str) -> list[App]:
        """The apps that import a module; one that no app imports belongs to the only app
        of its project (the project, in a monorepo of apps with a project file each)."""
        return self.owners.get(path) or self.unimported_owner(path)

    def unimported_owner(self, path: str) -> list[App]:
        """The app a module that no app imports belongs to: the only app of the project, or
        of the module's own project folder; else none."""
        if len(self.apps) == 1:
            return self.apps
        if self.roots is None:
            return []
        apps = self.by_project.get(self.roots.project_of(path), [])
        return apps if len(apps) == 1 else []

    def owning_selected(self, selected: frozenset[str]) -> list[App]:
        """The apps that own a selected file (those a run over `selected` reports on); an
        error when the project file of one of them cannot be read."""
        owning = [app for app in self.apps if not selected.isdisjoint(app.files)]
        for app in owning:
            if app.project in self.unreadable:
                raise self.unreadable[app.project]
        return owning

    def _attach_runtime(self, index: ProjectIndex) -> None:
        """Each `configure_runtime` call to the app whose builder it is called on; one whose
        receiver cannot be traced counts for the apps owning its module."""
        by_call: dict[tuple[str, int], list[App]] = defaultdict(list)
        for app in self.apps:
            by_call[(app.facts.path, app.call.id)].append(app)
        for facts, call in index.method_calls.get((BUILDER, CONFIGURE_RUNTIME), ()):
            receiver = call.callee.rpartition(".")[0]
            made = defining_call(index, facts, call.scope, receiver)
            if made is None:
                declared_for = self.owning(facts.path)
            else:
                apps = by_call.get((made[0].path, made[1].id), [])
                # On the name one of a factory's apps is held by: that app's; in the factory:
                # every app it builds.
                declared_for = [app for app in apps if app.shared
                                and app.bound_name is not None and app.bound_name.facts is facts
                                and app.bound_name.name == receiver] or apps
            for app in declared_for:
                app.runtime.append((facts, call))


def importable_as(index: ProjectIndex, app: App) -> BoundName | None:
    """The module-level name that holds an app's builder, as `dara start` and `verify` import
    it (`config = build_config()` too), when one does."""
    handle = app.bound_name
    if handle is not None and "." not in handle.name and _holds(
            index, handle.facts, handle.name, app.call):
        return handle
    if app.call.scope != 0:
        holder = _holder_in_callers(index, app.facts, app.call)
        if holder is not None:
            return holder
    return next(_module_names_holding(index, app.call), None)


def _builds(index: ProjectIndex) -> Iterator[App]:
    """An app for each builder, named and keyed as `dara start` imports it: by the name that
    holds it at module level (a factory's caller's), else by where it is bound. A factory
    whose builder two or more module-level names hold (`config = create_app('sales')` in
    one module, `create_app('ops')` in another) builds one app for each of them."""
    for facts, call in index.calls_by_api.get(BUILDER, ()):
        if call.scope != 0 and call.target:
            holders = _holders_in_callers(index, facts, call)
        elif not call.target:
            holders = _factory_results(index).get((id(facts), id(call)), [])
        else:
            holders = []
        made = BoundName(facts, call.target, call.stmt_line) if call.target else None
        started = [holder for holder in holders if not _test_module(holder.facts.path)]
        if len(started) > 1:
            for each in started:
                yield App(each.name, facts, call, frozenset(), each,
                          key=f"{each.facts.module}:{each.name}", shared=True, builder=made)
            continue
        # Named by the module that starts it, before a test's (`config = create_app()`).
        holder = (started or holders)[0] if holders else None
        bound = made or holder
        name = bound.name.rsplit(".", 1)[-1] if bound else "config"
        app = App(name, facts, call, frozenset(), bound, key=f"{facts.module}:{name}")
        if holder is not None:
            # Keyed as `dara start` imports it: the module-level name that holds it.
            app.name, app.key = holder.name, f"{holder.facts.module}:{holder.name}"
        yield app


def _test_module(path: str) -> bool:
    """A module pytest collects (`test_*.py`, `*_test.py`, `conftest.py`) or one under a
    `tests` folder: a config it holds is a test's, not an app anyone starts."""
    *folders, name = path.split("/")
    return (name.startswith("test_") or name.endswith("_test.py") or name == "conftest.py"
            or "tests" in folders or "test" in folders)


def _holder_in_callers(index: ProjectIndex, facts: FileFacts, call: Call) -> BoundName | None:
    """The first of `_holders_in_callers`."""
    return next(iter(_holders_in_callers(index, facts, call)), None)


def _holders_in_callers(index: ProjectIndex, facts: FileFacts, call: Call) -> list[BoundName]:
    """The module-level names (in path, then binding order) that hold what `call`, made
    inside a function, made: looked for only in the modules that call that function, directly
    or through other functions (a handful, where every module would cost a whole-project pass)."""
    modules: set[str] = set()
    seen: set[tuple[str, int]] = set()
    scopes = [(facts.path, call.scope)]
    while scopes:
        scope = scopes.pop()
        if scope in seen:
            continue
        seen.add(scope)
        for edge in index.callers.get(scope, ()):
            if edge.source[1] == 0:
                modules.add(edge.source[0])
            else:
                scopes.append(edge.source)
    return [BoundName(index.files[path], name, last.stmt_line) for path in sorted(modules)
            for name, last in index.module_bindings.get(path, {}).items()
            if last.kind == "assign" and _holds(index, index.files[path], name, call)]


def _module_names_holding(index: ProjectIndex, call: Call) -> Iterator[BoundName]:
    """Every module-level name of the project that holds what `call` made when imported."""
    for facts in index.files.values():
        for name, last in index.module_bindings.get(facts.path, {}).items():
            if last.kind == "assign" and _holds(index, facts, name, call):
                yield BoundName(facts, name, last.stmt_line)


def _holds(index: ProjectIndex, facts: FileFacts, name: str, call: Call) -> bool:
    """Whether module-level `name` of `facts` holds what `call` made when imported."""
    if name not in index.module_bindings.get(facts.path, {}):
        return False
    made = defining_call(index, facts, 0, name)
    return made is not None and made[1] is call


def _listed_names(index: ProjectIndex, listed: set[str], app: App) -> set[str]:
    """The entries of `apps` that name the app: by its key (`module:name`), by its path
    (`path:name`, where two source roots share the module name), or as `dara start` imports
    it (`app.main:dash` for `dash = build_config()`, whichever module calls the factory)."""
    holders = [(app.facts, app.name), *((bound.facts, bound.name)
                                        for bound in _module_names_holding(index, app.call))]
    if app.shared and app.bound_name is not None:
        # Its own module's name, or the factory's (which names each app it builds).
        holders = [(app.bound_name.facts, app.bound_name.name)] + (
            [(app.builder.facts, app.builder.name)] if app.builder is not None else [])
    return listed & {spelling for facts, name in holders
                     for spelling in (f"{facts.module}:{name}", f"{facts.path}:{name}",
                                      f"{_started_as(index, facts)}:{name}")}


def _started_as(index: ProjectIndex, facts: FileFacts) -> str:
    """The module `dara start` imports a config file as from the folder its own imports
    resolve from (`main` for an app's `main.py` next to its `pages/` folder)."""
    folder = index.import_root(facts)
    if not folder or not facts.path.startswith(f"{folder}/"):
        return facts.module
    return facts.path[len(folder) + 1:].removesuffix(".py").removesuffix("/__init__").replace(
        "/", ".")


@per_index
def _factory_results(index: ProjectIndex) -> dict[tuple[int, int], list[BoundName]]:
    """(file, call) identities -> the module-level names, in path then binding order, bound
    to what the call made (`config = build_config()`): one pass over the project for all the
    factory-built apps, not one per app."""
    holders: dict[tuple[int, int], list[BoundName]] = defaultdict(list)
    for other in index.files.values():
        for binding in other.bindings:
            if (binding.scope == 0 and binding.kind == "assign" and binding.value is not None
                    and binding.value.kind in ("call", "item")):
                made = defining_call(index, other, 0, binding.name)
                if made is not None and not any(
                        held.facts is other and held.name == binding.name
                        for held in holders[(id(made[0]), id(made[1]))]):
                    holders[(id(made[0]), id(made[1]))].append(
                        BoundName(other, binding.name, binding.stmt_line))
    return holders


def _project_name(project: Path, read: Callable[[Path], dict[str, Any]]) -> str | None:
    """`[project].name` (or poetry's, or setup.cfg's) of a project, normalised: the app id
    of its apps (else their config module's top-level package)."""
    name: object = None
    if (project / "pyproject.toml").is_file():
        data = read(project / "pyproject.toml")
        name = data.get("project", {}).get("name") or data.get("tool", {}).get(
            "poetry", {}).get("name")
    if not name and (project / "setup.cfg").is_file():
        import configparser  # rare: only projects configured by setup.cfg alone

        parser = configparser.ConfigParser()
        try:
            parser.read(project / "setup.cfg", encoding="utf-8")
            name = parser.get("metadata", "name", fallback=None)
        except (configparser.Error, UnicodeDecodeError):
            name = None
    if isinstance(name, str) and name.strip():
        return re.sub(r"[-_.]+", "-", name.strip()).lower()
    return None
