"""Per-region view."""

from dara.components import Button, Stack

from console.actions import apply_region, banner, bump


def regions_page():
    return Stack(
        banner('Regions'),
        Button(
            'Apply',
            onclick=apply_region(
                'sales',
            ),
        ),
        Button('Bump', onclick=bump()),
    )
