"""The report: every definition and metric on one extract, safe to publish, pleasant to read.

:func:`build_report` evaluates (raw figures, for a secure environment);
:func:`publish` applies a disclosure policy and is what every writer uses;
:func:`write_report` writes the files into a folder, one per output format
(:mod:`threeml.publish.formats`)::

    results.csv, results.json   the published figures (machine-readable)
    report.html                 one self-contained page with charts
    measurereport.json          a FHIR R4 MeasureReport (summary)
    membership.parquet          per-unit membership (only when asked; row-level)

Everything but the membership file states the policy applied and is the same,
byte for byte, for the same extract and options.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from threeml.publish.disclosure import DisclosurePolicy
from threeml.report.fhir import measure_report, to_measure_report_json
from threeml.report.files import (
    DEFAULT_FORMATS,
    FILES,
    remove_stale,
    report_formats,
    write_files,
)
from threeml.report.html import to_html
from threeml.report.model import Report, build_report, sub_periods
from threeml.report.publish import PublishedReport, publish, publish_report
from threeml.report.tables import csv_rows, to_csv, to_json, write_membership

__all__ = [
    "DEFAULT_FORMATS",
    "FILES",
    "PublishedReport",
    "Report",
    "build_report",
    "csv_rows",
    "measure_report",
    "publish",
    "publish_report",
    "report_formats",
    "sub_periods",
    "to_csv",
    "to_html",
    "to_json",
    "to_measure_report_json",
    "write_files",
    "write_membership",
    "write_report",
]


def write_report(
    report: Report,
    folder: Path | str,
    policy: DisclosurePolicy,
    *,
    membership: bool = False,
    title: str = "threeml report",
    formats: Sequence[str] = DEFAULT_FORMATS,
) -> dict[str, Path]:
    """Write the report's files into ``folder`` (created if need be); return them by name.

    ``formats`` name the output formats to write (default: every published one);
    ``membership`` adds the row-level membership file. A membership file an earlier run
    left in ``folder`` is removed when this one writes none
    (:func:`~threeml.report.files.remove_stale`).
    """
    names = [*formats, "membership"] if membership else list(formats)
    written = write_files(publish_report(report, policy, title=title), folder, names)
    remove_stale(folder, names)
    return written
