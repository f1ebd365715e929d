"""The eleven standard counting definitions of threeml, as importable values.

from threeml_counting import ACTIVE_TELEHEALTH
stricter = ACTIVE_TELEHEALTH.variant(name="active-telehealth-8", count=8)
"""

from threeml_counting.definitions import (
    ACTIVE,
    ACTIVE_TELEHEALTH,
    CENSUS,
    CONNECTIONS,
    HIGH_RISK,
    IN_RECEIPT,
    LTC_TELEHEALTH,
    MULTI_SECTOR,
    NEW_USERS,
    REFERRED,
    STANDARD,
    TELEHEALTH,
)

__all__ = [
    "ACTIVE",
    "ACTIVE_TELEHEALTH",
    "CENSUS",
    "CONNECTIONS",
    "HIGH_RISK",
    "IN_RECEIPT",
    "LTC_TELEHEALTH",
    "MULTI_SECTOR",
    "NEW_USERS",
    "REFERRED",
    "STANDARD",
    "TELEHEALTH",
]
