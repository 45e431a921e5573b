"""Speed benchmark for dara-migrate (SPEC.md, "Speed"): build a corpus, time the CLI, report.

    .venv/bin/python bench/run.py [--jobs 2] [--runs 5] [--rebuild]

Prints a Markdown table and always exits 0: it reports numbers, it never gates on them.
Standard library only, besides the tool under test (and LibCST, which the tool installs, for
the raw-parse baseline). See bench/README.md for what each row means.
"""

from __future__ import annotations

import argparse
import ast
import builtins
import compileall
import hashlib
import io
import json
import math
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time
import tokenize
from collections.abc import Iterable, Mapping
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
CORPUS = HERE / "corpus"
CORPUS_SMALL = HERE / "corpus-small"
"""A quarter of the copies: with the full corpus, the memory each added file costs."""
SOURCE_GLOBS = ("examples/sales_dashboard", "tests/fixtures/apps/*", "tests/verify/apps/*")
SKIPPED_PARTS = frozenset({".dara-migrate-cache", "__pycache__", ".pytest_cache", ".mypy_cache"})
GENERATOR_VERSION = "1"
"""Part of the corpus stamp: bump it when generation changes so old corpora are rebuilt."""

SPEC_KIB_PER_FILE = 60.0
SPEC_MB_AT_1040 = 250.0
"""SPEC: peak memory grows by at most 60 KiB per file and is at most 250 MB at 1,040 files."""
ANCHORS = {"bump-pydantic": 2.6, "Fixit lint": 25.0, "libcst.parse_module": 292.0,
           "ast.parse": 3800.0}
"""SPEC anchors in files/s on the SPEC machine (libcst: middle of its 275-310 range)."""

_CHILD = r"""
import json, resource, subprocess, sys, time
start = time.perf_counter()
done = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
wall = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps({"wall": wall, "code": done.returncode, "rss_kb": peak,
                  "stderr": done.stderr.decode("utf-8", "replace")[-2000:]}))
"""
"""Runs one command in a fresh process so RUSAGE_CHILDREN covers exactly that command (and
the pool workers it waited for): ru_maxrss is the largest single process of the run."""


# --------------------------------------------------------------------------------------------
# Corpus


@dataclass
class SourceApp:
    folder: str
    tops: tuple[str, ...]
    """Top-level packages (and loose modules) of the app, renamed in every copy."""
    python: dict[str, str]
    other: dict[str, bytes]


@dataclass
class ModulePlan:
    defined: set[str]
    """Names bound at module level (defs, classes, assignments)."""
    block: str
    """The module's code after its leading docstring and imports ("" when not unrolled)."""


@dataclass
class AppPlan:
    safe: frozenset[str]
    """Module-level names renamed in every copy: no token with this text means anything else."""
    modules: dict[str, ModulePlan]
    renamable_tops: frozenset[str]
    """Top-level packages whose name means nothing else, so every token of it is renamed (the
    others only inside import statements)."""


@dataclass
class Corpus:
    root: Path
    files: int
    lines: int
    copies: int
    apps: int
    duplicates: int
    unparsable: int
    reused: bool


def _source_apps() -> list[SourceApp]:
    apps = []
    for pattern in SOURCE_GLOBS:
        for root in sorted(REPO.glob(pattern)):
            if not root.is_dir():
                continue
            python: dict[str, str] = {}
            other: dict[str, bytes] = {}
            for path in sorted(root.rglob("*")):
                relative = path.relative_to(root)
                if not path.is_file() or SKIPPED_PARTS & set(relative.parts):
                    continue
                if path.suffix == ".py":
                    python[relative.as_posix()] = path.read_text(encoding="utf-8")
                elif path.suffix != ".pyc":
                    other[relative.as_posix()] = path.read_bytes()
            tops = sorted({name.split("/")[0].removesuffix(".py") for name in python})
            if python:
                apps.append(SourceApp(root.name, tuple(tops), python, other))
    return apps


def _module_name(relative: str) -> str:
    parts = relative.removesuffix(".py").split("/")
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _resolve(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - node.level + 1]
    return ".".join([*base, *(node.module.split(".") if node.module else [])])


class _Names:
    """What a module binds at top level, and which names it also uses in a way a rename would
    break (parameters, keywords, attributes of non-project objects, locals, foreign imports)."""

    def __init__(self, tree: ast.Module, module: str, is_package: bool,
                 modules: frozenset[str], tops: frozenset[str]) -> None:
        self.defined: set[str] = set()
        self.unsafe: set[str] = set()
        self.aliases: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    bound = alias.asname or alias.name.split(".")[0]
                    project = alias.name.split(".")[0] in tops
                    (self.aliases if project else self.unsafe).add(bound)
            elif isinstance(node, ast.ImportFrom):
                source = _resolve(module, is_package, node)
                for alias in node.names:
                    bound = alias.asname or alias.name
                    if f"{source}.{alias.name}" in modules:
                        self.aliases.add(bound)
                    elif source not in modules or alias.asname:
                        self.unsafe.add(bound)
        self._visit(tree, module_scope=True)

    def _visit(self, node: ast.AST, module_scope: bool) -> None:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            (self.defined if module_scope else self.unsafe).add(node.name)
            module_scope = False
        elif isinstance(node, ast.Lambda | ast.ListComp | ast.SetComp | ast.DictComp
                        | ast.GeneratorExp):
            module_scope = False
        elif isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            (self.defined if module_scope else self.unsafe).add(node.id)
        elif isinstance(node, ast.arg | ast.keyword) and node.arg:
            self.unsafe.add(node.arg)
        elif isinstance(node, ast.Attribute) and not (
                isinstance(node.value, ast.Name) and node.value.id in self.aliases):
            self.unsafe.add(node.attr)
        elif isinstance(node, ast.Global | ast.Nonlocal):
            self.unsafe.update(node.names)
        elif isinstance(node, ast.ExceptHandler | ast.MatchAs | ast.MatchStar) and node.name:
            self.unsafe.add(node.name)
        elif isinstance(node, ast.MatchMapping) and node.rest:
            self.unsafe.add(node.rest)
        elif isinstance(node, ast.MatchClass):
            self.unsafe.update(node.kwd_attrs)
        for child in ast.iter_child_nodes(node):
            self._visit(child, module_scope)


def _block(tree: ast.Module, text: str) -> str:
    """Everything after the leading docstring and imports: what an unrolled copy repeats."""
    body = list(tree.body)
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body.pop(0)
    while body and isinstance(body[0], ast.Import | ast.ImportFrom):
        body.pop(0)
    if not body:
        return ""
    first = body[0]
    decorators = getattr(first, "decorator_list", [])
    start = min([first.lineno, *(d.lineno for d in decorators)])
    return "".join(io.StringIO(text).readlines()[start - 1:])


def _plan(app: SourceApp) -> AppPlan:
    modules = frozenset(_module_name(relative) for relative in app.python)
    tops = frozenset(app.tops)
    defined: set[str] = set()
    unsafe: set[str] = set(dir(builtins)) | tops
    tops_elsewhere: set[str] = set()
    plans: dict[str, ModulePlan] = {}
    for relative, text in app.python.items():
        try:
            tree = ast.parse(text)
        except SyntaxError:
            plans[relative] = ModulePlan(set(), "")
            continue
        names = _Names(tree, _module_name(relative), relative.endswith("__init__.py"),
                       modules, tops)
        defined |= names.defined
        unsafe |= names.unsafe | names.aliases
        tops_elsewhere |= (names.unsafe | names.defined) & tops
        # The app's entry module is copied once: unrolling it would make several apps.
        block = "" if "ConfigurationBuilder" in text else _block(tree, text)
        plans[relative] = ModulePlan(names.defined, block)
    safe = frozenset(n for n in defined - unsafe if not (n.startswith("__") and n.endswith("__")))
    return AppPlan(safe, plans, tops - tops_elsewhere)


class _Renames:
    """One copy's renames, and the patterns that find them inside string literals."""

    def __init__(self, names: Mapping[str, str], tops: Mapping[str, str]) -> None:
        self.names = names
        self.tops = tops
        self.name_pattern = _alternatives(names, r"(?<![\w.])(", r")(?!\w)")
        self.top_pattern = _alternatives(tops, r"(?<![\w.])(", r")(?=[.:]\w)")


def _alternatives(words: Iterable[str], before: str, after: str) -> re.Pattern[str]:
    listed = "|".join(map(re.escape, sorted(words, key=lambda w: (-len(w), w))))
    return re.compile(before + listed + after if listed else "(?!)")


_STRING_HEAD = re.compile(r"([rRbBuUfF]*)('''|\"\"\"|'|\")")


def _rewrite(text: str, names: Mapping[str, str], tops: Mapping[str, str],
             import_only_tops: frozenset[str], uid_suffix: str) -> str:
    """Rename identifiers and packages token by token; suffix `uid=` string literals."""
    starts = [0]
    for line in io.StringIO(text):
        starts.append(starts[-1] + len(line))
    rename = _Renames(names, tops)
    edits: list[tuple[int, int, str]] = []
    previous: list[tokenize.TokenInfo] = []
    head = ""
    depth = 0
    fstring_depth = 0
    fstring_uid_at = -1
    for token in tokenize.generate_tokens(io.StringIO(text).readline):
        start = starts[token.start[0] - 1] + token.start[1]
        end = starts[token.end[0] - 1] + token.end[1]
        kind, string = token.type, token.string
        is_uid = (depth > 0 and len(previous) == 2 and previous[0].string == "uid"
                  and previous[1].string == "=")
        if kind in (tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT):
            head = ""
        elif kind in (tokenize.NL, tokenize.COMMENT, tokenize.ENCODING):
            pass
        elif kind == tokenize.NAME:
            head = head or string
            if string in names:
                edits.append((start, end, names[string]))
            elif string in tops and (head in ("import", "from") or string not in import_only_tops):
                edits.append((start, end, tops[string]))
        elif kind == tokenize.STRING:
            # A string naming a definition: an annotation ("-> 'Money'") or an __all__ entry.
            names_it = head == "__all__" or (bool(previous) and previous[-1].string in ("->", ":"))
            new = _rewrite_string(string, rename, names_it, uid_suffix if is_uid else "")
            if new != string:
                edits.append((start, end, new))
        elif kind == getattr(tokenize, "FSTRING_START", -1):
            fstring_depth += 1
            if is_uid and fstring_uid_at < 0:
                fstring_uid_at = fstring_depth
        elif kind == getattr(tokenize, "FSTRING_END", -1):
            if fstring_depth == fstring_uid_at:
                edits.append((start, start, uid_suffix))
                fstring_uid_at = -1
            fstring_depth -= 1
        elif kind == tokenize.OP:
            head = head or string
            depth += string in "([{"
            depth -= string in ")]}"
        if kind not in (tokenize.NL, tokenize.COMMENT):
            previous = [*previous[-1:], token]
    pieces = []
    last = 0
    for start, end, replacement in edits:
        pieces += [text[last:start], replacement]
        last = end
    pieces.append(text[last:])
    return "".join(pieces)


def _rewrite_string(token: str, rename: _Renames, exact: bool, uid_suffix: str) -> str:
    match = _STRING_HEAD.match(token)
    if match is None or "b" in match[1].lower():
        return token
    prefix, quote = match.groups()
    body = token[len(prefix) + len(quote): len(token) - len(quote)]
    new = rename.top_pattern.sub(lambda m: rename.tops[m[1]], body)
    if "f" in prefix.lower():
        # Before Python 3.12 an f-string is one token: rename inside its replacement fields.
        new = re.sub(r"\{[^{}]*\}", lambda field: rename.name_pattern.sub(
            lambda m: rename.names[m[1]], field[0]), new)
    if exact and new == body and not prefix and body in rename.names:
        new = rename.names[body]
    return f"{prefix}{quote}{new}{uid_suffix}{quote}"


def _copy_python(app: SourceApp, plan: AppPlan, relative: str, copy: str, rounds: int) -> str:
    text = app.python[relative]
    module = plan.modules[relative]
    tops = {top: f"{top}_{copy}" for top in app.tops}
    import_only = frozenset(set(app.tops) - plan.renamable_tops)
    names = {name: f"{name}_{copy}" for name in plan.safe}
    out = [_rewrite(text, names, tops, import_only, f"-{copy}")]
    for round_ in range(1, rounds if module.block else 1):
        # Repeats the module's own definitions under new names (a bigger module of the same
        # kind), so the corpus reaches the SPEC's ~115 lines per file from smaller sources.
        mine = {n: f"{n}_{copy}_u{round_}" for n in module.defined & plan.safe}
        block = _rewrite(module.block, {**names, **mine}, tops, import_only,
                         f"-{copy}-u{round_}")
        out.append(("\n\n" if out[-1].endswith("\n") else "\n\n\n") + block)
    out.append(("" if out[-1].endswith("\n") or not out[-1] else "\n")
               + f"# bench corpus copy {copy}: {_module_name(relative)}\n")
    return "".join(out)


def _renamed_path(relative: str, copy: str, tops: Iterable[str]) -> str:
    head, _, rest = relative.partition("/")
    if rest and head in tops:
        return f"{head}_{copy}/{rest}"
    if not rest and head.removesuffix(".py") in tops:
        return f"{head.removesuffix('.py')}_{copy}.py"
    return relative


def _copy_other(app: SourceApp, relative: str, data: bytes, copy: str) -> bytes:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return data
    for top in app.tops:
        text = re.sub(rf"(?<![\w-]){re.escape(top)}(?![\w-])", f"{top}_{copy}", text)
    if relative == "pyproject.toml":
        text = re.sub(r'(?m)^name = "([^"]+)"', rf'name = "\1-{copy}"', text, count=1)
    return text.encode("utf-8")


def _stamp(apps: list[SourceApp], copies: int, unroll: float) -> str:
    digest = hashlib.sha256()
    digest.update(f"{GENERATOR_VERSION}|{copies}|{unroll}|{sys.version_info[:2]}".encode())
    for app in apps:
        for relative, text in app.python.items():
            digest.update(f"{app.folder}/{relative}\0{text}\0".encode())
        for relative, data in app.other.items():
            digest.update(f"{app.folder}/{relative}\0".encode() + data)
    return digest.hexdigest()


def build_corpus(root: Path, copies: int, unroll: float, rebuild: bool) -> Corpus:
    """Deterministic: the same sources, options and Python give byte-identical files."""
    apps = _source_apps()
    stamp = _stamp(apps, copies, unroll)
    stamp_file = root / "bench-stamp.txt"
    reused = not rebuild and stamp_file.is_file() and stamp_file.read_text() == stamp
    if not reused:
        shutil.rmtree(root, ignore_errors=True)
        root.mkdir(parents=True)
        # The corpus is one project (its own root); 1.x is what the source apps pin.
        (root / "pyproject.toml").write_text(
            '[project]\nname = "dara-migrate-bench-corpus"\nversion = "0"\n'
            'dependencies = ["dara-core>=1.30,<2"]\n')
        plans = {app.folder: _plan(app) for app in apps}
        unrolled = 0
        for index in range(copies):
            copy = f"c{index:02d}"
            for app in apps:
                target = root / copy / app.folder
                for relative in app.python:
                    # A fractional --unroll spreads the extra rounds evenly over the modules.
                    rounds = math.floor(unroll * (unrolled + 1)) - math.floor(unroll * unrolled)
                    if plans[app.folder].modules[relative].block:
                        unrolled += 1
                    path = target / _renamed_path(relative, copy, app.tops)
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_text(_copy_python(app, plans[app.folder], relative, copy, rounds),
                                    encoding="utf-8")
                for relative, data in app.other.items():
                    path = target / _renamed_path(relative, copy, app.tops)
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_bytes(_copy_other(app, relative, data, copy))
                if "pyproject.toml" not in app.other:
                    (target / "pyproject.toml").write_text(
                        f'[project]\nname = "{app.folder}-{copy}"\nversion = "0.1.0"\n'
                        'dependencies = ["dara-core>=1.30,<2"]\n')
        stamp_file.write_text(stamp)
    files = lines = unparsable = 0
    seen: set[bytes] = set()
    for path in python_files(root):
        data = path.read_bytes()
        files += 1
        lines += data.count(b"\n")
        seen.add(hashlib.sha256(data).digest())
        try:
            ast.parse(data)
        except SyntaxError:
            unparsable += 1
    return Corpus(root, files, lines, copies, len(apps), files - len(seen), unparsable, reused)


def python_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.py") if not SKIPPED_PARTS & set(p.parts))


# --------------------------------------------------------------------------------------------
# Measurements


@dataclass
class Sample:
    wall: float
    rss_mb: float
    code: int
    stderr: str


@dataclass
class Row:
    name: str
    jobs: str
    kind: str
    """cold, warm, edited, apply (the tool) or parse (an in-process reference)."""
    samples: list[Sample] = field(default_factory=list)
    error: str = ""

    @property
    def wall(self) -> float:
        return statistics.median(s.wall for s in self.samples)

    @property
    def rss(self) -> float | None:
        values = [s.rss_mb for s in self.samples if s.rss_mb > 0]
        return statistics.median(values) if values else None


def _run_child(command: list[str], env: Mapping[str, str]) -> Sample:
    done = subprocess.run([sys.executable, "-c", _CHILD, *command], capture_output=True,
                          text=True, env=dict(env), check=False)
    if done.returncode != 0 or not done.stdout.strip():
        return Sample(0.0, 0.0, -1, done.stderr[-2000:])
    data = json.loads(done.stdout)
    return Sample(data["wall"], data["rss_kb"] / 1024, data["code"], data["stderr"])


def _record(row: Row, command: list[str], env: Mapping[str, str]) -> None:
    if row.error:
        return
    sample = _run_child(command, env)
    if sample.code not in (0, 1):  # 1: findings, or a non-empty diff
        row.error = f"exit {sample.code}: {sample.stderr.strip().splitlines()[-1:]}"
        return
    row.samples.append(sample)


def tool_command() -> list[str]:
    script = Path(sys.executable).with_name("dara-migrate")
    return [str(script)] if script.exists() else [sys.executable, "-m", "dara_migrate"]


def compile_tool() -> None:
    """Byte-compile the tool's sources, as installing its wheel does. An editable install
    leaves that to the first run, and with PYTHONDONTWRITEBYTECODE set (as in many CI and
    container images) every run would compile them again, which is not what users see."""
    import dara_migrate

    compileall.compile_dir(Path(dara_migrate.__file__).parent, quiet=1)


def _clear(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


def jobs_flag(jobs: str) -> list[str]:
    """`auto` is the tool's default: no flag at all."""
    return [] if jobs == "auto" else ["--jobs", jobs]


def edited_file(corpus: Corpus) -> Path:
    """The file the "one file changed" runs edit: an app's entry module (the builder's), whose
    edits can change findings in every module of its app."""
    return corpus.root / "c05" / "sales_dashboard" / "sales_dashboard_c05" / "main.py"


def edit_entry_module(source: bytes) -> bytes:
    """A code edit near the top of the module: its facts change and every later line moves,
    as with a real change (an appended comment would leave the facts as they were)."""
    marker = b"= ConfigurationBuilder()\n"
    return source.replace(marker, marker + b"BENCH_EDIT = 'edited for the benchmark'\n", 1)


def apply_flags(env: Mapping[str, str]) -> list[str]:
    """`apply` is timed without the real-build proof where the tool has that switch: the
    benchmark measures the tool, not the app's build."""
    done = subprocess.run([*tool_command(), "apply", "--help"], capture_output=True, text=True,
                          env=dict(env), check=False)
    return ["--no-build-check"] if "--no-build-check" in done.stdout else []


def bench_round(corpus: Corpus, jobs: list[str], rows: dict[tuple[str, str], Row],
                sources: list[bytes], env: Mapping[str, str], apply_extra: list[str]) -> None:
    """One sample of every row. Rounds interleave the rows, so a burst of load from other work
    on the machine lands on all of them rather than on one row's runs; the cold audits and
    the parse baseline, which the ratios compare most, run back to back."""
    tool = tool_command()
    cache = corpus.root / ".dara-migrate-cache"
    edited = edited_file(corpus)
    original = edited.read_bytes()
    for count in jobs:
        _clear(cache)
        _record(rows[("cold", count)], [*tool, "audit", str(corpus.root), *jobs_flag(count),
                                        "--format", "json", "--no-cache"], env)
    if sources:
        start = time.perf_counter()
        for source in sources:
            with suppress(SyntaxError, ValueError):
                ast.parse(source)
        rows[("parse", "1")].samples.append(Sample(time.perf_counter() - start, 0.0, 0, ""))
    for count in jobs:
        audit = [*tool, "audit", str(corpus.root), *jobs_flag(count), "--format", "json"]
        _clear(cache)
        _run_child(audit, env)  # fills the cache
        _record(rows[("warm", count)], audit, env)
        try:
            edited.write_bytes(edit_entry_module(original))
            _record(rows[("edited", count)], audit, env)
        finally:
            edited.write_bytes(original)
        _clear(cache)
        _record(rows[("apply", count)], [*tool, "apply", str(corpus.root), "--dry-run",
                                         *jobs_flag(count), "--no-cache", *apply_extra], env)
        _clear(cache)


EXAMPLE = REPO / "examples" / "sales_dashboard"
AUTOMATION_APPS = (*sorted(p for p in (REPO / "tests" / "fixtures" / "apps").iterdir()
                           if p.is_dir()), EXAMPLE)


def _copy_app(source: Path, folder: Path) -> Path:
    target = folder / source.name
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(source, target, ignore=shutil.ignore_patterns(*SKIPPED_PARTS))
    return target


def bench_proof(runs: int, env: Mapping[str, str]) -> list[Row]:
    """`apply --dry-run` on the example app with the build proof (the migrated app built twice
    in a scratch copy) and with `--no-build-check`."""
    import tempfile

    rows = []
    with tempfile.TemporaryDirectory(prefix="dara-migrate-bench-") as folder:
        root = _copy_app(EXAMPLE, Path(folder))
        base = [*tool_command(), "apply", str(root), "--dry-run", "--no-cache", "--target", "1.x"]
        for name, extra in (("example app: `apply --dry-run`, with the build proof", []),
                            ("example app: `apply --dry-run --no-build-check`",
                             ["--no-build-check"])):
            row = Row(name, "auto", "proof")
            for _ in range(runs):
                _record(row, [*base, *extra], env)
            rows.append(row)
    return rows


@dataclass
class Automation:
    app: str
    before: int
    after: int
    library_before: int
    library_after: int
    builds: bool
    builds_unsafe: bool


def bench_automation(env: Mapping[str, str]) -> list[Automation]:
    """Each fixture app and the example app built twice before `apply --yes` and after it (and
    after `apply --yes --unsafe-fixes`): which app-owned ids change between the two builds."""
    import tempfile

    from dara_migrate.verify import VerifyError, run_verify
    from dara_migrate.verify.automation import automation_figure

    def manifest(root: Path) -> dict[str, object] | None:
        try:
            return run_verify(root).to_json()
        except VerifyError:
            return None

    found = []
    for source in AUTOMATION_APPS:
        with tempfile.TemporaryDirectory(prefix="dara-migrate-bench-") as folder:
            safe = _copy_app(source, Path(folder) / "safe")
            unsafe = _copy_app(source, Path(folder) / "unsafe")
            before = manifest(safe)
            for root, extra in ((safe, []), (unsafe, ["--unsafe-fixes"])):
                subprocess.run([*tool_command(), "apply", str(root), "--yes", "--no-cache",
                                "--target", "1.x", "--no-build-check", "--allow-dirty", *extra],
                               capture_output=True, env=dict(env), check=False)
            after, after_unsafe = manifest(safe), manifest(unsafe)
        if before is None:
            continue
        figure = automation_figure(before, after or before)
        found.append(Automation(source.name, figure.changing_before, figure.changing_after,
                                figure.library_before, figure.library_after,
                                after is not None, after_unsafe is not None))
    return found


def render_builds(proof: list[Row], found: list[Automation]) -> str:
    lines = ["## The build proof, timed apart", "",
             "`apply` builds each app its fixes touch twice before writing; the corpus rows "
             "above pass `--no-build-check` (the SPEC's apply target is about the codemod "
             "engine). On the example app:", "",
             "| Measurement | median wall (s) | range (s) |", "|---|---|---|"]
    for row in proof:
        if not row.samples:
            lines.append(f"| {row.name} | — ({row.error}) | — |")
            continue
        walls = [s.wall for s in row.samples]
        lines.append(f"| {row.name} | {row.wall:.2f} | {min(walls):.2f}-{max(walls):.2f} |")
    lines += ["", "## How much `apply --yes` migrates", "",
              "App-owned ids that change between two builds (dara-core, different hash seeds) "
              "before and after `apply --yes --target 1.x`; ids of definitions Dara's "
              "libraries build (DM106) counted apart.", "",
              "| App | changing before | changing after | library-built before / after "
              "| builds after `--yes` | builds after `--unsafe-fixes` |",
              "|---|---|---|---|---|---|"]
    for item in found:
        lines.append(f"| {item.app} | {item.before} | {item.after} | {item.library_before} / "
                     f"{item.library_after} | {'yes' if item.builds else '**NO**'} | "
                     f"{'yes' if item.builds_unsafe else '**NO**'} |")
    before = sum(i.before for i in found)
    after = sum(i.after for i in found)
    share = (before - after) / before if before else 1.0
    broken = sum(not i.builds for i in found) + sum(not i.builds_unsafe for i in found)
    lines += ["", f"Stable after `apply --yes`: {before - after} of {before} changing app-owned "
              f"ids ({share:.0%}; target ≥ 90%). Apps that stop building: {broken} (target 0).",
              ""]
    return "\n".join(lines)


def sanity(corpus: Corpus, jobs: list[str], env: Mapping[str, str]) -> str:
    """Untimed runs: does the tool see the corpus, and is its JSON byte-identical with and
    without the cache, across `--jobs`, and after one file changes?"""
    cache = corpus.root / ".dara-migrate-cache"
    base = [*tool_command(), "audit", str(corpus.root), "--format", "json"]
    edited = edited_file(corpus)
    original = edited.read_bytes()

    def run(*extra: str) -> str:
        done = subprocess.run([*base, *extra], capture_output=True, text=True, env=dict(env),
                              check=False)
        if done.returncode not in (0, 1):
            raise RuntimeError(f"audit failed (exit {done.returncode}): "
                               f"{done.stderr.strip()[-300:]}")
        return done.stdout

    problems = []
    try:
        reference = run("--no-cache", "--jobs", "1")
        for count in jobs:
            _clear(cache)
            outputs = [run("--no-cache", *jobs_flag(count)), run(*jobs_flag(count)),
                       run(*jobs_flag(count))]
            if set(outputs) != {reference}:
                problems.append(f"`--jobs {count}`: cold / cache-filling / warm differ")
        # Unrouting the index page in the entry module makes its DerivedVariables code no
        # app runs (DM101 safe -> unsafe in pages/overview.py): the warm run (one file
        # changed) must see it exactly as a cold one does.
        edited.write_bytes(original.replace(b"shell_c05.add_index(content=overview_page_c05",
                                            b"# shell_c05.add_index(content=overview_page_c05",
                                            1))
        changed_cold = run("--no-cache", "--jobs", "1")
        for count in jobs:
            if run(*jobs_flag(count)) != changed_cold:
                problems.append(f"`--jobs {count}`: warm after an edit differs from cold")
        if _other_findings(changed_cold, edited, corpus) == _other_findings(reference, edited,
                                                                             corpus):
            problems.append("the edit changed no other file's findings (the check is void)")
    except RuntimeError as error:
        return str(error)
    finally:
        edited.write_bytes(original)
        _clear(cache)
    report = json.loads(reference)
    verdict = "; ".join(problems) if problems else (
        "cold / cache-filling / warm JSON identical at every `--jobs`, and after one file "
        "changed")
    return (f"{report['summary']['files']:,} files, {len(report['findings']):,} findings, "
            f"{len(report['apps'])} apps, target {report['target']}; {verdict}")


def _other_findings(report: str, edited: Path, corpus: Corpus) -> list[object]:
    skipped = edited.relative_to(corpus.root).as_posix()
    return [f for f in json.loads(report)["findings"] if f["path"] != skipped]


def bench_fixit(corpus: Corpus, runs: int, executable: str | None,
                env: Mapping[str, str]) -> Row:
    row = Row("`fixit lint`, default rules (reference)", "all", "reference")
    found = executable or shutil.which("fixit", path=os.pathsep.join(
        [str(Path(sys.executable).parent), os.environ.get("PATH", "")]))
    if found is None:
        row.error = "not installed (see --fixit)"
        return row
    for _ in range(runs):
        # Fixit exits non-zero when it reports lint, which is not a failed run.
        sample = _run_child([found, "lint", str(corpus.root)], env)
        if sample.code < 0 or sample.code >= 128:
            row.error = f"exit {sample.code}"
            break
        row.samples.append(sample)
    return row


def bench_libcst(sources: list[bytes]) -> Row:
    row = Row("`libcst.parse_module` every file, in-process (one run)", "1", "reference")
    try:
        import libcst
    except ImportError:
        row.error = "libcst not installed"
        return row
    start = time.perf_counter()
    for source in sources:
        with suppress(Exception):  # a file the parser rejects still costs what it cost
            libcst.parse_module(source)
    row.samples.append(Sample(time.perf_counter() - start, 0.0, 0, ""))
    return row


# --------------------------------------------------------------------------------------------
# Report


ROW_NAMES = {
    "cold": "`audit`, cold (`--no-cache`, no cache dir)",
    "warm": "`audit`, warm (cache filled, tree unchanged)",
    "edited": "`audit`, warm, one file changed (an app's entry module)",
    "apply": "`apply --dry-run`, cold (`--no-cache`)",
}
PARSE_NAME = "`ast.parse` every file, in-process, trees dropped"


def machine() -> str:
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"{os.cpu_count()} cores ({usable} usable), {model}, {platform.system()} " \
           f"{platform.release()}"


def revision() -> str:
    """The commit measured, and whether the tool's sources differ from it."""
    try:
        commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
                                capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--",
                                "dara_migrate"], capture_output=True, text=True,
                               check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    return f"{commit}{' + uncommitted changes in dara_migrate/' if dirty else ''}"


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"{one:.2f} (1 min) / {five:.2f} (5 min)"


def render(corpus: Corpus, seen: str, rows: list[Row], slopes: list[Slope], runs: int,
           load_before: str, revision_before: str, apply_extra: list[str]) -> str:
    from dara_migrate import __version__

    build_check = ("`apply` timed with `--no-build-check`" if apply_extra else
                   "`apply` has no `--no-build-check` in this version: timed as it is")
    lines = [
        "## dara-migrate speed benchmark", "",
        "| | |", "|---|---|",
        f"| Machine | {machine()} |",
        f"| Load average | before: {load_before}; after: {load()} (other work on the machine "
        "slows every row; the targets are ratios within this run for that reason) |",
        f"| Python | {platform.python_version()} ({platform.python_implementation()}) |",
        f"| dara-migrate | {__version__}, commit {revision_before}"
        + ("" if revision() == revision_before else f" (now {revision()}: the tool changed "
           "during the run)") + " |",
        f"| Corpus | {corpus.files:,} Python files, {corpus.lines:,} lines: {corpus.copies} "
        f"renamed copies of {corpus.apps} apps ({'reused' if corpus.reused else 'built'}; "
        f"{corpus.duplicates} identical files, {corpus.unparsable} unparsable) |",
        f"| Audit sees | {seen} |",
        f"| Statistic | median of {runs} interleaved rounds; peak RSS = largest single process "
        f"(ru_maxrss); {build_check} |",
        "",
        "| Measurement | `--jobs` | median wall (s) | range (s) | files/s | peak RSS (MB) "
        "| KiB/file |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        if not row.samples:
            lines.append(f"| {row.name} | {row.jobs} | {row.error or '—'} | — | — | — | — |")
            continue
        walls = [s.wall for s in row.samples]
        rss = f"{row.rss:.0f}" if row.rss is not None else "—"
        per_file = f"{row.rss * 1024 / corpus.files:.0f}" if row.rss is not None else "—"
        lines.append(
            f"| {row.name} | {row.jobs} | {row.wall:.3f} | {min(walls):.3f}-{max(walls):.3f} "
            f"| {corpus.files / row.wall:,.0f} | {rss} | {per_file} |")
    lines += ["", "Targets (SPEC.md, \"Speed\"), as ratios measured in this run:", "",
              "| Target | measured | limit | result |", "|---|---|---|---|",
              *targets(corpus, rows, slopes), "", *references(corpus, rows)]
    return "\n".join(lines) + "\n"


@dataclass
class Slope:
    name: str
    small_files: int
    small_mb: float
    kib_per_file: float


def memory_slopes(corpus: Corpus, small: Corpus, rows: list[Row], env: Mapping[str, str],
                  apply_extra: list[str]) -> list[Slope]:
    """Peak memory per added file: the same command at `--jobs 1` on the small corpus against
    its median on the full one (memory barely varies between runs)."""
    tool = tool_command()
    out = []
    for kind, command in (
            ("cold", ["audit", str(small.root), "--jobs", "1", "--format", "json",
                      "--no-cache"]),
            ("apply", ["apply", str(small.root), "--dry-run", "--jobs", "1", "--no-cache",
                       *apply_extra])):
        big = _find(rows, kind, "1")
        if big is None or big.rss is None or small.files >= corpus.files:
            continue
        _clear(small.root / ".dara-migrate-cache")
        sample = _run_child([*tool, *command], env)
        if sample.code not in (0, 1) or sample.rss_mb <= 0:
            continue
        slope = (big.rss - sample.rss_mb) * 1024 / (corpus.files - small.files)
        out.append(Slope(big.name, small.files, sample.rss_mb, slope))
    return out


def _find(rows: list[Row], kind: str, jobs: str) -> Row | None:
    return next((r for r in rows if r.kind == kind and r.jobs == jobs and r.samples), None)


def targets(corpus: Corpus, rows: list[Row], slopes: list[Slope]) -> list[str]:
    out = []

    def check(label: str, value: float, limit: float, unit: str = "x") -> None:
        verdict = "pass" if value <= limit else "**FAIL**"
        out.append(f"| {label} | {value:.3f}{unit} | ≤ {limit:g}{unit} | {verdict} |")

    parse = _find(rows, "parse", "1")
    for jobs in sorted({r.jobs for r in rows if r.kind == "cold"}):
        cold = _find(rows, "cold", jobs)
        if cold is None:
            continue
        flag = f"`--jobs {jobs}`"
        for kind, limit, what in (("warm", 0.1, "warm audit, nothing changed"),
                                  ("edited", 0.3, "warm audit, one file changed")):
            row = _find(rows, kind, jobs)
            if row is not None:
                check(f"{what} / cold audit, {flag}", row.wall / cold.wall, limit)
        if parse is not None:
            check(f"cold audit / bare `ast.parse`, {flag}", cold.wall / parse.wall, 2.5)
        apply = _find(rows, "apply", jobs)
        if apply is not None:
            check(f"`apply --dry-run` / cold audit, {flag}", apply.wall / cold.wall, 3.0)
    auto, one = _find(rows, "cold", "auto"), _find(rows, "cold", "1")
    if auto is not None and one is not None:
        check("cold audit `--jobs auto` / `--jobs 1`", auto.wall / one.wall, 1.05)
    budget = SPEC_MB_AT_1040 * corpus.files / 1040
    for row in rows:
        if row.kind in ROW_NAMES and row.rss is not None:
            check(f"peak memory, {row.name} `--jobs {row.jobs}`", row.rss, round(budget),
                  " MB")
    for slope in slopes:
        check(f"memory per added file, {slope.name} (`--jobs 1`; {slope.small_files:,} files: "
              f"{slope.small_mb:.0f} MB)", slope.kib_per_file, SPEC_KIB_PER_FILE, " KiB/file")
    return out


def references(corpus: Corpus, rows: list[Row]) -> list[str]:
    """The cold audit against the SPEC's anchors, for context (no target depends on them)."""
    out = ["References (files/s over files/s):", ""]
    fixit = next((corpus.files / r.wall for r in rows if r.name.startswith("`fixit")
                  and r.samples), None)
    parse = _find(rows, "parse", "1")
    cst = next((corpus.files / r.wall for r in rows if r.name.startswith("`libcst")
                and r.samples), None)
    for row in rows:
        if row.kind != "cold" or not row.samples:
            continue
        rate = corpus.files / row.wall
        facts = [f"cold audit `--jobs {row.jobs}`: {rate:,.0f} files/s"]
        if fixit:
            facts.append(f"{rate / fixit:.1f}x Fixit measured here")
        facts.append(f"{rate / ANCHORS['Fixit lint']:.1f}x the SPEC's Fixit anchor, "
                     f"{rate / ANCHORS['bump-pydantic']:.0f}x its bump-pydantic anchor")
        if cst:
            facts.append(f"{rate / cst:.2f}x one-core `libcst.parse_module`")
        out.append("- " + "; ".join(facts))
    for label, measured in (("ast.parse", corpus.files / parse.wall if parse else None),
                            ("libcst.parse_module", cst), ("Fixit lint", fixit)):
        if measured:
            out.append(f"- `{label}` here: {measured:,.0f} files/s vs SPEC anchor "
                       f"{ANCHORS[label]:,.0f} (machine/corpus factor "
                       f"{measured / ANCHORS[label]:.2f})")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", action="append", choices=("1", "2", "auto"),
                        help="--jobs value(s) to measure, `auto` being the tool's default "
                        "(repeatable; default: 1, 2 and auto)")
    parser.add_argument("--runs", type=int, default=5,
                        help="interleaved rounds, each one sample of every row (median)")
    parser.add_argument("--copies", type=int, default=11,
                        help="renamed copies of the source apps (default 11: ~1,045 files)")
    parser.add_argument("--unroll", type=float, default=5.5,
                        help="times each non-entry module's body appears, on average (default "
                        "5.5: ~120k lines; 1 keeps the source modules' size)")
    parser.add_argument("--rebuild", action="store_true", help="regenerate the corpus")
    parser.add_argument("--fixit", metavar="PATH",
                        help="the `fixit` executable (default: next to this Python, or PATH)")
    parser.add_argument("--fixit-runs", type=int, default=1,
                        help="runs of `fixit lint` (slow; 0 skips it)")
    parser.add_argument("--no-baseline", action="store_true",
                        help="skip the in-process ast / libcst parse baselines")
    parser.add_argument("--no-builds", action="store_true",
                        help="skip what builds real apps: the build proof's time and the "
                        "automation figure (needs dara-core; several minutes)")
    args = parser.parse_args(argv)
    jobs = [j for j in ("1", "2", "auto") if j in (args.jobs or ("1", "2", "auto"))]
    env = {**os.environ, "NO_COLOR": "1", "CI": "1"}
    load_before, revision_before = load(), revision()
    compile_tool()
    corpus = build_corpus(CORPUS, args.copies, args.unroll, args.rebuild)
    print(f"corpus: {corpus.files} files, {corpus.lines} lines in {corpus.root}", file=sys.stderr)
    seen = sanity(corpus, jobs, env)
    apply_extra = apply_flags(env)
    rows = {(kind, count): Row(name, count, kind) for count in jobs
            for kind, name in ROW_NAMES.items()}
    sources = [] if args.no_baseline else [p.read_bytes() for p in python_files(corpus.root)]
    if sources:
        rows[("parse", "1")] = Row(PARSE_NAME, "1", "parse")
    for number in range(args.runs):
        print(f"round {number + 1}/{args.runs} ...", file=sys.stderr)
        # Each round starts with another `--jobs` value, so none always runs first.
        turn = number % len(jobs)
        bench_round(corpus, jobs[turn:] + jobs[:turn], rows, sources, env, apply_extra)
    measured = list(rows.values())
    if args.fixit_runs:
        print("measuring fixit ...", file=sys.stderr)
        measured.append(bench_fixit(corpus, args.fixit_runs, args.fixit, env))
    if sources:
        print("measuring libcst.parse_module ...", file=sys.stderr)
        measured.append(bench_libcst(sources))
    print("measuring memory per file on a smaller corpus ...", file=sys.stderr)
    small = build_corpus(CORPUS_SMALL, max(1, args.copies // 4), args.unroll, args.rebuild)
    slopes = memory_slopes(corpus, small, measured, env, apply_extra)
    print(render(corpus, seen, measured, slopes, args.runs, load_before, revision_before,
                 apply_extra))
    if not args.no_builds:
        print("measuring the build proof on the example app ...", file=sys.stderr)
        proof = bench_proof(min(args.runs, 3), env)
        print("building every fixture app before and after apply ...", file=sys.stderr)
        print(render_builds(proof, bench_automation(env)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
