"""Shared state of the ledger."""

import logging
import uuid

from dara.core import DerivedVariable, ServerVariable, Variable

from ledger.data import balance, count_entries

log = logging.getLogger(__name__)

entries = Variable([])
# Every start logs its own run id, so `uuid` stays imported.
RUN_ID = uuid.uuid4().hex
balances = DerivedVariable(balance, variables=[entries], uid='ledger.state:balances')
entry_cache = ServerVariable(uid='ledger.state:entry_cache')
low, high = DerivedVariable(
    balance,
    uid='ledger.state:derived_variable_1',
), DerivedVariable(count_entries, uid='ledger.state:derived_variable_2')
