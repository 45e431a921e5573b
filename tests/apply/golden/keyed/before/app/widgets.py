"""Widgets shared by the pages."""

from functools import partial

from dara.components import Card, Stack, Text
from dara.core import DerivedVariable, ServerVariable, Variable

base = Variable(1)
COLUMNS = ['region', 'product']
REGIONS = ('north', 'south')


def pick(key, value):
    return key, value


def card(
    label: str,
    size: int = 1,
):
    total = DerivedVariable(partial(pick, label), variables=[base])
    rows = ServerVariable(uid='app-card-rows', scope='user')
    return Card(Text(total), title=label)


def regional(region: str):
    return Text(DerivedVariable(partial(pick, region), variables=[base]))


class Panel:
    def __init__(self, title: str, **options):
        self.title = title
        self.totals = {c: DerivedVariable(partial(pick, c), variables=[base]) for c in COLUMNS}

    def __call__(self):
        return Stack(Text(self.title), *[Text(t) for t in self.totals.values()])


def callback_only():
    return Text(DerivedVariable(partial(pick, 'x'), variables=[base]))
