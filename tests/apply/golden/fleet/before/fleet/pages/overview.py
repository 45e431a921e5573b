from dara.components import Select, Stack, Text
from dara.core import Variable, action, py_component

from fleet.data.records import load_vehicles

selected_depot = Variable('north')
# the depots a dispatcher can pick from
depots = Variable(['north', 'south'])


@py_component
def overview_page():
    @action
    async def pick_depot(ctx: action.Ctx):
        await ctx.update(selected_depot, ctx.input)

    vehicles = load_vehicles()
    return Stack(Select(items=depots, value=selected_depot),
                 Text(f'{len(vehicles)} vehicles'))
