"""The quote style `apply` writes literals in: the file's prevailing quote for plain strings,
as Python's tokenizer reads them, for any text (valid Python or not)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dara_migrate.edits import (
    QuoteStyles,
    _plain_string_quotes,
    _tokenized_string_quotes,
    quote_style,
)

ROOT = Path(__file__).resolve().parents[2]


def tokenized_quote_style(text: str) -> str:
    """The reference: the quote `tokenize`'s STRING tokens prefer (the pre-regex answer)."""
    single, double = _tokenized_string_quotes(text)
    return '"' if double > single else "'"


FRAGMENTS = [
    "'a'", '"b"', "'''t\n'''", '"""d\n"""', "f'x'", 'f"{y}"', 'rb"y"', "u'z'", "Rf'{q}'",
    "B'w'", "br'\\''", "'a\\\nb'", "'\\\\'", '"\\""', "# c'\"\n", "#", "\n", "\r\n", "\r",
    "    ", "\t", "\f", "(", ")", "[", "]", "{", "}", "\\\n", "\\", "x", "if", "elif", "or",
    "1", "0x", "1.", "f", "r", "=", ":", ",", "'", '"', "'''", '"""', "é", "def f():\n",
    "    return 'k'\n", "  pass\n", "class C:\n", "\tx = \"v\"\n",
]

python_like = st.lists(st.sampled_from(FRAGMENTS), max_size=40).map("".join)


@given(st.one_of(python_like, st.text(alphabet="'\"#\\\n\r\t ()[]{}fbrux1:=.", max_size=60)))
def test_quote_style_is_the_tokenizers_for_any_text(text: str) -> None:
    assert quote_style(text) == tokenized_quote_style(text)


@pytest.mark.parametrize(("text", "quote"), [
    ('a = "x"\nb = "y"\nc = \'z\'\n', '"'),
    ("a = 'x'\nb = \"y\"\n", "'"),  # a tie: single quotes
    ('a = f"{b}" f"{c}" \'d\'\n', "'"),  # f-strings do not count
    ('a = """doc""" """doc""" \'x\'\n', "'"),  # neither do triple-quoted strings
    ('a = "x" "y"\n# \'c\' \'d\' \'e\'\n', '"'),  # nor strings in comments
    ('if"a"in b:\n    c = rb"d"\nelif\'e\':\n    pass\n', '"'),  # keywords before strings
    ('a = xf"x"\n', '"'),  # a name, not an f prefix
    ('a = ("x",\n     "y")\nb = \'z\'\n', '"'),
    ('a = "x\\\ny"\nb = "z" \'\'\n', '"'),  # a string continued over a line break
    ('a = \'z "x" "y"\n', '"'),  # an unterminated string: the tokenizer reads on
    ('if a:\n        b = "x"\n    c = "y"\n', "'"),  # a dedent to no outer level
    ('if a:\n\tif b:\n\t\tc = "x"\n    d = "y"\n', "'"),  # a tab is 8 columns
    ('if a:\n    b = "x"\n  # c\n    d = "y"\n', '"'),  # comment lines keep no indentation
    ('a = ("x"\n  "y"\n', "'"),  # an unclosed bracket
    ('a = ("x"\n        "y")\n    b = "z"\n', '"'),  # lines in brackets keep no indentation
    ('a = "x" "y" \\\n', "'"),  # a line continued past the end
    ('a = "x" "y"\nb = \'\'\'x\n', "'"),  # an unterminated docstring
    ('# c\ra = "x" "y"\nb = \'z\'\n', "'"),  # a lone CR ends no line for the tokenizer
    ('a = 1  # c\r"x" "y"\nb = \'z\'\n', '"'),  # but it ends a comment after code
    ('a = 1f"x"\n', "'"),  # a number, then an f-string
    ('a = 1if"x"else"y"\n', '"'),
])
def test_quote_style_in_edge_cases(text: str, quote: str) -> None:
    assert quote_style(text) == tokenized_quote_style(text) == quote


def test_real_files_are_read_without_the_tokenizer() -> None:
    files = sorted(file for folder in ("dara_migrate", "tests/fixtures", "examples")
                   for file in (ROOT / folder).rglob("*.py"))
    assert len(files) > 50
    for file in files:
        text = file.read_text(encoding="utf-8")
        if sys.version_info >= (3, 12) and ("f'" in text or 'f"' in text):
            continue  # from 3.12 the tokenizer reads inside f-strings: it decides
        assert _plain_string_quotes(text) is not None, file
        assert quote_style(text) == tokenized_quote_style(text), file


def test_a_file_whose_strings_do_not_decide_takes_its_nearest_folders_quote() -> None:
    texts = {
        "app/pages/home.py": 'title = "Home"\n',
        "app/pages/state.py": "size = 3\n",
        "app/pages/tied.py": "a = 'x'\nb = \"y\"\n",
        "app/main.py": "name = 'a'\nother = 'b'\n",
        "app/lone/numbers.py": "count = 1\n",
        "tools/empty.py": "",
    }
    read: list[str] = []

    def text_of(path: str) -> str:
        read.append(path)
        return texts[path]

    styles = QuoteStyles(texts, text_of)
    assert styles("app/pages/state.py") == '"'  # its folder: one double-quoted string
    assert styles("app/pages/tied.py") == '"'
    assert styles("app/main.py") == "'"  # its own strings decide
    assert styles("app/lone/numbers.py") == "'"  # app/ as a whole: 3 single, 2 double
    assert styles("app/pages/state.py", 'x = "a"\ny = \'b\'\nz = \'c\'\n') == "'"
    assert "tools/empty.py" not in read  # no folder outside app/ was read
    assert QuoteStyles(["tools/empty.py"], text_of)("tools/empty.py") == "'"
