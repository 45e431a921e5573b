from dara.core import ConfigurationBuilder

from books.pages import catalogue

config = ConfigurationBuilder()
# dara-migrate: this app keeps process-local state (DM301 x1); it scales with sticky
# sessions only. Reason: automatic migration not possible.
config.unsafe_runtime_mode = 'local'
config.router.add_page(path='/', content=catalogue, id='index')
