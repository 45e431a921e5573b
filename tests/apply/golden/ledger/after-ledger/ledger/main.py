"""The ledger app."""

from dara.core import ConfigurationBuilder

from ledger.pages.books import books_page

config = ConfigurationBuilder()
config.router.add_page(path='books', content=books_page, id='books')
