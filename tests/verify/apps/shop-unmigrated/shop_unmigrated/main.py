from dara.core import ConfigurationBuilder

from shop_unmigrated.pages import home, reports

config = ConfigurationBuilder()
config.title = 'Shop'

config.router.add_page(path='home', content=home)
config.router.add_page(path='reports', content=reports)
