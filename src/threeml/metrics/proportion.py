"""The built-in ``proportion`` measure kind, always registered.

Importing this module does not import ibis, so a registry can list the kind
without loading the engine.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from threeml.metrics.cells import COUNT, SUPPRESSED, MetricRow
from threeml.metrics.contract import (
    MeasureKind,
    MetricContext,
    MetricError,
    MetricResult,
    build_result,
    members_table,
)
from threeml.metrics.intervals import wilson_interval

__all__ = ["MEASURES", "Proportion", "proportion_row"]


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
        name = self._numerator(context)
        members = context.grouped_members()
        both = members.mutate(_in=members.user_id.isin(members_table(context.count(name)).user_id))
        total, breakdowns = context.summarise(both, _CELLS, _KINDS)
        return self._result(context, name, total, breakdowns)

    def evaluate_series(self, contexts: Sequence[MetricContext]) -> list[MetricResult]:
        """The metric in every interval of a series (one context each), aggregated at once.

        Each interval's members are flagged with whether the numerator counts them in that
        interval, and every interval's cells come from one grouped aggregate; each result
        equals :meth:`evaluate`'s for its context. When the population and the numerator
        were counted together as runs of intervals, the flags are counted per run and group
        and spread over the intervals each run holds
        (:func:`~threeml.metrics.interval_cells.intervals_of_runs`).
        """
        import ibis

        from threeml.metrics.interval_cells import (
            INTERVAL,
            RUN_END,
            RUN_START,
            intervals_of_runs,
            member_runs,
            members_by_interval,
            summarise_intervals,
        )

        if not contexts:
            return []
        names = [self._numerator(context) for context in contexts]
        numerators = [c.count(name) for c, name in zip(contexts, names, strict=True)]
        runs = None
        if len(set(names)) == 1 and all(
            getattr(n, "series", None) is getattr(numerators[0], "series", None) for n in numerators
        ):
            runs = member_runs(contexts, {"_in": numerators[0]})
        if runs is not None:
            # Counted per (run, group) first: those rows, spread over the intervals their
            # runs hold, are few (no row per member and interval).
            by = [c for c in runs.columns if c.startswith("_by_")]
            per_run = runs.group_by([RUN_START, RUN_END, *by]).aggregate(
                _people=runs.count(), _members=runs._in.ifelse(1, 0).sum()
            )
            summaries = summarise_intervals(
                contexts, intervals_of_runs(per_run, contexts), _RUN_CELLS, _KINDS, False
            )
            return [
                self._result(context, name, total, breakdowns)
                for context, name, (total, breakdowns) in zip(
                    contexts, names, summaries, strict=True
                )
            ]
        members = members_by_interval(contexts)
        parts = [
            members_table(numerator).select(_nu="user_id").mutate(_ni=ibis.literal(k, type="int64"))
            for k, numerator in enumerate(numerators)
        ]
        counted = parts[0]
        for part in parts[1:]:
            counted = counted.union(part, distinct=False)
        counted = counted.distinct()
        joined = members.left_join(
            counted, [members.user_id == counted._nu, members[INTERVAL] == counted._ni]
        )
        facts = joined.select(*members.columns, _in=joined._nu.notnull())
        summaries = summarise_intervals(contexts, facts, _CELLS, _KINDS)
        return [
            self._result(context, name, total, breakdowns)
            for context, name, (total, breakdowns) in zip(contexts, names, summaries, strict=True)
        ]

    @staticmethod
    def _numerator(context: MetricContext) -> str:
        name = context.option("numerator")
        if not name:
            raise MetricError(f"metric {context.metric.name}: proportion needs a 'numerator'")
        return str(name)

    @staticmethod
    def _result(
        context: MetricContext,
        name: str,
        total: Mapping[str, Any],
        breakdowns: Mapping[str, Any],
    ) -> MetricResult:
        def derive(cells: Mapping[str, Any]) -> MetricRow:
            return proportion_row(cells["members"], cells["people"])

        return build_result(
            context,
            total=total,
            breakdowns=breakdowns,
            derive=derive,
            kinds=_KINDS,
            parents={"members": "people"},  # the numerator lies within the denominator
            labels={
                "numerator": f"people also counted by {name}",
                "denominator": f"people counted by {context.population.definition.name}",
                "value": "proportion",
            },
        )


#: The proportion's cells: the population's people, and those the numerator also counts.
_KINDS = {"people": COUNT, "members": COUNT}
_CELLS = {"people": lambda t: t.count(), "members": lambda t: t._in.ifelse(1, 0).sum()}
#: The same cells over counts per run and group (sums of the runs' counts).
_RUN_CELLS = {"people": lambda t: t._people.sum(), "members": lambda t: t._members.sum()}


#: Built-in measure kinds by name (always in every registry).
MEASURES: dict[str, MeasureKind] = {Proportion.kind: Proportion()}
