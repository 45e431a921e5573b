"""Finding the project's files and reading them without ever losing a byte of meaning."""

from __future__ import annotations

import codecs
import configparser
import errno
import io
import os
import sys
import tokenize
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from stat import S_ISREG

import pathspec

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

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
    """Folders that hold top-level packages, as declared in a pyproject.toml or setup.cfg;
    a file that cannot be read declares nothing (settings report the root's own file)."""
    try:
        text = read_bytes(path).decode("utf-8", errors="replace")
    except ReadError:
        return []
    if path.name == "setup.cfg":
        return _setup_cfg_roots(text)
    try:
        data = tomllib.loads(text) if path.name == "pyproject.toml" else {}
    except (tomllib.TOMLDecodeError, RecursionError):
        return []
    tool = data.get("tool", {}) if isinstance(data.get("tool"), dict) else {}
    roots: list[str] = []
    setuptools = tool.get("setuptools", {})
    if isinstance(setuptools, dict):
        package_dir = setuptools.get("package-dir", {})
        if isinstance(package_dir, dict) and isinstance(package_dir.get(""), str):
            roots.append(package_dir[""])
        packages = setuptools.get("packages", {})
        find = packages.get("find", {}) if isinstance(packages, dict) else {}
        where = find.get("where", []) if isinstance(find, dict) else []
        roots.extend(w for w in where if isinstance(w, str))
    poetry = tool.get("poetry", {})
    for entry in poetry.get("packages", []) if isinstance(poetry, dict) else []:
        if isinstance(entry, dict) and isinstance(entry.get("from"), str):
            roots.append(entry["from"])
    hatch = tool.get("hatch", {})
    wheel = hatch.get("build", {}).get("targets", {}).get("wheel", {}) if isinstance(
        hatch, dict) else {}
    for package in wheel.get("packages", []) if isinstance(wheel, dict) else []:
        if isinstance(package, str) and "/" in package.strip("/"):
            roots.append(package.strip("/").rpartition("/")[0])
    return roots


def _setup_cfg_roots(text: str) -> list[str]:
    parser = configparser.ConfigParser()
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


def _is_virtualenv(folder: Path) -> bool:
    return (folder / "pyvenv.cfg").exists()


class Discovery:
    """Walks the project once, honouring .gitignore files, default and configured excludes."""

    def __init__(self, root: Path, exclude: Iterable[str] = ()) -> None:
        self.root = root
        self.exclude = pathspec.GitIgnoreSpec.from_lines([*DEFAULT_EXCLUDES, *exclude])
        self.problems: dict[Path, str] = {}
        """Folders not walked, with the reason: unreadable, or a symlink loop."""

    def walk(self) -> Iterator[Path]:
        """Every file under the root that is not ignored, in sorted order: anything but a
        folder (a FIFO or device too, which reading refuses with its reason). Folders that
        cannot be walked end up in `problems`; a folder reached twice through symlinks (not a
        loop) is walked once."""
        yield from self._walk(self.root, [], set(), frozenset())

    def _ignore_specs(self, folder: Path, inherited: list[tuple[Path, pathspec.GitIgnoreSpec]]
                      ) -> list[tuple[Path, pathspec.GitIgnoreSpec]]:
        gitignore = folder / ".gitignore"
        if not gitignore.is_file():
            return inherited
        try:
            lines = gitignore.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            return inherited
        return [*inherited, (folder, pathspec.GitIgnoreSpec.from_lines(lines))]

    def ignored(self, path: Path, is_dir: bool,
                specs: list[tuple[Path, pathspec.GitIgnoreSpec]]) -> bool:
        relative = path.relative_to(self.root).as_posix() + ("/" if is_dir else "")
        if self.exclude.match_file(relative) or self.exclude.match_file(path.name):
            return True
        for base, spec in specs:
            local = path.relative_to(base).as_posix() + ("/" if is_dir else "")
            if spec.match_file(local):
                return True
        return False

    def _walk(self, folder: Path, inherited: list[tuple[Path, pathspec.GitIgnoreSpec]],
              seen: set[tuple[int, int]], ancestors: frozenset[tuple[int, int]]
              ) -> Iterator[Path]:
        try:
            stat = folder.stat()
            identity = (stat.st_dev, stat.st_ino)
            if identity in ancestors:
                self.problems[folder] = (
                    f"symlink loop: links to {folder.resolve()}, a folder that holds it; "
                    "not followed")
                return
            if identity in seen:
                return
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as error:
            self.problems[folder] = f"unreadable folder: {error.strerror or error}"
            return
        seen.add(identity)
        ancestors |= {identity}
        specs = self._ignore_specs(folder, inherited)
        for entry in entries:
            path = Path(entry.path)
            try:
                is_dir = entry.is_dir()
            except OSError:  # e.g. a symlink loop: reading it reports why
                is_dir = False
            if self.ignored(path, is_dir, specs):
                continue
            if is_dir:
                if not _is_virtualenv(path):
                    yield from self._walk(path, specs, seen, ancestors)
            else:  # FIFOs and devices too: reading refuses them with a reason
                yield path


def is_python(path: Path) -> bool:
    return path.suffix == ".py"


def is_deployment_file(path: Path) -> bool:
    name = path.name
    return (
        name.startswith(".env") or name.startswith(DEPLOYMENT_NAMES)
        or (path.suffix in DEPLOYMENT_SUFFIXES and not name.startswith("."))
    )


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
    with os.fdopen(handle, "rb", buffering=0) as stream:
        try:
            info = os.fstat(handle)
            if not S_ISREG(info.st_mode):
                raise ReadError("not a regular file (a FIFO, device or socket); not read")
            if info.st_size > MAX_FILE_BYTES:
                raise ReadError(_too_large(info.st_size))
            # One byte past its size tells whether it grew since fstat; if so, read on, bounded.
            data = stream.read(info.st_size + 1)
            if len(data) > info.st_size:
                data += stream.read(MAX_FILE_BYTES + 1 - len(data))
        except OSError as error:
            raise ReadError(f"unreadable: {error.strerror or error}") from error
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
