"""What the operator has picked in the browser."""

from dara.core import DerivedVariable, Variable

search_term = Variable('', uid='console-search-term')
region = Variable('emea', uid='console-region')
theme = Variable('light', uid='console-theme')
counter = Variable(0, uid='console-counter')
region_label = DerivedVariable(lambda r: r.upper(), variables=[region], uid='console-region-label')
