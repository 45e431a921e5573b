"""Manual quota overrides entered by regional directors."""

import pandas as pd

QUOTA_OVERRIDES: dict[str, float] = {}


def apply_overrides(targets: pd.DataFrame) -> pd.DataFrame:
    if not QUOTA_OVERRIDES:
        return targets
    targets = targets.copy()
    for region, quarterly_target in QUOTA_OVERRIDES.items():
        targets.loc[targets['region'] == region, 'target'] = quarterly_target
    return targets
