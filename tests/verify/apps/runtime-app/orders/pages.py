from dara.components import Stack, Text
from dara.core import ComponentInstance, DerivedVariable, Variable

status = Variable('open', uid='orders.pages:status')


def headline(selected: str) -> str:
    return f'{selected.title()} orders'


title = DerivedVariable(headline, variables=[status], uid='orders.pages:title')


def dashboard() -> ComponentInstance:
    return Stack(Text(title))
