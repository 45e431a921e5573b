"""Which app `verify` builds and from where, as the project's app model (`index/apps.py`)
sees it: factory-built configs, namespace packages, `src/` layouts and monorepos are found
by the CLI and the Python API alike."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path, PurePath
from typing import TYPE_CHECKING, NamedTuple

from dara_migrate.verify.model import VerifyError

if TYPE_CHECKING:
    from dara_migrate.engine import Project


class AppBuild(NamedTuple):
    """One app to build: the folder the build runs in, its config as `module:attr`, the
    folder its config module is imported from when that is not the build folder, and the
    other folders the app's modules import from (a shared library folder of a monorepo)."""

    folder: Path
    config: str
    import_root: Path | None
    search_path: tuple[Path, ...] = ()
    files: frozenset[str] = frozenset()
    """The app's modules, relative to the project root."""
    home: Path | None = None
    """The folder of its config module."""
    app: str | None = None
    """The app's key in the audit (`module:name`), when the audit found it."""

    def environment(self, base: Mapping[str, str]) -> dict[str, str]:
        """`base` with `PYTHONPATH` led by the import folder (a `src/` layout's config module
        is imported from below the build folder), then the other folders."""
        return with_search_path(base, [p for p in (self.import_root, *self.search_path)
                                       if p is not None])


def with_search_path(base: Mapping[str, str], folders: list[Path]) -> dict[str, str]:
    """`base` with `folders` ahead of the `PYTHONPATH` it (or this process) has."""
    if not folders:
        return dict(base)
    inherited = base.get("PYTHONPATH", os.environ.get("PYTHONPATH", ""))
    return {**base, "PYTHONPATH": os.pathsep.join(
        filter(None, [*map(str, folders), inherited]))}


def module_under(file: PurePath, folder: PurePath) -> str:
    """The dotted module `file` is imported as when `folder` is on `sys.path`."""
    return ".".join(file.relative_to(folder).with_suffix("").parts).removesuffix(".__init__")


def app_builds(project: Project, given: Path, config: str | None) -> list[AppBuild]:
    """Every app the audit found under `given`, or the one `config` names (as `module:attr`
    from its import folder, its app key, or its module as the index names it); a `config`
    that names none of them is built as given, in `given`."""
    from dara_migrate.index.apps import importable_as

    root = project.settings.root
    given = given.resolve()
    builds: list[AppBuild] = []
    for app in project.apps:
        found = importable_as(project.index, app)
        if found is None:
            continue
        facts, name = found.facts, found.name
        config_file = root / facts.path
        # Built in the app's project folder, or in the folder given when the app is in it;
        # imported from wherever its own imports of its modules resolve from.
        folder = max((p for p in (root / app.project, given) if config_file.is_relative_to(p)),
                     key=lambda p: len(p.parts))
        imports = project.index.import_root(facts)
        import_root = root / imports if imports is not None else folder
        if folder.is_relative_to(import_root):
            folder = import_root
        target = f"{module_under(config_file, import_root)}:{name}"
        reachable = app.files | project.index.files_reachable(facts)
        search_path = tuple(root / other for other in project.index.search_path(reachable)
                            if root / other not in (folder, import_root))
        # Also the name the builder has where it is made (`orders.factory:builder`).
        made_as = (f"{app.facts.module}:{app.bound_name.name}" if app.bound_name is not None
                   else app.key)
        if config is None or config in (target, app.key, f"{facts.module}:{name}", made_as):
            builds.append(AppBuild(folder, target,
                                   None if import_root == folder else import_root,
                                   search_path, frozenset(reachable), config_file.parent,
                                   app.key))
    if config is not None and not builds:
        return [AppBuild(given, config, None)]
    return builds


def repository_root(project: Project, app_root: Path) -> Path | None:
    """The top of the git work tree above the project, when the modules under `app_root`
    import a top-level module that neither the project holds nor this interpreter can import
    (`charts` of a monorepo's shared library folder, put on `PYTHONPATH` by its deployment):
    the app is then read, and built, from there. None when nothing is missing."""
    root = project.settings.root
    top = next((folder for folder in root.parents if (folder / ".git").exists()), None)
    if top is None:
        return None
    import importlib.util
    import sys

    index = project.index
    given = app_root.resolve()
    for facts in index.files.values():
        if not (root / facts.path).is_relative_to(given):
            continue
        for binding in facts.bindings:
            if binding.kind not in ("import", "import_module"):
                continue
            parts = binding.imported_module.split(".")
            head = parts[0]
            if (not head or head in sys.stdlib_module_names or any(
                    index.module_named(".".join(parts[:cut]), facts) is not None
                    for cut in range(len(parts), 0, -1))):
                continue
            try:
                missing = importlib.util.find_spec(head) is None
            except (ImportError, ValueError):
                missing = True
            if missing:
                return top
    return None


def find_app_build(app_root: Path) -> AppBuild:
    """The one app under `app_root`, found by auditing it (without the cache); VerifyError
    when there is none, several, or the project's settings are invalid."""
    from dara_migrate.engine import audit
    from dara_migrate.files import find_root
    from dara_migrate.settings import SettingsError, load_settings

    try:
        settings = load_settings(find_root([app_root]), {"use_cache": False})
        project = audit(settings, [app_root])[1]
        wider = repository_root(project, app_root)
        if wider is not None:
            project = audit(load_settings(wider, {"use_cache": False}), [app_root])[1]
    except SettingsError as error:
        raise VerifyError(str(error)) from error
    builds = app_builds(project, app_root, None)
    if not builds:
        raise VerifyError(f"no Dara app found under {app_root}")
    if len(builds) > 1:
        found = ", ".join(build.config for build in builds)
        raise VerifyError(f"{len(builds)} apps found under {app_root} ({found}); "
                          "pass config='module:attr' to pick one")
    return builds[0]
