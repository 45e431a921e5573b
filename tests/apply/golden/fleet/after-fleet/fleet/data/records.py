from dara.core import ServerVariable


def load_vehicles() -> list[dict[str, str]]:
    return [{'plate': 'KA-123', 'depot': 'north'}]


def load_trips() -> list[dict[str, str]]:
    return [{'plate': 'KA-123', 'from': 'north', 'to': 'south'}]


# the latest telemetry per user, refreshed by the polling task
fleet_telemetry = ServerVariable(
    uid='fleet.data.records:fleet_telemetry',
    scope='user',
)
