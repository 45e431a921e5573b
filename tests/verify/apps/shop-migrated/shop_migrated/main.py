from dara.core import ConfigurationBuilder

from shop_migrated.pages import home, reports

config = ConfigurationBuilder()
config.title = 'Shop'

config.router.add_page(path='home', content=home, id='home')
config.router.add_page(path='reports', content=reports, id='reports')
