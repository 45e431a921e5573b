"""An order dashboard written before the distributed contract: no uids, no route ids."""

import pandas
from dara.components import Button, Stack, Text
from dara.components.smart.data_slicer.data_slicer import DataSlicer
from dara.core import ComponentInstance, DerivedVariable, ServerVariable, UpdateVariable, Variable, action, py_component
from dara.core.persistence import BackendStore

quantity = Variable(1)
unit_price = Variable(9.5)


def compute_total(amount: int, price: float) -> float:
    return amount * price


total = DerivedVariable(compute_total, variables=[quantity, unit_price])
orders = ServerVariable(default={'open': 3, 'shipped': 12})
cart = Variable(default=[], store=BackendStore())


@action
async def add_to_cart(ctx: action.Ctx, item: str) -> None:
    await cart.write([item])


@action
async def snapshot_total(ctx: action.Ctx) -> None:
    # Built while handling a request: only the worker that ran this knows its uid (DM301).
    snapshot = DerivedVariable(compute_total, variables=[quantity, unit_price])
    await ctx.notify(f'Snapshot {snapshot.uid} taken', title='Totals', status='SUCCESS')


@py_component
def order_summary(amount: float) -> ComponentInstance:
    return Text(f'Total: {amount:.2f}')


def home() -> ComponentInstance:
    return Stack(
        Text('Orders'),
        order_summary(total),
        Button('Add widget', onclick=add_to_cart('widget')),
        Button('Snapshot', onclick=snapshot_total()),
        Button('Reset', onclick=UpdateVariable(lambda ctx: 1, variable=quantity)),
    )


def reports() -> ComponentInstance:
    slicer = DataSlicer(pandas.DataFrame({'item': ['widget', 'gadget'], 'sold': [12, 4]}))
    return Stack(Text('Reports'), order_summary(total), slicer.variable_filter())
