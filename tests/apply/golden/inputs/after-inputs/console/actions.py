"""Actions and components that read what the browser holds."""

from dara.core import action, py_component
from dara.components import Text

from console import state


@action
async def run_search(ctx: action.Ctx):
    # dara-migrate: local-only[DM401] automatic migration not possible
    term = await state.search_term.get_current_value()
    await ctx.notify(f'Searching for {term}', title='Search', status='NONE')


@action
async def apply_region(
    ctx: action.Ctx,
    scope: str,
    region_value,
    region_label,
):
    picked = region_value
    label = region_label
    await ctx.notify(f'{scope}: {picked} ({label})', title='Region', status='NONE')


@action
async def bump(ctx: action.Ctx):
    await ctx.update(state.counter, 1)
    # dara-migrate: local-only[DM401] automatic migration not possible
    count = await state.counter.get_current_value()
    await ctx.notify(f'Count {count}', title='Counter', status='NONE')


@action
async def refresh(ctx: action.Ctx):
    await run_search(ctx)


@py_component
async def banner(title: str, theme):
    mode = theme
    return Text(f'{title} ({mode})')
