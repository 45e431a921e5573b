"""Findings -> planned edits: which fixes `apply` makes, and the escape hatch for the rest."""

from __future__ import annotations

import ast
import textwrap
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from dara_migrate.apps import App
from dara_migrate.edits import (
    AddMarker,
    Edit,
    InsertAfter,
    RemoveComments,
    RemoveKeyword,
    RemoveStatement,
    RenameCall,
    SetKeyword,
    literal,
    quote_style,
)
from dara_migrate.engine import Project
from dara_migrate.facts import Call, FileFacts
from dara_migrate.index.definitions import collect_definitions
from dara_migrate.keyed import KeyedPlanner
from dara_migrate.layout import split_lines
from dara_migrate.models import Finding
from dara_migrate.rules import BY_CODE
from dara_migrate.target import (
    CONFIGURE_RUNTIME,
    CONTRACT_ENV,
    ESCAPE_HATCH_ATTRIBUTE,
    ESCAPE_HATCH_VALUE,
    MODE_ATTRIBUTE,
    RUNTIME_BACKEND,
    RUNTIME_MODULE,
    RUNTIME_SCOPE,
    RuntimeEnv,
    fix_applies,
)
from dara_migrate.target import DEFAULT_REASON as DEFAULT_REASON

if TYPE_CHECKING:
    from dara_migrate.action_rewrite import ActionRewriter

_UID_RULES = frozenset({"DM101", "DM102"})
"""Rules whose fix writes a `uid=`."""
HATCH_PREFIX = "# dara-migrate: this app keeps process-local state"
MARKER_PREFIX = "# dara-migrate: local-only["
_BACKEND_MODULES = {
    "MemoryBackend": "dara.core.interactivity.server_variable",
    "InMemoryBackend": "dara.core.persistence",
}


@dataclass
class PlannedFix:
    """One finding's fix: the edits for its file and a one-line description."""

    finding: Finding
    edits: list[Edit]
    description: str
    ids: tuple[str, ...] = ()
    """The ids the fix gives definitions (keyed uids: the literal parts their ids start
    with); the build proof checks that they are stable."""
    keyed: bool = False
    elsewhere: dict[str, list[Edit]] = field(default_factory=dict)
    """Edits in other files that belong to the fix (call sites passing a uid prefix)."""


@dataclass
class Planners:
    """What the fixes of one round share: the names and keys they have chosen so far."""

    keyed: KeyedPlanner
    actions: dict[str, ActionRewriter] = field(default_factory=dict)


@dataclass
class FixOptions:
    unsafe: bool = False
    accept: Callable[[PlannedFix], bool] | None = None
    """Asked for every planned fix (interactive review); None accepts safe ones."""
    uid_overrides: dict[str, str] = field(default_factory=dict)
    """Fingerprint -> uid the user typed instead of the suggestion."""
    runtime_app_id: str | None = None
    runtime_env: RuntimeEnv = CONTRACT_ENV


def _call_at(facts: FileFacts, finding: Finding) -> Call | None:
    for call in facts.calls:
        if (call.span.line, call.span.col) == (finding.line, finding.column):
            return call
    return None


def taken_uids(project: Project) -> dict[str, tuple[str, int]]:
    """Every literal uid anywhere in the project (a `uid=` keyword of any call, a positional
    uid of a definition), and where the first one is."""
    taken: dict[str, tuple[str, int]] = {}
    for facts in project.index.files.values():
        for call in facts.calls:
            value = call.kwarg("uid")
            if value is not None and isinstance(value.const, str):
                taken.setdefault(value.const, (facts.path, call.span.line))
    for definition in collect_definitions(project.index):
        value = definition.uid
        if value is not None and isinstance(value.const, str):
            taken.setdefault(value.const, (definition.facts.path, definition.call.span.line))
    return taken


def plan_code_fixes(project: Project, options: FixOptions, overlay_text: Callable[[str], str],
                    refused: dict[str, str] | None = None) -> list[PlannedFix]:
    """Fixes for open findings: safe ones, and unsafe ones when asked for. A uid that is
    already taken anywhere in the project, or that another fix writes, is never written:
    the fix is left out and `refused` says why (by finding fingerprint)."""
    quotes: dict[str, str] = {}
    taken: dict[str, tuple[str, int]] | None = None

    def quote(path: str) -> str:
        if path not in quotes:
            quotes[path] = quote_style(overlay_text(path))
        return quotes[path]

    planned: list[PlannedFix] = []
    planners = Planners(KeyedPlanner(project.index, overlay_text, quote))
    for finding in project.findings:
        if finding.status != "open" or finding.fix not in ("safe", "unsafe"):
            continue
        if finding.fix == "unsafe" and not options.unsafe and options.accept is None:
            continue
        facts = project.index.files.get(finding.path)
        if facts is None:
            continue
        fix = plan_fix(project, facts, finding, quote(finding.path), options,
                       overlay_text(finding.path), planners)
        if fix is None:
            continue
        if finding.rule in _UID_RULES and finding.suggested_uid:
            taken = taken_uids(project) if taken is None else taken
            uid = options.uid_overrides.get(finding.fingerprint, finding.suggested_uid)
            if uid in taken:
                path, line = taken[uid]
                if refused is not None:
                    refused[finding.fingerprint] = (
                        f"{finding.path}:{finding.line}: uid {uid!r} not written: "
                        f"{path}:{line} already uses it")
                continue
        if options.accept is not None and not options.accept(fix):
            continue
        if finding.rule in _UID_RULES and finding.suggested_uid and taken is not None:
            uid = options.uid_overrides.get(finding.fingerprint, finding.suggested_uid)
            taken[uid] = (finding.path, finding.line)
        planned.append(fix)
    return planned


def plan_fix(project: Project, facts: FileFacts, finding: Finding, quote: str,
             options: FixOptions, text: str | None = None,
             planners: Planners | None = None) -> PlannedFix | None:
    """The edits that fix one finding, or None when it has no fix `apply` can make.
    Fixes planned together in one round must share `planners`."""
    rule = finding.rule
    if rule == "DM104" and planners is not None:
        return _plan_keyed(planners.keyed, facts, finding)
    if rule == "DM105" and text is not None and planners:
        return _plan_action(project, facts, finding, text, quote, planners)
    if rule in ("DM301", "DM302") and finding.fix == "unsafe" and text is not None:
        hoist = plan_hoist(text, finding.anchor_line)
        return PlannedFix(finding, hoist[0], hoist[1]) if hoist else None
    if rule in ("DM101", "DM108", "DM102") and finding.suggested_uid:
        keyword = "id" if rule == "DM108" else "uid"
        value = options.uid_overrides.get(finding.fingerprint, finding.suggested_uid)
        edit: Edit = SetKeyword(finding.line, finding.column, keyword, literal(value, quote),
                          replace=rule == "DM102")
        return PlannedFix(finding, [edit], f"{keyword}={literal(value, quote)}",
                          ids=(value,))
    if rule == "DM401" and finding.fix == "unsafe":
        edit = RenameCall(finding.line, finding.column, "get_current_value", "read")
        return PlannedFix(finding, [edit], "get_current_value() -> read()")
    if rule == "DM202" and finding.fix == "safe":
        return _plan_local_backend(facts, finding, quote)
    if rule == "DM201":
        app = next((a for a in project.apps if (a.facts.path, a.call.span.line) == (
            finding.path, finding.line)), None)
        if app is not None and fix_applies(app.target, BY_CODE[rule].fix_needs):
            return _plan_runtime(project, app, finding, quote, options)
    return None


def _plan_keyed(keyed: KeyedPlanner, facts: FileFacts, finding: Finding) -> PlannedFix | None:
    call = _call_at(facts, finding)
    plan = keyed.plan(facts, call) if call is not None else None
    if plan is None:
        return None
    edits = dict(plan.edits)
    return PlannedFix(finding, edits.pop(finding.path, []), plan.description, ids=plan.prefixes,
                      keyed=True, elsewhere=edits)


def _plan_action(project: Project, facts: FileFacts, finding: Finding, text: str,
                 quote: str, planners: Planners) -> PlannedFix | None:
    from dara_migrate.action_rewrite import ActionRewriter
    from dara_migrate.index.queries import action_factory_calls

    call = _call_at(facts, finding)
    api = next((a for f, c, a in action_factory_calls(project.index)
                if f is facts and c is call), None)
    if call is None or api is None:
        return None
    if facts.path not in planners.actions:
        planners.actions[facts.path] = ActionRewriter(project.index, facts, text, quote)
    rewrite = planners.actions[facts.path].plan(call, api)
    if rewrite is None:
        return None
    return PlannedFix(finding, rewrite.edits,
                      f"{api}(...) -> module-level @action {rewrite.name}")


def _plan_local_backend(facts: FileFacts, finding: Finding, quote: str) -> PlannedFix | None:
    call = _call_at(facts, finding)
    if call is None:
        return None
    backend_name = call.callee.rsplit(".", 1)[-1]
    if backend_name in _BACKEND_MODULES and call.parent >= 0:
        owner, backend = facts.calls[call.parent], call
    else:
        value = call.kwarg("backend")
        if value is None or value.kind != "call":
            return None
        owner, backend = call, facts.calls[value.call]
        backend_name = backend.callee.rsplit(".", 1)[-1]
    if backend.target != "backend" or backend_name not in _BACKEND_MODULES:
        return None
    edits: list[Edit] = [RemoveKeyword(owner.span.line, owner.span.col, "backend",
                                       (_BACKEND_MODULES[backend_name], backend_name))]
    description = f"removed backend={backend_name}(...)"
    if backend_name == "MemoryBackend":
        scope = backend.argument(0, "scope")
        backend_scope = scope.const if scope is not None else "user"
        if not isinstance(backend_scope, str):
            return None
        owner_scope = owner.argument(2, "scope")
        if owner_scope is not None:
            if owner_scope.const != backend_scope:
                return None
        else:
            edits.append(SetKeyword(owner.span.line, owner.span.col, "scope",
                                    literal(backend_scope, quote)))
            description += f", kept scope={literal(backend_scope, quote)}"
    return PlannedFix(finding, edits, description)


def _first_line(node: ast.stmt) -> int:
    decorators = getattr(node, "decorator_list", None)
    return decorators[0].lineno if decorators else node.lineno


def _bound_names(node: ast.stmt) -> set[str]:
    """Names a module-level statement binds."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {node.name}
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return {(a.asname or a.name).split(".")[0] for a in node.names}
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)
            and isinstance(n.ctx, ast.Store)}


def _stored(nodes: Iterable[ast.AST]) -> set[str]:
    names: set[str] = set()
    for node in nodes:
        for inner in ast.walk(node):
            if isinstance(inner, ast.Name) and isinstance(inner.ctx, (ast.Store, ast.Del)):
                names.add(inner.id)
            elif isinstance(inner, ast.arg):
                names.add(inner.arg)
    return names


def plan_hoist(text: str, line: int) -> tuple[list[Edit], str] | None:
    """Move the definition statement at `line` out of its function to module level, after the
    last module-level binding it references; None when it uses a local name of the function,
    is not a plain statement of the function body, or would shadow a module-level name."""
    module = ast.parse(text)
    found: tuple[ast.FunctionDef | ast.AsyncFunctionDef, ast.stmt] | None = None
    for node in ast.walk(module):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for statement in node.body:
                if _first_line(statement) == line:
                    found = (node, statement)
    if found is None:
        return None
    function, statement = found
    is_def = isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef))
    is_assign = (isinstance(statement, ast.Assign) and len(statement.targets) == 1
                 and isinstance(statement.targets[0], ast.Name))
    if not (is_def or is_assign) or len(function.body) < 2:
        return None
    name = (statement.name if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef))
            else statement.targets[0].id if isinstance(statement, ast.Assign)
            and isinstance(statement.targets[0], ast.Name) else "")
    local = _stored([function.args, *function.body]) - {name}
    loads = {n.id for n in ast.walk(statement) if isinstance(n, ast.Name)
             and isinstance(n.ctx, ast.Load)} - _stored([statement])
    if loads & local:
        return None
    top: list[tuple[ast.stmt, set[str]]] = [(s, _bound_names(s)) for s in module.body]
    if any(name in bound for _, bound in top):
        return None
    anchors = [s for s, bound in top if bound & loads and s is not statement]
    anchors = anchors or [s for s, _ in top if isinstance(s, (ast.Import, ast.ImportFrom))]
    if not anchors:
        return None
    anchor = max(anchors, key=lambda s: s.lineno)
    # A definition goes after the imports that follow its anchor, never between two imports.
    following = module.body[module.body.index(anchor) + 1:]
    for later in following:
        if not isinstance(later, (ast.Import, ast.ImportFrom)):
            break
        anchor = later
    lines = split_lines(text, keepends=True)
    first = _first_line(statement)
    while first > 1 and lines[first - 2].strip().startswith("#") and not lines[
            first - 2].strip().startswith(MARKER_PREFIX):
        first -= 1
    body = "".join(line for line in lines[first - 1:statement.end_lineno]
                   if not line.strip().startswith(MARKER_PREFIX))
    source = textwrap.dedent(body)
    if is_def:
        source = "\n\n" + source
    edits: list[Edit] = [RemoveStatement(line),
                         InsertAfter(_first_line(anchor), source, key=f"hoist-{name}")]
    return edits, f"moved `{name}` to module level"


def runtime_block(config: str, quote: str, application: str,
                  env: RuntimeEnv = CONTRACT_ENV) -> str:
    q = quote
    return (
        "# dara-migrate (DM201): shared runtime for multi-worker deployments.\n"
        f"# Without {env.valkey_url} the app keeps single-process behaviour (dev, tests).\n"
        f"if os.environ.get({q}{env.valkey_url}{q}):\n"
        f"    {config}.{CONFIGURE_RUNTIME}(\n"
        f"        scope={RUNTIME_SCOPE}(\n"
        f"            namespace=os.environ[{q}{env.namespace}{q}],\n"
        f"            app_id={literal(application, q)},\n"
        f"            deployment_id=os.environ[{q}{env.deployment_id}{q}],\n"
        "        ),\n"
        f"        backend={RUNTIME_BACKEND}(url=os.environ[{q}{env.valkey_url}{q}]),\n"
        "    )\n"
    )


def _plan_runtime(project: Project, app: App, finding: Finding, quote: str,
                  options: FixOptions) -> PlannedFix | None:
    if app.handle is None or app.handle.facts.path != finding.path:
        return None  # the declaration belongs next to a name in another file, or nowhere
    application = options.runtime_app_id or app.app_id
    edit = InsertAfter(app.handle.line, runtime_block(app.handle.name, quote, application,
                                                      options.runtime_env),
                       imports=(("os", None), (RUNTIME_MODULE, RUNTIME_SCOPE),
                                (RUNTIME_MODULE, RUNTIME_BACKEND)), key="runtime")
    return PlannedFix(finding, [edit], f"declared the shared runtime (app_id {application!r})")


def remaining_errors(project: Project) -> list[Finding]:
    """Errors `apply` could not fix: what needs the escape hatch."""
    return [f for f in project.findings
            if f.severity == "error" and f.status in ("open", "acknowledged")
            and f.rule != "DM001"]


def remaining_by_app(project: Project) -> dict[str, list[Finding]]:
    """`remaining_errors` by app (apps x findings was seconds on monorepos)."""
    grouped: dict[str, list[Finding]] = {app.key: [] for app in project.apps}
    for finding in remaining_errors(project):
        for key in finding.apps:
            if key in grouped:
                grouped[key].append(finding)
    return grouped


def hatch_comment(findings: Iterable[Finding], reason: str) -> str:
    counts = Counter(f.rule for f in findings)
    summary = ", ".join(f"{code} x{count}" for code, count in sorted(counts.items()))
    text = (f"{HATCH_PREFIX[2:]} ({summary}); it scales with sticky sessions only. "
            f"Reason: {reason}.")
    return "\n".join(textwrap.wrap(text, width=86, initial_indent="# ",
                                   subsequent_indent="# ")) + "\n"


def written_reason(project: Project) -> str | None:
    """The reason an earlier run wrote in the `local-only` markers, if any."""
    for facts in project.index.files.values():
        for marker in facts.markers:
            if marker.kind == "local-only" and marker.reason:
                return marker.reason
    return None


def plan_escape_hatch(project: Project, reason: str, text_of: Callable[[str], str]
                      ) -> dict[str, list[Edit]]:
    """Escape hatch and `local-only` markers where errors remain; their removal where none do.
    A hatch already written as it would be is left alone."""
    edits: dict[str, list[Edit]] = defaultdict(list)
    by_app = remaining_by_app(project)
    for app in project.apps:
        remaining = by_app[app.key]
        if app.handle is None:
            continue  # `unhatchable` says why; its sites get no marker either
        path = app.handle.facts.path
        text = text_of(path)
        block = ""
        if remaining:
            statement = (f"{app.handle.name}.{ESCAPE_HATCH_ATTRIBUTE} = "
                         f"{literal(ESCAPE_HATCH_VALUE, quote_style(text))}\n")
            block = hatch_comment(remaining, reason) + statement
        if app.escape_hatch is not None:
            if block and _written(text, app.escape_hatch.stmt_line, block):
                continue
            edits[path].append(RemoveStatement(app.escape_hatch.stmt_line))
        if block:
            edits[path].append(InsertAfter(app.handle.line, block, key="hatch"))
    stranded = {app.key for app in unhatchable(project, by_app)}
    markable = [f for f in remaining_errors(project)
                if not f.apps or not stranded.issuperset(f.apps)]
    _plan_markers(project, markable, reason, edits)
    return {path: file_edits for path, file_edits in edits.items() if file_edits}


def _written(text: str, line: int, block: str) -> bool:
    """Whether `block` (comment lines, then a one-line statement) ends at `line` of `text`,
    at that statement's indentation."""
    lines = split_lines(text)
    wanted = split_lines(block)
    first = line - len(wanted)
    if first < 0 or line > len(lines):
        return False
    target = lines[line - 1]
    indent = target[:len(target) - len(target.lstrip())]
    return [f"{indent}{w}" for w in wanted] == lines[first:line]


def unhatchable(project: Project, by_app: Mapping[str, list[Finding]]) -> list[App]:
    """Apps with errors left (`remaining_by_app`) whose builder no name holds: no escape
    hatch can be set."""
    return [app for app in project.apps if app.handle is None and by_app[app.key]]


def _plan_markers(project: Project, remaining: list[Finding], reason: str,
                  edits: dict[str, list[Edit]]) -> None:
    wanted: dict[tuple[str, int], set[str]] = defaultdict(set)
    for finding in remaining:
        wanted[(finding.path, finding.anchor_line)].add(finding.rule)
    existing: dict[tuple[str, int], set[str]] = {}
    for facts in project.index.files.values():
        if facts.path not in project.selected:
            continue
        for marker in facts.markers:
            if marker.kind == "local-only":
                existing[(facts.path, marker.target_line)] = set(marker.codes)
    for (path, line), codes in existing.items():
        if codes != wanted.get((path, line), set()):
            edits[path].append(RemoveComments(line, MARKER_PREFIX))
    for (path, line), codes in sorted(wanted.items()):
        if existing.get((path, line), set()) == codes:
            continue
        text = f"{MARKER_PREFIX}{', '.join(sorted(codes))}] {reason}"
        edits[path].append(AddMarker(line, text))


def plan_mode(app: App, mode: str, quote: str) -> InsertAfter | None:
    """`config.distributed_mode = 'warn'`: the runtime keeps checking what analysis cannot."""
    if app.handle is None:
        return None
    what = ("report violations while the app runs" if mode == "warn"
            else "refuse to start on a violation")
    return InsertAfter(app.handle.line,
                       f"# dara-migrate: no error left; the runtime checks what static analysis "
                       f"cannot ({mode}: {what}).\n"
                       f"{app.handle.name}.{MODE_ATTRIBUTE} = {literal(mode, quote)}\n",
                       key="mode")
