"""Variables shared by several pages."""

from dara.core import DataVariable, ServerVariable, Variable
from dara.core.interactivity.server_variable import MemoryBackend
from dara.core.persistence import BackendStore

from sales_dashboard.data.loader import load_sales
from sales_dashboard.settings import CURRENT_YEAR

# The order ledger, loaded once and shared by every page.
sales_data = DataVariable(load_sales(), uid='sales-ledger')

# Fiscal year picked in the page headers.
selected_year = Variable(str(CURRENT_YEAR))

# Bumped by the "Refresh" button; derived variables list it in `deps`.
refresh_tick = Variable(0)

# Per-user display preferences, kept on the server so they follow the user.
user_preferences = Variable(
    {'currency': 'USD', 'compact_numbers': True},
    store=BackendStore(uid='user-preferences-store', scope='user'),
)

# Remember whether the sidebar was collapsed.
sidebar_collapsed = Variable(False, persist_value=True)

# Private notes on deals, per user.
deal_notes = ServerVariable(
    backend=MemoryBackend(),
    scope='user',
)

# Last snapshot of the open pipeline pulled from the CRM.
pipeline_snapshot = ServerVariable(scope='global')
