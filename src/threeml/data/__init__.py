"""Data access: loading extracts into the engine and validating them on the way in."""

from threeml.data.dataset import Dataset, InvalidDataset, Mode, records_to_arrow, validate_folder
from threeml.data.report import Problem, ProblemKind, Severity, ValidationReport, report_to_dict

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
