"""The metric evaluation contract: measure kinds from the registry, results, publishing.

Independent of any installed plugin: the counting definitions, metrics and
measure kinds here are made in the test.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import attrs
import pytest

from threeml.data import Dataset
from threeml.definitions import CountingDefinition, EnrolmentOverlaps, Measure, MetricDefinition
from threeml.metrics.measures import (
    AMOUNT,
    COUNT,
    MetricContext,
    MetricError,
    MetricResult,
    MetricRow,
    build_result,
    evaluate_metric,
    metric_rows,
    metric_to_dict,
    publish_cells,
    wilson_interval,
)
from threeml.plugins.registry import Registry, UnknownMeasureKind
from threeml.publish.disclosure import DEFAULT_POLICY, NO_DISCLOSURE_CONTROL
from threeml.records.rows import Enrolment, Service, User

ANY = CountingDefinition(
    name="x.any",
    version="1",
    title="Any service",
    description="A test definition.",
    criteria=(EnrolmentOverlaps(),),
)
TELEHEALTH = CountingDefinition(
    name="x.telehealth",
    version="1",
    title="Telehealth",
    description="A test definition.",
    criteria=(EnrolmentOverlaps(service_kinds={"telehealth"}),),
)
SHARE = MetricDefinition(
    name="x.share",
    version="1",
    title="Share on telehealth",
    description="share = x.telehealth / x.any",
    population="x.any",
    measure=Measure("proportion", {"numerator": "x.telehealth"}),
    higher_is_better=True,
)


@pytest.fixture(scope="module")
def registry() -> Registry:
    return Registry().with_definitions(ANY, TELEHEALTH, SHARE)


@pytest.fixture(scope="module")
def dataset() -> Dataset:
    # Area A: 20 people, 9 on telehealth; area B: 3 people, 1 on telehealth.
    people = [(f"a{i}", "A") for i in range(20)] + [(f"b{i}", "B") for i in range(3)]
    on_telehealth = {f"a{i}" for i in range(9)} | {"b0"}
    return Dataset.from_records(
        users=[User(u, area) for u, area in people],
        services=[
            Service("th", "telehealth", "health", "A"),
            Service("tc", "telecare", "social_care", "A"),
        ],
        enrolments=[
            Enrolment(f"e{u}", u, "th" if u in on_telehealth else "tc", None, "2013-01-01")
            for u, _ in people
        ],
        extract_date="2013-12-31",
    )


def test_the_builtin_proportion_gives_figures_interval_and_breakdowns(registry, dataset) -> None:
    result = evaluate_metric(SHARE, dataset, "2013", registry, by=["area"])
    assert (result.numerator, result.denominator) == (10, 23)
    assert result.value == pytest.approx(10 / 23)
    assert (result.ci_low, result.ci_high) == pytest.approx(wilson_interval(10, 23))
    rows = {row.group: row for row in result.breakdowns["area"]}
    assert (rows["A"].numerator, rows["A"].denominator) == (9, 20)
    assert (rows["B"].numerator, rows["B"].denominator) == (1, 3)
    assert result.labels["value"] == "proportion"


def test_published_breakdowns_use_the_rounded_figures(registry, dataset) -> None:
    result = evaluate_metric(SHARE, dataset, "2013", registry, by=["area"])
    primary_only = attrs.evolve(DEFAULT_POLICY, secondary=False)
    published = {row.group: row for row in result.published(primary_only)["area"]}
    a, b = published["A"], published["B"]
    assert (a.numerator, a.denominator, a.value) == (10, 20, 0.5)  # 9 -> 10, not 9/20
    assert (b.numerator, b.denominator, b.value) == (None, None, None)
    assert b.suppressed and b.reason == "suppressed by disclosure control"
    # With secondary suppression (the default), B alone suppressed could be recovered as the
    # total minus A, so A's counts are withheld too.
    protected = {row.group: row for row in result.published(DEFAULT_POLICY)["area"]}
    assert protected["A"].suppressed and protected["A"].value is None
    raw = {row.group: row for row in result.published(NO_DISCLOSURE_CONTROL)["area"]}
    assert raw["A"].value == pytest.approx(9 / 20)


def test_metric_to_dict_and_rows_state_the_policy(registry, dataset) -> None:
    result = evaluate_metric(SHARE, dataset, "2013", registry, by=["area"])
    data = metric_to_dict(result, DEFAULT_POLICY)
    assert data["metric"] == "x.share" and data["population"] == "x.any"
    assert data["numerator"] == 10 and data["disclosure"].startswith("default")
    assert data["breakdown"]["area"][1] == {
        "group": "B",
        "numerator": None,
        "denominator": None,
        "value": None,
        "ci_low": None,
        "ci_high": None,
        "reason": "suppressed by disclosure control",
        "suppressed": True,
        "withheld": ["people", "members"],
    }
    rows = metric_rows(result, DEFAULT_POLICY)
    assert {row["section"] for row in rows} == {"total", "breakdown:area"}
    # beside its breakdown by area the total goes through the policy too (issue 13, route 5)
    assert all(row["disclosure"].startswith("default: counts 1-7") for row in rows[:3])


def test_another_population_can_be_chosen(registry, dataset) -> None:
    result = evaluate_metric(SHARE, dataset, "2013", registry, population="x.telehealth")
    assert (result.population, result.numerator, result.denominator) == ("x.telehealth", 10, 10)


def test_breakdowns_must_be_users_columns(registry, dataset) -> None:
    with pytest.raises(MetricError, match="cannot break down by 'service_kind'"):
        evaluate_metric(SHARE, dataset, "2013", registry, by=["service_kind"])


# A measure kind of one's own, from the registry.


class PeopleCount:
    """Counts the population and sums a made-up amount per person: for the contract only."""

    kind = "x-people"

    def evaluate(self, context: MetricContext) -> MetricResult:
        members = context.members().mutate(days=10.0)
        kinds = {"people": COUNT, "days": AMOUNT}
        total, groups = context.summarise(
            members, {"people": lambda t: t.count(), "days": lambda t: t.days.sum()}, kinds
        )

        def derive(cells: Mapping[str, Any]) -> MetricRow:
            days, people = cells["days"], cells["people"]
            if days is None or people is None:
                return MetricRow(numerator=days, denominator=people, reason="withheld")
            value = days / people if people else None
            return MetricRow(
                numerator=days,
                denominator=people,
                value=value,
                reason=None if people else "no one",
            )

        return build_result(
            context,
            total=total,
            breakdowns=groups,
            derive=derive,
            kinds=kinds,
            labels={"value": "days per person"},
            details={"note": context.option("note", "none")},
        )


PER_HEAD = MetricDefinition(
    name="x.per-head",
    version="1",
    title="Days per head",
    description="A test definition.",
    population="x.any",
    measure=Measure("x-people", {"note": "from the definition"}),
)


def test_a_registered_measure_kind_evaluates_its_metrics(registry, dataset) -> None:
    extended = registry.with_measure_kinds(PeopleCount()).with_definitions(PER_HEAD)
    result = evaluate_metric(PER_HEAD, dataset, "2013", extended, by=["area"])
    assert (result.numerator, result.denominator, result.value) == (230.0, 23, 10.0)
    assert result.details["note"] == "from the definition"
    overridden = evaluate_metric(
        PER_HEAD, dataset, "2013", extended, options={"note": "for this run"}
    )
    assert overridden.details["note"] == "for this run"
    primary_only = attrs.evolve(DEFAULT_POLICY, secondary=False)
    published = {row.group: row for row in result.published(primary_only)["area"]}
    # B has 3 people: the count is suppressed, so its amount is withheld with it.
    assert published["B"].cells == {"people": None, "days": None}
    assert published["A"].cells == {"people": 20, "days": 200.0}


def test_an_unregistered_kind_is_a_clear_error(registry, dataset) -> None:
    with pytest.raises(UnknownMeasureKind, match="no measure kind named 'x-people'"):
        evaluate_metric(PER_HEAD, dataset, "2013", registry)
    # ... unless given for the one call.
    result = evaluate_metric(
        PER_HEAD, dataset, "2013", registry, measures={"x-people": PeopleCount()}
    )
    assert result.value == 10.0


def test_publish_cells_gates_amounts_on_the_people_count() -> None:
    kinds = {"people": COUNT, "events": COUNT, "years": AMOUNT}
    cells, withheld = publish_cells(
        {"people": 12, "events": 3, "years": 10.5}, kinds, "people", DEFAULT_POLICY
    )
    # Amounts are derived from the published count: 10 people x 0.875 years a head (issue 13).
    assert cells == {"people": 10, "events": None, "years": 8.75}
    assert withheld
    cells, withheld = publish_cells(
        {"people": 0, "events": 0, "years": 0.0}, kinds, "people", DEFAULT_POLICY
    )
    assert cells == {"people": 0, "events": 0, "years": 0.0} and not withheld


def test_build_result_refuses_unknown_cell_kinds(registry, dataset) -> None:
    result = evaluate_metric(SHARE, dataset, "2013", registry)
    context = MetricContext(SHARE, dataset, result.period, None, registry)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown kind"):
        build_result(
            context, total={}, breakdowns={}, derive=MetricRow, kinds={"x": "odd"}, labels={}
        )


@pytest.mark.parametrize(("successes", "trials"), [(0, 1), (1, 1), (0, 50), (50, 50), (3, 7)])
def test_wilson_interval_stays_in_zero_one_and_holds_the_proportion(successes, trials) -> None:
    low, high = wilson_interval(successes, trials)
    assert 0 <= low <= successes / trials <= high <= 1
    if successes == 0:
        assert low == 0
    if successes == trials:
        assert high == 1
    if (successes, trials) == (3, 7):
        p, n, z = 3 / 7, 7, 1.959963984540054
        centre = (p + z * z / (2 * n)) / (1 + z * z / n)
        half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
        assert (low, high) == pytest.approx((centre - half, centre + half))


def test_a_partly_withheld_row_names_what_was_withheld_and_shows_no_withheld_figure() -> None:
    """The row flagged ``suppressed`` with its numerator and value filled (``metric user-years
    --by gp_practice``): a count cell (people without follow-up, 1-7) was withheld; the figures
    shown are derived from the cells left published, and the row names the withheld cell."""
    from threeml.metrics.cells import publish_rows

    def derive(cells: Mapping[str, Any]) -> MetricRow:
        days, people = cells["days"], cells["people"]
        years = None if days is None else days / 365.25
        return MetricRow(
            numerator=years,
            denominator=people,
            value=years,
            details={"people_without_follow_up": cells["no_follow_up"]},
        )

    kinds = {"people": COUNT, "days": AMOUNT, "no_follow_up": COUNT}
    raw = [
        MetricRow(group=g, cells={"people": p, "days": d, "no_follow_up": n})
        for g, p, d, n in [
            ("P1", 40, 10120.0, 3),
            ("P2", 45, 12780.0, 0),
            ("P3", 5, 900.0, 0),
            ("P4", 12, 3000.0, 0),  # its people withheld beside P3's (secondary suppression)
        ]
    ]
    rows = {row.group: row for row in publish_rows(raw, kinds, "people", derive, DEFAULT_POLICY)}
    p1 = rows["P1"]
    assert p1.suppressed and p1.withheld == ("no_follow_up",)
    assert p1.cells["no_follow_up"] is None and p1.details["people_without_follow_up"] is None
    assert p1.denominator == 40 and p1.numerator == pytest.approx(p1.cells["days"] / 365.25)
    # A withheld gate withholds every figure of its row, and the row names every cell.
    p3 = rows["P3"]
    assert p3.suppressed and set(p3.withheld) == {"people", "days", "no_follow_up"}
    assert (p3.numerator, p3.denominator, p3.value) == (None, None, None)
    for row in rows.values():
        assert row.suppressed == bool(row.withheld)
        assert all(row.cells[name] is None for name in row.withheld)
