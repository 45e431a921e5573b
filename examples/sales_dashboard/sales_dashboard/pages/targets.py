"""Quarterly targets: upload the CSV from sales ops, see attainment, apply overrides."""

import io

import pandas as pd
from dara.components import Button, Card, Input, Select, Stack, Table, Text, UploadDropzone
from dara.core import DerivedVariable, DownloadVariable, Variable, action

from sales_dashboard import state
from sales_dashboard.data import metrics
from sales_dashboard.data.loader import load_targets
from sales_dashboard.services.quota import QUOTA_OVERRIDES, apply_overrides
from sales_dashboard.settings import PLAYBOOK_PATH, REGIONS, TARGETS_CSV

# Bumped after an upload so attainment is recomputed.
targets_version = Variable(0)


def _attainment(df, year, _version):
    return metrics.attainment(df, apply_overrides(load_targets()), year)


quarter_attainment = DerivedVariable(
    _attainment,
    variables=[state.sales_data, state.selected_year, targets_version],
)


def store_targets_upload(content: bytes, name: str) -> None:
    targets = pd.read_csv(io.BytesIO(content))
    missing = {'region', 'quarter', 'target'} - set(targets.columns)
    if missing:
        raise ValueError(f'{name} is missing columns: {sorted(missing)}')
    TARGETS_CSV.parent.mkdir(parents=True, exist_ok=True)
    targets.to_csv(TARGETS_CSV, index=False)


@action
async def apply_quota_override(ctx: action.Ctx, region: str, amount: str):
    QUOTA_OVERRIDES[region] = float(amount)
    await ctx.trigger(quarter_attainment)
    await ctx.notify(f'Quarterly target for {region} set to {float(amount):,.0f}', title='Targets', status='SUCCESS')


@action
async def download_playbook(ctx: action.Ctx):
    await ctx.download_file(path=str(PLAYBOOK_PATH))


def targets_page():
    override_region = Variable(REGIONS[0])
    override_amount = Variable('450000')

    return Stack(
        Card(
            Text('Upload a CSV with columns region, quarter, target.'),
            UploadDropzone(resolver=store_targets_upload, accept='.csv'),
            title='Quarterly targets',
        ),
        Card(Table(data=quarter_attainment), title='Attainment'),
        Card(
            Stack(
                Select(items=REGIONS, value=override_region),
                Input(value=override_amount, type='number'),
                Button('Apply override', onclick=apply_quota_override(override_region, override_amount)),
                direction='horizontal',
                hug=True,
            ),
            title='Director override',
        ),
        Stack(
            Button('Export attainment', onclick=DownloadVariable(variable=quarter_attainment, file_name='attainment')),
            Button('Sales playbook', onclick=download_playbook()),
            direction='horizontal',
            hug=True,
        ),
    )
