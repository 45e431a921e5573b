from dara.components import Stack, Text
from dara.core import ConfigurationBuilder, DerivedVariable, Variable, action, py_component

config = ConfigurationBuilder()
count = Variable(0)


@py_component
def panel(limit: int):
    # the running total, shown at the top
    total = DerivedVariable(lambda c: c + 1, variables=[count])

    @action
    async def bump(ctx: action.Ctx):
        await ctx.update(count, 1)

    scaled = DerivedVariable(lambda c: c * limit, variables=[count])
    return Stack(Text('total'), Text('scaled'))


STEP = 2


def page():
    @action
    async def reset(ctx: action.Ctx):
        await ctx.update(count, STEP)
    return panel(3)


config.router.add_page(path='/', content=page)
