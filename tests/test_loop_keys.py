"""The loop-key test the audit (through facts) and `apply` (on the source) share."""

from __future__ import annotations

import ast
import re

from hypothesis import given
from hypothesis import strategies as st

from dara_migrate.loop_keys import distinct_keys, loop_key

_ONE_KEY = re.compile(r"[A-Za-z0-9_.:-]+")

keys = st.lists(st.one_of(
    st.integers(0, 50),  # `-1` is written as an operation on a constant: no key
    st.text(alphabet=st.sampled_from("ab:-._ \n\u00e9{"), max_size=4),
), max_size=5)


def _expected(values: list[str | int]) -> bool:
    texts = [str(value) for value in values]
    return bool(texts) and len(set(texts)) == len(texts) and all(
        _ONE_KEY.fullmatch(text) for text in texts)


@given(keys)
def test_a_literal_has_keys_when_each_is_distinct_and_fits_a_uid(values: list[str | int]
                                                                  ) -> None:
    literal = ast.parse(repr(values), mode="eval").body
    assert distinct_keys(literal, dict_only=False) is _expected(values)
    assert distinct_keys(literal, dict_only=True) is False
    written = dict.fromkeys(values, 0)
    as_dict = ast.parse(repr(written), mode="eval").body
    assert distinct_keys(as_dict, dict_only=True) is _expected(list(written))


def test_loop_shapes() -> None:
    def shape(loop: str) -> tuple[str, str, bool] | None:
        node = ast.parse(f"{loop}\n    pass").body[0]
        assert isinstance(node, ast.For)
        found = loop_key(node.target, node.iter)
        if found is None:
            return None
        variable, source, dict_only = found
        return variable, source if isinstance(source, str) else type(source).__name__, dict_only

    assert shape("for region in REGIONS:") == ("region", "REGIONS", False)
    assert shape("for region, weight in REGIONS.items():") == ("region", "REGIONS", True)
    assert shape("for region in {'eu': 1}.keys():") == ("region", "Dict", True)
    assert shape("for region in ['eu', 'us']:") == ("region", "List", False)
    assert shape("for region in ['eu'].items():") is None
    assert shape("for region in REGIONS.items():") is None  # no pair to take the key from
    assert shape("for region, weight in zip(A, B):") is None
    assert shape("for row.name in REGIONS:") is None
