"""The books page."""

from dara.components import Stack, Text
from dara.core import DerivedVariable, py_component

from ledger.exports import yearly
from ledger.reports import monthly
from ledger.state import balances, high, low
from ledger.trail import trail


@py_component
def opening_panel(year: int):
    opening = DerivedVariable(lambda: 0.0, variables=[])
    return Stack(Text(f'Opening {year}'), Text(opening))


def books_page():
    return Stack(
        Text(balances), Text(monthly), Text(yearly), Text(trail), Text(low), Text(high),
        opening_panel(2024),
    )
