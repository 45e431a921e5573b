"""Shop dashboard: the config module."""
from dara.core import ConfigurationBuilder

from shop.pages.orders import orders_page
from shop.pages.overview import overview_page

config = ConfigurationBuilder()
config.title = 'Shop'

router = config.router
router.add_page(path='/', content=overview_page, id='index')
reports = router.add_prefix(path='reports', id='reports')
reports.add_page(
    path='orders',
    content=orders_page,
    name='Orders',
    id='reports-orders',
)  # keep this comment
