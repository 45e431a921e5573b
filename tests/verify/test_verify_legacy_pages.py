"""verify of an app built with the legacy `config.add_page`: dara converts each page to a route
whose id is the page's name, so the audit predicts those routes at their `add_page` calls."""

from __future__ import annotations

from pathlib import Path

import pytest

from dara_migrate.predictions import predicted_definitions
from dara_migrate.verify import PredictedDefinition, VerifyResult, run_verify
from tests.helpers import run_audit

# Builds a real app with dara-core: left out of `make test-fast`.
pytestmark = pytest.mark.slow

APP = Path(__file__).parent / "apps" / "legacy-pages"
MAIN = APP / "legacy_pages" / "main.py"


def line_of(text: str) -> int:
    lines = MAIN.read_text(encoding="utf-8").splitlines()
    return next(number for number, line in enumerate(lines, 1) if text in line)


@pytest.fixture(scope="module")
def verified() -> tuple[VerifyResult, list[PredictedDefinition]]:
    _, project = run_audit(APP)
    predicted = predicted_definitions(project, APP)
    return run_verify(APP, predicted=predicted), predicted


def test_legacy_pages_are_predicted_at_their_add_page_calls(
    verified: tuple[VerifyResult, list[PredictedDefinition]],
) -> None:
    _, predicted = verified
    routes = [(p.path, p.line, p.rule) for p in predicted if p.kind == "route"]
    assert routes == [("legacy_pages/main.py", line_of(text), None) for text in (
        "name='Sales Reports'", "'Overview'", "'About'")]


def test_every_legacy_page_route_built_was_predicted(
    verified: tuple[VerifyResult, list[PredictedDefinition]],
) -> None:
    result, _ = verified
    assert result.exit_code == 0
    routes = sorted((d.line, d.id, d.owner, d.stable)
                    for d in result.definitions if d.kind == "route" and d.owner == "app")
    assert routes == sorted([
        (line_of("'Overview'"), "overview", "app", True),
        (line_of("name='Sales Reports'"), "sales-reports", "app", True),
        (line_of("'About'"), "about", "app", True),
    ])
    assert result.unseen_by_audit == ()
    assert result.not_built == ()
