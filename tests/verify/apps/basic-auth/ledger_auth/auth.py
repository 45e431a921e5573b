"""Who may open the ledger: the analysts, with passwords the deployment provides."""

import os

from dara.core.auth import MultiBasicAuthConfig


def analysts() -> MultiBasicAuthConfig:
    return MultiBasicAuthConfig(users={
        'analyst': os.environ['LEDGER_ANALYST_PASSWORD'],
        'auditor': os.environ['LEDGER_AUDITOR_PASSWORD'],
    })
