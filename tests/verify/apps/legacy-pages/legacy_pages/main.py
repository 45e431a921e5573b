from dara.core import ConfigurationBuilder

from legacy_pages.pages import Reports, overview

config = ConfigurationBuilder()
config.title = 'Ledger'


def register(builder: ConfigurationBuilder) -> None:
    builder.add_page(name='Sales Reports', content=Reports)


config.add_page('Overview', content=overview, route='/')
register(config)
config.add_page('About', 'A small ledger')
