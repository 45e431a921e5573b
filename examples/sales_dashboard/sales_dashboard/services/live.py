"""Live presence: the browser reports which page each tab is on."""

from collections import Counter

# channel id -> page path
_VIEWERS: dict[str, str] = {}


def on_presence(channel: str, message: dict) -> dict:
    page = message.get('page', '/')
    _VIEWERS[channel] = page
    counts = Counter(_VIEWERS.values())
    return {'page': page, 'viewers': counts[page]}
