"""Reports over the ledger's entries."""

from uuid import uuid1, uuid4

from dara.core import DerivedVariable

from ledger.data import summarise
from ledger.state import entries

monthly = DerivedVariable(summarise, variables=[entries], uid=str(uuid4()))


def request_id() -> str:
    return uuid1().hex
