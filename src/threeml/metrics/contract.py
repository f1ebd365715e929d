"""The evaluation contract for metrics: what a measure kind is given and what it returns.

A *measure kind* (:class:`MeasureKind`) turns a :class:`MetricContext` into a
:class:`MetricResult`, normally by aggregating a per-unit table of facts into
cells with :meth:`MetricContext.summarise` and assembling the result with
:func:`build_result`. How cells become published figures is in
:mod:`threeml.metrics.cells`. Importing this module does not import ibis: the
engine is reached only when a context aggregates or counts.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date
from typing import TYPE_CHECKING, Any

import attrs
from attrs import field, frozen

from threeml.definitions import MetricDefinition
from threeml.definitions.contracts import DefinitionResolver, MeasureKind
from threeml.definitions.policies import DisclosurePolicy
from threeml.engine.breakdowns import breakdown_value
from threeml.engine.results import CountResult
from threeml.errors import ThreemlError
from threeml.metrics.cells import (
    CELL_KINDS,
    MetricRow,
    publish_rows,
    publish_total,
)
from threeml.records.periods import Period

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from threeml.data import Dataset
    from threeml.engine.membership import Members
    from threeml.metrics.session import MetricSession

__all__ = [
    "MeasureKind",
    "MetricContext",
    "MetricError",
    "MetricResult",
    "PopulationNeeds",
    "build_result",
    "members_table",
]


class MetricError(ThreemlError):
    """A metric cannot be evaluated as asked (an unknown option, a bad breakdown …)."""


@frozen
class PopulationNeeds:
    """What a measure kind will read of its population besides the members over the period.

    A measure kind may give it through the optional capability
    ``population_needs(metric, dataset, period, options) -> PopulationNeeds`` (``options``:
    the metric's measure options). :func:`~threeml.metrics.evaluate.evaluate_metrics` then
    counts the population over ``periods`` in the populations' one pass (what
    :meth:`MetricContext.count` reads), and keeps the users columns ``columns`` with the
    stored members (what :meth:`MetricContext.members_with` reads), so neither costs a pass
    or a join of its own. Asking is only an optimisation: a kind that reads more than it
    said still gets it, counted or joined on demand.
    """

    #: Other periods over which the kind counts its population.
    periods: tuple[Period, ...] = ()
    #: Users columns the kind reads for each member (``sex``, ``birth_year`` …).
    columns: tuple[str, ...] = ()


@frozen
class MetricContext:
    """Everything a measure needs: the data, the period, the population's result, a registry.

    ``options`` are the measure's options (``metric.measure.options``) with any
    overrides given to :func:`evaluate_metric` applied on top.
    """

    metric: MetricDefinition
    dataset: Dataset
    period: Period
    #: The population: a :class:`~threeml.engine.membership.Members` (members and counts
    #: only) when counted for the metrics, or a full result counted elsewhere.
    population: CountResult | Members
    registry: DefinitionResolver
    by: Sequence[str] = ()
    options: Mapping[str, Any] = field(factory=dict)
    #: The evaluation's shared state when several metrics are evaluated together
    #: (:func:`threeml.metrics.evaluate.evaluate_metrics`); ``None`` for one metric alone.
    session: MetricSession | None = field(default=None, eq=False, repr=False)

    def shared_facts(self, key: Any, build: Callable[[], ir.Table]) -> ir.Table:
        """A per-person fact table shared by every metric of the evaluation that asks for it.

        ``key`` names what ``build`` computes apart from the population and period (which are
        added here): for example ``("windows", service_kinds)``. With a session, the first
        metric to ask builds and stores it in the engine; later ones read it. Without a
        session this is simply ``build()``.
        """
        if self.session is None:
            return build()
        from threeml.metrics.session import session_key

        full = (self.population.definition.name, self.period, session_key(key))
        return self.session.shared(full, build)

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

    def members_with(self, columns: Sequence[str]) -> ir.Table:
        """The population's members with the users columns ``columns`` (``user_id`` and each
        name, as the users table has them): read from the stored members when the population
        was counted carrying them (:class:`PopulationNeeds`), else joined from the users."""
        read = getattr(self.population, "carried_expr", None)
        found = read(columns) if read is not None else None
        if found is not None:
            return found
        members = self.members()
        users = self.table("users").select(*columns, _cu="user_id")
        joined = members.inner_join(users, members.user_id == users._cu)
        return joined.select("user_id", *columns)

    def grouped_members(self) -> ir.Table:
        """The population's members with their breakdown columns: ``user_id`` and
        ``_by_<name>`` for each breakdown, as :meth:`grouped` gives them.

        When the population was counted members-only by these breakdowns, they are read from
        its stored members table (no join of the users table); a per-member facts table built
        on this one keeps them, and :meth:`summarise` then joins nothing.
        """
        read = getattr(self.population, "grouped_expr", None)
        population_by = set(getattr(self.population, "breakdowns", {}))
        found = read() if read is not None and population_by == set(self.by) else None
        return found if found is not None else self.grouped(self.members())

    def grouped(self, facts: ir.Table) -> ir.Table:
        """``facts`` (which has a ``user_id`` column) with the breakdown columns of its users.

        Facts that already carry them (``_by_<name>`` columns, as a shared fact table built
        with this method does) are returned as they are.
        """
        if not self.by or all(f"_by_{b}" in facts.columns for b in self.by):
            return facts
        users = self.table("users")
        columns = users.select(
            _group_user="user_id",
            **{f"_by_{b}": breakdown_value(users, b, self.period) for b in self.by},
        )
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
        from threeml.metrics.summaries import summarise_facts  # loads ibis: only when used

        return summarise_facts(self.grouped(facts), cells, kinds, self.by)

    def count(self, name: str, period: Period | None = None) -> CountResult | Members:
        """Count the counting definition ``name`` (by the context's breakdowns): its members
        and counts only (:func:`~threeml.engine.membership.count_members`)."""
        from threeml.engine.membership import count_members  # loads ibis: only when used

        if self.session is not None and (period is None or period == self.period):
            found = self.session.population(name)
            if found is not None:
                return found
        if self.session is not None and (name, period) in self.session.counted:
            return self.session.counted[name, period]
        definition = self.registry.counting(name)
        if self.session is not None and (period is None or period == self.period):
            found = count_members(
                [definition], self.dataset, self.period, by=self.by, registry=self.registry
            )[name]
            self.session.populations[name] = found
            return found
        return count_members(
            [definition], self.dataset, period or self.period, by=self.by, registry=self.registry
        )[name]


def members_table(result: CountResult | Members) -> ir.Table:
    """The people a counting result counts, as an ibis table with one column, ``user_id``.

    For an enrolment-unit definition, the people holding the counted enrolments. For a
    result made by the engine this is an expression over the evaluation's own tables, so no
    per-person row comes back into Python; otherwise (a result built by hand) the members are
    read and handed to the engine as an in-memory table.
    """
    expr = result.members_expr()
    if expr is not None:
        return expr
    import ibis
    import pyarrow as pa
    import pyarrow.compute as pc

    membership = result.membership()
    counted = membership.filter(pc.equal(membership["counted"], True))
    ids = pc.unique(counted["user_id"].combine_chunks())
    return ibis.memtable(pa.table({"user_id": ids.cast(pa.string())}))


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
    #: Cells that are part of another count (an arm's events of the arm's people): each is
    #: withheld whenever the count it is part of is.
    cell_parents: Mapping[str, str] = field(factory=dict)

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
        """The breakdowns as they may be published under ``policy`` (rows in group order).

        Every cell goes through the policy (see :func:`threeml.metrics.cells.publish_rows`)
        and the row's figures are derived again from what is left, so a proportion
        is computed from the rounded numerator and denominator and is ``None``
        (with a reason) when either is suppressed.
        """
        return {
            name: publish_rows(
                rows, self.cell_kinds, self.gate, self.derive, policy, self.cell_parents
            )
            for name, rows in self.breakdowns.items()
        }

    def published_total(
        self, policy: DisclosurePolicy, breakdowns: Mapping[str, Sequence[MetricRow]]
    ) -> MetricRow:
        """The total as it may be published beside ``breakdowns`` (published rows).

        As it is, unless the policy rounds totals beside these breakdowns
        (:meth:`DisclosurePolicy.rounds_totals
        <threeml.definitions.policies.DisclosurePolicy.rounds_totals>`; under the default,
        whenever there is a breakdown): then its cells go through the policy too (see
        :func:`threeml.metrics.cells.publish_total`). Quantiles of fewer units than the
        policy's minimum are withheld either way.
        """
        suppressed = any(row.suppressed for rows in breakdowns.values() for row in rows)
        beside = policy.rounds_totals(bool(self.breakdowns), suppressed)
        raw = self.total
        row = publish_total(
            self.cells,
            self.cell_kinds,
            self.gate,
            self.derive,
            policy,
            beside_suppressed=beside,
            raw=raw,
            parents=self.cell_parents,
        )
        if row is raw:
            return raw
        return attrs.evolve(row, details={**self.details, **row.details})


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
    parents: Mapping[str, str] | None = None,
) -> MetricResult:
    """Assemble a :class:`MetricResult` from the cells of the total and of each group.

    ``parents`` maps a count cell to the count it is part of (see
    :attr:`MetricResult.cell_parents`)."""
    for name, kind in kinds.items():
        if kind not in CELL_KINDS:
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
        cell_parents=dict(parents or {}),
    )
