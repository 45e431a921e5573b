"""Board: a black-formatted app whose strings are double-quoted."""
from dara.core import ConfigurationBuilder

from board.pages.orders import orders_page
from board.pages.summary import summary_page

config = ConfigurationBuilder()
# dara-migrate: this app keeps process-local state (DM401 x1); it scales with sticky
# sessions only. Reason: automatic migration not possible.
config.unsafe_runtime_mode = "local"
config.title = "Board"

router = config.router
router.add_page(path="/", content=summary_page, id="index")
router.add_page(path="orders", content=orders_page, name="Orders", id="orders")
