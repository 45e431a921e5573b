"""dara-migrate: audit and migrate Dara apps to the distributed-safe runtime contract."""

__version__ = "0.1.0"
