from dara.components import Stack, Text
from dara.core import DerivedVariable, Variable

region = Variable('north', uid='legacy_pages.pages:region')
label = DerivedVariable(lambda r: r.upper(), variables=[region], uid='legacy_pages.pages:label')


def overview():
    return Stack(Text('Overview'), Text(label))


class Reports:
    def __call__(self):
        return Text('Reports')
