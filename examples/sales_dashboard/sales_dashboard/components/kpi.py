"""Headline KPI tiles."""

from dara.components import Card, Heading, Stack, Text
from dara.core import py_component

MONEY_KEYS = ('Revenue', 'Avg order value')


@py_component
def kpi_strip(kpis: dict):
    return Stack(
        *[kpi_card(label=label, value=value) for label, value in kpis.items()],
        direction='horizontal',
    )


@py_component
def kpi_card(label: str, value: float):
    shown = f'{value:,.0f}' if label in MONEY_KEYS else f'{value:,.1f}'
    return Card(Heading(shown, level=3), Text(label), accent=True)
