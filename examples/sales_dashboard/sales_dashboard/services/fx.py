"""Currency conversion for the headline numbers."""

_FALLBACK_RATES = {'USD': 1.0, 'EUR': 0.92, 'GBP': 0.79}

# Rates are looked up once per currency and then reused.
_RATE_CACHE: dict[str, float] = {}


def _lookup_rate(currency: str) -> float:
    # The treasury API is only reachable from the office network; the fallback
    # table is good enough for dashboard numbers.
    return _FALLBACK_RATES.get(currency, 1.0)


def usd_rate(currency: str) -> float:
    if currency not in _RATE_CACHE:
        _RATE_CACHE[currency] = _lookup_rate(currency)
    return _RATE_CACHE[currency]


def convert(amounts: dict[str, float], currency: str, money_keys: tuple[str, ...]) -> dict[str, float]:
    rate = usd_rate(currency)
    return {k: (v * rate if k in money_keys else v) for k, v in amounts.items()}
