from dara.core import ConfigurationBuilder

from shop_volatile.pages import overview

config = ConfigurationBuilder()
config.router.add_page(path='overview', content=overview, id='overview')
