"""Revenue forecast. The model runs in the task pool so the page stays responsive."""

import pandas as pd
from dara.components import Card, Heading, Select, Slider, Stack, Table, Text
from dara.core import DerivedVariable, Variable, py_component

from sales_dashboard import state, tasks
from sales_dashboard.settings import REGIONS


class ForecastPage:
    def __init__(self, horizon_months: int = 6):
        self.region = Variable('All')
        self.horizon = Variable(horizon_months)
        self.forecast = DerivedVariable(
            tasks.forecast_revenue,
            variables=[state.sales_data, self.region, self.horizon],
            run_as_task=True,
            uid='forecast-revenue',
        )

    @py_component
    def forecast_summary(self, forecast: pd.DataFrame):
        total = float(forecast['forecast'].sum()) if forecast is not None else 0.0
        return Text(f'Projected revenue over the horizon: {total:,.0f}')

    def __call__(self):
        return Stack(
            Heading('Forecast'),
            Stack(
                Select(items=['All', *REGIONS], value=self.region),
                Slider(domain=[3, 12], value=self.horizon, step=1),
                direction='horizontal',
                hug=True,
            ),
            self.forecast_summary(self.forecast),
            Card(Table(data=self.forecast), title='Monthly forecast'),
        )


def forecast_page():
    return ForecastPage(horizon_months=6)()
