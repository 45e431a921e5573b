"""Board: a black-formatted app whose strings are double-quoted."""
from dara.core import ConfigurationBuilder

from board.pages.orders import orders_page
from board.pages.summary import summary_page

config = ConfigurationBuilder()
config.title = "Board"

router = config.router
router.add_page(path="/", content=summary_page)
router.add_page(path="orders", content=orders_page, name="Orders")
