"""Heavy computations, executed in the Dara task pool (see `config.task_module`)."""

import time

import numpy as np
import pandas as pd

from dara.core import ProgressUpdater, track_progress

from sales_dashboard.data import metrics


def forecast_revenue(df: pd.DataFrame, region: str, horizon: int) -> pd.DataFrame:
    """Linear trend on monthly revenue, projected `horizon` months ahead."""
    df = metrics.filter_sales(df, None, region)
    monthly = df.set_index('date')['revenue'].resample('MS').sum()
    x = np.arange(len(monthly))
    slope, intercept = np.polyfit(x, monthly.values, 1)
    future_x = np.arange(len(monthly), len(monthly) + int(horizon))
    future_index = pd.date_range(monthly.index[-1] + pd.offsets.MonthBegin(), periods=int(horizon), freq='MS')
    return pd.DataFrame({'month': future_index.strftime('%Y-%m'), 'forecast': (slope * future_x + intercept).round(0)})


@track_progress
def rebuild_territory_model(regions: list, updater: ProgressUpdater) -> dict:
    """Re-balance account territories; slow, reports progress to the browser."""
    scores = {}
    for i, region in enumerate(regions):
        time.sleep(0.5)
        scores[region] = float(len(region))
        updater.send_update(100 * (i + 1) / len(regions), f'Scored {region}')
    return scores
