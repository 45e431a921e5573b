"""Finding the project's files and reading them without ever losing a byte of meaning."""

from __future__ import annotations

import ast
import codecs
import configparser
import contextlib
import errno
import io
import os
import re
import sys
import tokenize
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from stat import S_ISDIR, S_ISREG
from typing import TYPE_CHECKING, Any, NamedTuple

import pathspec

from dara_migrate.index.dara_api import names_secret

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

if TYPE_CHECKING:
    from dara_migrate.settings import Settings

CACHE_FOLDER = ".dara-migrate-cache"
"""The cache folder under the project root, unless `cache-dir` names another."""
MAX_FILE_BYTES = 4 * 1024 * 1024
ROOT_MARKERS = ("pyproject.toml", ".git")
PROJECT_FILES = ("pyproject.toml", "setup.cfg", "setup.py")
DEFAULT_EXCLUDES = (
    ".git", ".hg", ".svn", ".venv", "venv", ".tox", ".nox", "__pycache__", "build", "dist",
    "node_modules", ".mypy_cache", ".pytest_cache", ".ruff_cache", ".dara-migrate-cache",
    "site-packages", "*.egg-info", ".eggs",
)
DEPLOYMENT_NAMES = ("Dockerfile", "Containerfile", "Procfile")
DEPLOYMENT_SUFFIXES = (".yaml", ".yml", ".env", ".toml", ".ini", ".cfg", ".sh")


class ReadError(Exception):
    """A file that cannot be analysed; the message is the one-line reason."""


@dataclass(frozen=True, slots=True)
class Source:
    """A decoded file and everything needed to write it back byte-for-byte alike."""

    text: str
    encoding: str
    bom: bool
    newline: str


def find_root(paths: Iterable[Path]) -> Path:
    """The project root: the nearest folder holding pyproject.toml or .git above the paths
    (above all of them, when they are in different projects)."""
    given = [p.resolve() for p in paths] or [Path.cwd().resolve()]
    starts = [p if p.is_dir() else p.parent for p in given]
    roots = {_root_above(start) for start in starts}
    if len(roots) == 1:
        return roots.pop()
    return _root_above(Path(os.path.commonpath(starts)))


def _root_above(start: Path) -> Path:
    for folder in (start, *start.parents):
        if any((folder / marker).exists() for marker in ROOT_MARKERS):
            return folder
    return start


def module_name(roots: SourceRoots, path: Path) -> tuple[str, bool]:
    """The dotted module a file is imported as, and whether it is a package `__init__`."""
    return roots.module_name(path.relative_to(roots.root).as_posix())


class SourceRoots:
    """The folders module names are relative to, as Python's import system sees a project:
    the project root, every folder holding a pyproject.toml, setup.cfg or setup.py, their
    `src/` folders and the package folders they declare. A file's module is its path from
    the nearest one; folders without `__init__.py` are namespace packages like any other."""

    def __init__(self, root: Path, files: Iterable[Path]) -> None:
        self.root = root
        self.projects: set[str] = {""}
        """Folders holding a project file (and the root): each app belongs to the nearest."""
        self.folders: set[str] = set()
        """The source roots (relative posix paths; "" is the root)."""
        for path in files:
            if path.name not in PROJECT_FILES:
                continue
            folder = path.parent.relative_to(root).as_posix()
            base = "" if folder == "." else folder
            self.projects.add(base)
            for declared in _declared_package_roots(path):
                cleaned = declared.strip().strip("/").removeprefix("./")
                if cleaned and cleaned != "." and ".." not in cleaned.split("/"):
                    self.folders.add(_join(base, cleaned))
        for base in self.projects:
            self.folders.add(base)
            if (root / base / "src").is_dir():
                self.folders.add(_join(base, "src"))

    def source_root(self, relative: str) -> str:
        """The nearest source root above a file (relative posix paths; "" is the root)."""
        return _nearest(self.folders, relative)

    def project_of(self, relative: str) -> str:
        """The nearest folder above a file that holds a project file ("" is the root)."""
        return _nearest(self.projects, relative)

    def module_name(self, relative: str) -> tuple[str, bool]:
        """The dotted module a file (relative posix path) is imported as, and whether it is
        a package `__init__`."""
        root = self.source_root(relative)
        inside = relative[len(root) + 1:] if root else relative
        parts = inside.split("/")
        is_package = parts[-1] == "__init__.py"
        parts = parts[:-1] if is_package else [*parts[:-1], parts[-1].removesuffix(".py")]
        # An `__init__.py` right in a source root: the folder is the package.
        return ".".join(parts) or (self.root / relative).parent.name, is_package


def _join(base: str, folder: str) -> str:
    return f"{base}/{folder}" if base else folder


def _nearest(folders: set[str], relative: str) -> str:
    folder = relative.rpartition("/")[0]
    while folder:
        if folder in folders:
            return folder
        folder = folder.rpartition("/")[0]
    return ""


def _declared_package_roots(path: Path) -> list[str]:
    """Folders that hold top-level packages, as declared in a pyproject.toml, setup.cfg or
    setup.py; a file that cannot be read declares nothing (settings report the root's own
    file)."""
    try:
        text = read_bytes(path).decode("utf-8", errors="replace")
    except ReadError:
        return []
    if path.name == "setup.cfg":
        return _setup_cfg_roots(text)
    if path.name == "setup.py":
        return _setup_py_roots(text)
    if "\\" not in text and not any(tool in text for tool in _PACKAGING_TOOLS):
        return []  # no key below can be spelt without a tool's name or an escape
    try:
        data = tomllib.loads(text) if path.name == "pyproject.toml" else {}
    except (tomllib.TOMLDecodeError, RecursionError):
        return []
    roots: list[str] = []
    package_dir = _table(data, "tool", "setuptools", "package-dir")
    if isinstance(package_dir.get(""), str):
        roots.append(package_dir[""])
    where = _table(data, "tool", "setuptools", "packages", "find").get("where", [])
    if isinstance(where, list):
        roots.extend(w for w in where if isinstance(w, str))
    packages = _table(data, "tool", "poetry").get("packages", [])
    for entry in packages if isinstance(packages, list) else []:
        if isinstance(entry, dict) and isinstance(entry.get("from"), str):
            roots.append(entry["from"])
    packages = _table(data, "tool", "hatch", "build", "targets", "wheel").get("packages", [])
    for package in packages if isinstance(packages, list) else []:
        if isinstance(package, str) and "/" in package.strip("/"):
            roots.append(package.strip("/").rpartition("/")[0])
    return roots


_PACKAGING_TOOLS = ("setuptools", "poetry", "hatch")
"""The `[tool.*]` tables that can declare package folders (parsing TOML is slow, most
pyproject.toml files of a monorepo declare none)."""


def _table(data: dict[str, Any], *keys: str) -> dict[str, Any]:
    """The table at `keys`, or an empty one where a key is missing or not a table."""
    for key in keys:
        value = data.get(key)
        if not isinstance(value, dict):
            return {}
        data = value
    return data


def _setup_cfg_roots(text: str) -> list[str]:
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(text)
    except configparser.Error:
        return []
    roots = []
    package_dir = parser.get("options", "package_dir", fallback="")
    for line in package_dir.splitlines():
        key, _, value = line.partition("=")
        if value and not key.strip():
            roots.append(value.strip())
    where = parser.get("options.packages.find", "where", fallback="").strip()
    if where:
        roots.append(where)
    return roots


def _setup_py_roots(text: str) -> list[str]:
    """What `setup(package_dir={'': 'lib'}, packages=find_packages('lib'))` declares, written
    out as literals (a setup.py computing them declares nothing the tool can read)."""
    if "package_dir" not in text and "where" not in text and "find_" not in text:
        return []
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return []
    roots: list[str] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(
            node.func, "id", "")
        for keyword in node.keywords:
            value = keyword.value
            if name == "setup" and keyword.arg == "package_dir" and isinstance(value, ast.Dict):
                roots.extend(v.value for k, v in zip(value.keys, value.values, strict=True)
                             if isinstance(k, ast.Constant) and k.value == ""
                             and isinstance(v, ast.Constant) and isinstance(v.value, str))
            elif (name in ("find_packages", "find_namespace_packages") and keyword.arg == "where"
                  and isinstance(value, ast.Constant) and isinstance(value.value, str)):
                roots.append(value.value)
        if (name in ("find_packages", "find_namespace_packages") and node.args
                and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            roots.append(node.args[0].value)
    return list(dict.fromkeys(root.strip("/") for root in roots if root.strip("/")))


_Specs = list[tuple[str, pathspec.GitIgnoreSpec]]
"""The .gitignore files in force: (their folder relative to the root, with "/" or "", spec)."""


class Discovery:
    """Walks the project once, honouring .gitignore files, default and configured excludes."""

    def __init__(self, root: Path, exclude: Iterable[str] = ()) -> None:
        self.root = root
        patterns = [*DEFAULT_EXCLUDES, *exclude]
        self.exclude = pathspec.GitIgnoreSpec.from_lines(patterns)
        self._by_name = all(map(_matches_by_name, patterns))
        """Whether the excludes match an entry by its own name alone: its folders, which
        they would match too, are walked, so no pattern matches them."""
        self.problems: dict[Path, str] = {}
        """What could not be walked, with the reason: unreadable folders and .gitignore files,
        symlink loops, names that are not UTF-8."""
        self._excluded_names: dict[str, bool] = {}
        """Whether the excludes match a bare file or folder name (names repeat a lot)."""
        self.linked_files: list[str] = []
        """The files walked that are symlinks (their paths as walked)."""
        self.linked_folders: dict[str, str] = {}
        """Symlinked folders to a folder the walk holds: link path -> the folder's path."""
        self._walked: dict[tuple[int, int], str] = {}
        self._links: list[tuple[str, frozenset[tuple[int, int]]]] = []

    def walk(self) -> Iterator[Path]:
        """Every file under the root that is not ignored, in sorted order: anything but a
        folder (a FIFO or device too, which reading refuses with its reason). Folders that
        cannot be walked end up in `problems`. A symlinked folder is not walked: one to a
        folder of the project is that folder under a second name (`linked_folders`), and one
        to a folder the walk leaves out (excluded, git-ignored, or outside the project) is
        left out too, as git leaves it."""
        # Relative paths are kept as strings: pathlib operations per file cost more than the
        # matching itself on a large tree.
        yield from self._walk(str(self.root), "", [], frozenset())
        for folder, ancestors in self._links:
            try:
                stat = os.stat(folder)
            except OSError as error:
                self.problems[Path(folder)] = f"unreadable folder: {error.strerror or error}"
                continue
            identity = (stat.st_dev, stat.st_ino)
            if identity in ancestors:
                self.problems[Path(folder)] = _loop(folder)
            elif identity in self._walked:
                self.linked_folders[folder] = self._walked[identity]

    def _ignore_specs(self, folder: str, relative: str, inherited: _Specs) -> _Specs:
        gitignore = os.path.join(folder, ".gitignore")
        if not os.path.isfile(gitignore):
            return inherited
        try:
            with open(gitignore, encoding="utf-8", errors="replace") as handle:
                lines = handle.read().splitlines()
        except OSError as error:
            # What it would leave out is read instead: say so rather than widen the run silently.
            self.problems[Path(gitignore)] = (
                f"unreadable: {error.strerror or error}; its patterns are not applied")
            return inherited
        try:
            spec = pathspec.GitIgnoreSpec.from_lines(lines)
        except Exception:  # pathspec raises its own error or re.error
            spec = pathspec.GitIgnoreSpec.from_lines(_usable_patterns(lines))
        return [*inherited, (relative, spec)]

    def _ignored(self, relative: str, name: str, is_dir: bool, specs: _Specs) -> bool:
        mark = "/" if is_dir else ""
        if self._by_name:
            # The default excludes are all names: one match per distinct name, not per path.
            named = self._excluded_names.get(name + mark)
            if named is None:
                named = self._excluded_names[name + mark] = self.exclude.match_file(name + mark)
        else:
            if self.exclude.match_file(relative + mark):
                return True
            named = self._excluded_names.get(name)
            if named is None:
                named = self._excluded_names[name] = self.exclude.match_file(name)
        if named:
            return True
        return any(spec.match_file(relative[len(base):] + mark) for base, spec in specs)

    def _walk(self, folder: str, relative: str, inherited: _Specs,
              ancestors: frozenset[tuple[int, int]]) -> Iterator[Path]:
        try:
            stat = os.stat(folder)
            identity = (stat.st_dev, stat.st_ino)
            if identity in self._walked:
                return  # a bind mount of a folder walked already
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as error:
            self.problems[Path(folder)] = f"unreadable folder: {error.strerror or error}"
            return
        self._walked[identity] = folder
        ancestors |= {identity}
        specs = self._ignore_specs(folder, relative, inherited)
        for entry in entries:
            try:
                is_dir = entry.is_dir()
            except OSError:  # e.g. a symlink loop: reading it reports why
                is_dir = False
            if self._ignored(relative + entry.name, entry.name, is_dir, specs):
                continue
            if not entry.name.isascii() and _undecodable(entry.name):
                # Reported under the name with its bytes escaped: every output is UTF-8 text.
                shown = os.fsencode(entry.name).decode("utf-8", "backslashreplace")
                self.problems[Path(folder, shown)] = "name is not valid UTF-8; not read"
                continue
            if is_dir:
                if os.path.exists(os.path.join(entry.path, "pyvenv.cfg")):  # a virtualenv
                    continue
                if entry.is_symlink():
                    self._links.append((entry.path, ancestors))
                else:
                    yield from self._walk(entry.path, f"{relative}{entry.name}/", specs,
                                          ancestors)
            else:  # FIFOs and devices too: reading refuses them with a reason
                if entry.is_symlink():
                    self.linked_files.append(entry.path)
                yield Path(entry.path)


def _loop(folder: str) -> str:
    return (f"symlink loop: links to {Path(folder).resolve()}, a folder that holds it; "
            "not followed")


def _matches_by_name(pattern: str) -> bool:
    """Whether a gitignore pattern matches a path exactly when it matches the path's last
    part or one of its folders: no slash but a final one, no negation, no escapes."""
    body = pattern[:-1] if pattern.endswith("/") else pattern
    return bool(body) and "/" not in body and not pattern.startswith("!") and "\\" not in pattern


def _usable_patterns(lines: list[str]) -> list[str]:
    """The .gitignore lines that are valid patterns: git skips the others, and so does this."""
    usable = []
    for line in lines:
        try:
            pathspec.GitIgnoreSpec.from_lines([line])
        except Exception:  # pathspec raises its own error or re.error
            continue
        usable.append(line)
    return usable


def _undecodable(name: str) -> bool:
    """Whether a name read from the file system holds bytes that are not UTF-8 (which Python
    keeps as lone surrogates)."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def linked_cache_folder(root: Path, folder: Path) -> Path | None:
    """The symlink on the way from the project root to its cache folder, if there is one: such
    a cache is not used, as it is never written through a link."""
    try:
        relative = Path(os.path.abspath(folder)).relative_to(root.absolute())
    except ValueError:
        return None
    step = root.absolute()
    for part in relative.parts:
        step = step / part
        if os.path.islink(step):
            return step
    return None


def is_python(path: Path) -> bool:
    return path.suffix == ".py"


def pin_files(root: Path, projects: Iterable[Path]) -> list[Path]:
    """The requirements files an app's target may come from (`Settings.target_for`): those of
    every project folder under the root and of the folders between it and the root, with the
    other `.txt` and `.in` files beside them, which they may include. (The root's, and the
    project files, are read with the settings.)"""
    folders: set[Path] = set()
    for project in projects:
        folder = project.parent
        while folder != root and folder.is_relative_to(root) and folder not in folders:
            folders.add(folder)
            folder = folder.parent
    found: list[Path] = []
    for folder in sorted(folders):
        with contextlib.suppress(OSError):
            found.extend(sorted(p for p in folder.iterdir()
                                if p.suffix in (".txt", ".in") and p.is_file()))
    return found


def is_deployment_file(path: Path) -> bool:
    name = path.name
    return (
        name.startswith(".env") or name.startswith(DEPLOYMENT_NAMES)
        or (path.suffix in DEPLOYMENT_SUFFIXES and not name.startswith("."))
    )


def why_not_an_output(path: Path, root: Path) -> str | None:
    """Why an output the run writes must not replace the existing file at `path` (None when
    it may): a Python source anywhere (the run may be about to read or edit it), a file of a
    repository's version control (`.git/HEAD`: the repository would be broken), or a file
    inside the project at `root` that discovery reads (`.gitignore`, `.env*`, Dockerfile,
    YAML, TOML such as pyproject.toml...). Any other file, an earlier run's output included,
    may be replaced."""
    if not path.is_file():
        return None
    real = path.resolve()
    if real.suffix in (".py", ".pyi", ".pyw"):
        return "it is Python source"
    if any(part in _VERSION_CONTROL for part in real.parts[:-1]) or real.name in (
            ".gitattributes", ".gitmodules"):
        return "it is version control's"
    if real.is_relative_to(root.resolve()) and (is_deployment_file(real)
                                                or real.name == ".gitignore"):
        return "the run reads this file of the project"
    return None


_VERSION_CONTROL = frozenset({".git", ".hg", ".svn"})
"""Folders of version-control data: no output replaces a file in them."""


class FoundFiles(NamedTuple):
    python: list[Path]
    selected: frozenset[str]
    """Relative paths of the Python files and unwalkable folders the command was given."""
    deployment: list[Path]
    problems: dict[Path, str]
    """Folders that could not be walked (unreadable, symlink loops), with the reason."""
    projects: list[Path]
    """The project files (pyproject.toml, setup.cfg, setup.py) among them."""
    content_digests: Mapping[str, bytes] | None = None
    """The sha256 of each readable file's content, by absolute path, when the walk's files were
    digested since (the stored report's check): the facts cache is then read without them."""
    aliases: Mapping[str, str] | None = None
    """Relative path of a symlink to another Python file of the project -> that file's: one
    file under a second module name, read (and edited) once, as the file it links to."""


def find_files(settings: Settings, paths: Iterable[Path]) -> FoundFiles:
    """All project Python files, the selected ones, deployment files, unwalkable folders and
    project files. A path given explicitly is read even where a .gitignore above it ignores
    it (as a file given to git add -f)."""
    root = settings.root
    wanted = [p.resolve() for p in paths] or [root]
    found: set[Path] = set()
    deployment: list[Path] = []
    discovery = Discovery(root, settings.exclude)
    for path in discovery.walk():
        if is_python(path):
            found.add(path)
        elif is_deployment_file(path):
            deployment.append(path)
    for given in wanted:
        if not given.is_relative_to(root):
            continue
        if given.is_file():
            if is_python(given):
                found.add(given)
        elif given != root and not any(p.is_relative_to(given) for p in found):
            found.update(p for p in Discovery(given, settings.exclude).walk() if is_python(p))
    aliases = _aliases(root, found, discovery.linked_files, discovery.linked_folders)
    python = sorted(found.difference(aliases)) if aliases else sorted(found)
    considered = [*python, *discovery.problems]
    if root in wanted:
        selected = frozenset(relative_path(p, root) for p in considered)
    else:
        selected = frozenset(relative_path(p, root) for p in (*considered, *aliases)
                             if any(p == w or p.is_relative_to(w) for w in wanted))
        # A link given is the file it links to.
        selected = selected.union(aliases[p] for p in aliases
                                  if relative_path(p, root) in selected)
        selected = selected.difference(relative_path(p, root) for p in aliases)
    projects = [p for p in (*deployment, *python) if p.name in PROJECT_FILES and (
        p.name != "setup.py" or _packages_a_project(p))]
    return FoundFiles(python, selected, deployment, discovery.problems, projects,
                      aliases={relative_path(p, root): real for p, real in aliases.items()})


def _packages_a_project(path: Path) -> bool:
    """Whether a `setup.py` is a project's (it calls setuptools' or distutils' `setup`), not
    a module of a package that happens to be named so (`shop/setup.py`): a project file
    makes its folder a source root."""
    try:
        data = read_bytes(path)
    except ReadError:
        return False
    return b"setup(" in data and _SETUP_IMPORT.search(data) is not None


_SETUP_IMPORT = re.compile(rb"^\s*(from|import)\s+(setuptools|distutils)\b", re.MULTILINE)
"""An import of setuptools or distutils as a statement (not a word in a docstring)."""


def _aliases(root: Path, found: set[Path], links: list[str],
             folders: Mapping[str, str]) -> dict[Path, str]:
    """The Python files that are symlinks to another one found (`state_alias.py ->
    state.py`), or found under a symlinked folder (`legacy -> pages`: `legacy/home.py` is
    `pages/home.py`), with the relative path of the file each is. Read as files of their
    own, one file would be reported, and edited, twice."""
    aliases: dict[Path, str] = {}
    for link in links:
        path = Path(link)
        if path in found:
            # `realpath`, unlike `resolve`, does not raise on a loop: such a link is left
            # in, for reading to refuse it with its reason.
            real = Path(os.path.realpath(link))
            if real != path and real in found:
                aliases[path] = relative_path(real, root)
    if folders:
        for path in list(found):
            text = str(path)
            for link, walked in folders.items():
                if text.startswith(walked + os.sep):
                    aliases[Path(link + text[len(walked):])] = aliases.get(
                        path, relative_path(path, root))
    return aliases


def relative_path(path: Path, root: Path) -> str:
    """`path.relative_to(root).as_posix()` (raising as it does), cut as text where it can be:
    a run computes it for every file, several times."""
    if os.sep == "/":
        prefix = str(root).rstrip("/") + "/"
        text = str(path)
        if text.startswith(prefix) and len(text) > len(prefix):
            return text[len(prefix):]
    return path.relative_to(root).as_posix()


def read_bytes(path: Path) -> bytes:
    """A regular file's bytes, refusing what no one would edit by hand (too large, unreadable)
    and anything else (a FIFO would block, a device read forever), without waiting on it."""
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused just below.
        handle = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise ReadError("symlink loop: not read") from error
        raise ReadError(f"unreadable: {error.strerror or error}") from error
    try:
        info = os.fstat(handle)
        if S_ISDIR(info.st_mode):
            raise ReadError("not a regular file (a folder); not read")
        if not S_ISREG(info.st_mode):
            raise ReadError("not a regular file (a FIFO, device or socket); not read")
        if info.st_size > MAX_FILE_BYTES:
            raise ReadError(_too_large(info.st_size))
        with open(handle, "rb", buffering=0, closefd=False) as stream:
            # One byte past its size tells whether it grew since fstat; if so, read on, bounded.
            data = stream.read(info.st_size + 1)
            if len(data) > info.st_size:
                data += stream.read(MAX_FILE_BYTES + 1 - len(data))
    except OSError as error:
        raise ReadError(f"unreadable: {error.strerror or error}") from error
    finally:
        os.close(handle)
    if len(data) > MAX_FILE_BYTES:
        raise ReadError(_too_large(len(data)))
    return data


def _too_large(size: int) -> str:
    return f"file too large ({size // 1024} KiB > {MAX_FILE_BYTES // 1024} KiB)"


def read_source(path: Path) -> Source:
    """Decode a Python file the way the interpreter would (BOM, coding cookie, utf-8)."""
    return decode_source(read_bytes(path))


def decode_source(data: bytes) -> Source:
    if b"\0" in data:
        raise ReadError("binary file (contains NUL bytes)")
    bom = data.startswith(codecs.BOM_UTF8)
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as error:
        if "unknown encoding" in str(error):
            raise ReadError(str(error)) from error
        if bom and str(error).startswith("encoding problem"):
            # tokenize names only utf-8 here; Python refuses to import such a file.
            raise ReadError("a UTF-8 byte order mark and a coding cookie for another "
                            "encoding: Python refuses the file") from error
        # Undecodable bytes in the first two lines: decoding below says where.
        encoding = "utf-8"
    body = data[len(codecs.BOM_UTF8):] if bom else data
    try:
        text = body.decode("utf-8" if encoding == "utf-8-sig" else encoding)
    except UnicodeDecodeError as error:
        line = body[: error.start].count(b"\n") + 1
        raise ReadError(
            f"undecodable bytes for {encoding} at line {line} (byte 0x{body[error.start]:02x})"
        ) from error
    except LookupError as error:
        raise ReadError(f"unknown encoding {encoding!r}") from error
    return Source(text, encoding, bom, _newline(text))


def _newline(text: str) -> str:
    index = text.find("\n")
    if index > 0 and text[index - 1] == "\r":
        return "\r\n"
    if index < 0 and "\r" in text:
        return "\r"
    return "\n"


def secret_mentions(root: Path, paths: Iterable[Path]) -> dict[str, bool]:
    """For each deployment file (path relative to `root`): whether it names `JWT_SECRET`
    outside a comment. Only the name is looked for; no value is read out or kept.
    Unreadable files name nothing."""
    found: dict[str, bool] = {}
    for path in paths:
        try:
            data = read_bytes(path)
        except ReadError:
            data = b""
        found[relative_path(path, root)] = names_secret(data.decode("utf-8", "replace"))
    return found
