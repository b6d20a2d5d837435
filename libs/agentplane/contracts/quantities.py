"""Kubernetes resource quantities (`100m`, `1Gi`, …) as numbers.

Shared by the registry (a request must not exceed its limit) and the local provisioner
(limits become process limits). Values already match `contracts.pap.QUANTITY_PATTERN`.
"""

from __future__ import annotations

from decimal import Decimal

_SUFFIXES = {
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("1e-3"),
    "": Decimal(1),
    "k": Decimal(10) ** 3,
    "M": Decimal(10) ** 6,
    "G": Decimal(10) ** 9,
    "T": Decimal(10) ** 12,
    "P": Decimal(10) ** 15,
    "E": Decimal(10) ** 18,
    "Ki": Decimal(2) ** 10,
    "Mi": Decimal(2) ** 20,
    "Gi": Decimal(2) ** 30,
    "Ti": Decimal(2) ** 40,
    "Pi": Decimal(2) ** 50,
    "Ei": Decimal(2) ** 60,
}


def quantity(value: str) -> Decimal:
    """A Kubernetes quantity (already matching `QUANTITY_PATTERN`) as a number."""
    number = value.rstrip("numkMGTPEi")
    return Decimal(number) * _SUFFIXES[value[len(number) :]]
