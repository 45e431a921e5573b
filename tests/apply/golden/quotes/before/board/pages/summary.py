from dara.components import Stack, Text
from dara.core import DerivedVariable, py_component

from board.state import doubled, region_total, size

label = DerivedVariable(lambda s: f"{s} items", variables=[size])
north = region_total(1)
south = region_total(2)


@py_component
def show(value):
    return Text(value)


def summary_page():
    return Stack(show(label), show(doubled), show(north), show(south))
