"""Open pipeline from the CRM, with stage filters and private deal notes."""

from dara.components import Button, Card, Input, Select, Stack, Table, Text, Textarea
from dara.core import DerivedVariable, ResetVariables, UpdateVariable, Variable, action

from sales_dashboard import state
from sales_dashboard.components.filters import period_summary
from sales_dashboard.services.crm import crm_client, next_stage
from sales_dashboard.settings import DEAL_STAGES

# Filters are plain browser state.
stage_filter = Variable('All')
owner_search = Variable('')
selected_deal = Variable(None)
note_draft = Variable('')


def _load_deals(stage, search, _tick):
    deals = crm_client.fetch_open_deals()
    if stage and stage != 'All':
        deals = deals[deals['stage'] == stage]
    if search:
        deals = deals[deals['owner'].str.contains(search, case=False)]
    return deals


@action
async def select_deal(ctx: action.Ctx):
    row = ctx.input or {}
    await ctx.update(selected_deal, row.get('deal_id'))


@action
async def advance_deal(ctx: action.Ctx, deal_id: str):
    stage = await stage_filter.get_current_value()
    crm_client.update_stage(deal_id, next_stage(stage))
    await ctx.notify(f'{deal_id} moved to {next_stage(stage)}', title='Pipeline', status='SUCCESS')


@action
async def save_note(ctx: action.Ctx, deal_id: str, note: str):
    notes = dict(await state.deal_notes.read() or {})
    notes[deal_id] = note
    await state.deal_notes.write(notes)
    await ctx.update(note_draft, '')


def pipeline_page():
    deals = DerivedVariable(
        _load_deals,
        variables=[stage_filter, owner_search, state.refresh_tick],
        uid='pipeline-open-deals',
    )
    reload_deals = UpdateVariable(lambda ctx: ctx.inputs.old + 1, variable=state.refresh_tick)

    return Stack(
        Stack(
            Select(items=['All', *DEAL_STAGES], value=stage_filter),
            Input(value=owner_search, placeholder='Owner'),
            Button('Clear filters', onclick=ResetVariables(variables=[stage_filter, owner_search])),
            Button('Reload', onclick=reload_deals),
            direction='horizontal',
            hug=True,
        ),
        period_summary(state.selected_year),
        Card(Table(data=deals, onclick_row=select_deal()), title='Open deals'),
        Card(
            Text(selected_deal),
            Button('Advance stage', onclick=advance_deal(selected_deal)),
            Textarea(value=note_draft),
            Button('Save note', onclick=save_note(selected_deal, note_draft)),
            title='Selected deal',
        ),
        Card(Table(data=state.pipeline_snapshot), title='Last CRM snapshot'),
    )
