"""Compiles the modules a cold audit spends its time in with mypyc, where a C compiler is found.

Everything else is in pyproject.toml. The compiled modules are the same sources: where the build
cannot compile them (no compiler, or `DARA_MIGRATE_COMPILE=0`), they stay pure Python and behave
the same, only slower.
"""

from __future__ import annotations

import os
import sys
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

COMPILED = [
    "dara_migrate/facts.py",
    "dara_migrate/layout.py",
    "dara_migrate/loop_keys.py",
    "dara_migrate/index/bindings.py",
    "dara_migrate/index/definitions.py",
    "dara_migrate/index/mappings.py",
    "dara_migrate/index/project.py",
    "dara_migrate/index/queries.py",
    "dara_migrate/index/unrolled.py",
]
"""Reading files (facts) and the project index: the analysis's pure-Python bulk, which imports
only the standard library. Rules and commands stay Python: they cost a fraction as much."""

GROUP = "dara_migrate"
"""The name of the library the compiled modules share (`dara_migrate__mypyc`)."""


IN_PLACE = bool({"editable_wheel", "--inplace", "-i"} & set(sys.argv))
"""Whether this build puts the compiled modules in the source folder (an editable install,
`build_ext --inplace`), where they replace earlier ones. A wheel built from the folder (`pip
install .`) leaves the folder's own alone."""


def _remove_earlier_builds() -> None:
    """Python imports a compiled module before its source, so an editable install's earlier
    build must not outlive an edit to the source, a module no longer compiled, nor a build that
    fails or is turned off. The package has no other native code."""
    for suffix in EXTENSION_SUFFIXES:
        for built in (*Path("dara_migrate").rglob(f"*{suffix}"), Path(f"{GROUP}__mypyc{suffix}")):
            built.unlink(missing_ok=True)


def _extensions() -> list[Extension]:
    if IN_PLACE:
        _remove_earlier_builds()
    if os.environ.get("DARA_MIGRATE_COMPILE", "1") == "0":
        return []
    from mypyc.build import mypycify

    # The modules import only the standard library and one another; the type check follows
    # other imports (libcst, pathspec), which the build environment does not install.
    try:
        extensions = mypycify(["--follow-imports=silent", *COMPILED], opt_level="3",
                              group_name=GROUP)
    except SystemExit:  # its type check failed (printed above): install the sources as they are
        return []
    for extension in extensions:
        extension.optional = True  # no compiler: the build goes on, pure Python
    return extensions


class _AllOrNone(build_ext):
    """The compiled modules share one library (`dara_migrate__mypyc`) and each needs it: where
    one part fails to build (say, a compiler killed for memory on the large shared file), no
    part is kept, so that the sources are used rather than a module that cannot import."""

    def run(self) -> None:
        super().run()
        built = [Path(self.get_ext_fullpath(extension.name)) for extension in self.extensions]
        if not all(path.exists() for path in built):
            for path in built:
                path.unlink(missing_ok=True)
            if IN_PLACE:
                _remove_earlier_builds()


setup(ext_modules=_extensions(), cmdclass={"build_ext": _AllOrNone})
