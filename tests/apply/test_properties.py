"""Properties of `apply` on generated Dara-ish projects: the output always parses, and a
second run changes nothing (idempotence); the audit never gets worse."""

from __future__ import annotations

import ast
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dara_migrate.apply import ApplyOptions, run_apply
from dara_migrate.planner import FixOptions
from dara_migrate.settings import load_settings
from dara_migrate.writer import PlannedWrite, commit, plan_writes
from tests.helpers import examples, run_audit, write_tree

IMPORTS = (
    "import dara.core as dc\n"
    "from dara.core import ConfigurationBuilder, DerivedVariable as DV, ServerVariable, "
    "Variable, action, py_component\n"
    "from dara.core.interactivity.server_variable import MemoryBackend\n"
    "from dara.core.persistence import BackendStore\n"
    "from dara.components import Text\n\n"
)
names = st.sampled_from(["total", "rows", "prefs", "count", "summary", "data_1", "x"])
quotes = st.sampled_from(["'", '"'])


@st.composite
def definition(draw: st.DrawFn) -> str:
    name = draw(names)
    q = draw(quotes)
    spelling = draw(st.sampled_from([
        "DV(lambda v: v, variables=[base])",
        "DV[int](\n    lambda v: v,\n    variables=[base],\n)",
        "dc.DerivedVariable(lambda v: v,\n                    variables=[base])",
        f"ServerVariable(default=[], backend=MemoryBackend(scope={q}global{q}))",
        "ServerVariable(default=None)",
        "Variable(store=BackendStore())",
        f"DV(lambda v: v, variables=[base], uid={q}{name}-fixed{q})",
        "Variable(0)",
    ]))
    comment = draw(st.sampled_from(["", "  # keep", "\t# tabbed comment"]))
    return f"{name} = {spelling}{comment}\n"


@st.composite
def module(draw: st.DrawFn) -> str:
    body = "".join(draw(st.lists(definition(), min_size=1, max_size=6)))
    builder = draw(st.booleans())
    render = draw(st.booleans())
    text = IMPORTS + "base = Variable(1)\n" + body
    if builder:
        inner = "".join("    " + line + "\n" for line in draw(definition()).splitlines())
        text += f"\n\ndef build():\n{inner}    return base\n\n\nbuild()\n"
    if render:
        text += ("\n\n@py_component\ndef card(value):\n"
                 "    made = DV(lambda v: v, variables=[value])\n    return Text('x')\n")
    return text


def apply_once(root: Path) -> tuple[dict[str, bytes], list[str]]:
    settings = load_settings(root, {"target": "1.x", "use_cache": False, "jobs": 1})
    result = run_apply(settings, [root], ApplyOptions(FixOptions(unsafe=True)))
    plan = plan_writes(root, [PlannedWrite(c.path, c.before, c.after) for c in result.changes])
    assert plan.refused == []
    commit(root, plan.targets, print)
    return {c.path: c.after for c in result.changes}, result.errors


@settings(max_examples=examples(40), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pages=st.lists(module(), min_size=1, max_size=3),
       config_line=st.sampled_from(["config = ConfigurationBuilder()\n", ""]))
def test_apply_is_idempotent_and_always_parses(pages: list[str], config_line: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        files = {f"app/page_{n}.py": source for n, source in enumerate(pages)}
        files["app/__init__.py"] = ""
        files["app/main.py"] = (
            "from dara.core import ConfigurationBuilder\n"
            + "".join(f"from app.page_{n} import *\n" for n in range(len(pages)))
            + "\n" + config_line)
        write_tree(root, files)
        before, _ = run_audit(root)
        changed, errors = apply_once(root)
        assert errors == []
        for path in changed:
            ast.parse((root / path).read_text())
        after, _ = run_audit(root)
        open_errors = [f for f in after.findings if f.severity == "error" and f.status == "open"]
        assert len(open_errors) <= len([f for f in before.findings if f.severity == "error"])
        assert [f for f in open_errors if f.fix == "safe" and f.rule != "DM201"] == []
        again, errors = apply_once(root)
        assert errors == []
        assert again == {}
