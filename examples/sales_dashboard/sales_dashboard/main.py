"""Dara configuration for the sales dashboard: `dara start --config sales_dashboard.main:config`."""

from dara.core import ConfigurationBuilder
from dara.core.internal.scheduler import every

from sales_dashboard import state
from sales_dashboard.components.layout import app_shell
from sales_dashboard.pages.admin import admin_page
from sales_dashboard.pages.forecast import forecast_page
from sales_dashboard.pages.overview import overview_page
from sales_dashboard.pages.pipeline import pipeline_page
from sales_dashboard.pages.regions import region_page
from sales_dashboard.pages.targets import targets_page
from sales_dashboard.services import live
from sales_dashboard.services.crm import crm_client, sync_crm

config = ConfigurationBuilder()
config.title = 'Sales Dashboard'
config.task_module = 'sales_dashboard.tasks'
config.add_ws_handler('presence', live.on_presence)

shell = config.router.add_layout(content=app_shell)
shell.add_index(content=overview_page, id='overview', name='Overview')
shell.add_page(path='regions/:region', content=region_page)
shell.add_page(path='pipeline', content=pipeline_page, id='pipeline')
shell.add_page(path='forecast', content=forecast_page)
reports = shell.add_prefix(path='reports', id='reports')
reports.add_page(path='targets', content=targets_page)
shell.add_page(path='admin', content=admin_page, id='admin')


@config.on_startup
async def prime_pipeline_snapshot():
    crm_client.connect()
    await state.pipeline_snapshot.write(crm_client.fetch_open_deals())


config.scheduler(every(30).minutes())(sync_crm)
