"""The home page."""

from dara.components import Button, Input, Stack

from console import actions
from console.state import search_term


def home_page():
    return Stack(
        actions.banner('Home'),
        Input(value=search_term),
        Button('Search', onclick=actions.run_search()),
        Button('Refresh', onclick=actions.refresh()),
    )
