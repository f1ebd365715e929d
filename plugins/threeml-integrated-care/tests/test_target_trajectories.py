"""Progress to target as trajectories over a series, worked by hand, and from published figures.

Area A gains one telehealth user a month from January to June 2013 (all still in receipt), so
the ``telehealth`` count of each month is 1, 2, … 6. A's target is 12 by 31 December 2013.
"""

from __future__ import annotations

from datetime import date

import pytest
from threeml_integrated_care.examples import extract
from threeml_integrated_care.targets import progress_trajectories

from threeml.metrics.measures import MetricError, evaluate_metric
from threeml.plugins.registry import default_registry
from threeml.publish.disclosure import DEFAULT_POLICY, NO_DISCLOSURE_CONTROL
from threeml.publish.trajectories import least_squares
from threeml.records.intervals import split

MONTHS = split("2013-01-01:2013-06-30", "month")


def _dataset(targets=(("telehealth", "A", 12, "2013-12-31"),)):
    users = [(f"a{m}", "A") for m in range(1, 7)] + [("b1", "B")]
    enrolments = [(f"e{m}", f"a{m}", "th", None, f"2013-{m:02d}-01") for m in range(1, 7)]
    enrolments.append(("eb", "b1", "th", None, "2013-01-10"))
    return extract(
        users=users, enrolments=enrolments, targets=list(targets), extract_date="2013-06-30"
    )


def test_least_squares_through_points():
    assert least_squares([(0, 1), (1, 3), (2, 5)]) == pytest.approx((1, 2))
    assert least_squares([(3, 1), (3, 2)]) is None


def test_the_line_through_the_last_two_months_reaches_the_target():
    found = progress_trajectories(
        _dataset(), MONTHS, default_registry(), policy=NO_DISCLOSURE_CONTROL, recent=2
    )
    a = found.trajectory("A")
    assert [p.count for p in a.points] == [1, 2, 3, 4, 5, 6]
    assert [p.share for p in a.points] == pytest.approx([m / 12 for m in range(1, 7)])
    assert (a.target, a.due) == (12, date(2013, 12, 31))
    # Through (31 May, 5) and (30 June, 6): one a month of 30 days; 184 days to the due date.
    assert a.per_day == pytest.approx(1 / 30)
    assert a.projection == pytest.approx(6 + 184 / 30)
    assert a.on_track is True


def test_a_flat_trajectory_projects_its_count_and_b_has_no_target():
    found = progress_trajectories(
        _dataset(), MONTHS, default_registry(), policy=NO_DISCLOSURE_CONTROL
    )
    b = found.trajectory("B")
    assert [p.count for p in b.points] == [1] * 6
    assert b.projection is None and "no target" in b.note
    # The total's target is the sum of the areas' (A's only), its trend A's plus B's flat one.
    total = found.trajectory(None)
    assert total.target == 12
    assert [p.count for p in total.points] == [2, 3, 4, 5, 6, 7]
    six = least_squares([(i.end.toordinal(), m + 1) for m, i in enumerate(MONTHS, start=1)])
    assert total.projection == pytest.approx(six[0] + six[1] * date(2013, 12, 31).toordinal())


def test_projections_are_computed_from_published_counts_only():
    found = progress_trajectories(_dataset(), MONTHS, default_registry(), policy=DEFAULT_POLICY)
    a = found.trajectory("A")
    # Counts of 1-7 are suppressed below all areas: nothing to draw a line through.
    assert [p.count for p in a.points] == [None] * 6
    assert a.projection is None and a.on_track is None
    assert "fewer than two published counts" in a.note
    data = found.data()
    assert "least-squares" in data["method"] and data["disclosure"] == DEFAULT_POLICY.describe()


def test_a_due_date_already_passed_judges_the_count_then():
    found = progress_trajectories(
        _dataset(targets=[("telehealth", "A", 3, "2013-03-31")]),
        MONTHS,
        default_registry(),
        policy=NO_DISCLOSURE_CONTROL,
    )
    a = found.trajectory("A")
    assert a.projection == 3 and a.on_track is True and "2013-03" in a.note


def test_the_area_filter_keeps_the_chosen_areas_and_the_total():
    found = progress_trajectories(
        _dataset(), MONTHS, default_registry(), areas=["B"], policy=NO_DISCLOSURE_CONTROL
    )
    assert [t.group for t in found.trajectories] == ["B", None]


def test_only_progress_metrics_have_trajectories():
    with pytest.raises(MetricError, match="not progress to target"):
        progress_trajectories(_dataset(), MONTHS, default_registry(), metric="user-years")


def test_a_definition_without_targets_says_so():
    dataset = _dataset()
    registry = default_registry()
    metric = registry.metric("progress-to-target")
    result = evaluate_metric(
        metric, dataset, "2013-01-01:2013-06-30", registry, population="active-telehealth"
    )
    assert result.value is None
    assert "no rows for 'active-telehealth'" in result.reason
    assert "'telehealth'" in result.reason
    empty = evaluate_metric(metric, _dataset(targets=()), "2013-01-01:2013-06-30", registry)
    assert "targets table is empty" in empty.reason


def test_the_terminal_table_fits_80_columns():
    import io

    from rich.console import Console

    from threeml.publish.terminal import show

    found = progress_trajectories(
        _dataset(), MONTHS, default_registry(), policy=NO_DISCLOSURE_CONTROL, recent=2
    )
    stream = io.StringIO()
    show(found, Console(file=stream, width=80, highlight=False))
    out = stream.getvalue()
    table = [line for line in out.splitlines() if line[:1] in "┏┃┡│└"]
    assert table and all(len(line.rstrip()) <= 80 for line in table) and "…" not in out
    (a,) = [line for line in table if line.startswith("│ A ")]
    assert "6" in a and "12" in a and "50.0%" in a and "12.13" in a and "yes" in a
    assert "due: 2013-12-31" in out and "counted in 2013-06" in out
    assert "last 2 intervals" in " ".join(out.split())


def test_the_share_of_an_eligible_population_reached_has_a_trajectory_too():
    users = [(f"a{m}", "A") for m in range(1, 7)]
    enrolments = [(f"e{m}", f"a{m}", "th", None, f"2013-{m:02d}-01") for m in range(1, 7)]
    dataset = extract(
        users=users,
        enrolments=enrolments,
        populations=[("A", 2013, "75-79", 100, "eligible")],
        extract_date="2013-06-30",
    )
    found = progress_trajectories(
        dataset,
        MONTHS,
        default_registry(),
        metric="eligible-reached",
        policy=NO_DISCLOSURE_CONTROL,
        recent=2,
        due=date(2013, 12, 31),
        share=0.1,
    )
    a = found.trajectory("A")
    assert [p.count for p in a.points] == [1, 2, 3, 4, 5, 6]
    assert [p.share for p in a.points] == pytest.approx([m / 100 for m in range(1, 7)])
    # The target is a tenth of the eligible 100 by the end of the year; 6 + 184/30 reaches it.
    assert a.target == pytest.approx(10) and a.due == date(2013, 12, 31)
    assert a.projection == pytest.approx(6 + 184 / 30) and a.on_track is True
    without = progress_trajectories(
        dataset, MONTHS, default_registry(), metric="eligible-reached", policy=NO_DISCLOSURE_CONTROL
    )
    assert without.trajectory("A").projection is None
    assert without.trajectory("A").target == 100
    assert "no due date" in without.trajectory("A").note
