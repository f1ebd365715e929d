"""The one evaluate skeleton every measure kind of the plugin runs through.

A kind is a :class:`CellMeasure`: a value holding only what differs between
kinds. Evaluating one always takes the same steps:

1. *plan*: read each :class:`~threeml_integrated_care.options.Option` (default,
   check), then let ``prepare`` add what depends on the data (the trial chosen
   from the allocations, the day counting stops);
2. *tally*: the raw cells of the total and of every group. Usually ``facts``
   builds a per-unit ibis table (one row per person, enrolment or allocation)
   and :meth:`~threeml.metrics.measures.MetricContext.summarise` aggregates it
   in the engine with each :class:`Cell`'s aggregate; a kind whose cells are not
   aggregates of one facts table gives its own ``tally`` instead;
3. *result*: ``derive(plan, cells)`` turns cells into figures (again, after
   disclosure control, for every published row), and the labels are templates
   filled from the plan (``"{outcome} per {per:,} person-years"``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any

from attrs import field, frozen

from threeml.errors import ThreemlError
from threeml.metrics.measures import (
    COUNT,
    MetricContext,
    MetricResult,
    MetricRow,
    PopulationNeeds,
    build_result,
)
from threeml_integrated_care.options import Option

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from threeml.data import Dataset
    from threeml.definitions import MetricDefinition
    from threeml.records.periods import Period

__all__ = [
    "Cell",
    "CellMeasure",
    "Cells",
    "Plan",
    "Tally",
    "flag",
    "rows",
    "summarised",
    "total",
]

#: One evaluation's option values, and whatever ``prepare`` added.
Plan = Mapping[str, Any]

#: Cell values by name, for the total or one group.
Cells = Mapping[str, Any]

#: An aggregate over a facts table (or one group of it).
Aggregate = Callable[["ir.Table"], "ir.Value"]


def rows(t: ir.Table) -> ir.Value:
    """The number of rows: people, enrolments or allocations."""
    return t.count()


def total(column: str) -> Aggregate:
    """The sum of a numeric column."""
    return lambda t: t[column].sum()


def flag(column: str) -> Aggregate:
    """The number of rows where a boolean column is true (``CASE``, not a cast to an integer:
    PostgreSQL has no cast from boolean to bigint)."""
    return lambda t: t[column].ifelse(1, 0).sum()


@frozen
class Cell:
    """A cell: its kind under disclosure control and its aggregate over the facts.

    ``aggregate`` is ``None`` for a cell the kind's own ``tally`` computes.
    """

    kind: str = COUNT
    aggregate: Aggregate | None = None


@frozen
class Tally:
    """The cells of the total and of each group of each breakdown, and result-wide details."""

    total: Cells
    groups: Mapping[str, Sequence[tuple[Any, Cells]]] = field(factory=dict)
    details: Mapping[str, Any] | None = None


def summarised(context: MetricContext, facts: ir.Table, cells: Mapping[str, Cell]) -> Tally:
    """Aggregate ``facts`` (with a ``user_id`` column) into every cell, in the engine."""
    aggregates = {name: cell.aggregate for name, cell in cells.items() if cell.aggregate}
    kinds = {name: cell.kind for name, cell in cells.items()}
    total, groups = context.summarise(facts, aggregates, kinds)
    return Tally(total, groups)


@frozen
class CellMeasure:
    """A measure kind as a value: its options, facts (or tally), cells, derivation and labels.

    ``kind`` is the name metrics use; ``gate`` is the count cell that decides
    whether a group's amounts and statistics are published. Give ``facts``
    (``(context, plan) -> ibis table``) or ``tally`` (``(context, plan) ->
    Tally``), not both; ``prepare`` (``(context, plan) -> plan``) runs after the
    options are read.
    """

    kind: str
    cells: Mapping[str, Cell]
    derive: Callable[[Plan, Cells], MetricRow]
    labels: Mapping[str, str]
    options: tuple[Option, ...] = ()
    facts: Callable[[MetricContext, Plan], ir.Table] | None = None
    tally: Callable[[MetricContext, Plan], Tally] | None = None
    prepare: Callable[[MetricContext, Plan], Plan] | None = None
    gate: str = "people"
    #: Count cells that are part of another (an arm's events of the arm's people): each
    #: is withheld whenever the count it is part of is.
    parents: Mapping[str, str] = field(factory=dict)
    #: ``(contexts, plan) -> ibis table``: the facts of every interval of a series at once,
    #: with the ``_interval`` and breakdown columns of
    #: :func:`~threeml.metrics.interval_cells.members_by_interval`. A kind that gives it is
    #: evaluated over a series in one pass (:meth:`evaluate_series`); others per interval.
    series_facts: Callable[[Sequence[MetricContext], Plan], ir.Table] | None = None
    #: ``(contexts, plan) -> list of Tally | None``: every interval's cells at once, without
    #: a facts table per (member, interval) — from the population's runs of intervals
    #: (:mod:`~threeml_integrated_care.runs_cells`). ``None`` back (the population is not
    #: in runs) falls back to ``series_facts``.
    series_tally: Callable[[Sequence[MetricContext], Plan], Sequence[Tally] | None] | None = None
    #: ``(contexts, options) -> None`` (``options``: each interval's option values, before
    #: ``prepare``): for a kind with a ``tally`` (no ``series_facts``), compute for every
    #: interval of a series at once what each interval's ``prepare`` and tally read —
    #: counts over other periods (:meth:`MetricSession.count_periods
    #: <threeml.metrics.session.MetricSession.count_periods>`), small per-interval results
    #: (:attr:`MetricSession.values <threeml.metrics.session.MetricSession.values>`) — then
    #: each interval is tallied alone from them. Called only when the contexts share a session.
    series_prepare: Callable[[Sequence[MetricContext], Sequence[Plan]], None] | None = None
    #: ``(metric, dataset, period, options) -> PopulationNeeds``: what the kind reads of its
    #: population besides its members over the period (other periods' counts, users
    #: columns), for the populations' one pass to provide (:meth:`population_needs`).
    needs: (
        Callable[[MetricDefinition, Dataset, Period, Mapping[str, Any]], PopulationNeeds] | None
    ) = None

    def __attrs_post_init__(self) -> None:
        if (self.facts is None) == (self.tally is None):
            raise ValueError(f"measure kind {self.kind!r}: give facts or tally, and not both")
        if self.gate not in self.cells:
            raise ValueError(f"measure kind {self.kind!r}: the gate {self.gate!r} is not a cell")
        if self.facts is not None:
            missing = [name for name, cell in self.cells.items() if cell.aggregate is None]
            if missing:
                raise ValueError(
                    f"measure kind {self.kind!r}: cells without an aggregate: {', '.join(missing)}"
                )

    @property
    def cell_kinds(self) -> dict[str, str]:
        """Each cell's kind under disclosure control, in cell order."""
        return {name: cell.kind for name, cell in self.cells.items()}

    def plan(self, context: MetricContext) -> Plan:
        """The options read and checked, in order, then whatever ``prepare`` adds."""
        plan = {option.name: option.value(context) for option in self.options}
        return plan if self.prepare is None else self.prepare(context, plan)

    def population_needs(
        self, metric: MetricDefinition, dataset: Dataset, period: Period, options: Mapping[str, Any]
    ) -> PopulationNeeds:
        """What evaluating ``metric`` over ``period`` will read of its population besides its
        members (:class:`~threeml.metrics.contract.PopulationNeeds`); nothing by default."""
        return (
            PopulationNeeds()
            if self.needs is None
            else self.needs(metric, dataset, period, options)
        )

    def evaluate(self, context: MetricContext) -> MetricResult:
        """Compute the metric for ``context``: plan, tally, derive."""
        return self._planned(context, self.plan(context))

    def _planned(self, context: MetricContext, plan: Plan) -> MetricResult:
        if self.tally is not None:
            tally = self.tally(context, plan)
        else:
            assert self.facts is not None
            tally = summarised(context, self.facts(context, plan), self.cells)
        return self._result(context, plan, tally)

    def evaluate_series(
        self, contexts: Sequence[MetricContext]
    ) -> list[MetricResult | ThreemlError]:
        """Compute the metric for every interval's context (one per interval of a series).

        With ``series_tally`` (when it can: the population is in runs of intervals) every
        interval's cells are read at once; with ``series_facts``, one facts table for all
        the intervals is aggregated at once
        (:func:`~threeml.metrics.interval_cells.summarise_intervals`); with
        ``series_prepare``, what every interval reads is computed at once and each interval
        tallied from it (an interval that cannot be gives its error in place of a result);
        otherwise each interval is evaluated alone. Either way each result equals
        :meth:`evaluate`'s for its context.
        """
        if self.series_facts is None and self.series_prepare is not None and contexts:
            return self._prepared_series(contexts)
        if self.series_facts is None or not contexts:
            return [self.evaluate(context) for context in contexts]
        from threeml.metrics.interval_cells import summarise_intervals

        plans = [self.plan(context) for context in contexts]
        tallied = None if self.series_tally is None else self.series_tally(contexts, plans[0])
        if tallied is not None:
            return [
                self._result(context, plan, tally)
                for context, plan, tally in zip(contexts, plans, tallied, strict=True)
            ]
        aggregates = {name: cell.aggregate for name, cell in self.cells.items() if cell.aggregate}
        summaries = summarise_intervals(
            contexts, self.series_facts(contexts, plans[0]), aggregates, self.cell_kinds
        )
        return [
            self._result(context, plan, Tally(total, groups))
            for context, plan, (total, groups) in zip(contexts, plans, summaries, strict=True)
        ]

    def _prepared_series(
        self, contexts: Sequence[MetricContext]
    ) -> list[MetricResult | ThreemlError]:
        """Each interval tallied alone, from what ``series_prepare`` computed for all; an
        interval that cannot be tallied gives its error in place of a result."""
        assert self.series_prepare is not None
        read = [{option.name: option.value(c) for option in self.options} for c in contexts]
        if contexts[0].session is not None:
            self.series_prepare(contexts, read)
        results: list[MetricResult | ThreemlError] = []
        for context, options in zip(contexts, read, strict=True):
            try:
                plan = options if self.prepare is None else self.prepare(context, options)
                results.append(self._planned(context, plan))
            except ThreemlError as error:
                results.append(error)
        return results

    def _result(self, context: MetricContext, plan: Plan, tally: Tally) -> MetricResult:
        return build_result(
            context,
            total=tally.total,
            breakdowns=tally.groups,
            derive=partial(self.derive, plan),
            kinds=self.cell_kinds,
            labels={name: template.format_map(plan) for name, template in self.labels.items()},
            gate=self.gate,
            details=tally.details,
            parents=self.parents,
        )
