"""Parts of the build script that need no app (the script runs by path in the app's
interpreter; here it is imported)."""

from __future__ import annotations

import sys

from dara_migrate.verify import build_script


def _caller_lines(*_: object) -> tuple[int, int]:
    return build_script._frame_lines(sys._getframe(1))


def test_a_call_over_several_lines_is_located_by_its_first_and_last_line() -> None:
    here = sys._getframe().f_lineno
    found = _caller_lines(
        "orders",
    )
    assert found == (here + 1, here + 3)
    assert _caller_lines() == (sys._getframe().f_lineno, sys._getframe().f_lineno)


def test_a_module_registering_many_definitions_reads_its_code_positions_once() -> None:
    build_script._positions.cache_clear()
    sites = [_caller_lines(number) for number in range(2000)]
    assert len(set(sites)) == 1
    assert build_script._positions.cache_info().misses == 1
