from dara.components import Stack, Text
from dara.core import ConfigurationBuilder, DerivedVariable, Variable, action, py_component

config = ConfigurationBuilder()
# dara-migrate: this app keeps process-local state (DM301 x1); it scales with sticky
# sessions only. Reason: automatic migration not possible.
config.unsafe_runtime_mode = 'local'
count = Variable(0)
# the running total, shown at the top
total = DerivedVariable(lambda c: c + 1, variables=[count], uid='app.main:total')


@action
async def bump(ctx: action.Ctx):
    await ctx.update(count, 1)


@py_component
def panel(limit: int):
    # dara-migrate: local-only[DM301] automatic migration not possible
    scaled = DerivedVariable(lambda c: c * limit, variables=[count])
    return Stack(Text('total'), Text('scaled'))


STEP = 2


@action
async def reset(ctx: action.Ctx):
    await ctx.update(count, STEP)


def page():
    return panel(3)


config.router.add_page(path='/', content=page, id='index')
