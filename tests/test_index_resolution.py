"""The index answers a name the same whatever it was asked before, and the short cuts that
keep it fast (module-level answers shared by every scope, arguments that cannot name a
function, names a call cannot load, one binding kept where a name has one, calls of a
method gathered once, calls DM106 skips) agree with the full computation on real apps."""

from __future__ import annotations

from pathlib import Path

import pytest

from dara_migrate.facts import Binding, Call, FileFacts, Value
from dara_migrate.index.project import (
    _APIS_TAKING_CALLABLES,
    _CALLABLE_KINDS,
    _CALLING_PER_ITEM,
    ProjectIndex,
    _folder_importing,
)
from dara_migrate.index.queries import METHODS_LOOKED_UP, calls_of_method
from dara_migrate.rules.identity import _candidate_names, _listed, _may_be_listed
from dara_migrate.rules.runtime_defs import _call_uses, _mentions
from dara_migrate.target import LIBRARY_MADE_DEFINITIONS
from tests.helpers import run_audit, write_tree

ROOT = Path(__file__).parent.parent
APPS = [ROOT / "examples" / "sales_dashboard", ROOT / "tests" / "fixtures" / "monorepo",
        ROOT / "tests" / "fixtures" / "factory_app",
        *sorted(p for p in (ROOT / "tests" / "fixtures" / "apps").iterdir() if p.is_dir())]


@pytest.fixture(scope="module", params=APPS, ids=lambda p: p.name)
def app_facts(request: pytest.FixtureRequest) -> list[FileFacts]:
    _, project = run_audit(request.param)
    return list(project.index.files.values())


def _questions(files: list[FileFacts]) -> list[tuple[FileFacts, int, str]]:
    """Every name the index is asked about while it is built: callees, arguments, decorators."""
    asked = []
    for facts in files:
        for call in facts.calls:
            asked.append((facts, call.scope, call.callee))
            asked += [(facts, call.scope, value.text) for value in _values(call)
                      if value.kind in ("name", "attr")]
        for scope in facts.scopes:
            asked += [(facts, scope.parent, d.text) for d in scope.decorators if d.text]
    return asked


def _values(call: Call) -> list[Value]:
    return [*call.args, *(value for _, value in call.kwargs)]


def test_answers_do_not_depend_on_what_was_asked_before(app_facts: list[FileFacts]) -> None:
    asked = _questions(app_facts)
    forward = ProjectIndex.build(app_facts)
    backward = ProjectIndex.build(app_facts)
    backward.memo.clear()
    backward.deep_memo.clear()
    backward.outside_project.clear()
    answers = [backward.resolve(f, s, d) for f, s, d in reversed(asked)][::-1]
    assert [forward.resolve(f, s, d) for f, s, d in asked] == answers


def test_arguments_left_unresolved_never_name_a_function(app_facts: list[FileFacts]) -> None:
    index = ProjectIndex.build(app_facts)
    for facts in app_facts:
        for call in facts.calls:
            for value in _values(call):
                if value.kind == "name" and not index._may_name_function(
                        facts, call.scope, value.text):
                    assert index.resolve(facts, call.scope, value.text).function is None


def test_arguments_outside_the_function_names_never_name_a_function(
        app_facts: list[FileFacts]) -> None:
    index = ProjectIndex.build(app_facts)
    skipped = 0
    for facts in app_facts:
        if "*" in index.module_bindings[facts.path]:
            continue  # a star import may bind any name to a function
        for call in facts.calls:
            for value in _values(call):
                if value.kind == "name" and value.text not in index.function_names[facts.path]:
                    skipped += 1
                    assert not index._may_name_function(facts, call.scope, value.text) or (
                        index.resolve(facts, call.scope, value.text).function is None)
    assert skipped


def test_the_call_graph_is_what_the_general_edge_path_makes(
        app_facts: list[FileFacts]) -> None:
    """Every call through `_call_edges`, every callable argument of other calls through
    `_callback_edge`: the edges and roots are those of the index's short cuts (names that
    cannot be functions skipped, calls of project functions without slots)."""
    index = ProjectIndex.build(app_facts)
    full = ProjectIndex.build(app_facts)
    full.edges.clear()
    full.callers.clear()
    full.roots.clear()
    for facts in app_facts:
        for scope in facts.scopes[1:]:
            if scope.kind == "class":
                full._edge((facts.path, scope.parent), (facts.path, scope.id), scope.loop,
                           "class body")
        for call, resolved in zip(facts.calls, full.call_resolutions[facts.path],
                                  strict=True):
            if (resolved.api is None and resolved.instance_of is None
                    and resolved.function is None and resolved.instance_of_project is None
                    and call.func_call < 0):
                per_item = resolved.qualified in _CALLING_PER_ITEM
                for value in _values(call):
                    if value.kind in _CALLABLE_KINDS:
                        full._callback_edge(facts, call, value, per_item)
            else:
                full._call_edges(facts, call, resolved)

    def plain(index: ProjectIndex) -> dict[tuple[str, int], list[tuple[object, ...]]]:
        return {source: [(e.target, e.loop, e.via) for e in found]
                for source, found in index.edges.items() if found}

    assert plain(full) == plain(index)
    decorated = {(facts.path, scope.id) for found in index.decorated.values()
                 for facts, scope in found}
    for when in ("request", "startup"):
        assert full.roots[when] <= index.roots[when]
        assert index.roots[when] - full.roots[when] <= decorated


def test_modules_split_from_a_name_are_those_a_fresh_split_gives(
        app_facts: list[FileFacts]) -> None:
    index = ProjectIndex.build(app_facts)
    for facts in app_facts:
        for binding in index.import_bindings[facts.path]:
            parts = binding.target.split(".")
            for cut in range(1, len(parts) + 1):
                name = ".".join(parts[:cut])
                for near in (facts, None):
                    assert index.split_module(name, near) == index._split_module(name, near)


def test_a_call_mentions_exactly_the_names_it_loads(app_facts: list[FileFacts]) -> None:
    for facts in app_facts:
        for call in facts.calls:
            loads = {name for _, name in _call_uses(call)}
            for name in facts.names:
                assert _mentions(call, {name}) == (name in loads), (facts.path, call.span)


def test_binding_tables_hold_every_binding_of_a_name_in_order(
        app_facts: list[FileFacts]) -> None:
    index = ProjectIndex.build(app_facts)
    for facts in app_facts:
        expected: dict[tuple[int, str], list[Binding]] = {}
        for binding in facts.bindings:
            if binding.kind not in ("subscript", "del", "augassign", "attr", "nonlocal",
                                    "field"):
                expected.setdefault((binding.scope, binding.name), []).append(binding)
        for (scope_id, name), bindings in expected.items():
            assert list(index.bindings_in(facts.path, scope_id, name)) == bindings
        for scope in facts.scopes:
            for name in facts.names:
                if (scope.id, name) not in expected:
                    assert not index.bindings_in(facts.path, scope.id, name)


def test_calls_of_a_method_are_every_call_ending_in_it(app_facts: list[FileFacts]) -> None:
    index = ProjectIndex.build(app_facts)
    for method in METHODS_LOOKED_UP:
        assert calls_of_method(index, method) == [
            (facts, call) for facts in index.files.values() for call in facts.calls
            if call.callee.endswith(f".{method}")]
    with pytest.raises(ValueError, match="append"):
        calls_of_method(index, "append")


def test_calls_skipped_by_dm106_have_no_listed_name(app_facts: list[FileFacts]) -> None:
    index = ProjectIndex.build(app_facts)
    for facts in app_facts:
        for call in facts.calls:
            resolved = index.resolve_call(facts, call)
            if not _may_be_listed(call, resolved):
                assert _listed(_candidate_names(index, facts, call, resolved, True),
                               LIBRARY_MADE_DEFINITIONS) is None
            if resolved.function is not None and index.scope(resolved.function).kind != "class":
                assert _candidate_names(index, facts, call, resolved, True) == []


def test_dara_calls_skipped_for_the_call_graph_make_no_edge_or_root(
        app_facts: list[FileFacts]) -> None:
    """Calls of Dara names with no request or content slot are left out of the call graph:
    making their edges in full changes neither the edges nor the roots."""
    index = ProjectIndex.build(app_facts)
    edges = {source: list(found) for source, found in index.edges.items()}
    roots = {when: set(found) for when, found in index.roots.items()}
    skipped = 0
    for facts in app_facts:
        for call, resolved in zip(facts.calls, index.call_resolutions[facts.path],
                                  strict=True):
            if (resolved.api is not None and resolved.api not in _APIS_TAKING_CALLABLES
                    and resolved.instance_of is None and resolved.function is None
                    and resolved.instance_of_project is None and call.func_call < 0):
                skipped += 1
                index._call_edges(facts, call, resolved)
    assert skipped
    assert {source: found for source, found in index.edges.items() if found} == edges
    assert {when: found for when, found in index.roots.items() if found} == {
        when: found for when, found in roots.items() if found}


def test_resolved_callees_are_what_resolving_them_afresh_gives(
        app_facts: list[FileFacts]) -> None:
    index = ProjectIndex.build(app_facts)
    fresh = ProjectIndex.build(app_facts)
    fresh.memo.clear()
    fresh.deep_memo.clear()
    fresh.call_resolutions.clear()
    for facts in app_facts:
        assert index.call_resolutions[facts.path] == [
            fresh._resolve_callee(facts, call) for call in facts.calls]


def test_listed_imports_and_decorators_are_those_of_a_full_scan(
        app_facts: list[FileFacts]) -> None:
    index = ProjectIndex.build(app_facts)
    for facts in app_facts:
        assert index.import_bindings[facts.path] == [
            b for b in facts.bindings if b.kind in ("import", "import_module")]
    assert index.decorated.get("track_progress", []) == [
        (facts, scope) for facts in app_facts for scope in facts.scopes
        for decorator in scope.decorators
        if decorator.text and index.resolve(facts, scope.parent, decorator.text).api == (
            "track_progress")]


def test_a_name_bound_in_a_function_is_not_the_module_one(tmp_path: Path) -> None:
    write_tree(tmp_path, {"app.py": (
        "from dara.core import Variable\n"
        "\n"
        "def local():\n"
        "    Variable = dict\n"
        "    return Variable(a=1)\n"
        "\n"
        "def module_level():\n"
        "    return Variable(2)\n"
        "\n"
        "class Panel:\n"
        "    Variable = list\n"
        "\n"
        "    def render(self):\n"
        "        return Variable(3)\n"
        "\n"
        "def rebinds():\n"
        "    global Variable\n"
        "    Variable = set\n"
        "    return Variable()\n"
    )})
    _, project = run_audit(tmp_path)
    lines = sorted(call.span.line for _, call in project.index.calls_by_api["Variable"])
    assert lines == [8, 14, 19]


def test_files_reaching_is_every_file_whose_imports_reach_the_targets(
        app_facts: list[FileFacts]) -> None:
    index = ProjectIndex.build(app_facts)
    reachable = {facts.path: index.files_reachable(facts) for facts in app_facts}
    paths = sorted(reachable)
    # Each file alone, and every other file: one target or many.
    for targets in [*({path} for path in paths), set(paths[::2]), set(paths[1::2])]:
        assert index.files_reaching(targets) == {
            path for path, reached in reachable.items() if not reached.isdisjoint(targets)}
    assert any(len(index.files_reaching({path})) > 1 for path in paths)


def _nearest_entries_agree(index: ProjectIndex, files: list[FileFacts]) -> None:
    """`module_named` gives, for every name and importer, the entry from the longest folder
    above the importer (the first such entry on a tie), as a scan of every entry does; the
    folder a file is importable from by a name is worked out as its entry says."""
    for name, entries in index.importable.items():
        assert [_folder_importing(facts, name) for _, facts in entries] == [
            folder for folder, _ in entries]
        for near in files:
            above = [(len(folder), -number, facts) for number, (folder, facts)
                     in enumerate(entries) if not folder or near.path.startswith(folder + "/")]
            if above:
                assert index.module_named(name, near) is max(above, key=lambda e: e[:2])[2]


def test_module_named_is_the_entry_from_the_nearest_folder_above_the_importer(
        app_facts: list[FileFacts]) -> None:
    _nearest_entries_agree(ProjectIndex.build(app_facts), app_facts)


_SERVICE_MAIN = ("from dara.core import ConfigurationBuilder\nfrom app.pages import page\n\n"
                 "config = ConfigurationBuilder()\nconfig.add_page('P', content=page)\n")
_SERVICE_PAGES = "from dara.components import Text\n\ndef page():\n    return Text('x')\n"


def test_services_nested_in_an_app_import_their_own_modules(tmp_path: Path) -> None:
    """An `app` package at the root and one in each service below it: every name is
    importable from several folders, the root's among them."""
    files = {"app/__init__.py": "", "app/pages.py": _SERVICE_PAGES, "app/main.py": _SERVICE_MAIN}
    for service in ("a", "b"):
        files.update({
            f"services/{service}/pyproject.toml": f"[project]\nname = '{service}'\n",
            f"services/{service}/app/__init__.py": "",
            f"services/{service}/app/pages.py": _SERVICE_PAGES,
            f"services/{service}/app/main.py": _SERVICE_MAIN,
            f"services/{service}/tools/report.py": "from app.pages import page\n\npage()\n",
        })
    _, project = run_audit(write_tree(tmp_path, files))
    index = project.index
    assert [folder for folder, _ in index.importable["app.pages"]] == [
        "", "services/a", "services/b"]
    report = index.files["services/b/tools/report.py"]
    assert index.module_named("app.pages", report) is index.files["services/b/app/pages.py"]
    _nearest_entries_agree(index, list(index.files.values()))


def test_each_class_types_its_own_attributes(tmp_path: Path) -> None:
    """Classes of one module storing the same attribute name: `self.<name>` in a method is
    what its own class stores, whichever class comes first or stores more."""
    classes = "".join(
        f"class {name}:\n    def __init__(self):\n        self.state = {made}\n\n"
        f"    def show(self):\n        return self.state\n\n"
        for name, made in [("Plain", "Variable(0)"), ("Derived", "DerivedVariable(f, [])"),
                           ("Nothing", "dict()"), ("Stream", "StreamVariable(f, [])")])
    root = write_tree(tmp_path, {"app/__init__.py": "", "app/pages.py":
                                 "from dara.core import DerivedVariable, StreamVariable, "
                                 f"Variable\n\n\ndef f():\n    return 1\n\n\n{classes}"})
    _, project = run_audit(root)
    index = project.index
    facts = index.files["app/pages.py"]
    kinds = {scope.qualname.split(".")[0]: index.resolve(facts, scope.id, "self.state").instance_of
             for scope in facts.scopes if scope.name == "show"}
    assert kinds == {"Plain": "Variable", "Derived": "DerivedVariable", "Nothing": None,
                     "Stream": "StreamVariable"}



def test_an_untyped_parameter_every_caller_hands_the_builder_is_the_builder(
        tmp_path: Path) -> None:
    root = write_tree(tmp_path, {
        "app/__init__.py": "",
        "app/main.py": "from dara.core import ConfigurationBuilder\n\n"
        "from app.pages import Pages, register_all, register_pages, setup\n\n"
        "config = ConfigurationBuilder()\n"
        "register_pages(config)\n"
        "setup(prefix='admin', cfg=config)\n"
        "Pages().add_to(config.router)\n",
        "app/pages.py": "from dara.components import Text\n\n"
        "def register_pages(config):\n"
        "    config.router.add_page(path='home', content=lambda: Text('h'))\n"
        "    config.add_ws_handler('chat', lambda channel, data: data)\n"
        "    config.task_module = 'app.tasks'\n\n"
        "def setup(cfg, prefix):\n"
        "    section = cfg.router.add_prefix(path=prefix)\n"
        "    section.add_page(path='users', content=lambda: Text('u'))\n\n"
        "class Pages:\n"
        "    def add_to(self, router):\n"
        "        router.add_page(path='about', content=lambda: Text('a'))\n\n"
        "def register_all(config):\n"
        "    register_pages(config)\n\n"
        "def elsewhere(config):\n"
        "    config.router.add_page(path='x', content=lambda: Text('x'))\n\n"
        "class Figure:\n"
        "    def add_page(self, path, content): ...\n\n"
        "elsewhere(Figure())\n",
    })
    (root / "app/main.py").write_text((root / "app/main.py").read_text().replace(
        "register_pages(config)", "register_all(config)"))
    result, _ = run_audit(root)
    found = sorted((f.line, f.rule) for f in result.findings
                   if f.path == "app/pages.py" and f.rule in ("DM108", "DM402", "DM601"))
    assert found == [(4, "DM108"), (5, "DM402"), (6, "DM601"), (9, "DM108"), (10, "DM108"),
                     (14, "DM108")]


def test_a_method_named_like_a_router_method_calling_itself_resolves(tmp_path: Path) -> None:
    root = write_tree(tmp_path, {"app/main.py": (
        "from dara.core import ConfigurationBuilder\n"
        "from dara.components import Text\n\n"
        "class Section:\n"
        "    def add_page(self, router, path):\n"
        "        router.add_page(path=path, content=lambda: Text(path))\n"
        "        if '/' in path:\n"
        "            self.add_page(router, path.rpartition('/')[0])\n\n"
        "config = ConfigurationBuilder()\n"
        "Section().add_page(config.router, 'reports/sales')\n"
    )})
    result, _ = run_audit(root)
    assert [(f.line, f.fix) for f in result.findings if f.rule == "DM108"] == [(6, "manual")]


@pytest.mark.parametrize(("options", "spelled"), [
    ("{'variables': [count], 'uid': 'total'}", ["variables", "uid"]),
    ("{'variables': [count], 'data-key': 1}", None),
])
def test_a_mapping_is_spelled_as_keywords_only_where_its_keys_could_be(
        tmp_path: Path, options: str, spelled: list[str] | None) -> None:
    from dara_migrate.index.mappings import spelled_keywords

    root = write_tree(tmp_path, {"app/main.py": (
        "from dara.core import DerivedVariable, Variable\n\n"
        "count = Variable(0, uid='count')\n"
        f"options = {options}\n"
        "total = DerivedVariable(lambda c: c, **options)\n")})
    _, project = run_audit(root)
    facts = project.index.files["app/main.py"]
    call = next(c for c in facts.calls if c.callee == "DerivedVariable")
    found = spelled_keywords(project.index, facts, call)
    assert (None if found is None else [keyword for keyword, _ in found]) == spelled


def test_an_attribute_made_from_itself_is_resolved_without_end(tmp_path: Path) -> None:
    # `self.df = self.df.dropna()`: the attribute's type is asked while its value is resolved.
    root = write_tree(tmp_path, {
        "app/frame.py": (
            "class Frame:\n"
            "    def clean(self):\n"
            "        self.df = self.df.dropna()\n"
            "        self.a = self.b.scaled()\n"
            "        self.b = self.a.shifted()\n"),
        "app/main.py": (
            "from dara.core import ConfigurationBuilder, DerivedVariable, Variable\n\n"
            "x = Variable(1)\n"
            "doubled = DerivedVariable(lambda v: v * 2, variables=[x])\n"
            "config = ConfigurationBuilder()\n"),
    })
    result, _ = run_audit(root)
    assert [(f.path, f.rule) for f in result.findings if f.rule == "DM101"] == [
        ("app/main.py", "DM101")]


def test_suggested_uids_of_names_outside_ascii_stay_readable_and_apart(tmp_path: Path) -> None:
    root = write_tree(tmp_path, {"app/main.py": (
        "from dara.core import DerivedVariable, Variable\n\n"
        "x = Variable(1)\n"
        "数据 = DerivedVariable(lambda v: v * 2, variables=[x])\n"
        "表格 = DerivedVariable(lambda v: v * 3, variables=[x])\n"
        "données = DerivedVariable(lambda v: v * 4, variables=[x])\n")})
    result, _ = run_audit(root)
    assert [f.message.rsplit("add uid=", 1)[1] for f in result.findings
            if f.rule == "DM101"] == [
        "'app.main:u6570u636e'", "'app.main:u8868u683c'", "'app.main:donnees'"]
