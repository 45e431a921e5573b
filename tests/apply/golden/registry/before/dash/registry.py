"""Which pages the app has, by path: one place to add a page."""

from dash.pages import churn_report, overview, sales

PAGES = {
    "overview": overview,
    "sales": sales,
    "churn-report": churn_report,
}
REGIONS = ("north", "south", "east")
