from dara.components import Button, Stack, Text
from dara.core import DerivedVariable, action

from shop.state import cart, notes

totals = DerivedVariable(lambda c: sum(c), variables=[cart],
                         cache='session',
                         uid='shop.pages.orders:totals')


@action
async def remember(ctx: action.Ctx):
    current = await notes.read()
    await ctx.update(notes, current)


def orders_page():
    return Stack(Text('Orders'), Button('Save', onclick=remember()))
