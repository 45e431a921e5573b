import dara.core as dc
from dara.core import ServerVariable, Variable
from dara.core.interactivity.server_variable import MemoryBackend
from dara.core.persistence import BackendStore, BrowserStore

# Browser-only form state: stays random.
search = Variable('')

# Persisted in the browser, keyed by uid.
theme = Variable('light', store=BrowserStore(), uid='shop.state:theme')

notes = ServerVariable(default={}, backend=MemoryBackend(), uid='shop.state:notes')
shared_totals = ServerVariable(
    default=[],
    uid='shop.state:shared_totals',
    scope='global',
)
cart = dc.Variable(
    store=BackendStore(uid='shop.state:store'),
    default=[],
    uid='shop.state:cart',
)
