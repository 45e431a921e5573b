import dara.core as dc
from dara.core import ServerVariable, Variable
from dara.core.interactivity.server_variable import MemoryBackend
from dara.core.persistence import BackendStore, BrowserStore

# Browser-only form state: stays random.
search = Variable('')

# Persisted in the browser, keyed by uid.
theme = Variable('light', store=BrowserStore())

notes = ServerVariable(default={}, backend=MemoryBackend())
shared_totals = ServerVariable(
    default=[],
    backend=MemoryBackend(scope='global'),
)
cart = dc.Variable(
    store=BackendStore(),
    default=[],
)
