"""What other packages import from the ledger."""

from uuid import uuid4

from dara.core import DerivedVariable

from ledger.data import summarise
from ledger.state import entries

__all__ = ['uuid4', 'yearly']

yearly = DerivedVariable(summarise, variables=[entries], uid='ledger.exports:yearly')
