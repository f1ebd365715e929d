"""The built-in ``proportion`` measure kind, always registered.

Importing this module does not import ibis, so a registry can list the kind
without loading the engine.
"""

from __future__ import annotations

from collections.abc import Mapping
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
        name = context.option("numerator")
        if not name:
            raise MetricError(f"metric {context.metric.name}: proportion needs a 'numerator'")
        members = context.members()
        both = members.mutate(_in=members.user_id.isin(members_table(context.count(name)).user_id))
        kinds = {"people": COUNT, "members": COUNT}
        total, breakdowns = context.summarise(
            both,
            {"people": lambda t: t.count(), "members": lambda t: t._in.ifelse(1, 0).sum()},
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
            parents={"members": "people"},  # the numerator lies within the denominator
            labels={
                "numerator": f"people also counted by {name}",
                "denominator": f"people counted by {context.population.definition.name}",
                "value": "proportion",
            },
        )


#: Built-in measure kinds by name (always in every registry).
MEASURES: dict[str, MeasureKind] = {Proportion.kind: Proportion()}
