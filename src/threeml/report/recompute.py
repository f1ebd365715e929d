"""The report's recomputer for ``threeml verify`` (:data:`threeml.publish.verify.RECOMPUTERS`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from threeml.data.dataset import Dataset
from threeml.definitions.policies import DisclosurePolicy
from threeml.publish.audited import audited
from threeml.publish.verify import RECOMPUTERS
from threeml.records.periods import Period
from threeml.report import audit as _audit  # noqa: F401  (registers the report's audit)
from threeml.report.areas import AREAS, report_areas
from threeml.report.model import build_report
from threeml.report.publish import publish_report

__all__ = ["recompute_report"]


def recompute_report(
    data: Mapping[str, Any],
    dataset: Dataset,
    registry: Any,
    policy: DisclosurePolicy,
    period: Period,
) -> dict[str, Any]:
    """The report ``data`` records, evaluated again on ``dataset``, published under ``policy``."""
    definitions = [registry.counting(d["name"]) for d in data.get("definitions", ())]
    metrics = [registry.metric(m["name"]) for m in data.get("metrics", ())]
    report = build_report(
        dataset,
        period,
        registry=registry,
        definitions=definitions,
        metrics=metrics,
        by=tuple(data.get("by", ())),
        over_time=bool(data.get("over_time", {}).get("periods")),
        every=data.get("over_time", {}).get("every"),
        cell_keys=policy.cell_key,
    )
    # Audited as the report was before it was written: the cells the audit suppressed
    # (over time, the stock and flow pinned by its identities) are suppressed again; a report
    # written with --area is filtered to the same areas after the audit, as it was.
    document = audited(publish_report(report, policy))
    shown = (data.get(AREAS) or {}).get("shown")
    if shown:
        document = report_areas(document, shown)
    return dict(document.data)


RECOMPUTERS["report"] = recompute_report
