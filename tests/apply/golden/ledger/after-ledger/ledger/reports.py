"""Reports over the ledger's entries."""

from uuid import uuid1

from dara.core import DerivedVariable

from ledger.data import summarise
from ledger.state import entries

monthly = DerivedVariable(summarise, variables=[entries], uid='ledger.reports:monthly')


def request_id() -> str:
    return uuid1().hex
