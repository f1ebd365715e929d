"""The Hypothesis strategies threeml's own tests use: those of :mod:`threeml.testing.strategies`.

They live in the package, where plugin authors can use them too; this module keeps
``import strategies`` working for the tests in this folder.
"""

from __future__ import annotations

from threeml.testing.strategies import (
    AREAS,
    BASE,
    CONDITIONS,
    NOT_GENERATED,
    SCALE,
    SPAN,
    TRIAL,
    Extract,
    contacts,
    criteria,
    criterion_strategies,
    datasets,
    day,
    definitions,
    enrolments,
    examples,
    extracts,
    outcomes,
    periods,
    services,
    users,
    windows,
)

__all__ = [
    "AREAS",
    "BASE",
    "CONDITIONS",
    "NOT_GENERATED",
    "SCALE",
    "SPAN",
    "TRIAL",
    "Extract",
    "contacts",
    "criteria",
    "criterion_strategies",
    "datasets",
    "day",
    "definitions",
    "enrolments",
    "examples",
    "extracts",
    "outcomes",
    "periods",
    "services",
    "users",
    "windows",
]
