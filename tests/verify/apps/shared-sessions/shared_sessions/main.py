"""An app whose workers share their auth session store (a folder every worker can read).

Its deployment names no signing secret, so a session made on one worker verifies on another only
when the operator passes one shared secret to every worker.
"""

import os

from dara.core import ConfigurationBuilder, DerivedVariable, Variable
from dara.core.auth.session_store import FileAuthSessionBackend
from dara.components import Stack, Text

config = ConfigurationBuilder()
config.title = 'Shared sessions'
config.auth_session_backend = FileAuthSessionBackend(path=os.environ['SHARED_SESSIONS_DIR'])

region = Variable('EMEA', uid='region')
greeting = DerivedVariable(lambda r: f'Hello {r}', variables=[region], uid='greeting')


def home():
    return Stack(Text(greeting))


config.router.add_page(path='home', content=home, id='home')
