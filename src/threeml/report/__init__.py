"""The report: every definition and metric on one extract, safe to publish, pleasant to read.

:func:`build_report` evaluates (raw figures, for a secure environment);
:func:`publish` applies a disclosure policy and is what every writer uses;
:func:`write_report` writes the files into a folder::

    results.csv, results.json   the published figures (machine-readable)
    report.html                 one self-contained page with charts
    measurereport.json          a FHIR R4 MeasureReport (summary)
    membership.parquet          per-unit membership (only when asked; row-level)

Everything but the membership file states the policy applied and is the same,
byte for byte, for the same extract and options.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from threeml.publish.disclosure import DisclosurePolicy
from threeml.report.fhir import measure_report, to_measure_report_json
from threeml.report.html import to_html
from threeml.report.model import Report, build_report, sub_periods
from threeml.report.publish import publish
from threeml.report.tables import csv_rows, to_csv, to_json, write_membership

__all__ = [
    "FILES",
    "Report",
    "build_report",
    "csv_rows",
    "measure_report",
    "publish",
    "sub_periods",
    "to_csv",
    "to_html",
    "to_json",
    "to_measure_report_json",
    "write_report",
]

#: The files :func:`write_report` writes, in order.
FILES = ("results.csv", "results.json", "report.html", "measurereport.json")


def write_report(
    report: Report,
    folder: Path | str,
    policy: DisclosurePolicy,
    *,
    membership: bool = False,
    title: str = "threeml report",
) -> dict[str, Path]:
    """Write the report's files into ``folder`` (created if need be); return them by name."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    published: Mapping[str, Any] = publish(report, policy)
    texts = {
        "results.csv": to_csv(published),
        "results.json": to_json(published),
        "report.html": to_html(published, title=title),
        "measurereport.json": to_measure_report_json(published),
    }
    written = {}
    for name, text in texts.items():
        path = folder / name
        path.write_text(text, encoding="utf-8", newline="\n")
        written[name] = path
    if membership:
        path = folder / "membership.parquet"
        write_membership(report, path)
        written["membership.parquet"] = path
    return written
