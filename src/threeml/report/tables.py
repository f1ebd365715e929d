"""Machine-readable report files: results.json, results.csv and membership.parquet.

Both results files are written from :func:`threeml.report.publish.publish`
(disclosure control applied), hold no timestamps and list everything in a
stable order, so the same extract and options give byte-identical files.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import IO, Any

import pyarrow as pa
import pyarrow.parquet as pq

from threeml.publish.counts import ALL_AREAS
from threeml.publish.safe import csv_writer
from threeml.records.codes import Unit
from threeml.report.model import Report
from threeml.report.provenance import failures_text, provenance_items

__all__ = ["CSV_COLUMNS", "csv_rows", "to_csv", "to_json", "write_membership"]

CSV_COLUMNS = ("section", "name", "breakdown", "group", "item", "value", "disclosure")


def _published(value: Any) -> Any:
    """A total as the CSV holds it: ``suppressed`` when disclosure control withheld it."""
    return "suppressed" if value is None else value


def to_json(published: Mapping[str, Any]) -> str:
    """The published report as JSON text (two-space indent, final newline)."""
    return json.dumps(published, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def _flatten(prefix: str, value: Any) -> Iterable[tuple[str, Any]]:
    if isinstance(value, Mapping):
        for key, inner in value.items():
            yield from _flatten(f"{prefix}.{key}" if prefix else str(key), inner)
    elif isinstance(value, list):
        yield prefix, "; ".join(str(v) for v in value)
    else:
        yield prefix, value


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def csv_rows(published: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The published report as long-format rows: one figure per row.

    ``section`` is ``about``, ``provenance``, ``count``, ``attrition``, ``breakdown``,
    ``metric``, ``metric-breakdown``, ``over-time`` (per interval; by area: the group, and
    ``<interval>: count``) or ``over-time-flow`` (the stock and flow: ``<interval>: <figure>``
    for all areas and each group); suppressed cells hold
    ``suppressed``; ``disclosure`` says whether the policy applied to the row.
    """
    policy = published["disclosure"]
    applied = f"applied: {policy['name']}"
    rows: list[dict[str, Any]] = []

    def add(section, name, breakdown, group, item, value, disclosure=ALL_AREAS):
        rows.append(
            {
                "section": section,
                "name": name,
                "breakdown": breakdown,
                "group": group,
                "item": item,
                "value": _cell(value),
                "disclosure": disclosure,
            }
        )

    add("about", "", "", "", "disclosure", policy["description"], applied)
    if isinstance(published.get("audit"), Mapping):  # audited (else provenance says "not audited")
        add("about", "", "", "", "disclosure_audit", published["audit"]["description"], applied)
    if published.get("areas"):
        add("about", "", "", "", "areas", published["areas"]["note"], "")
    add("about", "", "", "", "period", published["period"]["label"], "")
    add("about", "", "", "", "extract_date", published["extract_date"], "")
    add("about", "", "", "", "threeml_version", published["threeml_version"], "")
    for item, value in provenance_items(published):
        add("provenance", "", "", "", item, value, "")
    for text in failures_text(published):
        add("about", "", "", "", "plugin_failed_to_load", text, "")
    for definition in published["definitions"]:
        name = definition["name"]
        about_all = definition.get("totals_disclosure", ALL_AREAS)
        for item in ("count", "users", "records", "considered"):
            add("count", name, "", "", item, _published(definition[item]), about_all)
        for step in definition["attrition"]:
            label = f"{step['step']}. {step['criterion']}"
            for item in ("remaining", "excluded", "leave_one_out"):
                add("attrition", name, "", label, item, _published(step[item]), about_all)
        for breakdown, cells in definition["breakdowns"].items():
            for cell in cells:
                value = "suppressed" if cell["suppressed"] else cell["count"]
                add("breakdown", name, breakdown, cell["group"], "count", value, applied)
    for metric in published["metrics"]:
        name = metric["name"]
        if not metric["evaluated"]:
            add("metric", name, "", "", "error", metric["error"])
            continue
        about_all = metric.get("totals_disclosure", ALL_AREAS)
        for key in ("numerator", "denominator", "value", "ci_low", "ci_high", "reason"):
            add("metric", name, "", "", key, metric[key], about_all)
        for item, value in _flatten("details", metric["details"]):
            add("metric", name, "", "", item, value, about_all)
        for breakdown, groups in metric["breakdowns"].items():
            for group in groups:
                for key in ("numerator", "denominator", "value", "ci_low", "ci_high"):
                    value = group[key]
                    if value is None and group["suppressed"]:
                        value = "suppressed"
                    add("metric-breakdown", name, breakdown, group["group"], key, value, applied)
                add("metric-breakdown", name, breakdown, group["group"], "reason",
                    group["reason"], applied)  # fmt: skip
                for item, value in _flatten("details", group["details"]):
                    add("metric-breakdown", name, breakdown, group["group"], item, value, applied)
    over_time = published["over_time"]
    stated = over_time.get("disclosure", ALL_AREAS)
    labels = [period["label"] for period in over_time["periods"]]
    for name, values in over_time["counts"].items():
        for label, value in zip(labels, values, strict=True):
            add("over-time", name, "", label, "count", _published(value), stated)
    for name, breakdowns in over_time.get("breakdowns", {}).items():
        for by, groups in breakdowns.items():
            for group, values in groups.items():
                for label, value in zip(labels, values, strict=True):
                    add("over-time", name, by, group, f"{label}: count", _published(value), stated)
    flow = over_time.get("flow")
    if flow:
        sides = [("", "all", flow["all"])]
        sides += [(flow.get("by") or "", group, f) for group, f in flow["groups"].items()]
        for by, group, figures in sides:
            for figure, values in figures.items():
                for label, value in zip(labels, values, strict=True):
                    item = f"{label}: {figure}"
                    add("over-time-flow", flow["name"], by, group, item, _published(value), stated)
    return rows


def to_csv(published: Mapping[str, Any]) -> str:
    """The published report as CSV text (``\\n`` line ends)."""
    buffer = io.StringIO()
    writer = csv_writer(buffer, CSV_COLUMNS)
    writer.writeheader()
    writer.writerows(csv_rows(published))
    return buffer.getvalue()


def write_membership(report: Report, path: Path | IO[bytes]) -> None:
    """Per-unit membership of every definition as one Parquet file (row-level: not published).

    Columns: ``definition``, ``unit``, ``user_id``, ``enrolment_id`` (null for
    people), ``counted``, ``first_failed``. Rows are sorted, so the file's data
    is the same on every run. The file's metadata says it is row-level data, to
    which disclosure control does not apply.
    """
    parts = []
    for name, result in report.counts.items():
        table = result.membership()
        n = table.num_rows
        enrolments = (
            table["enrolment_id"]
            if result.unit is Unit.ENROLMENTS
            else pa.nulls(n, type=pa.string())
        )
        parts.append(
            pa.table(
                {
                    "definition": pa.array([name] * n, pa.string()),
                    "unit": pa.array([result.unit.value] * n, pa.string()),
                    "user_id": table["user_id"].cast(pa.string()),
                    "enrolment_id": pa.chunked_array([enrolments]).cast(pa.string())
                    if not isinstance(enrolments, pa.ChunkedArray)
                    else enrolments.cast(pa.string()),
                    "counted": table["counted"].cast(pa.bool_()),
                    "first_failed": table["first_failed"].cast(pa.int32()),
                }
            )
        )
    schema = pa.schema(
        [
            ("definition", pa.string()),
            ("unit", pa.string()),
            ("user_id", pa.string()),
            ("enrolment_id", pa.string()),
            ("counted", pa.bool_()),
            ("first_failed", pa.int32()),
        ]
    )
    combined = pa.concat_tables(parts).cast(schema) if parts else schema.empty_table()
    combined = combined.sort_by(
        [("definition", "ascending"), ("user_id", "ascending"), ("enrolment_id", "ascending")]
    )
    combined = combined.replace_schema_metadata(
        {
            "threeml.disclosure": "not applied: row-level membership, for use inside a secure "
            "environment only; never publish this file",
            "threeml.period": f"{report.period.start}:{report.period.end}",
        }
    )
    pq.write_table(combined, path)
