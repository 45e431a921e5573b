"""Actions of the metrics page."""

from dara.core import action


@action
async def export(ctx: action.Ctx, fmt: str, rows: int):
    await ctx.notify(f'Exporting {rows} rows as {fmt}', title='Export', status='NONE')
