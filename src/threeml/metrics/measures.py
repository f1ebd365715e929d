"""The evaluation contract for metric definitions, and the built-in ``proportion`` measure.

A metric is a :class:`~threeml.definitions.MetricDefinition`: a population (a
counting definition, by name) and a :class:`~threeml.definitions.Measure`.
A *measure kind* is an object with a ``kind`` name and an ``evaluate`` method
that turns a :class:`MetricContext` into a :class:`MetricResult`: numerator,
denominator and value (and an interval where one applies) — never a bare
number. Plugins supply measure kinds through the ``threeml_measure_kinds`` hook
(see :mod:`threeml.plugins.hookspecs`); threeml itself ships ``proportion``, which is
always registered.

How a measure kind is written
-----------------------------

A measure kind computes, for the total and for each group of each breakdown,
a few raw *cells*: counts of people or events, amounts (person-years, days,
money), statistics (a median) or public figures (a target). A pure function,
``derive(cells) -> MetricRow``, turns cells into the numerator, denominator,
value, interval and any other figures. Keeping the two apart is what makes
disclosure control exact: a published breakdown row is ``derive`` applied to
the cells *after* the policy, so proportions and rates are computed from the
rounded numerator and denominator, and are suppressed when either is
(:meth:`MetricResult.published`). ``derive`` must therefore accept ``None`` for
any cell (suppressed) and say why a figure is missing in ``reason``, never
divide by zero.

:meth:`MetricContext.summarise` does the usual work: it aggregates a per-unit
ibis table of facts (one row per person, say) into the total's cells and each
group's cells, in the engine. :func:`build_result` assembles the result.

Cell kinds under a disclosure policy (see :mod:`threeml.publish.disclosure`):

``count``
    people or events: suppressed from 1 to the threshold, otherwise rounded;
``amount``
    person-years, days, money: published as they are when the row's *gate*
    (a count of people, ``people`` unless the measure says otherwise) is
    published, suppressed with it otherwise;
``statistic``
    a median, a quartile: like an amount;
``public``
    not about people (a target, a number of days): always published.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from statistics import NormalDist
from typing import Any, Protocol, runtime_checkable

import attrs
import ibis
import ibis.expr.types as ir
import pyarrow as pa
import pyarrow.compute as pc
from attrs import field, frozen

from threeml.data import Dataset
from threeml.definitions import MetricDefinition
from threeml.definitions.policies import DisclosurePolicy
from threeml.engine.evaluate import count_many
from threeml.engine.results import CountResult
from threeml.errors import ThreemlError
from threeml.records.periods import Period
from threeml.records.schema import TABLES

__all__ = [
    "AMOUNT",
    "COUNT",
    "MEASURES",
    "PUBLIC",
    "STATISTIC",
    "SUPPRESSED",
    "Z95",
    "MeasureKind",
    "MetricContext",
    "MetricError",
    "MetricResult",
    "MetricRow",
    "Proportion",
    "build_result",
    "evaluate_metric",
    "json_number",
    "json_ready",
    "members_table",
    "metric_breakdowns",
    "metric_rows",
    "metric_to_dict",
    "proportion_row",
    "publish_cells",
    "wilson_interval",
]

#: Cell kinds (see the module documentation).
COUNT = "count"
AMOUNT = "amount"
STATISTIC = "statistic"
PUBLIC = "public"
_CELL_KINDS = (COUNT, AMOUNT, STATISTIC, PUBLIC)

#: The standard normal quantile for a two-sided 95% interval (1.959964…).
Z95 = NormalDist().inv_cdf(0.975)

_COUNTER = itertools.count()

#: The reason given for a figure that disclosure control left out.
SUPPRESSED = "suppressed by disclosure control"


class MetricError(ThreemlError):
    """A metric cannot be evaluated as asked (an unknown option, a bad breakdown …)."""


@frozen
class MetricRow:
    """The figures of a metric for the total (``group`` is ``None``) or one group.

    ``value`` is ``None`` when it cannot be computed (an empty arm, a zero
    denominator, a suppressed input); ``reason`` then says why. ``details``
    holds the measure's other figures (per-arm proportions, the two windows of a
    before/after comparison, quartiles …) as JSON-ready data. ``cells`` are the
    raw inputs the figures were derived from; ``suppressed`` is true when
    disclosure control withheld any of them.
    """

    group: Any = None
    numerator: float | None = None
    denominator: float | None = None
    value: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    reason: str | None = None
    details: Mapping[str, Any] = field(factory=dict)
    cells: Mapping[str, Any] = field(factory=dict)
    suppressed: bool = False


@frozen
class MetricContext:
    """Everything a measure needs: the data, the period, the population's result, a registry.

    ``options`` are the measure's options (``metric.measure.options``) with any
    overrides given to :func:`evaluate_metric` applied on top.
    """

    metric: MetricDefinition
    dataset: Dataset
    period: Period
    population: CountResult
    registry: Any
    by: Sequence[str] = ()
    options: Mapping[str, Any] = field(factory=dict)

    def option(self, name: str, default: Any = None) -> Any:
        """The measure option ``name`` (``default`` when the metric does not set it)."""
        return self.options.get(name, default)

    @property
    def extract_date(self) -> date:
        """The last day the data cover: the dataset's extract date, else the period's end."""
        return self.dataset.extract_date or self.period.end

    def table(self, name: str) -> ir.Table:
        """The dataset's ibis table ``name``."""
        return self.dataset.table(name)

    def members(self) -> ir.Table:
        """The population's members: an ibis table with one column, ``user_id``."""
        return members_table(self.population)

    def grouped(self, facts: ir.Table) -> ir.Table:
        """``facts`` (which has a ``user_id`` column) with the breakdown columns of its users."""
        if not self.by:
            return facts
        users = self.table("users")
        columns = users.select(_group_user="user_id", **{f"_by_{b}": users[b] for b in self.by})
        joined = facts.inner_join(columns, facts.user_id == columns._group_user)
        return joined.drop("_group_user")

    def summarise(
        self,
        facts: ir.Table,
        cells: Mapping[str, Callable[[ir.Table], ir.Value]],
        kinds: Mapping[str, str],
    ) -> tuple[dict[str, Any], dict[str, list[tuple[Any, dict[str, Any]]]]]:
        """Aggregate ``facts`` into the total's cells and every group's cells, in the engine.

        ``facts`` must have a ``user_id`` column; ``cells`` maps each cell name to
        a function building its aggregate over a table like ``facts``. Returns the
        total's cells and, for each breakdown name, ``(group, cells)`` pairs in
        group order. Counts and amounts over no rows are 0.
        """
        facts = self.grouped(facts)
        if not self.by:
            return _aggregate(facts, cells, kinds, None)[0][1], {}
        # Several aggregates read the same facts: on DuckDB, compute them once.
        backend = self.dataset.backend
        stored = None
        if getattr(backend, "name", None) == "duckdb":
            stored = f"_metric_facts_{next(_COUNTER)}"
            facts = backend.create_table(stored, facts, temp=True)
        try:
            total = _aggregate(facts, cells, kinds, None)[0][1]
            breakdowns = {b: _aggregate(facts, cells, kinds, f"_by_{b}") for b in self.by}
        finally:
            if stored is not None:
                backend.con.execute(f'DROP TABLE IF EXISTS "{stored}"')
        return total, breakdowns

    def count(self, name: str, period: Period | None = None) -> CountResult:
        """Count the counting definition ``name`` (by the context's breakdowns)."""
        definition = self.registry.counting(name)
        return count_many(
            [definition], self.dataset, period or self.period, by=self.by, registry=self.registry
        )[name]


def _aggregate(
    facts: ir.Table,
    cells: Mapping[str, Callable[[ir.Table], ir.Value]],
    kinds: Mapping[str, str],
    column: str | None,
) -> list[tuple[Any, dict[str, Any]]]:
    aggregates = {name: build(facts) for name, build in cells.items()}
    if column is None:
        rows = facts.aggregate(**aggregates).to_pyarrow().to_pylist()
    else:
        rows = facts.group_by(column).aggregate(**aggregates).to_pyarrow().to_pylist()
    found = []
    for row in rows:
        group = row.pop(column) if column is not None else None
        found.append((group, {name: _cell(row[name], kinds.get(name, COUNT)) for name in cells}))
    found.sort(key=lambda item: (item[0] is None, str(item[0])))
    return found or [(None, {name: _cell(None, kinds.get(name, COUNT)) for name in cells})]


def _cell(value: Any, kind: str) -> Any:
    if kind == COUNT:
        return int(value or 0)
    if kind == AMOUNT:
        return float(value or 0)
    return None if value is None else float(value)


@frozen
class MetricResult:
    """A metric's figures: value = numerator / denominator (or as the measure defines).

    The top-level figures are the total over the whole population (raw: totals
    over all areas are published as they are). ``breakdowns`` hold one
    :class:`MetricRow` per group, raw; :meth:`published` gives them under a
    disclosure policy. ``labels`` say what the numerator, denominator and value
    are; ``details`` hold the measure's other figures and its exclusions.
    ``reason`` says why ``value`` is ``None`` when it is.
    """

    metric: MetricDefinition
    period: Period
    population: str
    numerator: float | None
    denominator: float | None
    value: float | None
    ci_low: float | None = None
    ci_high: float | None = None
    breakdowns: Mapping[str, tuple[MetricRow, ...]] = field(factory=dict)
    details: Mapping[str, Any] = field(factory=dict)
    reason: str | None = None
    labels: Mapping[str, str] = field(factory=dict)
    options: Mapping[str, Any] = field(factory=dict)
    extract_date: date | None = None
    cells: Mapping[str, Any] = field(factory=dict)
    cell_kinds: Mapping[str, str] = field(factory=dict)
    gate: str = "people"
    derive: Callable[[Mapping[str, Any]], MetricRow] | None = field(
        default=None, eq=False, repr=False
    )

    @property
    def total(self) -> MetricRow:
        """The top-level figures as a row."""
        return MetricRow(
            group=None,
            numerator=self.numerator,
            denominator=self.denominator,
            value=self.value,
            ci_low=self.ci_low,
            ci_high=self.ci_high,
            reason=self.reason,
            details=self.details,
            cells=self.cells,
        )

    def published(self, policy: DisclosurePolicy) -> dict[str, tuple[MetricRow, ...]]:
        """The breakdowns as they may be published under ``policy``.

        Every cell goes through the policy (see the module documentation) and
        the row's figures are derived again from what is left, so a proportion
        is computed from the rounded numerator and denominator and is ``None``
        (with a reason) when either is suppressed.
        """
        published: dict[str, tuple[MetricRow, ...]] = {}
        counted = [name for name, kind in self.cell_kinds.items() if kind == COUNT]
        for name, rows in self.breakdowns.items():
            # Secondary suppression, count cell by count cell across the groups, so no
            # suppressed count can be recovered as the total minus the others.
            columns = {
                cell: policy.apply_breakdown(
                    [None if not row.cells else row.cells.get(cell) for row in rows]
                )
                for cell in counted
            }
            out = []
            for i, row in enumerate(rows):
                if self.derive is None or not row.cells:
                    out.append(_withhold(row))
                    continue
                counts = {cell: columns[cell][i] for cell in counted if cell in row.cells}
                cells, suppressed = publish_cells(
                    row.cells, self.cell_kinds, self.gate, policy, counts=counts
                )
                derived = self.derive(cells)
                reason = derived.reason
                if derived.value is None and suppressed:
                    reason = SUPPRESSED
                out.append(
                    attrs.evolve(
                        derived, group=row.group, cells=cells, suppressed=suppressed, reason=reason
                    )
                )
            published[name] = tuple(out)
        return published


def _withhold(row: MetricRow) -> MetricRow:
    """A row a measure gave no cells for: nothing about it can be published safely."""
    return MetricRow(group=row.group, reason=SUPPRESSED, suppressed=True)


def publish_cells(
    cells: Mapping[str, Any],
    kinds: Mapping[str, str],
    gate: str,
    policy: DisclosurePolicy,
    *,
    counts: Mapping[str, int | None] | None = None,
) -> tuple[dict[str, Any], bool]:
    """``cells`` under ``policy``, and whether anything was withheld.

    ``counts`` gives count cells already published for this group (after secondary
    suppression across a breakdown); the others go through the policy here.
    """
    counts = counts or {}

    def count(name: str, value: Any) -> int | None:
        return counts[name] if name in counts else policy.apply(int(value))

    raw_gate = cells.get(gate)
    gate_open = raw_gate is not None and count(gate, raw_gate) is not None
    out: dict[str, Any] = {}
    for name, value in cells.items():
        kind = kinds.get(name, COUNT)
        if value is None or kind == PUBLIC:
            out[name] = value
        elif kind == COUNT:
            out[name] = count(name, value)
        else:
            out[name] = value if gate_open else None
    withheld = any(out[name] is None and cells[name] is not None for name in cells)
    return out, withheld


def build_result(
    context: MetricContext,
    *,
    total: Mapping[str, Any],
    breakdowns: Mapping[str, Sequence[tuple[Any, Mapping[str, Any]]]],
    derive: Callable[[Mapping[str, Any]], MetricRow],
    kinds: Mapping[str, str],
    labels: Mapping[str, str],
    gate: str = "people",
    details: Mapping[str, Any] | None = None,
) -> MetricResult:
    """Assemble a :class:`MetricResult` from the cells of the total and of each group."""
    for name, kind in kinds.items():
        if kind not in _CELL_KINDS:
            raise ValueError(f"cell {name!r} has unknown kind {kind!r}")
    if gate not in kinds:
        raise ValueError(f"the gate {gate!r} is not one of the cells")
    head = derive(total)
    rows = {
        name: tuple(
            attrs.evolve(derive(cells), group=group, cells=dict(cells)) for group, cells in groups
        )
        for name, groups in breakdowns.items()
    }
    return MetricResult(
        metric=context.metric,
        period=context.period,
        population=context.population.definition.name,
        numerator=head.numerator,
        denominator=head.denominator,
        value=head.value,
        ci_low=head.ci_low,
        ci_high=head.ci_high,
        reason=head.reason,
        breakdowns=rows,
        details={**head.details, **(details or {})},
        labels=dict(labels),
        options=dict(context.options),
        extract_date=context.extract_date,
        cells=dict(total),
        cell_kinds=dict(kinds),
        gate=gate,
        derive=derive,
    )


@runtime_checkable
class MeasureKind(Protocol):
    """What a measure kind provides: its name, and how to evaluate a metric.

    ``kind`` is the name metrics use in ``Measure(kind=...)`` (lower-case words
    joined by ``-``). ``evaluate`` returns a :class:`MetricResult`, normally
    through :meth:`MetricContext.summarise` and :func:`build_result`. Raise
    :class:`MetricError` for an option it cannot use.
    """

    kind: str

    def evaluate(self, context: MetricContext) -> MetricResult:
        """Compute the metric for ``context``."""
        ...


# Intervals shared by measures.


def wilson_interval(successes: float, trials: float, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval for a proportion (95% by default); ``trials`` must be > 0."""
    p = successes / trials
    centre = p + z * z / (2 * trials)
    spread = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials))
    scale = 1 + z * z / trials
    # At 0 and at 1 the exact bound is the end itself; rounding error must not move it.
    low = 0.0 if successes <= 0 else max(0.0, (centre - spread) / scale)
    high = 1.0 if successes >= trials else min(1.0, (centre + spread) / scale)
    return low, high


def proportion_row(
    numerator: int | None, denominator: int | None, *, empty: str = "no one in the population"
) -> MetricRow:
    """A proportion with its Wilson 95% interval, or ``None`` with the reason."""
    if numerator is None or denominator is None:
        return MetricRow(numerator=numerator, denominator=denominator, reason=SUPPRESSED)
    if denominator == 0:
        return MetricRow(numerator=numerator, denominator=denominator, reason=empty)
    # Rounded figures can make the numerator exceed the denominator; a share cannot.
    shown = min(numerator, denominator)
    low, high = wilson_interval(shown, denominator)
    return MetricRow(
        numerator=numerator,
        denominator=denominator,
        value=shown / denominator,
        ci_low=low,
        ci_high=high,
    )


class Proportion:
    """The share of the population also counted by the ``numerator`` definition.

    Options: ``numerator`` (a counting definition name). Numerator: people in
    both the population and the numerator definition; denominator: people in
    the population; value: their ratio, with a Wilson 95% interval. Breakdowns
    by a users column give each group's numerator and denominator, which sum to
    the total.
    """

    kind = "proportion"

    def evaluate(self, context: MetricContext) -> MetricResult:
        name = context.option("numerator")
        if not name:
            raise MetricError(f"metric {context.metric.name}: proportion needs a 'numerator'")
        members = context.members()
        both = members.mutate(_in=members.user_id.isin(members_table(context.count(name)).user_id))
        kinds = {"people": COUNT, "members": COUNT}
        total, breakdowns = context.summarise(
            both,
            {"people": lambda t: t.count(), "members": lambda t: t._in.cast("int64").sum()},
            kinds,
        )

        def derive(cells: Mapping[str, Any]) -> MetricRow:
            return proportion_row(cells["members"], cells["people"])

        return build_result(
            context,
            total=total,
            breakdowns=breakdowns,
            derive=derive,
            kinds=kinds,
            labels={
                "numerator": f"people also counted by {name}",
                "denominator": f"people counted by {context.population.definition.name}",
                "value": "proportion",
            },
        )


def members_table(result: CountResult) -> ir.Table:
    """The people a counting result counts, as an ibis table with one column, ``user_id``.

    For an enrolment-unit definition, the people holding the counted enrolments.
    """
    membership = result.membership()
    counted = membership.filter(pc.equal(membership["counted"], True))
    ids = pc.unique(counted["user_id"].combine_chunks())
    return ibis.memtable(pa.table({"user_id": ids.cast(pa.string())}))


#: Built-in measure kinds by name (always in every registry).
MEASURES: dict[str, MeasureKind] = {Proportion.kind: Proportion()}


def _breakdown_columns() -> list[str]:
    return [c for c in TABLES["users"].column_names if c not in ("user_id", "conditions")]


def evaluate_metric(
    metric: MetricDefinition,
    dataset: Dataset,
    period: Period | str,
    registry: Any,
    *,
    population: str | None = None,
    by: Sequence[str] = (),
    options: Mapping[str, Any] | None = None,
    measures: Mapping[str, MeasureKind] | None = None,
) -> MetricResult:
    """Evaluate ``metric`` (over another ``population`` when given).

    The measure kind comes from ``registry`` (threeml's built-in ``proportion``
    is always there); ``measures`` adds or replaces kinds for this call only.
    ``options`` override the measure's options (``{"outcome": "emergency_admission"}``).
    ``by`` names breakdowns: columns of the users table such as ``area``.
    """
    period = Period.parse(period) if isinstance(period, str) else period
    allowed = _breakdown_columns()
    for name in by:
        if name not in allowed:
            raise MetricError(
                f"metric {metric.name}: cannot break down by {name!r}; metrics break down by a "
                f"users column: {', '.join(allowed)}"
            )
    kind = (measures or {}).get(metric.measure.kind)
    if kind is None:
        lookup = getattr(registry, "measure_kind", None)
        if lookup is not None:
            kind = lookup(metric.measure.kind)
        else:
            kind = MEASURES.get(metric.measure.kind)
    if kind is None:
        raise MetricError(
            f"metric {metric.name}: no measure kind {metric.measure.kind!r} is installed "
            f"(known: {', '.join(sorted(MEASURES))})"
        )
    population_definition = registry.counting(population or metric.population)
    result = count_many([population_definition], dataset, period, by=by, registry=registry)
    context = MetricContext(
        metric,
        dataset,
        period,
        result[population_definition.name],
        registry,
        tuple(by),
        {**metric.measure.options, **(options or {})},
    )
    return kind.evaluate(context)


# Publishing: the shapes the command line writes.


def json_number(value: Any) -> Any:
    """A figure as JSON can hold it: floats rounded to 6 places, NaN and infinity as null."""
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        return round(value, 6)
    return value


def json_ready(value: Any) -> Any:
    """Mappings, sequences, dates and figures as plain JSON-ready values."""
    if isinstance(value, Mapping):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(v) for v in value]
    if isinstance(value, date):
        return value.isoformat()
    return json_number(value)


def _row_dict(row: MetricRow) -> dict[str, Any]:
    return {
        "numerator": json_number(row.numerator),
        "denominator": json_number(row.denominator),
        "value": json_number(row.value),
        "ci_low": json_number(row.ci_low),
        "ci_high": json_number(row.ci_high),
        "reason": row.reason,
        **json_ready(dict(row.details)),
    }


def metric_breakdowns(
    result: MetricResult, policy: DisclosurePolicy
) -> dict[str, list[dict[str, Any]]]:
    """The published breakdowns as plain data, one object per group."""
    return {
        name: [
            {"group": json_ready(row.group), **_row_dict(row), "suppressed": row.suppressed}
            for row in rows
        ]
        for name, rows in result.published(policy).items()
    }


def metric_to_dict(result: MetricResult, policy: DisclosurePolicy) -> dict[str, Any]:
    """The result as one JSON-ready object: the total as it is, breakdowns under ``policy``."""
    metric = result.metric
    head = _row_dict(result.total)
    return {
        "metric": metric.name,
        "version": metric.version,
        "title": metric.title,
        "measure": metric.measure.kind,
        "population": result.population,
        "period": {"start": result.period.start.isoformat(), "end": result.period.end.isoformat()},
        "extract_date": result.extract_date.isoformat() if result.extract_date else None,
        "higher_is_better": metric.higher_is_better,
        **head,
        "labels": dict(result.labels),
        "options": json_ready(dict(result.options)),
        "breakdown": metric_breakdowns(result, policy),
        "disclosure": policy.describe(),
        "source": metric.source.describe() if metric.source else None,
    }


def _flatten(prefix: str, value: Any) -> list[tuple[str, Any]]:
    if isinstance(value, Mapping):
        items = []
        for key, inner in value.items():
            items += _flatten(f"{prefix}.{key}" if prefix else str(key), inner)
        return items
    if isinstance(value, list):
        return [(prefix, "; ".join(str(v) for v in value))]
    return [(prefix, value)]


def metric_rows(result: MetricResult, policy: DisclosurePolicy) -> list[dict[str, Any]]:
    """The result as long-format rows (one figure per row), for CSV.

    Columns: metric, version, population, start, end, section (``total`` or
    ``breakdown:<name>``), group, item, value, disclosure. Nested figures are
    named with dots (``arms.intervention.proportion``).
    """
    base = {
        "metric": result.metric.name,
        "version": result.metric.version,
        "population": result.population,
        "start": result.period.start.isoformat(),
        "end": result.period.end.isoformat(),
    }
    rows = [
        {
            **base,
            "section": "total",
            "group": "",
            "item": item,
            "value": "" if value is None else value,
            "disclosure": "not applied (all areas)",
        }
        for item, value in _flatten("", _row_dict(result.total))
    ]
    stated = policy.describe()
    for name, groups in metric_breakdowns(result, policy).items():
        for group in groups:
            label = group.pop("group")
            for item, value in _flatten("", group):
                rows.append(
                    {
                        **base,
                        "section": f"breakdown:{name}",
                        "group": "" if label is None else label,
                        "item": item,
                        "value": "" if value is None else value,
                        "disclosure": stated,
                    }
                )
    return rows
