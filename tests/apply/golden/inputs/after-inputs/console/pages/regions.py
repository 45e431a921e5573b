"""Per-region view."""

from dara.components import Button, Stack

from console.actions import apply_region, banner, bump
from console.state import region, region_label, theme


def regions_page():
    return Stack(
        banner('Regions', theme=theme),
        Button(
            'Apply',
            onclick=apply_region(
                'sales',
                region_value=region,
                region_label=region_label,
            ),
        ),
        Button('Bump', onclick=bump()),
    )
