"""Currencies a payment may come in, and converting its amount into the program's (rules version 3).

Amounts are in minor units, whose size differs: ISO 4217 gives most currencies two decimals, a few
none (JPY, KRW…) or three (KWD, BHD…). The program's `[earning.exchange_rates]` says what one unit
of a foreign currency is worth in the program's currency (`EUR = 1.08`: 1 EUR buys 1.08 USD).
"""

from __future__ import annotations

# ISO 4217's minor units for the currencies that do not have two (the table of ISO 4217, amendment 179).
_DECIMALS: dict[str, int] = {
    **dict.fromkeys(
        ["BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI", "VND", "VUV"], 0
    ),
    **dict.fromkeys(["XAF", "XOF", "XPF"], 0),
    **dict.fromkeys(["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"], 3),
    **dict.fromkeys(["CLF", "UYW"], 4),
}


def decimals(currency: str) -> int:
    """How many decimals a currency's minor unit has (2 unless ISO 4217 says otherwise)."""
    return _DECIMALS.get(currency, 2)


def convert(amount_minor: int, currency: str, target: str, rate: float) -> int:
    """`amount_minor` of `currency` in minor units of `target`, at `rate` units of `target` per unit."""
    shift = decimals(target) - decimals(currency)
    return round(amount_minor * rate * 10**shift)
