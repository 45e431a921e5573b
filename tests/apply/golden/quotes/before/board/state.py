from dara.core import DerivedVariable, Variable

size = Variable(3)
doubled = DerivedVariable(lambda s: s * 2, variables=[size])


def region_total(region):
    return DerivedVariable(lambda s: s + region, variables=[size])
