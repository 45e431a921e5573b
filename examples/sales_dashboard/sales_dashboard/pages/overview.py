"""Landing page: headline KPIs, revenue split by region and the top accounts."""

import dara.core as dc
from dara.components import Button, Card, Heading, Select, Stack, Table
from dara.core import DerivedVariable, NavigateTo

from sales_dashboard import state
from sales_dashboard.components.filters import period_summary
from sales_dashboard.components.kpi import MONEY_KEYS, kpi_strip
from sales_dashboard.components.tables import account_table
from sales_dashboard.data import metrics
from sales_dashboard.services import fx
from sales_dashboard.settings import FISCAL_YEARS


def _kpis_in_currency(df, year, preferences):
    currency = (preferences or {}).get('currency', 'USD')
    return fx.convert(metrics.headline_kpis(df, year), currency, MONEY_KEYS)


def overview_page():
    kpis = dc.DerivedVariable(
        _kpis_in_currency,
        variables=[state.sales_data, state.selected_year, state.user_preferences],
        uid='overview-kpis',
    )
    by_region = DerivedVariable(metrics.revenue_by_region, variables=[state.sales_data, state.selected_year])
    top = DerivedVariable(
        lambda df, year, _tick: metrics.top_accounts(df, year, n=10),
        variables=[state.sales_data, state.selected_year, state.refresh_tick],
        deps=[state.selected_year, state.refresh_tick],
    )

    return Stack(
        Stack(
            Heading('Overview'),
            Select(items=[str(y) for y in FISCAL_YEARS], value=state.selected_year, size=0.3),
            direction='horizontal',
            hug=True,
        ),
        kpi_strip(kpis),
        period_summary(state.selected_year),
        Card(Table(data=by_region), title='Revenue by region'),
        account_table(top, columns=['account', 'revenue', 'orders']),
        Button('Open pipeline', onclick=NavigateTo('/pipeline')),
    )
