"""Shop dashboard: the config module."""
from dara.core import ConfigurationBuilder

from shop.pages.orders import orders_page
from shop.pages.overview import overview_page

config = ConfigurationBuilder()
# dara-migrate: this app keeps process-local state (DM202 x1, DM301 x1); it scales
# with sticky sessions only. Reason: automatic migration not possible.
config.unsafe_runtime_mode = 'local'
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
