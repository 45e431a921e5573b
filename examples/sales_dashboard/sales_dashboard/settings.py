"""Static settings for the sales dashboard."""

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
PLAYBOOK_PATH = PACKAGE_DIR / 'assets' / 'sales_playbook.md'

# Where sales ops uploads land (quarterly targets CSV).
DATA_DIR = Path(os.environ.get('SALES_DASHBOARD_DATA_DIR', Path.home() / '.sales-dashboard'))
TARGETS_CSV = DATA_DIR / 'quarterly_targets.csv'

CRM_BASE_URL = os.environ.get('CRM_BASE_URL', 'https://crm.internal.example.com/api/v2')
CRM_TIMEOUT_SECONDS = float(os.environ.get('CRM_TIMEOUT_SECONDS', '10'))

REGIONS = ['North', 'South', 'East', 'West']
PRODUCT_LINES = ['Analytics', 'Platform', 'Services', 'Support']
FISCAL_YEARS = [2022, 2023, 2024]
CURRENT_YEAR = 2024
DEAL_STAGES = ['Prospecting', 'Qualified', 'Proposal', 'Negotiation', 'Closed Won', 'Closed Lost']
CURRENCIES = ['USD', 'EUR', 'GBP']
