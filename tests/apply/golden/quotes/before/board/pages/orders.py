from dara.components import Button, Stack, Text
from dara.core import ServerVariable, action

orders = ServerVariable(default=[])


@action
async def refresh(ctx):
    current = await orders.get_current_value()
    await ctx.update(orders, current + [len(current)])


def orders_page():
    return Stack(Text(orders), Button("Refresh", onclick=refresh()))
