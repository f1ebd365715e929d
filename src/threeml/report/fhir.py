"""The report as a FHIR R4 MeasureReport (summary type), as JSON.

One ``group`` per counting definition: the ``initial-population`` is every
unit considered and the ``measure-population`` the units counted (totals over
all areas, as :mod:`threeml.publish.counts` publishes them), with the count as the
group's ``measureScore`` (left out, and the population masked, when suppressed). Each
breakdown is a ``stratifier`` whose strata carry the published counts; a
suppressed stratum has no ``count`` and a ``data-absent-reason`` extension of
``masked``. The disclosure policy is recorded in an extension on the report, and the
provenance and the audit's outcome in another (:mod:`threeml.report.provenance`).
No timestamps: the same inputs give the same file.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from threeml.publish.provenance import audit_text
from threeml.report.provenance import (
    PLUGIN_FAILURE_EXTENSION,
    failures_text,
    provenance_extension,
)

__all__ = ["AUDIT_EXTENSION", "DISCLOSURE_EXTENSION", "MEASURE_BASE", "measure_report"]

#: Canonical base for the measures threeml reports on (one per definition name).
MEASURE_BASE = "https://threeml.readthedocs.io/fhir/Measure"
#: The extension recording the disclosure policy applied.
DISCLOSURE_EXTENSION = "https://threeml.readthedocs.io/fhir/StructureDefinition/disclosure-control"
#: The extension recording the disclosure audit's outcome.
AUDIT_EXTENSION = "https://threeml.readthedocs.io/fhir/StructureDefinition/disclosure-audit"
_POPULATION = "http://terminology.hl7.org/CodeSystem/measure-population"
_ABSENT = "http://hl7.org/fhir/StructureDefinition/data-absent-reason"
_DEFINITIONS = "https://threeml.readthedocs.io/fhir/CodeSystem/definition"


def _population(code: str, display: str, count: int | None) -> dict[str, Any]:
    found: dict[str, Any] = {
        "code": {"coding": [{"system": _POPULATION, "code": code, "display": display}]}
    }
    if count is None:
        found["extension"] = [{"url": _ABSENT, "valueCode": "masked"}]
    else:
        found["count"] = count
    return found


def measure_report(published: Mapping[str, Any]) -> dict[str, Any]:
    """A FHIR R4 MeasureReport resource (a dict) for the published report."""
    policy = published["disclosure"]
    groups = []
    for definition in published["definitions"]:
        stratifiers = []
        for breakdown, cells in definition["breakdowns"].items():
            stratifiers.append(
                {
                    "code": [{"text": breakdown}],
                    "stratum": [
                        {
                            "value": {"text": cell["group"]},
                            "population": [
                                _population(
                                    "measure-population",
                                    "Measure Population",
                                    None if cell["suppressed"] else cell["count"],
                                )
                            ],
                        }
                        for cell in cells
                    ],
                }
            )
        group: dict[str, Any] = {
            "id": definition["name"].replace(".", "-"),
            "code": {
                "coding": [
                    {
                        "system": _DEFINITIONS,
                        "code": definition["name"],
                        "version": definition["version"],
                        "display": definition["title"],
                    }
                ],
                "text": f"{definition['title']} ({definition['unit']})",
            },
            "population": [
                _population("initial-population", "Initial Population", definition["considered"]),
                _population("measure-population", "Measure Population", definition["count"]),
            ],
        }
        if definition["count"] is not None:  # a suppressed total has no score
            group["measureScore"] = {"value": definition["count"], "unit": definition["unit"]}
        if stratifiers:
            group["stratifier"] = stratifiers
        groups.append(group)
    period = published["period"]
    return {
        "resourceType": "MeasureReport",
        "id": f"threeml-{period['start']}-{period['end']}",
        "extension": [
            {"url": DISCLOSURE_EXTENSION, "valueString": policy["description"]},
            {"url": AUDIT_EXTENSION, "valueString": audit_text(published.get("audit"))},
            provenance_extension(published),
            *(
                {"url": PLUGIN_FAILURE_EXTENSION, "valueString": text}
                for text in failures_text(published)
            ),
        ],
        "status": "complete",
        "type": "summary",
        "measure": f"{MEASURE_BASE}/threeml-catalogue|{published['threeml_version']}",
        "period": {"start": period["start"], "end": period["end"]},
        "group": groups,
    }


def to_measure_report_json(published: Mapping[str, Any]) -> str:
    """The MeasureReport as JSON text (two-space indent, final newline)."""
    return json.dumps(measure_report(published), indent=2, ensure_ascii=False) + "\n"
