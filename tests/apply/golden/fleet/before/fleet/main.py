from dara.core import ConfigurationBuilder

from fleet.pages.overview import overview_page
from fleet.pages.trips import trips_page

config = ConfigurationBuilder()
config.router.add_page(path='/', content=overview_page)
config.router.add_page(path='/trips', content=trips_page)
