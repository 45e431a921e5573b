from dara.core import ConfigurationBuilder

from books.pages import catalogue

config = ConfigurationBuilder()
config.router.add_page(path='/', content=catalogue, id='index')
