"""A project's parts, and an audit that analyses again only the parts whose files changed.

A part is a set of files that import one another, directly or not, with the packages their
modules are in and the apps that own them (also through their project folder; the files of
no app make one part): what one file's analysis reads of another goes through these. An
`audit` whose report is stored also keeps, for each part, the findings of its files and what
couples it to the other parts (`Couplings`). When only the contents of some Python files have
changed since (the same files, settings, deployment files and tool), `audit_changed` analyses
the parts those files were in, alone, and takes every other part's findings as stored.

That is what the whole run would report, because a part's findings depend on the rest of the
project only through these couplings: uids (a suggested uid is unique across the project), a
class another part names as a base, a local file one part writes and another reads, the files
naming the deployment's secret, apps keyed by module, and the owner of files no app imports.
Where the changed parts, before or after the change, meet another part through any of them,
or their imports reach a file outside them, or anything else differs, the caller analyses the
whole project again, as without a stored state.
"""

from __future__ import annotations

import io
import operator
import pickle
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, fields
from pathlib import Path
from typing import NamedTuple

from dara_migrate.engine import AppSummary, Project, alias_names, discover, read_facts, run_rules
from dara_migrate.facts import FileFacts
from dara_migrate.files import FoundFiles, SourceRoots, pin_files, relative_path
from dara_migrate.index.apps import App, ProjectApps
from dara_migrate.index.dara_api import SECRET_NAME
from dara_migrate.index.definitions import all_definitions
from dara_migrate.index.project import ProjectIndex
from dara_migrate.models import Finding, Related
from dara_migrate.outside import outside_imports
from dara_migrate.result_cache import tool_stamp
from dara_migrate.rules.file_state import file_accesses
from dara_migrate.rules.identity import constant_uid, suggested_uids
from dara_migrate.scan import gc_paused
from dara_migrate.settings import Settings, SettingsError
from dara_migrate.signed import read_signed, write_signed

_STATE_VERSION = 1
_MOST_CHANGED = 0.25
"""Above this share of changed files, analysing their parts alone saves little: the whole
project is analysed."""
_MOST_ANALYSED = 0.5
"""Nor where their parts hold more than this share of the files."""
_NUMBERED = re.compile(r"-\d+$")
_NAME = re.compile(r"[A-Za-z_]\w*")


@dataclass(frozen=True, slots=True)
class Couplings:
    """What a part shares with others by name, which its findings or theirs depend on."""

    uids: frozenset[str] = frozenset()
    """Its definitions' constant uids and the uids suggested for them, without a `-2` suffix
    (suggestions are numbered where one is taken anywhere in the project; DM103 compares
    every definition's)."""
    classes: frozenset[str] = frozenset()
    bases: frozenset[str] = frozenset()
    """The last name of every base class named (a class named as a base anywhere keeps its
    methods, DM502)."""
    app_modules: frozenset[str] = frozenset()
    """The modules of its apps (two apps of one module are keyed by path)."""
    local_files: frozenset[str] = frozenset()
    """The local files its request-time code reads or writes (DM207)."""
    encoders: frozenset[str] = frozenset()
    """The last names of the types its apps give `add_encoder` (DM501 takes every app's)."""
    annotations: frozenset[str] = frozenset()
    """The names in its parameters' annotations, which DM501 looks up among the encoders
    (and the base names above, for classes)."""

    def meets(self, other: Couplings) -> bool:
        return not (self.uids.isdisjoint(other.uids) and self.classes.isdisjoint(other.bases)
                    and self.bases.isdisjoint(other.classes)
                    and self.app_modules.isdisjoint(other.app_modules)
                    and self.local_files.isdisjoint(other.local_files)
                    and self.encoders.isdisjoint(other.annotations | other.bases)
                    and other.encoders.isdisjoint(self.annotations | self.bases))

    def __or__(self, other: Couplings) -> Couplings:
        return Couplings(self.uids | other.uids, self.classes | other.classes,
                         self.bases | other.bases, self.app_modules | other.app_modules,
                         self.local_files | other.local_files, self.encoders | other.encoders,
                         self.annotations | other.annotations)


@dataclass(slots=True)
class Part:
    files: tuple[str, ...]
    findings: bytes
    """The final findings of its files, in report order, without their fix plans, pickled:
    a run that analyses some parts again stores the others' as they were read."""
    known_apps: tuple[str, ...]
    """The keys of every app it builds."""
    apps: list[AppSummary]
    """Of those, the apps the report gives a verdict (that own a selected file)."""
    couplings: Couplings
    secret: frozenset[str]
    """Its files that name the deployment's secret (DM701 reads every part's)."""
    unowned: bool
    """Whether it holds files of no app: all of them are one part (one router, DM108)."""


@dataclass(slots=True)
class State:
    tool: str
    settings: str
    walk: tuple[object, ...]
    """What the walk found besides the Python files' contents (`_load`)."""
    digests: dict[str, bytes]
    """Python file -> the digest of the content analysed."""
    modules: dict[str, tuple[str, ...]]
    """Module name -> the files that have it: an import of it reaches them."""
    part_of: dict[str, int]
    parts: list[Part]
    loose: bytes
    """Findings of no part (pickled as `Part.findings`): of folders that could not be
    walked, of files that could not be read or parsed (which are in no part: a change to one
    analyses the whole project, as the imports of it begin or cease to resolve)."""
    apps: tuple[str, ...]
    """The apps the report gives a verdict, in report order."""
    known: tuple[tuple[str, str], ...]
    """Every app of the project: (key, project folder)."""
    version: int = _STATE_VERSION


class Changed(NamedTuple):
    """The audit of a project whose changed parts alone were analysed again."""

    project: Project
    """The changed parts, as a project of their own."""
    findings: list[Finding]
    apps: list[AppSummary]
    files: int


class _Loaded(NamedTuple):
    """The walk as the audit reads it, with what `State` compares."""

    settings: Settings
    python: list[Path]
    relative: list[str]
    selected: frozenset[str]
    deployment: list[Path]
    roots: SourceRoots
    walk: tuple[object, ...]
    digests: dict[str, bytes]


def _load(settings: Settings, paths: list[Path], found: FoundFiles) -> _Loaded | None:
    if found.content_digests is None:
        return None
    settings = settings.with_nested_tables(found.projects, found.selected)
    python, selected, deployment, problems, roots = discover(settings, paths, found)
    known = found.content_digests
    relative = [relative_path(path, settings.root) for path in python]
    digests = {name: known.get(str(path), b"") for name, path in zip(relative, python,
                                                                     strict=True)}
    walk = (tuple(sorted(selected)),
            tuple((relative_path(path, settings.root), known.get(str(path), b""))
                  for path in [*deployment, *pin_files(settings.root, found.projects)]),
            tuple(result.path for result in problems),
            tuple(sorted((found.aliases or {}).items())))
    return _Loaded(settings, python, relative, selected, deployment, roots, walk, digests)


def store(path: Path, settings: Settings, paths: list[Path], found: FoundFiles,
          project: Project) -> None:
    """Keep what `audit_changed` needs of a whole run; nothing where it could not use it: rule
    errors, an `apps` setting (which names apps of any part), imports of code around the
    project (warned about, file by file)."""
    loaded = _load(settings, paths, found)
    tables = [project.settings, *project.settings.nested.values()]
    if (loaded is None or project.errors or any(table.apps for table in tables)
            or outside_imports(project.index, project.settings.root)):
        path.unlink(missing_ok=True)
        return
    index = project.index
    parts = _parts(project)
    state = State(
        tool_stamp(), repr(loaded.settings), loaded.walk, loaded.digests, _modules(index),
        {name: number for number, part in enumerate(parts) for name in part.files}, parts,
        _pickled([f for f in project.findings if f.path not in index.files]),
        tuple(app.key for app in project.apps),
        tuple((app.key, app.project) for app in project.known_apps.apps))
    if not write_signed(path, state):
        path.unlink(missing_ok=True)


def audit_changed(path: Path, settings: Settings, paths: list[Path],
                  found: FoundFiles) -> Changed | None:
    """The audit of the project, analysing only the parts whose files changed since the run
    that stored `path`; None where the whole project must be analysed."""
    state = read_signed(path)
    loaded = _load(settings, paths, found)
    if (not isinstance(state, State) or loaded is None or state.version != _STATE_VERSION
            or state.tool != tool_stamp() or state.settings != repr(loaded.settings)
            or state.walk != loaded.walk or list(state.digests) != loaded.relative):
        return None
    changed = [name for name, digest in loaded.digests.items() if state.digests[name] != digest]
    if not changed or len(changed) > _MOST_CHANGED * len(loaded.relative):
        return None
    if any(name not in state.part_of for name in changed):
        return None  # a file that could not be read or parsed before
    dirty = sorted({state.part_of[name] for name in changed})
    files = frozenset(name for number in dirty for name in state.parts[number].files)
    if len(files) > _MOST_ANALYSED * len(loaded.relative):
        return None  # most of the project (an app and its tests, say): the whole run
    try:
        with gc_paused():
            return _audit_parts(path, state, loaded, found, dirty, files)
    except SettingsError:
        return None  # the whole run says what is wrong


def _audit_parts(path: Path, state: State, loaded: _Loaded, found: FoundFiles,
                 dirty: list[int], files: frozenset[str]) -> Changed | None:
    settings, roots, deployment = loaded.settings, loaded.roots, loaded.deployment
    python = [p for p, name in zip(loaded.python, loaded.relative, strict=True) if name in files]
    results = read_facts(settings, roots, python, None, None, found, None, None, prune=False)
    aliases = [alias for alias in alias_names(roots, found.aliases) if alias[3] in files]
    index = ProjectIndex.build((r.facts for r in results if r.facts is not None), aliases)
    known = ProjectApps.build(index, settings, roots)
    chosen = loaded.selected & files
    project = Project(settings, index, roots, results, chosen, deployment, known,
                      known.owning_selected(chosen), [], [])
    clean = [part for number, part in enumerate(state.parts) if number not in dirty]
    project.findings = run_rules(project, {name: True for part in clean for name in part.secret})
    fresh = _parts(project)
    before = [state.parts[number] for number in dirty]
    if (project.errors or any(r.error is not None for r in results)
            or not _closed(state, index, files)
            or _union(fresh).meets(_union(clean)) or _union(before).meets(_union(clean))
            or _secrets(fresh) != _secrets(before)
            # A file no app imports any longer joins the files of no app elsewhere.
            or (any(part.unowned for part in fresh) and any(part.unowned for part in clean))
            or sorted(k for p in fresh for k in p.known_apps)
            != sorted(k for p in before for k in p.known_apps)
            or sorted(a.key for p in fresh for a in p.apps)
            != sorted(a.key for p in before for a in p.apps)
            or not _same_owners(state, project, files)
            # Rules that read every app (DM201) would answer for a project without apps.
            or (state.known and not known.apps)
            or outside_imports(index, settings.root)):
        return None
    kept = [f for part in clean for f in pickle.loads(part.findings)]
    findings = sorted([*kept, *pickle.loads(state.loose), *project.findings],
                      key=Finding.sort_key)
    # In the order the whole run finds them: by path, then by call (an edit may move them).
    apps = sorted((app for part in [*clean, *fresh] for app in part.apps),
                  key=lambda app: (app.path, app.call))
    _update(path, state, loaded, dirty, fresh, tuple(app.key for app in apps))
    return Changed(project, findings, apps, len(loaded.selected))


def _update(path: Path, state: State, loaded: _Loaded, dirty: list[int],
            fresh: list[Part], apps: tuple[str, ...]) -> None:
    """Store the state with the changed parts' new analysis (they may have split)."""
    parts = [part for number, part in enumerate(state.parts) if number not in dirty] + fresh
    state.parts = parts
    state.apps = apps
    state.part_of = {name: number for number, part in enumerate(parts) for name in part.files}
    state.digests = loaded.digests
    if not write_signed(path, state):
        path.unlink(missing_ok=True)


def _import_parts(index: ProjectIndex, apps: ProjectApps) -> list[tuple[str, ...]]:
    """The files that import one another, directly or not, with their modules' packages and
    the apps that own them (`ProjectApps.owning`: also through the project folder, and the
    files of no app together: each such group is one router, one runtime's findings)."""
    parent = {name: name for name in index.files}

    def root(name: str) -> str:
        while parent[name] != name:
            parent[name] = parent[parent[name]]
            name = parent[name]
        return name

    def join(one: str, other: str) -> None:
        parent[root(one)] = root(other)

    for name, imported in index.imports.items():
        for other in imported:
            join(name, other)
    unowned = ""
    for facts in index.files.values():
        pieces = facts.module.split(".")
        for cut in range(1, len(pieces)):
            package = index.module_named(".".join(pieces[:cut]), facts)
            if package is not None:
                join(facts.path, package.path)
        owners = apps.owning(facts.path)
        for app in owners:
            join(facts.path, app.facts.path)
        if not owners:
            if unowned:
                join(facts.path, unowned)
            unowned = facts.path
    grouped: dict[str, list[str]] = defaultdict(list)
    for name in index.files:
        grouped[root(name)].append(name)
    return [tuple(names) for names in grouped.values()]


class _FileCouplings(NamedTuple):
    uids: set[str]
    classes: set[str]
    bases: set[str]
    local_files: set[str]
    encoders: set[str]
    annotations: set[str]


def _file_couplings(index: ProjectIndex) -> dict[str, _FileCouplings]:
    """Each file's share of its part's `Couplings`, read once for all parts."""
    found = {name: _FileCouplings(set(), set(), set(), set(), set(), set())
             for name in index.files}
    for facts in index.files.values():
        mine = found[facts.path]
        # Names as written and as the rules resolve them (`Fraction as F`, `Amount = F`).
        for scope in facts.scopes:
            if scope.kind == "class":
                mine.classes.add(scope.name)
                for base in scope.bases:
                    mine.bases.update(_names(index, facts, scope.parent, base))
            if scope.decorators:  # DM501 reads actions' and py_components' annotations
                for param in scope.params:
                    for name in _NAME.findall(param.annotation or ""):
                        mine.annotations.update(_names(index, facts, scope.parent, name))
    for facts, call in index.method_calls.get(("ConfigurationBuilder", "add_encoder"), ()):
        typ = call.argument(0, "typ")
        if typ is not None:
            found[facts.path].encoders.update(_names(index, facts, call.scope, typ.text))
    # The uids other definitions may share (DM103) and suggestions avoid (`suggest_uids`):
    # the constant ones, and every suggestion, also of findings the report leaves out.
    for definition in all_definitions(index):
        uid = constant_uid(index, definition)
        if uid is not None:
            found[definition.facts.path].uids.add(_stem(uid))
    for (name, _), suggested in suggested_uids(index).items():
        found[name].uids.add(_stem(suggested))
    writes, reads = file_accesses(index)
    for facts, _, key in writes:
        found[facts.path].local_files.add(key)
    for key, readers in reads.items():
        for facts, _ in readers:
            found[facts.path].local_files.add(key)
    return found


def _parts(project: Project) -> list[Part]:
    """The project's parts, each with its findings, apps and couplings."""
    index = project.index
    by_path: dict[str, list[Finding]] = defaultdict(list)
    for finding in project.findings:
        by_path[finding.path].append(finding)
    couplings = _file_couplings(index)
    apps_in: dict[str, list[App]] = defaultdict(list)
    for app in project.known_apps.apps:
        apps_in[app.facts.path].append(app)
    reported = {app.key for app in project.apps}
    parts = []
    for files in _import_parts(index, project.known_apps):
        findings = [f for name in files for f in by_path.get(name, ())]
        apps = [app for name in files for app in apps_in.get(name, ())]
        mine = [couplings[name] for name in files]
        parts.append(Part(
            files, _pickled(findings),
            tuple(app.key for app in apps),
            [AppSummary.of(app) for app in apps if app.key in reported],
            Couplings(
                frozenset().union(*(c.uids for c in mine)),
                frozenset().union(*(c.classes for c in mine)),
                frozenset().union(*(c.bases for c in mine)),
                frozenset(app.facts.module for app in apps),
                frozenset().union(*(c.local_files for c in mine)),
                frozenset().union(*(c.encoders for c in mine)),
                frozenset().union(*(c.annotations for c in mine))),
            frozenset(name for name in files if SECRET_NAME in index.files[name].mentions),
            not all(project.known_apps.owning(name) for name in files)))
    return parts


def _pickled(findings: list[Finding]) -> bytes:
    """The findings as the report reads them: without their fix plans (which hold facts, and
    are `apply`'s), each by its fields' values (a stored run pickles thousands; the
    dataclasses' own way is several times slower)."""
    buffer = io.BytesIO()
    pickler = pickle.Pickler(buffer, pickle.HIGHEST_PROTOCOL)
    pickler.dispatch_table = {Finding: _finding_args, Related: _related_args}
    pickler.dump(findings)
    return buffer.getvalue()


_REPORTED = operator.attrgetter(*(f.name for f in fields(Finding) if f.name != "autofix"))
"""A finding's fields but its fix plan, the last: the arguments that make it again."""


def _finding_args(finding: Finding) -> tuple[type[Finding], tuple[object, ...]]:
    return Finding, _REPORTED(finding)


def _related_args(related: Related) -> tuple[type[Related], tuple[str, int, str]]:
    return Related, (related.path, related.line, related.message)


def _names(index: ProjectIndex, facts: FileFacts, scope: int, dotted: str) -> tuple[str, str]:
    """The last name of `dotted` as written, and of what it resolves to."""
    return (dotted.rpartition(".")[2],
            index.resolve(facts, scope, dotted).qualified.rpartition(".")[2])


def _stem(uid: str) -> str:
    return _NUMBERED.sub("", uid)


def _union(parts: Iterable[Part]) -> Couplings:
    joined = Couplings()
    for part in parts:
        joined = joined | part.couplings
    return joined


def _secrets(parts: Iterable[Part]) -> frozenset[str]:
    return frozenset().union(*(part.secret for part in parts))


def _modules(index: ProjectIndex) -> dict[str, tuple[str, ...]]:
    found: dict[str, list[str]] = defaultdict(list)
    for module, entries in index.importable.items():
        found[module].extend(facts.path for _, facts in entries)
    return {module: tuple(paths) for module, paths in found.items()}


def _closed(state: State, index: ProjectIndex, files: frozenset[str]) -> bool:
    """Whether no import of the changed parts can reach a project file outside them: no
    module it names, nor one below it (`import ns.mod` reads `ns.state` too, in a namespace
    package), is a module of another part; and none imports `importlib`, with which it may
    import by name a module of another part (its parts alone do not show which)."""
    outside = {prefix for module, paths in state.modules.items()
               if not files.issuperset(paths) for prefix in _prefixes(module)}
    return not any(prefix in outside or prefix == "importlib"
                   for bindings in index.import_bindings.values()
                   for binding in bindings for dotted in (binding.imported_module, binding.target)
                   for prefix in _prefixes(dotted))


def _prefixes(dotted: str) -> Iterator[str]:
    """`a`, `a.b`, `a.b.c` for `a.b.c`."""
    cut = dotted.find(".")
    while cut > 0:
        yield dotted[:cut]
        cut = dotted.find(".", cut + 1)
    yield dotted


def _same_owners(state: State, project: Project, files: frozenset[str]) -> bool:
    """Whether the files of the changed parts that no reported app imports belong to the
    same apps as in the whole project (`engine._assign_apps`, `ProjectApps.owning`): the only
    reported app, else the only app of the project or of their project folder."""
    known = project.known_apps
    reported = frozenset(state.apps)
    alone = state.apps if len(state.apps) == 1 else ()
    alone_here = tuple(app.key for app in project.apps) if len(project.apps) == 1 else ()
    for name in files:
        if any(app.key in reported for app in known.owners.get(name, ())):
            continue
        whole = _unimported_owner(state, project, name)
        here = tuple(app.key for app in known.unimported_owner(name))
        if whole != here or (alone or tuple(k for k in whole if k in reported)) != (
                alone_here or tuple(k for k in here if k in reported)):
            return False
    return True


def _unimported_owner(state: State, project: Project, name: str) -> tuple[str, ...]:
    """`ProjectApps.unimported_owner` of the whole project, from the stored apps."""
    if len(state.known) == 1:
        return (state.known[0][0],)
    folder = project.roots.project_of(name)
    mine = tuple(key for key, where in state.known if where == folder)
    return mine if len(mine) == 1 else ()
