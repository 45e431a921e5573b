"""Sums over the ledger's entries."""


def balance(entries: list[dict[str, float]]) -> float:
    return sum(entry['amount'] for entry in entries)


def count_entries(entries: list[dict[str, float]]) -> int:
    return len(entries)


def summarise(entries: list[dict[str, float]]) -> dict[str, float]:
    return {'total': balance(entries), 'count': count_entries(entries)}
