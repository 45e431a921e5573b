"""An app with loops, factories, a page class built twice and old action helpers."""

from functools import partial

from dara.components import Button, Stack, Text
from dara.core import (
    ConfigurationBuilder,
    DerivedVariable,
    Variable,
    action,
)
from dara.core.interactivity.actions import (
    ComponentActionContext,
    ComponentActionInputs,
    UpdateVariableContext,
    UpdateVariableInputs,
)
from dara.core.internal.utils import run_user_handler

from app.widgets import Panel, base, callback_only, card, pick, regional

config = ConfigurationBuilder()
# dara-migrate: this app keeps process-local state (DM104 x1); it scales with sticky
# sessions only. Reason: automatic migration not possible.
config.unsafe_runtime_mode = 'local'

METRICS = ['revenue', 'orders']
counter = Variable(0)
session = DerivedVariable(
    partial(pick, 'session'),
    variables=[base],
    uid='app.main:session',
)
metric_values = {m: DerivedVariable(
    partial(pick, m),
    variables=[base],
    uid=f'app.main:metric_values.{m}',
) for m in METRICS}
sales_panel = Panel('Sales', uid_prefix='app.main:sales_panel')
returns_panel = Panel('Returns', uid_prefix='app.main:returns_panel')


@action
async def update_counter(ctx: action.Ctx, old):
    """Defined once: the deprecated helper defined it on every call."""
    context = UpdateVariableContext(
        inputs=UpdateVariableInputs(old=old, new=ctx.input),
        extras=[],
    )
    value = await run_user_handler(
        lambda ctx: ctx.inputs.old + 1,
        args=(context,),
    )
    await ctx.update(counter, value)


def go_to(ctx):
    return f'/{ctx.inputs.value}'


@action
async def navigate_go_to(ctx: action.Ctx):
    """Defined once: the deprecated helper defined it on every call."""
    context = ComponentActionContext(
        inputs=ComponentActionInputs(value=ctx.input),
        extras=[],
    )
    value = await run_user_handler(
        go_to,
        args=(context,),
    )
    await ctx.navigate(value, True)


def home():
    regions = []
    for region in ('north', 'south'):
        regions.append(regional(region, uid_prefix=f'app.main:home.regional.{region}'))
    return Stack(
        card('Revenue', uid_prefix='app.main:home.card.revenue'),
        card('Orders', size=2, uid_prefix='app.main:home.card.orders'),
        *regions,
        sales_panel(),
        Text(session),
        Button('+1', onclick=update_counter(counter)),
        Button('go', onclick=navigate_go_to()),
    )


def returns():
    return Stack(card(
        'Refunds',
        uid_prefix='app.main:returns.card',
    ), returns_panel(), *[Text(v) for v in metric_values.values()])


config.router.add_page(path='home', content=home, id='home')
config.router.add_page(path='returns', content=returns, id='returns')
config.router.add_page(path='other', content=callback_only, id='other')
config.router.add_page(path='other-2', content=callback_only, id='other-2')
