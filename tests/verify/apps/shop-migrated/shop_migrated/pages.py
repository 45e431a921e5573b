"""The order dashboard after migration: literal uids and route ids."""

from dara.components import Button, Stack, Text
from dara.core import ComponentInstance, DerivedVariable, ServerVariable, Variable, action, py_component
from dara.core.persistence import BackendStore

quantity = Variable(1)
unit_price = Variable(9.5)


def compute_total(amount: int, price: float) -> float:
    return amount * price


total = DerivedVariable(compute_total, variables=[quantity, unit_price], uid='shop_migrated.pages:total')
orders = ServerVariable(default={'open': 3, 'shipped': 12}, uid='shop_migrated.pages:orders')
cart = Variable(
    default=[],
    store=BackendStore(uid='shop_migrated.pages:cart.store'),
    uid='shop_migrated.pages:cart',
)


@action
async def add_to_cart(ctx: action.Ctx, item: str) -> None:
    await cart.write([item])


@py_component
def order_summary(amount: float) -> ComponentInstance:
    return Text(f'Total: {amount:.2f}')


def home() -> ComponentInstance:
    return Stack(
        Text('Orders'),
        order_summary(total),
        Button('Add widget', onclick=add_to_cart('widget')),
        Button('Reset', onclick=quantity.update(1)),
    )


def reports() -> ComponentInstance:
    return Stack(Text('Reports'), order_summary(total))
