"""Application shell: header, navigation and the routed content."""

from dara.components import Button, Heading, Select, Stack, Text
from dara.core import UpdateVariable
from dara.core.router import Link, Outlet

from sales_dashboard import state
from sales_dashboard.settings import CURRENCIES

NAV_ITEMS = [
    ('Overview', '/'),
    ('Regions', '/regions/North'),
    ('Pipeline', '/pipeline'),
    ('Forecast', '/forecast'),
    ('Targets', '/reports/targets'),
    ('Admin', '/admin'),
]


def nav_bar():
    return Stack(
        *[Link(Text(label), to=path) for label, path in NAV_ITEMS],
        direction='horizontal',
        hug=True,
    )


def app_shell():
    refresh = UpdateVariable(lambda ctx: ctx.inputs.old + 1, variable=state.refresh_tick)
    return Stack(
        Stack(
            Heading('Sales Dashboard', level=2),
            Button('Menu', onclick=state.sidebar_collapsed.toggle(), icon='bars'),
            Stack(nav_bar(), collapsed=state.sidebar_collapsed),
            Select(items=CURRENCIES, value=state.user_preferences.get('currency'), size=0.5),
            Button('Refresh', onclick=refresh, icon='rotate'),
            direction='horizontal',
            hug=True,
        ),
        Outlet(),
    )
