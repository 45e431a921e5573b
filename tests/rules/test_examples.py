"""Every rule's documented examples run: invalid ones report exactly their `# expect:` lines
and `apply` rewrites them into exactly their `fixed` files, valid ones report nothing at the
rule's severity."""

from __future__ import annotations

from pathlib import Path

import pytest

from dara_migrate.apply import ApplyOptions, run_apply
from dara_migrate.planner import FixOptions
from dara_migrate.rules import ALL_RULES
from dara_migrate.rules.base import Example, Rule, without_expectations
from dara_migrate.settings import load_settings
from tests.helpers import expectations, reported, run_audit, write_tree

CASES = [
    pytest.param(rule, example, valid, id=f"{rule.code}-{'valid' if valid else 'invalid'}-{n}")
    for rule in ALL_RULES
    for valid, examples in ((True, rule.VALID), (False, rule.INVALID))
    for n, example in enumerate(examples)
]


def test_every_rule_has_examples_of_both_kinds() -> None:
    for rule in ALL_RULES:
        assert rule.VALID, rule.code
        assert rule.INVALID, rule.code


@pytest.mark.parametrize(("rule", "example", "valid"), CASES)
def test_rule_example(rule: type[Rule], example: Example, valid: bool, tmp_path: Path) -> None:
    root = write_tree(tmp_path, example.files)
    result, _ = run_audit(root, show_info=True)
    if valid:
        # A valid example may still earn the rule's info-level note (a read-only seed, equal
        # uids in separate apps); it must not earn the rule's own severity.
        assert [f for f in result.findings if f.rule == rule.code
                and (f.severity != "info" or rule.severity == "info")] == []
    else:
        expected = expectations(root)
        assert expected, "an invalid example must say what it expects"
        assert {e for e in expected if e[2] == rule.code}, "it must expect its own rule"
        assert reported(result, {code for _, _, code in expected}) == expected


@pytest.mark.parametrize(("rule", "example"), [
    pytest.param(rule, example, id=f"{rule.code}-invalid-{n}")
    for rule in ALL_RULES for n, example in enumerate(rule.INVALID)
])
def test_invalid_example_is_fixed_as_documented(rule: type[Rule], example: Example,
                                                tmp_path: Path) -> None:
    """What the rule page shows under the example: `apply --select CODE` (with
    `--unsafe-fixes` unless the rule's fix is safe) leaves exactly these files changed."""
    root = write_tree(tmp_path, example.files)
    settings = load_settings(root, {"target": "1.x", "use_cache": False,
                                    "select": (rule.code,)})
    options = ApplyOptions(FixOptions(unsafe=rule.fix != "safe"), local=False)
    result = run_apply(settings, [root], options)
    assert result.errors == []
    fixed = {change.path: without_expectations(change.after.decode())
             for change in result.changes}
    assert fixed == example.fixed
