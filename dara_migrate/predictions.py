"""What the audit predicts an app build registers: the cross-check input of `verify`."""

from __future__ import annotations

from collections.abc import Callable, Collection
from pathlib import Path

from dara_migrate.engine import Project
from dara_migrate.facts import Call, FileFacts
from dara_migrate.index.definitions import collect_definitions
from dara_migrate.index.project import ProjectIndex, project_calls
from dara_migrate.index.queries import route_calls
from dara_migrate.verify import PredictedDefinition
from dara_migrate.verify.replay import SiteFinding


def predicted_definitions(project: Project, app_root: Path,
                          files: Collection[str] = ()) -> list[PredictedDefinition]:
    """Build-time definitions and routes, with paths relative to `app_root`; of the files
    at `files` only (relative to the project root), when given: the modules of one app of
    several built from the same folder."""
    root = project.settings.root
    # By the call's column too: a Variable's DM101 and its store's DM103 share a line.
    rules = {(f.path, f.line, f.column): f.rule for f in project.findings
             if f.rule in ("DM101", "DM102", "DM103", "DM104", "DM108")}
    acknowledged = {(f.path, f.line) for f in project.findings if f.status == "acknowledged"}
    predicted = []

    relative, outside = _app_paths(root, app_root, files)

    for definition in collect_definitions(project.index):
        facts, call = definition.facts, definition.call
        path = relative(facts.path)
        if definition.registry == "variable" or (path is None and not outside(facts.path)):
            continue
        if project.index.when_at(facts, call.scope) in ("request", "unknown"):
            continue
        qualname = facts.scopes[call.scope].qualname or call.target
        site = (facts.path, call.span.line)
        # A build names a definition by its innermost frame in the app's folder: for one a
        # library makes, the app's calls into that library (or its imports of it).
        built_sites = ([((path, call.span.line),)] if path is not None
                       else _app_calls(project.index, facts, call.scope, relative, outside))
        if definition.registry == "backend_store" and path is None and call.parent < 0:
            # A library's store bound to a name is registered by the Variable that uses it.
            registered = _store_registered_at(project.index, facts, call)
            at = relative(registered[0]) if registered is not None else None
            built_sites = [((at, registered[1]),)] if at is not None and registered else []
        for built_at, *also in built_sites:
            if definition.registry == "backend_store" and path is not None:
                registered = _store_registered_at(project.index, facts, call)
                built_at = (relative(registered[0]) or path, registered[1]) if registered else (
                    built_at)
            predicted.append(PredictedDefinition(
                definition.registry, *built_at, rules.get((*site, call.col)),
                f"{facts.module}.{qualname}", site in acknowledged, tuple(also)))
    for finding in project.findings:
        # Factories and library components build definitions on the app's behalf.
        path = relative(finding.path)
        if path is not None and finding.rule in ("DM105", "DM106"):
            kind = "action" if finding.rule == "DM105" else "library"
            predicted.append(PredictedDefinition(kind, path, finding.line, finding.rule,
                                                 finding.message,
                                                 finding.status == "acknowledged"))
    # dara converts each legacy `config.add_page(name, ...)` to a route whose id is its name.
    legacy_pages = project.index.method_calls.get(("ConfigurationBuilder", "add_page"), ())
    routes = sorted([(facts, call) for facts, call, _ in route_calls(project.index)]
                    + list(legacy_pages),
                    key=lambda site: (site[0].path, site[1].line, site[1].col))
    for facts, call in routes:
        path = relative(facts.path)
        if path is not None:
            site = (facts.path, call.span.line)
            predicted.append(PredictedDefinition(
                "route", path, call.span.line, rules.get((*site, call.col)),
                f"{facts.module}.{facts.scopes[call.scope].qualname or call.target}",
                site in acknowledged))
    return predicted


def _app_paths(root: Path, app_root: Path, files: Collection[str] = ()
               ) -> tuple[Callable[[str], str | None], Callable[[str], bool]]:
    """For a project path: where it is from `app_root` (None outside it), and whether it is a
    file of the app outside that folder (a shared library the build imports); of the files
    at `files` only, when given."""
    app_folder = app_root.resolve()

    def relative(path: str) -> str | None:
        if files and path not in files:
            return None
        try:
            return (root / path).resolve().relative_to(app_folder).as_posix()
        except ValueError:
            return None

    def outside(path: str) -> bool:
        return (not files or path in files) and not (root / path).resolve().is_relative_to(
            app_folder)

    return relative, outside


_LIBRARY_DEPTH = 3
"""Library functions calling library functions: how many are followed out to the app."""


Site = tuple[str, int]
"""A path relative to the app's folder, and a line."""


def _app_calls(index: ProjectIndex, facts: FileFacts, scope: int,
               relative: Callable[[str], str | None], outside: Callable[[str], bool],
               depth: int = 0) -> list[tuple[Site, ...]]:
    """Where the build names what the library code around `scope` makes, once per time it
    runs: each of the app's calls of the library function around it, through other library
    functions; for library code at module level, one of the app's imports of its module
    (the first one run, which the audit does not know: all are given, as one)."""
    if depth >= _LIBRARY_DEPTH:
        return []
    function = index.function_scope(facts, scope)
    if function == 0:
        imports = tuple(_app_imports(index, facts, relative, outside, depth))
        return [imports] if imports else []
    sites: list[tuple[Site, ...]] = []
    for caller, call in project_calls(index).get((facts.path, function), ()):
        path = relative(caller.path)
        if path is not None:
            sites.append(((path, call.span.line),))
        elif outside(caller.path):
            sites += _app_calls(index, caller, call.scope, relative, outside, depth + 1)
    return sites


def _app_imports(index: ProjectIndex, module: FileFacts,
                 relative: Callable[[str], str | None], outside: Callable[[str], bool],
                 depth: int) -> list[Site]:
    """The app's imports of a library module, also through other library modules."""
    sites: list[Site] = []
    for importer in index.files.values():
        if importer is module:
            continue
        for binding in index.import_bindings.get(importer.path, ()):
            loaded = binding.imported_module
            if index.module_named(loaded, importer) is not module and index.module_named(
                    loaded.rpartition(".")[0], importer) is not module:
                continue
            path = relative(importer.path)
            if path is not None:
                sites.append((path, binding.span.line))
            elif outside(importer.path):
                sites += _app_imports(index, importer, relative, outside, depth + 1) if (
                    depth + 1 < _LIBRARY_DEPTH) else []
            break
    return sites


def site_findings(project: Project, app_root: Path, app: str | None = None
                  ) -> list[SiteFinding]:
    """Every finding inside `app_root`, path relative to it, for the cross-worker replay; of
    the app whose key is `app` only, when given (other apps built from the same folder have
    their own DM201 and DM701 at their own builders). A finding on a definition a library
    outside `app_root` makes is also at each of the app's calls into that library: the
    build names the definition there (as `predicted_definitions` does)."""
    relative, outside = _app_paths(project.settings.root, app_root)
    made_outside: dict[tuple[str, int], tuple[FileFacts, int]] | None = None
    found = []
    for finding in project.findings:
        if app is not None and finding.apps and app not in finding.apps:
            continue
        path = relative(finding.path)
        if path is not None:
            found.append(SiteFinding(finding.rule, path, finding.line, finding.status))
            continue
        if made_outside is None:
            made_outside = {(d.facts.path, d.call.span.line): (d.facts, d.call.scope)
                            for d in collect_definitions(project.index)
                            if outside(d.facts.path)}
        made = made_outside.get((finding.path, finding.line))
        if made is not None:
            found += [SiteFinding(finding.rule, *site, finding.status)
                      for sites in _app_calls(project.index, *made, relative, outside)
                      for site in sites]
    return found


def _store_registered_at(index: ProjectIndex, facts: FileFacts, store: Call
                         ) -> tuple[str, int] | None:
    """Where dara registers a BackendStore bound to a module-level name: at the first
    `Variable(store=<name>)` (`BackendStore.init` runs when the Variable is made), in the
    store's own file first; None for a store made in its Variable's call."""
    if store.parent >= 0 or store.scope or not store.target or "." in store.target:
        return None
    qualified = f"{facts.module}.{store.target}"
    uses = []
    for user, call in index.calls_by_api.get("Variable", ()):
        given = call.argument(3, "store")
        if given is not None and given.kind in ("name", "attr") and index.resolve(
                user, call.scope, given.text).qualified == qualified:
            uses.append((user.path != facts.path, user.path, call.span.line))
    return min(uses)[1:] if uses else None
