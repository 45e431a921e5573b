"""Loading the sales ledger and the quarterly targets.

In production the ledger comes from the nightly warehouse extract. Locally (and in
CI) we generate a deterministic sample so the dashboard works out of the box.
"""

import numpy as np
import pandas as pd

from sales_dashboard.settings import FISCAL_YEARS, PRODUCT_LINES, REGIONS, TARGETS_CSV

ACCOUNTS = [
    'Acme Corp', 'Globex', 'Initech', 'Umbrella Health', 'Hooli', 'Stark Logistics',
    'Wayne Enterprises', 'Wonka Foods', 'Cyberdyne', 'Soylent', 'Tyrell Systems',
    'Vandelay Imports', 'Pied Piper', 'Massive Dynamic', 'Aperture Labs', 'Oceanic Air',
]
UNIT_PRICES = [120.0, 250.0, 480.0, 950.0]
DEFAULT_QUARTERLY_TARGET = 450_000.0


def load_sales(seed: int = 7, rows: int = 2400) -> pd.DataFrame:
    """Return the order ledger: one row per order line."""
    rng = np.random.default_rng(seed)
    first_day = pd.Timestamp(f'{FISCAL_YEARS[0]}-01-01')
    offsets = rng.integers(0, 365 * len(FISCAL_YEARS), rows)
    dates = first_day + pd.to_timedelta(offsets, unit='D')

    df = pd.DataFrame(
        {
            'date': dates,
            'region': rng.choice(REGIONS, rows),
            'product_line': rng.choice(PRODUCT_LINES, rows),
            'account': rng.choice(ACCOUNTS, rows),
            'units': rng.integers(1, 40, rows),
            'unit_price': rng.choice(UNIT_PRICES, rows),
        }
    )
    df['year'] = df['date'].dt.year
    df['quarter'] = df['date'].dt.quarter
    df['month'] = df['date'].dt.month
    df['revenue'] = df['units'] * df['unit_price']
    return df.sort_values('date').reset_index(drop=True)


def load_targets() -> pd.DataFrame:
    """Quarterly targets uploaded by sales ops, or flat defaults when nothing was uploaded yet."""
    if TARGETS_CSV.exists():
        return pd.read_csv(TARGETS_CSV)
    return pd.DataFrame(
        [
            {'region': region, 'quarter': quarter, 'target': DEFAULT_QUARTERLY_TARGET}
            for region in REGIONS
            for quarter in (1, 2, 3, 4)
        ]
    )
