"""The dashboard's pages: one function per page."""

from dara.components import Stack, Text


def overview():
    return Stack(Text("Overview"))


def sales():
    return Stack(Text("Sales"))


def churn_report():
    return Stack(Text("Churn"))


def region_page(region: str):
    return lambda: Text(f"Region {region}")
