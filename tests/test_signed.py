"""Signed entries with a tail: the value is checked without reading the tail, and any change
to either part (or to the context) makes the entry unreadable, never wrong."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dara_migrate import signed
from dara_migrate.signed import read_signed_head, read_signed_tail, write_signed_with_tail
from tests.helpers import examples

VALUE = {"files": [("app/main.py", (1, 2, 3, 4), b"\x01" * 32)], "code": 1}
TAIL = '{"findings": []}\n\udcff'.encode("utf-8", "surrogatepass")


@pytest.fixture(autouse=True)
def private_user_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "user-cache"))
    signed._secret.cache_clear()


def test_the_value_and_then_the_tail_read_back(tmp_path: Path) -> None:
    path = tmp_path / "entry"
    assert write_signed_with_tail(path, VALUE, TAIL, b"context")
    head = read_signed_head(path, b"context")
    assert head is not None and head.value == VALUE
    assert read_signed_tail(path, head) == TAIL
    assert read_signed_head(path, b"other context") is None


def test_a_tail_replaced_after_the_head_was_read_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "entry"
    write_signed_with_tail(path, VALUE, TAIL)
    head = read_signed_head(path)
    assert head is not None
    write_signed_with_tail(path, VALUE, TAIL + b"more")  # a concurrent run's entry
    assert read_signed_tail(path, head) is None
    path.unlink()
    assert read_signed_tail(path, head) is None


@settings(max_examples=examples(100), deadline=None)
@given(position=st.integers(min_value=0), flip=st.integers(min_value=1, max_value=255),
       cut=st.booleans())
def test_any_changed_or_missing_byte_makes_the_entry_unreadable(
        tmp_path_factory: pytest.TempPathFactory, position: int, flip: int, cut: bool) -> None:
    path = tmp_path_factory.mktemp("signed") / "entry"
    write_signed_with_tail(path, VALUE, TAIL)
    data = path.read_bytes()
    position %= len(data)
    path.write_bytes(data[:position] if cut else
                     data[:position] + bytes([data[position] ^ flip]) + data[position + 1:])
    head = read_signed_head(path)
    assert head is None or read_signed_tail(path, head) is None


def test_a_forged_length_or_a_planted_pickle_is_never_loaded(tmp_path: Path) -> None:
    path = tmp_path / "entry"
    write_signed_with_tail(path, VALUE, TAIL)
    data = path.read_bytes()
    path.write_bytes(data[:32] + (2**63).to_bytes(8, "big") + data[40:])
    assert read_signed_head(path) is None
    marker = tmp_path / "pwned"
    payload = pickle.dumps(_Exploit(marker))
    path.write_bytes(bytes(32) + len(payload).to_bytes(8, "big") + bytes(32) + payload)
    assert read_signed_head(path) is None
    assert not marker.exists()


class _Exploit:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str, ...]]:
        return os.system, (f"touch {self.marker}",)
