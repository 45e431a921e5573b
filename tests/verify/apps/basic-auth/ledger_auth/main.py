"""A ledger behind basic auth: every request needs the session its login form creates."""

from dara.core import ConfigurationBuilder, DerivedVariable, Variable
from dara.components import Stack, Text

from ledger_auth.auth import analysts

config = ConfigurationBuilder()
config.title = 'Ledger'
config.add_auth(analysts())

quarter = Variable('Q1', uid='quarter')
summary = DerivedVariable(lambda q: f'Ledger for {q}', variables=[quarter], uid='summary')


def ledger():
    return Stack(Text(summary))


config.router.add_page(path='ledger', content=ledger, id='ledger')
