"""Several metrics evaluated together: populations counted once, per-person facts shared.

:func:`evaluate_metrics` counts every population the metrics need in one
:func:`~threeml.engine.membership.count_members` (so they share one flags table), then runs each
metric's measure kind with a :class:`MetricSession` on its context. A measure kind that asks
the session for a fact table (:meth:`MetricContext.shared_facts`) gets the one already
computed by another metric with the same key, stored once in the engine
(:func:`threeml.data.intermediate.keep`: a temporary table on DuckDB and PostgreSQL, a
cached view on Spark) and released when the evaluation ends. Measure kinds that never ask
still work: they build their own queries, as before.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from attrs import define, field

from threeml.data.intermediate import keep, kept, release

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from threeml.data import Dataset
    from threeml.definitions.contracts import DefinitionResolver
    from threeml.engine.membership import Members
    from threeml.engine.results import CountResult
    from threeml.records.periods import Period

__all__ = ["MetricSession"]


@define
class MetricSession:
    """What the metrics of one evaluation share: counted populations and stored fact tables.

    ``populations`` maps a counting definition's name to its result (counted once for every
    metric); ``facts`` maps a measure kind's key to a table stored in the engine. Call
    :meth:`close` (or use the session as a context manager) to drop the stored tables.
    """

    dataset: Dataset
    period: Period
    by: Sequence[str] = ()
    populations: dict[str, CountResult | Members] = field(factory=dict)
    facts: dict[Hashable, ir.Table] = field(factory=dict)
    _stored: list[ir.Table] = field(factory=list, alias="stored")
    #: Counts over other periods than the session's, by (definition name, period): a series
    #: counts them for every interval at once (:meth:`count_periods`); shared by the
    #: intervals' sessions.
    counted: dict[tuple[str, Period], CountResult | Members] = field(factory=dict)
    #: Small results (a few rows read into Python) a measure kind computed for every interval
    #: of a series at once, by a key of its choosing; shared by the intervals' sessions.
    values: dict[Hashable, Any] = field(factory=dict)

    def population(self, name: str) -> CountResult | Members | None:
        """The counted population ``name`` when this session has it."""
        return self.populations.get(name)

    def shared(self, key: Hashable, build: Callable[[], ir.Table]) -> ir.Table:
        """The table stored under ``key``, built (and stored in the engine) the first time."""
        found = self.facts.get(key)
        if found is not None:
            return found
        table = keep(self.dataset.backend, build())
        if kept(table):
            self._stored.append(table)
        self.facts[key] = table
        return table

    def for_period(
        self, period: Period, populations: Mapping[str, CountResult | Members] | None = None
    ) -> MetricSession:
        """A session for one interval of a series that shares this one's stored tables.

        Its populations are the interval's own; its fact tables are this session's (keys
        hold the period, so intervals never read each other's), and so are the tables it
        stores: close this session, not the interval's, to drop them.
        """
        return MetricSession(
            self.dataset,
            period,
            self.by,
            dict(populations or {}),
            facts=self.facts,
            stored=self._stored,
            counted=self.counted,
            values=self.values,
        )

    def count_periods(
        self, name: str, periods: Iterable[Period], registry: DefinitionResolver
    ) -> None:
        """Count ``name`` (members and counts only) over each of ``periods`` at once, for
        :meth:`MetricContext.count <threeml.metrics.contract.MetricContext.count>` to read.

        Up to :data:`~threeml.engine.membership.FLAGGED_PERIODS` periods are counted in one
        pass with a flag per criterion and period
        (:func:`~threeml.engine.membership.count_members_periods`): the trend starts of 20
        quarters, one day each, at 1 million people in 4.6 to 7.3 s
        against 12.3 to 16.1 s as a series. More are split into runs that follow one another
        without overlapping, and each run is counted as one series
        (:func:`~threeml.engine.membership_series.count_members_series`), so N periods cost
        about as many series counts as periods overlap, not N counts.
        """
        from threeml.engine.membership import FLAGGED_PERIODS, count_members_periods
        from threeml.engine.membership_series import count_members_series
        from threeml.records.intervals import Interval

        done = {p for n, p in self.counted if n == name}
        wanted = sorted(set(periods) - done, key=lambda p: (p.start, p.end))
        definition = registry.counting(name)
        if len(wanted) <= FLAGGED_PERIODS:
            found = count_members_periods(
                [(definition, p) for p in wanted], self.dataset, by=self.by, registry=registry
            )
            self.counted.update({(name, p): found[name, p] for p in wanted})
            return
        runs: list[list[Period]] = []
        for period in wanted:
            run = next((r for r in runs if r[-1].end < period.start), None)
            if run is None:
                runs.append([period])
            else:
                run.append(period)
        for run in runs:
            intervals = [Interval(p, f"{p.start}:{p.end}") for p in run]
            found = count_members_series(
                [definition], self.dataset, intervals, by=self.by, registry=registry
            )[name]
            self.counted.update({(name, p): r for p, r in zip(run, found, strict=True)})

    def close(self) -> None:
        """Drop every table this session stored in the engine."""
        while self._stored:
            release(self._stored.pop())
        self.facts.clear()

    def __enter__(self) -> MetricSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def session_key(parts: Any) -> Hashable:
    """A hashable key from options (lists become tuples, mappings sorted pairs)."""
    if isinstance(parts, Mapping):
        return tuple(sorted((str(k), session_key(v)) for k, v in parts.items()))
    if isinstance(parts, (list, tuple, set, frozenset)):
        items = [session_key(v) for v in parts]
        return tuple(sorted(items, key=repr) if isinstance(parts, (set, frozenset)) else items)
    return parts
