from dara.components import Stack, Text
from dara.core import DerivedVariable as DV
from dara.core import py_component

from shop.state import search


def overview_page():
    matches = DV[list](
        lambda q: [q],
        variables=[search],
        uid='shop.pages.overview:overview_page.matches',
    )
    return Stack(Text('Overview'), count_badge(matches))


@py_component
def count_badge(items):
    # created on every render: cannot be given a fixed uid
    # dara-migrate: local-only[DM301] automatic migration not possible
    summary = DV(lambda i: len(i), variables=[items])
    return Text(str(summary))
