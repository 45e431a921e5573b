"""Cards of the metrics page."""

from dara.components import Card, Stack, Text
from dara.core import py_component


@py_component
def kpi(title: str, value: float):
    return Card(Text(f'{value:,.1f}'), title=title)


@py_component
def gauge(label: str, level: float, unit: str = '%'):
    return Stack(Text(label), Text(f'{level}{unit}'))


# dara-migrate: local-only[DM501] automatic migration not possible
@py_component
def legend(entries):
    return Stack(*[Text(entry) for entry in entries])
