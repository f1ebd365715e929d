"""Checking a published JSON file against an extract: ``threeml verify``.

:func:`verify` reads what a published file records (its kind, period, policy, definitions
with their content hashes, the extract's fingerprint), refuses to recompute when a
definition installed today differs from the one recorded (naming it), compares the
extract's fingerprint table by table, and recomputes every figure with the recorded
definitions, policy and period, listing each figure that differs.

Each kind of published document has a recomputer in :data:`RECOMPUTERS` (``count``,
``compare``, ``diff``, ``metric``; the report registers ``report`` from
:mod:`threeml.report.recompute`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from attrs import frozen

from threeml.data.dataset import Dataset
from threeml.data.fingerprint import ExtractFingerprint, fingerprint
from threeml.definitions.policies import DisclosurePolicy
from threeml.engine.compare import compare, diff
from threeml.engine.evaluate import ENROLMENT_BREAKDOWNS, count
from threeml.errors import ThreemlError
from threeml.metrics.evaluate import evaluate_metric
from threeml.publish.compare import PublishedDiff, publish_comparison
from threeml.publish.counts import publish_count
from threeml.publish.disclosure import policy_named
from threeml.publish.metrics import publish_metric
from threeml.publish.provenance import Provenance, definition_hash
from threeml.records.periods import Period

__all__ = [
    "RECOMPUTERS",
    "Mismatch",
    "NotVerifiable",
    "Verification",
    "compare_figures",
    "document_kind",
    "recorded_provenance",
    "verify",
]

#: Recompute a document's data: (recorded data, dataset, registry, policy, period) -> data.
Recompute = Callable[[Mapping[str, Any], Dataset, Any, DisclosurePolicy, Period], dict[str, Any]]

#: Keys that say where a document came from, not what it found: never compared as figures.
NOT_FIGURES = frozenset({"provenance", "audit"})


class NotVerifiable(ThreemlError):
    """A file ``threeml verify`` cannot check (not a threeml output, or one without provenance)."""


@frozen
class Mismatch:
    """One way the published file does not match: what, as published, as recomputed."""

    what: str
    published: Any
    found: Any

    def line(self) -> str:
        """The mismatch as one line."""
        return f"{self.what}: published {self.published!r}, recomputed {self.found!r}"


@frozen
class Verification:
    """The outcome of :func:`verify`: the document's kind and every mismatch found."""

    kind: str
    mismatches: tuple[Mismatch, ...]
    recomputed: bool

    @property
    def ok(self) -> bool:
        """Whether the published file matches this extract and these definitions."""
        return not self.mismatches

    def lines(self) -> list[str]:
        """One line per mismatch (none when it matches)."""
        return [m.line() for m in self.mismatches]


def document_kind(data: Mapping[str, Any]) -> str:
    """The kind of published document ``data`` is: report, compare, diff, metric or count."""
    if data.get("report") == "threeml":
        return "report"
    if "loosest" in data:
        return "compare"
    if "only_first" in data:
        return "diff"
    if "metric" in data:
        return "metric"
    if "definition" in data and "attrition" in data:
        return "count"
    raise NotVerifiable(
        "this file is not a threeml results file (count, compare, metric or report JSON); "
        "write one with --format json or `threeml report`"
    )


def recorded_provenance(data: Mapping[str, Any]) -> Provenance:
    """The provenance a published file records; :class:`NotVerifiable` when it has none."""
    found = data.get("provenance")
    if not found:
        raise NotVerifiable(
            "this file records no provenance (it was written without an extract, or by an "
            "older threeml); publish it again with this version to verify it"
        )
    return Provenance.from_data(found)


def _definitions(provenance: Provenance, registry: Any) -> list[Mismatch]:
    found = []
    for stamp in provenance.definitions:
        lookup = registry.metric if stamp.kind == "metric" else registry.counting
        try:
            installed = lookup(stamp.name)
        except ThreemlError:
            found.append(Mismatch(f"definition {stamp.name}", stamp.version, "not installed"))
            continue
        digest = definition_hash(installed)
        if digest != stamp.sha256 or installed.version != stamp.version:
            found.append(
                Mismatch(
                    f"definition {stamp.name} (version {stamp.version}, content hash)",
                    stamp.sha256,
                    f"{digest} (installed version {installed.version})",
                )
            )
    return found


def _extract(recorded: ExtractFingerprint | None, current: ExtractFingerprint) -> list[Mismatch]:
    if recorded is None:
        return []
    found = []
    if recorded.extract_date != current.extract_date:
        found.append(Mismatch("extract date", recorded.extract_date, current.extract_date))
    for table in recorded.tables:
        now = current.table(table.table)
        if now is None:
            found.append(Mismatch(f"extract table {table.table}", table.rows, "absent"))
            continue
        if now.rows != table.rows:
            found.append(Mismatch(f"extract table {table.table} rows", table.rows, now.rows))
        elif now.sha256 != table.sha256:
            found.append(Mismatch(f"extract table {table.table} content", table.sha256, now.sha256))
    return found


_LABELS = ("name", "definition", "metric", "group", "step", "label", "table")


def _label(item: Any, index: int) -> str:
    if isinstance(item, Mapping):
        for key in _LABELS:
            if key in item:
                return f"[{item[key]}]"
    return f"[{index}]"


def _leaves(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(value, Mapping):
        for key, inner in value.items():
            if not path and key in NOT_FIGURES:
                continue
            yield from _leaves(inner, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            yield from _leaves(inner, f"{path}{_label(inner, index)}")
    else:
        yield path, value


def compare_figures(published: Mapping[str, Any], recomputed: Mapping[str, Any]) -> list[Mismatch]:
    """Every figure (leaf) that differs between two documents' data, by its path."""
    old, new = dict(_leaves(published)), dict(_leaves(recomputed))
    missing = "(absent)"
    return [
        Mismatch(path, old.get(path, missing), new.get(path, missing))
        for path in dict.fromkeys([*old, *new])
        if old.get(path, missing) != new.get(path, missing)
    ]


def _count(data, dataset, registry, policy, period) -> dict[str, Any]:
    definition = registry.counting(data["definition"])
    by = tuple(data.get("breakdown") or ())
    result = count(definition, dataset, period, by=by, registry=registry, cell_keys=policy.cell_key)
    return publish_count(result, policy).data()


def _metric(data, dataset, registry, policy, period) -> dict[str, Any]:
    result = evaluate_metric(
        registry.metric(data["metric"]),
        dataset,
        period,
        registry,
        population=data.get("population"),
        by=tuple(data.get("breakdown") or ()),
        options=dict(data.get("options") or {}),
    )
    return publish_metric(result, policy).data()


def _compare(data, dataset, registry, policy, period) -> dict[str, Any]:
    definitions = [registry.counting(row["definition"]) for row in data["definitions"]]
    by = tuple(data["definitions"][0].get("breakdown") or ()) if data["definitions"] else ()
    metric_by = tuple(b for b in by if b not in ENROLMENT_BREAKDOWNS)
    comparison = compare(
        definitions, dataset, period, by=by, registry=registry, cell_keys=policy.cell_key
    )
    metrics = [
        evaluate_metric(registry.metric(m["metric"]), dataset, period, registry, by=metric_by)
        for m in data.get("metrics", ())
    ]
    published = publish_comparison(comparison, policy, metrics=metrics, by=by, metric_by=metric_by)
    return published.data()


def _diff(data, dataset, registry, policy, period) -> dict[str, Any]:
    definitions = [registry.counting(data["first"]), registry.counting(data["second"])]
    comparison = compare(definitions, dataset, period, registry=registry, cell_keys=policy.cell_key)
    first, second = (comparison.results[d.name] for d in definitions)
    return PublishedDiff(diff(first, second), policy).data()


#: How each kind of published document is recomputed (the report adds ``report``).
RECOMPUTERS: dict[str, Recompute] = {
    "count": _count,
    "metric": _metric,
    "compare": _compare,
    "diff": _diff,
}


def _period(data: Mapping[str, Any]) -> Period:
    period = data.get("period")
    if not isinstance(period, Mapping) or not {"start", "end"} <= set(period):
        raise NotVerifiable("this file records no period; give one with --period")
    return Period.parse(f"{period['start']}:{period['end']}")


def verify(
    data: Mapping[str, Any], dataset: Dataset, registry: Any, *, period: Period | None = None
) -> Verification:
    """Check the published ``data`` against ``dataset`` and the definitions of ``registry``.

    Definitions first: when one differs from the one recorded, nothing is recomputed and
    the mismatch names it. Then the extract's fingerprint, then every figure, recomputed
    with the recorded policy and period (``period`` replaces the recorded one).
    """
    kind = document_kind(data)
    provenance = recorded_provenance(data)
    changed = _definitions(provenance, registry)
    if changed:
        return Verification(kind, tuple(changed), recomputed=False)
    found = _extract(provenance.extract, fingerprint(dataset, kept=False))
    name = provenance.policy.get("name")
    if not name:
        raise NotVerifiable("this file records no disclosure policy by name")
    policy = policy_named(str(name), registry)
    recompute = RECOMPUTERS.get(kind)
    if recompute is None:
        raise NotVerifiable(f"no recomputer for a {kind} document is installed")
    recomputed = recompute(data, dataset, registry, policy, period or _period(data))
    found += compare_figures(data, recomputed)
    return Verification(kind, tuple(found), recomputed=True)
