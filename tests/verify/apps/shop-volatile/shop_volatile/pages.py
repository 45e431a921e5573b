"""uids that look fixed but are not: each process or host computes its own."""

import socket

from dara.components import Stack, Text
from dara.core import ComponentInstance, DerivedVariable, ServerVariable, Variable

region = Variable('eu')


def describe(selected: str) -> str:
    return f'Sales in {selected}'


# hash() of a str changes with PYTHONHASHSEED, so every worker computes another uid.
summary = DerivedVariable(describe, variables=[region], uid=f'summary-{hash("summary")}')
# A per-host key: each box of the deployment gets its own.
latest_orders = ServerVariable(default=[], uid=f'{socket.gethostname()}:latest-orders')
targets = ServerVariable(default={'eu': 100}, uid='shop_volatile.pages:targets')


def overview() -> ComponentInstance:
    return Stack(Text('Overview'), Text(summary))
