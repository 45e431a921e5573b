"""Admin tools for revenue operations."""

import logging

from dara.components import Button, Card, Heading, Select, Stack, Text
from dara.core import NavigateTo, SideEffect, Variable, action

from sales_dashboard import state, tasks
from sales_dashboard.services.crm import crm_client
from sales_dashboard.settings import REGIONS

audit_log = logging.getLogger('sales_dashboard.audit')

jump_region = Variable(REGIONS[0])


@action
async def rebuild_territories(ctx: action.Ctx):
    scores = await ctx.run_task(tasks.rebuild_territory_model, kwargs={'regions': REGIONS})
    await ctx.notify(f'Territories rebuilt for {len(scores)} regions', title='Admin', status='SUCCESS')


@action
async def reload_crm_snapshot(ctx: action.Ctx):
    await state.pipeline_snapshot.write(crm_client.fetch_open_deals())
    await ctx.notify('CRM snapshot reloaded', title='Admin', status='SUCCESS')


def admin_page():
    log_visit = SideEffect(lambda ctx: audit_log.info('admin tools opened'))
    go_to_region = NavigateTo(lambda ctx: f'/regions/{ctx.extras[0]}', extras=[jump_region])

    return Stack(
        Heading('Admin'),
        Card(
            Button('Rebuild territories', onclick=rebuild_territories()),
            Button('Reload CRM snapshot', onclick=reload_crm_snapshot()),
            Button('Open audit trail', onclick=log_visit),
            title='Maintenance',
        ),
        Card(
            Text('Jump to a region'),
            Select(items=REGIONS, value=jump_region),
            Button('Go', onclick=go_to_region),
            title='Navigation',
        ),
    )
