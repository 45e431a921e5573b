"""`[tool.dara-migrate]` from the project root's pyproject.toml and from the nested projects
under it, merged with flags into one Settings."""

from __future__ import annotations

import functools
import re
import sys
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import pathspec

from dara_migrate.files import ReadError, read_bytes
from dara_migrate.target import (
    AUTO,
    CHOICES_TEXT,
    LATEST,
    PROFILES,
    TARGET_CHOICES,
    Target,
    TargetChoice,
    as_target,
    profile_of_pin,
    profile_of_version,
)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

Mode = Literal["warn", "enforce"]

CONFIG_KEYS = (
    "target", "mode", "select", "ignore", "exclude", "extend-exclude", "per-file-ignores",
    "jobs", "cache-dir", "apps", "library-components",
)
_REQUIREMENT_RE = re.compile(
    r"^[ \t]*dara[-_]core(?![\w.-])[ \t]*(?:\[[^\]\r\n]*\][ \t]*)?(?P<spec>[^;#\r\n]*)",
    re.IGNORECASE | re.MULTILINE)
"""A `dara-core` requirement (extras left out) and its version spec, on one line: not
`dara-core-extras`, nor the next line's requirement."""
_INCLUDE_RE = re.compile(
    r"^[ \t]*(?:-r|--requirement|-c|--constraint)(?:[ \t]+|[ \t]*=[ \t]*)(?P<file>[^#\r\n]+)",
    re.MULTILINE)
"""A line of a requirements file that includes another (`-r base.txt`)."""


class SettingsError(Exception):
    """A configuration problem; the message names the file and the key."""


@dataclass(frozen=True)
class Settings:
    root: Path
    target: Target = LATEST
    target_reason: str = f"no dara-core pin found; defaulting to {LATEST}"
    target_choice: TargetChoice = AUTO
    mode: Mode = "enforce"
    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    per_file_ignores: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    jobs: int = 0
    cache_dir: Path | None = None
    use_cache: bool = True
    apps: tuple[str, ...] = ()
    library_components: tuple[str, ...] = ()
    show_info: bool = False
    flags: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)
    """The command-line overrides these settings were loaded with (nested tables take them
    too); what they set is in the other fields already."""
    nested: Mapping[str, Settings] = field(default_factory=dict)
    """Folder (relative POSIX path) -> the settings of the `[tool.dara-migrate]` table of its
    pyproject.toml, for the projects nested under the root that have one."""
    _governing: dict[str, Settings] = field(default_factory=dict, repr=False, compare=False)
    _pins: dict[Path, tuple[Target, str] | None] = field(
        default_factory=dict, repr=False, compare=False)

    def governing(self, path: str) -> Settings:
        """The settings of the closest `[tool.dara-migrate]` table above a file (a path
        relative to the root): a nested project's, else these."""
        if not self.nested:
            return self
        folder = path.rpartition("/")[0]
        found = self._governing.get(folder)
        if found is None:
            found = self._governing[folder] = self._closest_table(folder)
        return found

    def _closest_table(self, folder: str) -> Settings:
        while folder:
            if folder in self.nested:
                return self.nested[folder]
            folder = folder.rpartition("/")[0]
        return self

    def relative_to_table(self, path: str) -> str:
        """A root-relative path as seen from the folder of the table that governs it: what
        that table's `per-file-ignores` globs are matched against."""
        if not self.nested:
            return path
        prefix = self.governing(path).root.relative_to(self.root).as_posix()
        return path if prefix == "." else path[len(prefix) + 1:]

    def all_library_components(self) -> tuple[str, ...]:
        """`library-components` of the root's table and of every nested one."""
        names = dict.fromkeys(self.library_components)
        for settings in self.nested.values():
            names.update(dict.fromkeys(settings.library_components))
        return tuple(names)

    def with_nested_tables(self, project_files: Iterable[Path],
                           selected: Collection[str] = ()) -> Settings:
        """These settings with the `[tool.dara-migrate]` tables of the pyproject.toml files
        of nested projects (among `project_files`), each loaded with the same flags. The run
        itself (`mode`, `jobs`, `cache-dir`, the cache) follows the root's table only. A
        table that cannot be loaded stops the run only when it governs a `selected` file
        (relative paths; none given: every file): a project beside the ones asked for is
        read for its code, not audited."""
        nested: dict[str, Settings] = {}
        for path in project_files:
            folder = path.parent
            if path.name != "pyproject.toml" or folder == self.root or not (
                    folder.is_relative_to(self.root)):
                continue
            try:
                mentioned = b"dara-migrate" in read_bytes(path)
            except ReadError:
                continue
            if not mentioned:
                continue
            where = folder.relative_to(self.root).as_posix()
            try:
                data = read_pyproject(path)
                if "dara-migrate" not in data.get("tool", {}):
                    continue
                loaded = load_settings(folder, self.flags, data, f"{where}/pyproject.toml")
            except SettingsError:
                if not selected or any(p.startswith(f"{where}/") for p in selected):
                    raise
                continue
            if self.flags.get("target") is not None:
                # A profile chosen for the run wins over the table, for the run's reason.
                loaded = replace(loaded, target_reason=self.target_reason)
            nested[where] = replace(
                loaded, mode=self.mode, jobs=self.jobs, cache_dir=self.cache_dir,
                use_cache=self.use_cache, show_info=self.show_info)
        if not nested and not self.nested:
            return self
        return replace(self, nested=nested, _governing={})

    def target_for(self, project: Path,
                   read: Callable[[Path], dict[str, Any]] | None = None) -> tuple[Target, str]:
        """The profile for an app of the project in `project` (a folder under the root):
        with `auto`, the first dara-core pin found from that folder up to the root; the
        root's own answer where none of the folders in between pins one. `read` reads a
        pyproject.toml (`read_pyproject`, or a caller's cache of it)."""
        if self.target_choice != AUTO:
            return self.target, self.target_reason
        folder = project
        while folder != self.root and folder.is_relative_to(self.root):
            # Apps share their ancestors: each folder is read (pyproject, requirements) once.
            if folder not in self._pins:
                pyproject = folder / "pyproject.toml"
                data = (read or read_pyproject)(pyproject) if pyproject.is_file() else {}
                where = folder.relative_to(self.root).as_posix()
                self._pins[folder] = _pinned(_declared_specs(folder, data), f"{where}/")
            found = self._pins[folder]
            if found is not None:
                return found
            folder = folder.parent
        return self.target, self.target_reason

    def fact_key(self) -> str:
        """The settings that change per-file facts (part of the cache key)."""
        return "facts-v1"


def _strings(value: Any, key: str, source: Path) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise SettingsError(f"{source}: [tool.dara-migrate] {key} must be a list of strings")


def read_pyproject(path: Path) -> dict[str, Any]:
    """The parsed file, its tables checked to have the shapes this tool reads."""
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except OSError as error:
        raise SettingsError(f"{path}: cannot read pyproject.toml: {error.strerror or error}"
                            ) from error
    except UnicodeDecodeError as error:
        raise SettingsError(f"{path}: cannot read pyproject.toml: not valid UTF-8 "
                            f"(byte 0x{error.object[error.start]:02x} at offset {error.start})"
                            ) from error
    except RecursionError as error:
        raise SettingsError(f"{path}: cannot read pyproject.toml: nested too deeply") from error
    except tomllib.TOMLDecodeError as error:
        raise SettingsError(f"{path}: cannot read pyproject.toml: {error}") from error
    _check_shape(path, data)
    return data


_TABLES = (("tool",), ("tool", "dara-migrate"), ("project",), ("tool", "poetry"),
           ("tool", "poetry", "dependencies"))


def _check_shape(path: Path, data: dict[str, Any]) -> None:
    for keys in _TABLES:
        value: Any = data
        for key in keys:
            value = value.get(key, {}) if isinstance(value, dict) else {}
        if not isinstance(value, dict):
            raise SettingsError(f"{path}: [{'.'.join(keys)}] must be a table, "
                                f"not {_toml_type(value)}")
    dependencies = data.get("project", {}).get("dependencies", [])
    if not (isinstance(dependencies, list) and all(isinstance(d, str) for d in dependencies)):
        raise SettingsError(f"{path}: [project] dependencies must be a list of strings")


def _toml_type(value: object) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, list):
        return "an array"
    return {str: "a string", int: "an integer", float: "a float"}.get(type(value), "a value")


def _check_excludes(patterns: Sequence[str], where: str) -> None:
    for pattern in patterns:
        try:
            pathspec.GitIgnoreSpec.from_lines([pattern])
        except Exception as error:  # pathspec raises its own error or re.error
            raise SettingsError(f"{where}: invalid pattern {pattern!r}: {error}") from error


def _glob_problem(pattern: str) -> str | None:
    """Why a `per-file-ignores` glob (`fnmatch` over root-relative POSIX paths) is a mistake:
    `fnmatch` accepts any text, so a broken pattern would silently match nothing."""
    if not pattern.strip():
        return "it is empty"
    if pattern.startswith(("/", "./")) or ".." in pattern.split("/"):
        return "patterns match paths relative to the project root, like 'tests/*'"
    at, length = 0, len(pattern)
    while at < length:
        char = pattern[at]
        at += 1
        close = pattern.find("}", at)
        if char == "{" and close > 0 and "," in pattern[at:close]:
            return "'{a,b}' alternatives are not glob syntax here: give each pattern its own key"
        if char != "[":
            continue
        # The character class as fnmatch reads it: `[!...]`, and `]` first is a member.
        end = at + 1 if pattern[at:at + 1] == "!" else at
        end = pattern.find("]", end + 1 if pattern[end:end + 1] == "]" else end)
        if end < 0:
            return "'[' opens a character class that is never closed (write '[[]' for '[')"
        members = pattern[at:end].removeprefix("!")
        for start in range(1, len(members) - 1):
            if members[start] == "-" and members[start - 1] > members[start + 1]:
                return f"'{members[start - 1:start + 2]}' is an empty character range"
        at = end + 1
    return None


def _cache_dir(root: Path, value: Any, source: Path) -> Path:
    if not isinstance(value, str) or not value.strip() or "\0" in value:
        raise SettingsError(f"{source}: [tool.dara-migrate] cache-dir must be a folder name")
    folder = Path(value)
    inside = not folder.is_absolute() and ".." not in folder.parts and folder.parts and (
        folder.parts != (".",))
    if not inside:
        raise SettingsError(f"{source}: [tool.dara-migrate] cache-dir must be a folder inside "
                            f"the project, not {value!r}")
    return root / folder


def load_settings(root: Path, overrides: Mapping[str, Any],
                  data: dict[str, Any] | None = None,
                  shown_as: str = "pyproject.toml") -> Settings:
    """Settings from `root/pyproject.toml` (`data`: that file, already read; `shown_as`: its
    path as the target's reason names it), then flags (`overrides`, already typed) on top.
    Nested projects' tables are added per run, once their files are found
    (`Settings.with_nested_tables`)."""
    pyproject = root / "pyproject.toml"
    if data is None:
        data = read_pyproject(pyproject) if pyproject.is_file() else {}
    table = data.get("tool", {}).get("dara-migrate", {})
    unknown = sorted(set(table) - set(CONFIG_KEYS))
    if unknown:
        raise SettingsError(
            f"{pyproject}: unknown key {unknown[0]!r} in [tool.dara-migrate]; "
            f"allowed: {', '.join(CONFIG_KEYS)}"
        )
    values: dict[str, Any] = {}
    for key in ("select", "ignore", "apps", "library-components"):
        if key in table:
            values[key.replace("-", "_")] = _strings(table[key], key, pyproject)
    for key in ("select", "ignore"):
        check_rule_codes(values.get(key, ()), f"{pyproject}: [tool.dara-migrate] {key}")
    exclude: tuple[str, ...] = ()
    for key in ("exclude", "extend-exclude"):
        patterns = _strings(table.get(key, []), key, pyproject)
        _check_excludes(patterns, f"{pyproject}: [tool.dara-migrate] {key}")
        exclude += patterns
    values["exclude"] = exclude
    if "per-file-ignores" in table:
        raw = table["per-file-ignores"]
        if not isinstance(raw, dict):
            raise SettingsError(
                f"{pyproject}: [tool.dara-migrate] per-file-ignores must be a table")
        for pattern in raw:
            problem = _glob_problem(pattern)
            if problem:
                raise SettingsError(f"{pyproject}: [tool.dara-migrate] per-file-ignores: "
                                    f"invalid pattern {pattern!r}: {problem}")
        values["per_file_ignores"] = {
            k: check_rule_codes(_strings(v, f"per-file-ignores.{k}", pyproject),
                                f"{pyproject}: [tool.dara-migrate] per-file-ignores.{k}")
            for k, v in raw.items()
        }
    if "mode" in table:
        if table["mode"] not in ("warn", "enforce"):
            raise SettingsError(
                f"{pyproject}: [tool.dara-migrate] mode must be 'warn' or 'enforce'")
        values["mode"] = table["mode"]
    if "jobs" in table:
        jobs = table["jobs"]
        if not isinstance(jobs, int) or isinstance(jobs, bool) or jobs < 0:
            raise SettingsError(f"{pyproject}: [tool.dara-migrate] jobs must be a whole number")
        values["jobs"] = jobs
    if "cache-dir" in table:
        values["cache_dir"] = _cache_dir(root, table["cache-dir"], pyproject)
    target_choice = table.get("target", AUTO)
    if target_choice not in TARGET_CHOICES:
        raise SettingsError(f"{pyproject}: [tool.dara-migrate] target must be {CHOICES_TEXT}")
    chosen_by = f"target = {target_choice!r} in {shown_as}"
    for key, value in overrides.items():
        if value is None or value == ():
            continue
        if key == "target":
            target_choice, chosen_by = value, f"--target {value}"
        elif key == "exclude":
            _check_excludes(value, "--exclude")
            values["exclude"] = (*values.get("exclude", ()), *value)
        else:
            values[key] = value
    settings = replace(Settings(root=root, flags=dict(overrides)), **values)
    target, reason = resolve_target(target_choice, root, data, chosen_by,
                                    shown_as.removesuffix("pyproject.toml"))
    return replace(settings, target=target, target_reason=reason, target_choice=target_choice)


def resolve_target(choice: str, root: Path, pyproject: Mapping[str, Any],
                   chosen_by: str, folder: str = "") -> tuple[Target, str]:
    """CONTRACT.md's `auto`: 1.x when the project pins or runs dara-core < 2, else v2. A
    profile named outright is taken as it is, for the reason `chosen_by` (a flag or a table).
    `folder`: the project's folder as reasons show it (`apps/billing/`)."""
    if choice in PROFILES:
        # A profile the project's own pin does not run is said: with `v2` on a 1.x pin, the
        # migrated app imports what its dara-core does not have.
        pinned = _pinned(_declared_specs(root, pyproject), folder)
        if pinned is not None and pinned[0] != as_target(choice):
            return as_target(choice), f"{chosen_by}, while {pinned[1]} asks for {pinned[0]}"
        return as_target(choice), chosen_by
    pinned = _pinned(_declared_specs(root, pyproject))
    if pinned is not None:
        return pinned
    installed = _installed_dara_core()
    if installed is None:
        return LATEST, "no dara-core pin found and none installed"
    return (profile_of_version(installed),
            f"dara-core {installed} installed in the active environment")


@functools.cache
def _installed_dara_core() -> str | None:
    """The dara-core version installed here, if any: looked up once a run, as a command
    resolves its settings more than once (the stored report's check, then the audit)."""
    from importlib import metadata  # slow to import; only needed when nothing pins Dara

    try:
        return metadata.version("dara-core")
    except metadata.PackageNotFoundError:
        return None


def _pinned(specs: list[tuple[str, str]], folder: str = "") -> tuple[Target, str] | None:
    """The profile the first versioned dara-core requirement asks for, and why."""
    for spec, where in specs:
        found = profile_of_pin(spec)
        if found is not None:
            return found[0], f"dara-core{spec} in {folder}{where}{found[1]}"
    return None


def _declared_specs(root: Path, pyproject: Mapping[str, Any]) -> list[tuple[str, str]]:
    specs: list[tuple[str, str]] = []
    project = pyproject.get("project", {})
    for dependency in project.get("dependencies", []) or []:
        match = _REQUIREMENT_RE.match(str(dependency))
        if match:
            specs.append((match["spec"].strip().replace(" ", ""), "pyproject.toml"))
    poetry = pyproject.get("tool", {}).get("poetry", {}).get("dependencies", {})
    for name, spec in poetry.items():
        if name.replace("_", "-").lower() == "dara-core":
            # A string, a table, or a list of tables (one per Python or platform marker).
            first = spec[0] if isinstance(spec, list) and spec else spec
            version = first.get("version", "") if isinstance(first, dict) else first
            if not isinstance(version, str):
                raise SettingsError(f"{root / 'pyproject.toml'}: [tool.poetry.dependencies] "
                                    "dara-core must be a version string or a table with one")
            specs.append((_poetry_spec(version), "pyproject.toml"))
    read: set[Path] = set()
    for requirements in sorted(root.glob("requirements*.txt")):
        specs.extend(_requirement_specs(root, requirements, read))
    return specs


def _requirement_specs(root: Path, requirements: Path, read: set[Path]
                       ) -> list[tuple[str, str]]:
    """The dara-core specs of a requirements file and of the files it includes
    (`-r base.txt`, `--requirement=...`, `-c constraints.txt`), each read once, inside the
    project only."""
    try:
        resolved = requirements.resolve()
        if resolved in read or not resolved.is_relative_to(root.resolve()):
            return []
        read.add(resolved)
        text = read_bytes(requirements).decode("utf-8", errors="replace")
    except (OSError, ReadError):
        return []
    where = requirements.relative_to(root).as_posix() if requirements.is_relative_to(
        root) else requirements.name
    specs = [(match["spec"].strip().replace(" ", ""), where)
             for match in _REQUIREMENT_RE.finditer(text)]
    for match in _INCLUDE_RE.finditer(text):
        specs.extend(_requirement_specs(root, requirements.parent / match["file"].strip(),
                                        read))
    return specs


def _poetry_spec(version: str) -> str:
    version = version.strip()
    if version.startswith("^") and version[1:2].isdigit():
        return f">={version[1:]},<{int(version[1:].split('.')[0]) + 1}"
    if version[:1].isdigit():
        return f"=={version}"
    return version


def parse_rule_list(values: Sequence[str], option: str) -> tuple[str, ...]:
    """`--select DM1,DM201 --select DM4` -> ('DM1', 'DM201', 'DM4'); SettingsError naming
    `option` for a code that selects no rule."""
    return check_rule_codes(tuple(part.strip() for value in values
                                  for part in value.split(",") if part.strip()), option)


def check_rule_codes(codes: Sequence[str], where: str) -> tuple[str, ...]:
    """The codes, each a rule code or a prefix of one (DM1, DM201), exactly as written; an
    unknown or lower-case one is a SettingsError naming `where` and the known prefixes."""
    if not codes:
        return ()
    # Imported only when there are codes to check: loading every rule is a visible share of
    # a small run's start.
    from dara_migrate.rules import BY_CODE

    for code in codes:
        if code.startswith("DM") and any(known.startswith(code) for known in BY_CODE):
            continue
        prefixes = ", ".join(sorted({known[:3] for known in BY_CODE}))
        upper = code.upper()
        hint = (f" (codes are upper-case: {upper})"
                if upper != code and any(known.startswith(upper) for known in BY_CODE) else "")
        raise SettingsError(f"{where}: unknown rule code {code!r}{hint}; "
                            f"known prefixes: {prefixes}")
    return tuple(codes)
