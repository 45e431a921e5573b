"""The audit trail of the ledger."""

from dara.core import DerivedVariable

from ledger.data import summarise
from ledger.state import entries

trail = DerivedVariable(summarise, variables=[entries], uid='ledger.trail:trail')
