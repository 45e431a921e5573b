from dara.core import ConfigurationBuilder

from broken_import.pages import sales

config = ConfigurationBuilder()
config.router.add_page(path='sales', content=sales, id='sales')
