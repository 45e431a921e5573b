"""Per-region drill-down: /regions/:region"""

from dara.components import Card, Heading, Stack, Table, Text
from dara.core import DerivedVariable as DV
from dara.core import Variable, py_component

from sales_dashboard import state
from sales_dashboard.data import metrics

# Revenue per region and year, for the comparison table at the bottom.
region_totals = DV(metrics.region_totals_all_years, variables=[state.sales_data])


@py_component
def region_trend(region: str, year: str):
    trend = DV(lambda df: metrics.monthly_trend(df, year, region), variables=[state.sales_data])
    return Card(Table(data=trend), title=f'{region}: monthly revenue in {year}')


def region_page(region: Variable):
    return Stack(
        Heading('Region drill-down'),
        Text(region),
        region_trend(region, state.selected_year),
        Card(Table(data=region_totals), title='All regions, all years'),
    )
