"""An app with loops, factories, a page class built twice and old action helpers."""

from functools import partial
from uuid import uuid4

from dara.components import Button, Stack, Text
from dara.core import ConfigurationBuilder, DerivedVariable, NavigateTo, UpdateVariable, Variable

from app.widgets import Panel, base, callback_only, card, pick, regional

config = ConfigurationBuilder()

METRICS = ['revenue', 'orders']
counter = Variable(0)
session = DerivedVariable(partial(pick, 'session'), variables=[base], uid=str(uuid4()))
metric_values = {m: DerivedVariable(partial(pick, m), variables=[base]) for m in METRICS}
sales_panel = Panel('Sales')
returns_panel = Panel('Returns')


def go_to(ctx):
    return f'/{ctx.inputs.value}'


def home():
    regions = []
    for region in ('north', 'south'):
        regions.append(regional(region))
    return Stack(
        card('Revenue'),
        card('Orders', size=2),
        *regions,
        sales_panel(),
        Text(session),
        Button('+1', onclick=UpdateVariable(lambda ctx: ctx.inputs.old + 1, counter)),
        Button('go', onclick=NavigateTo(go_to, new_tab=True)),
    )


def returns():
    return Stack(card('Refunds'), returns_panel(), *[Text(v) for v in metric_values.values()])


config.router.add_page(path='home', content=home, id='home')
config.router.add_page(path='returns', content=returns, id='returns')
config.router.add_page(path='other', content=callback_only, id='other')
config.router.add_page(path='other-2', content=callback_only, id='other-2')
