from dara.components import Stack, Text
from dara.core import DerivedVariable, Variable, py_component

search = Variable('')
# The blocker below was redesigned by hand: one module-level definition with a uid.
matches = DerivedVariable(lambda q: [q], variables=[search], uid='books.pages:matches')


@py_component
def results(found):
    # dara-migrate: local-only[DM301] automatic migration not possible
    return Text(str(found))


def catalogue():
    return Stack(results(matches))
