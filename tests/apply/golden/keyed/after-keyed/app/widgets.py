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
    *,
    uid_prefix: str | None = None,
):
    total = DerivedVariable(
        partial(pick, label),
        variables=[base],
        uid=f'{uid_prefix}.total' if uid_prefix else None,
    )
    rows = ServerVariable(
        uid=f'{uid_prefix}.rows' if uid_prefix else None,
        scope='user',
    )
    return Card(Text(total), title=label)


def regional(region: str, *, uid_prefix: str | None = None):
    return Text(DerivedVariable(
        partial(pick, region),
        variables=[base],
        uid=f'{uid_prefix}.derived_variable_1' if uid_prefix else None,
    ))


class Panel:
    def __init__(self, title: str, *, uid_prefix: str | None = None, **options):
        self.title = title
        self.totals = {c: DerivedVariable(
            partial(pick, c),
            variables=[base],
            uid=f'{uid_prefix}.totals.{c}' if uid_prefix else None,
        ) for c in COLUMNS}

    def __call__(self):
        return Stack(Text(self.title), *[Text(t) for t in self.totals.values()])


def callback_only():
    # dara-migrate: local-only[DM104] automatic migration not possible
    return Text(DerivedVariable(partial(pick, 'x'), variables=[base]))
