from dara.core import DerivedVariable, Variable

size = Variable(3)
doubled = DerivedVariable(lambda s: s * 2, variables=[size], uid="board.state:doubled")


def region_total(region, *, uid_prefix: str | None = None):
    return DerivedVariable(
        lambda s: s + region,
        variables=[size],
        uid=f"{uid_prefix}.derived_variable_1" if uid_prefix else None,
    )
