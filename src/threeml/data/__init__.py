"""Data access: loading extracts into the engine and validating them on the way in.

The names below are imported on first use (PEP 562), so that importing a light module of this
package, such as :mod:`threeml.data.loaders`, does not start the engine (ibis, DuckDB).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from threeml.data.dataset import (
        Dataset,
        InvalidDataset,
        Mode,
        records_to_arrow,
        validate_folder,
    )
    from threeml.data.report import (
        Problem,
        ProblemKind,
        Severity,
        ValidationReport,
        report_to_dict,
    )

#: Where each public name of the package lives.
_HOMES = {
    "Dataset": "threeml.data.dataset",
    "InvalidDataset": "threeml.data.dataset",
    "Mode": "threeml.data.dataset",
    "records_to_arrow": "threeml.data.dataset",
    "validate_folder": "threeml.data.dataset",
    "Problem": "threeml.data.report",
    "ProblemKind": "threeml.data.report",
    "Severity": "threeml.data.report",
    "ValidationReport": "threeml.data.report",
    "report_to_dict": "threeml.data.report",
}

__all__ = [
    "Dataset",
    "InvalidDataset",
    "Mode",
    "Problem",
    "ProblemKind",
    "Severity",
    "ValidationReport",
    "records_to_arrow",
    "report_to_dict",
    "validate_folder",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'threeml.data' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_HOMES})
