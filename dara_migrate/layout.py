"""How a project lays out its code: physical lines and the line length its linters enforce."""

from __future__ import annotations

import configparser
import re
from functools import lru_cache
from pathlib import Path

DEFAULT_LINE_LENGTH = 88
"""black's and ruff's default."""

_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")
_OTHER_SEPARATORS = ("\v", "\f", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029")
"""What str.splitlines splits on besides LF, CRLF and CR."""


def split_lines(text: str, keepends: bool = False) -> list[str]:
    """Physical lines as Python's tokenizer counts them: split on LF, CRLF and CR only
    (str.splitlines also splits on form feed, NEL, U+2028... which strings may hold)."""
    if not any(separator in text for separator in _OTHER_SEPARATORS):
        return text.splitlines(keepends)
    lines = _LINE.findall(text)
    return lines if keepends else [line.rstrip("\r\n") for line in lines]


def _toml_length(path: Path) -> int | None:
    from dara_migrate.settings import SettingsError, read_pyproject

    try:
        data = read_pyproject(path)
    except SettingsError:
        return None
    ruff = data if path.name in ("ruff.toml", ".ruff.toml") else data.get("tool", {}).get("ruff")
    black = data.get("tool", {}).get("black")
    for table in (ruff, black):
        value = table.get("line-length") if isinstance(table, dict) else None
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return None


def _ini_length(path: Path) -> int | None:
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read(path, encoding="utf-8")
    except (configparser.Error, UnicodeDecodeError, OSError):
        return None
    for section in ("flake8", "pycodestyle"):
        for key in ("max-line-length", "max_line_length"):
            value = parser.get(section, key, fallback="").strip()
            if value.isdigit() and int(value) > 0:
                return int(value)
    return None


@lru_cache(maxsize=256)
def line_length(folder: Path) -> int:
    """The line length the project around `folder` enforces: the nearest ruff.toml /
    pyproject.toml `[tool.ruff]` or `[tool.black]` `line-length`, setup.cfg / tox.ini /
    .flake8 `max-line-length`, else 88."""
    readers = ((("ruff.toml", ".ruff.toml", "pyproject.toml"), _toml_length),
               (("setup.cfg", "tox.ini", ".flake8"), _ini_length))
    for names, read in readers:
        for name in names:
            candidate = folder / name
            found = read(candidate) if candidate.is_file() else None
            if found is not None:
                return found
    # Through the cache: the folders of a project share their parents.
    return DEFAULT_LINE_LENGTH if folder.parent == folder else line_length(folder.parent)
