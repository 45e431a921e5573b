"""Actions and components that read what the browser holds."""

from dara.core import action, py_component
from dara.components import Text

from console import state
from console.state import region


@action
async def run_search(ctx: action.Ctx):
    term = await state.search_term.get_current_value()
    await ctx.notify(f'Searching for {term}', title='Search', status='NONE')


@action
async def apply_region(
    ctx: action.Ctx,
    scope: str,
):
    picked = await region.get_current_value()
    label = await state.region_label.get_current_value()
    await ctx.notify(f'{scope}: {picked} ({label})', title='Region', status='NONE')


@action
async def bump(ctx: action.Ctx):
    await ctx.update(state.counter, 1)
    count = await state.counter.get_current_value()
    await ctx.notify(f'Count {count}', title='Counter', status='NONE')


@action
async def refresh(ctx: action.Ctx):
    await run_search(ctx)


@py_component
async def banner(title: str):
    mode = await state.theme.get_current_value(timeout=3)
    return Text(f'{title} ({mode})')
