"""The arm comparison checked against a published table: the Whole System Demonstrator.

The telehealth arm of the Whole System Demonstrator trial (Steventon et al., BMJ
2012;344:e3874) reported 12-month mortality of 4.6% in the intervention group
(n = 1,570) against 8.3% in the control group (n = 1,584); the Department of
Health announced a 45% reduction in mortality.

The paper gives percentages, not counts, so the counts are rebuilt: 4.6% of 1,570
is 72.2 and 8.3% of 1,584 is 131.5, so 72 and 131 deaths, the nearest whole
numbers, which give back 4.6% (72/1,570 = 4.59%) and 8.3% (131/1,584 = 8.27%)
when rounded to one decimal place as published. (The published odds ratio, 0.54,
95% CI 0.39 to 0.75, was adjusted for baseline covariates, so the unadjusted
figures below differ from it slightly.)

Every expected figure is computed here by hand from the 2×2 table, not by the
code under test.
"""

from __future__ import annotations

import math
from datetime import date, timedelta

import pyarrow as pa
import pytest

from threeml.data import Dataset
from threeml.metrics.measures import evaluate_metric, metric_to_dict
from threeml.plugins.registry import default_registry
from threeml.publish.disclosure import DEFAULT_POLICY

INTERVENTION, CONTROL = 1570, 1584
DIED_INTERVENTION, DIED_CONTROL = 72, 131
ALLOCATED = date(2008, 6, 1)
Z = 1.959963984540054


@pytest.fixture(scope="module")
def wsd() -> Dataset:
    """Allocations and deaths with the trial's counts; some deaths fall outside the year."""
    users, allocations, deaths = [], [], []
    for arm, size, died in (
        ("intervention", INTERVENTION, DIED_INTERVENTION),
        ("control", CONTROL, DIED_CONTROL),
    ):
        for i in range(size):
            user = f"{arm[0]}{i:05d}"
            users.append((user, ("Cornwall", "Kent", "Newham")[i % 3]))
            allocations.append((user, "wsd", arm, ALLOCATED + timedelta(days=i % 90)))
            on = ALLOCATED + timedelta(days=i % 90)
            if i < died:
                # Deaths spread over the year, the last on day 365 (allocated_on + 364).
                deaths.append((user, on + timedelta(days=(i * 37) % 365)))
            elif i < died + 10:
                deaths.append((user, on + timedelta(days=365)))  # day 366: not counted
    tables = {
        "users": pa.table(
            {
                "user_id": [u for u, _ in users],
                "area": [a for _, a in users],
                "conditions": pa.array([[] for _ in users], pa.list_(pa.string())),
            }
        ),
        "services": pa.table(
            {"service_id": ["th"], "kind": ["telehealth"], "sector": ["health"], "area": ["x"]}
        ),
        "enrolments": pa.table(
            {
                "enrolment_id": pa.array([], pa.string()),
                "user_id": pa.array([], pa.string()),
                "service_id": pa.array([], pa.string()),
                **{
                    c: pa.array([], pa.string()) for c in ("installed_on", "ended_on", "end_reason")
                },
            }
        ),
        "contacts": pa.table(
            {
                "user_id": pa.array([], pa.string()),
                "enrolment_id": pa.array([], pa.string()),
                "date": pa.array([], pa.date32()),
                "kind": pa.array([], pa.string()),
            }
        ),
        "allocations": pa.table(
            {
                "user_id": [u for u, *_ in allocations],
                "trial": [t for _, t, *_ in allocations],
                "arm": [a for _, _, a, _ in allocations],
                "allocated_on": [d for *_, d in allocations],
            }
        ),
        "outcomes": pa.table(
            {
                "user_id": [u for u, _ in deaths],
                "date": [d for _, d in deaths],
                "kind": ["death"] * len(deaths),
            }
        ),
    }
    return Dataset.from_arrow(tables, extract_date="2010-12-31")


def test_whole_system_demonstrator_mortality(wsd: Dataset) -> None:
    registry = default_registry()
    result = evaluate_metric(
        registry.metric("arm-comparison"), wsd, "2008-05-01:2009-09-30", registry
    )
    a, n1 = DIED_INTERVENTION, INTERVENTION
    c, n0 = DIED_CONTROL, CONTROL
    b, d = n1 - a, n0 - c

    # The published proportions, to one decimal place.
    arms = result.details["arms"]
    assert (arms["intervention"]["people"], arms["control"]["people"]) == (n1, n0)
    assert (arms["intervention"]["with_outcome"], arms["control"]["with_outcome"]) == (a, c)
    assert round(100 * arms["intervention"]["proportion"], 1) == 4.6
    assert round(100 * arms["control"]["proportion"], 1) == 8.3

    # Odds ratio and Woolf's interval by hand: OR = ad/bc = 72·1453 / (1498·131).
    odds = (a * d) / (b * c)
    assert odds == pytest.approx(0.53311, abs=1e-5)
    se = math.sqrt(1 / a + 1 / b + 1 / c + 1 / d)
    assert se == pytest.approx(0.15126, abs=1e-5)
    low, high = math.exp(math.log(odds) - Z * se), math.exp(math.log(odds) + Z * se)
    assert (round(low, 3), round(high, 3)) == (0.396, 0.717)
    assert result.value == pytest.approx(odds, rel=1e-9)
    assert result.ci_low == pytest.approx(low, rel=1e-9)
    assert result.ci_high == pytest.approx(high, rel=1e-9)
    assert result.details["odds_ratio"]["value"] == pytest.approx(odds, rel=1e-9)

    # The relative reduction the Department of Health announced: about 45%.
    reduction = 1 - (a / n1) / (c / n0)
    assert reduction == pytest.approx(0.4455, abs=1e-4)
    assert round(100 * reduction) == 45
    assert result.details["relative_reduction"]["value"] == pytest.approx(reduction, rel=1e-9)

    # Risk difference: 4.59% − 8.27% = −3.68 percentage points.
    assert result.details["risk_difference"]["value"] == pytest.approx(a / n1 - c / n0)
    assert (result.numerator, result.denominator) == (a + c, n1 + n0)
    assert result.details["short_follow_up"] == 0


def test_whole_system_demonstrator_as_published_json(wsd: Dataset) -> None:
    registry = default_registry()
    result = evaluate_metric(
        registry.metric("arm-comparison"), wsd, "2008-05-01:2009-09-30", registry, by=["area"]
    )
    data = metric_to_dict(result, DEFAULT_POLICY)
    for key in ("metric", "version", "population", "period", "value", "numerator", "denominator"):
        assert key in data
    assert set(data["odds_ratio"]) >= {"value", "ci_low", "ci_high"}
    assert set(data["arms"]) == {"intervention", "control"}
    areas = data["breakdown"]["area"]
    assert [row["group"] for row in areas] == ["Cornwall", "Kent", "Newham"]
    # Every area's counts are rounded to 5 and its odds ratio computed from them.
    for row in areas:
        for arm in row["arms"].values():
            assert arm["people"] % 5 == 0
        assert row["odds_ratio"]["value"] is not None
    assert data["disclosure"].startswith("default")
