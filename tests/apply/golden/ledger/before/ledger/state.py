"""Shared state of the ledger."""

import logging
import uuid
from uuid import uuid4 as make_id

from dara.core import DerivedVariable, ServerVariable, Variable

from ledger.data import balance, count_entries

log = logging.getLogger(__name__)

entries = Variable([])
# Every start logs its own run id, so `uuid` stays imported.
RUN_ID = uuid.uuid4().hex
balances = DerivedVariable(balance, variables=[entries], uid=str(make_id()))
entry_cache = ServerVariable(uid=str(uuid.uuid4()))
low, high = DerivedVariable(balance), DerivedVariable(count_entries)
