from dara.core import ConfigurationBuilder
from dara.core.router import Router

from dash.pages import region_page
from dash.registry import PAGES, REGIONS

config = ConfigurationBuilder()
router = Router()

# Every page of the registry, at its own path.
for name, page in PAGES.items():
    router.add_page(path=name, content=page)

regions = router.add_prefix(path="regions")
for region in REGIONS:
    regions.add_page(path=f"/{region}/summary", content=region_page(region))

# Old links still work: the same pages under a second path each.
for name in PAGES:
    router.add_page(path=f"legacy/{name}", content=PAGES[name])

router.add_page(path="overview-2024", content=PAGES["overview"])
config.router = router
