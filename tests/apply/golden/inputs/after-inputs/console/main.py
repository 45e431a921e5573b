"""Operator console."""

from dara.core import ConfigurationBuilder

from console.pages.home import home_page
from console.pages.regions import regions_page

config = ConfigurationBuilder()
# dara-migrate: this app keeps process-local state (DM401 x2); it scales with sticky
# sessions only. Reason: automatic migration not possible.
config.unsafe_runtime_mode = 'local'
config.router.add_page(path='home', content=home_page, id='home')
config.router.add_page(path='regions', content=regions_page, id='regions')
