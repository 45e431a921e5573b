"""Operator console."""

from dara.core import ConfigurationBuilder

from console.pages.home import home_page
from console.pages.regions import regions_page

config = ConfigurationBuilder()
config.router.add_page(path='home', content=home_page, id='home')
config.router.add_page(path='regions', content=regions_page, id='regions')
