from dara.core import ConfigurationBuilder

from exits_early.pages import inventory

config = ConfigurationBuilder()
config.router.add_page(path='inventory', content=inventory, id='inventory')
