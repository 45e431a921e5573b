from dara.components import Stack, Table, Text
from dara.core import DerivedVariable, Variable, py_component

from fleet.data.records import load_trips

trips = Variable(load_trips())
busiest = DerivedVariable(max, variables=[DerivedVariable(sorted, variables=[trips])])


def by_depot(rows: list[dict[str, str]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for row in rows:
        counts[row['from']] = counts.get(row['from'], 0) + 1
    return counts


@py_component
def trips_page():
    per_depot = DerivedVariable(by_depot, variables=[trips])
    return Stack(Text('trips'), Table(data=per_depot))
