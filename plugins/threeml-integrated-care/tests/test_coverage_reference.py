"""Coverage on the engine against the reference evaluation, group by group (raw figures).

The reference (:mod:`threeml_integrated_care.coverage_reference`) counts in plain Python,
person by person, and finds the members with threeml's reference evaluator; the engine
counts with group-bys. Every figure of every group must agree: members, users of unknown
age, population, the crude rate and its limits, and the standardised rate and its limits
(or that there is none).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from threeml_integrated_care.coverage_reference import reference_age_band, reference_coverage
from threeml_integrated_care.standard_population import ESP2013, StandardPopulation

from threeml.data import Dataset
from threeml.data.synth import synthesise
from threeml.engine.reference import ReferenceData, reference_count
from threeml.metrics.measures import evaluate_metric
from threeml.plugins.registry import default_registry
from threeml.records.periods import Period
from threeml.testing.tables import make_dataset

BREAKDOWNS = (None, "area", "sex", "birth_year")


def _rows(dataset: Dataset, name: str) -> list[dict]:
    return dataset.table(name).to_pyarrow().to_pylist()


def _assert_agree(dataset: Dataset, period: str, options: dict, *, per: float = 1000) -> int:
    """Compare every breakdown; the number of groups compared."""
    registry = default_registry()
    metric = registry.metric("coverage-in-receipt")
    parsed = Period.parse(period)
    population = registry.counting(metric.population)
    members = reference_count(
        population, ReferenceData.from_dataset(dataset), parsed, registry.counting,
        kinds=registry.criterion_kinds(),
    ).members  # fmt: skip
    standard = options.get("standard", ESP2013)
    if isinstance(standard, dict):
        standard = StandardPopulation.from_table("given", standard)
    engine_options = {k: v for k, v in options.items() if k != "standard" or isinstance(v, dict)}
    compared = 0
    for by in BREAKDOWNS:
        result = evaluate_metric(
            metric, dataset, parsed, registry, by=() if by is None else (by,),
            options=engine_options,
        )  # fmt: skip
        expected = reference_coverage(
            _rows(dataset, "users"), members, _rows(dataset, "populations"), parsed, by=by,
            standard=standard, per=per, group=options.get("group"),
            minimum_events=options.get("min_events", 10),
        )  # fmt: skip
        rows = {None: result} if by is None else {row.group: row for row in result.breakdowns[by]}
        assert set(rows) == set(expected), by
        for group, want in expected.items():
            got = rows[group]
            where = f"by {by}, group {group}"
            assert got.numerator == want.people, where
            assert got.denominator == want.population, where
            details = got.details
            assert details["users_of_unknown_age"] == want.unknown_age, where
            crude = details["crude_rate"]
            assert (crude["rate"], crude["ci_low"], crude["ci_high"]) == pytest.approx(
                (want.crude.value, want.crude.ci_low, want.crude.ci_high)
            ), where
            dsr = want.standardised
            assert (got.value is None) == (dsr.value is None), where
            assert (got.value, got.ci_low, got.ci_high) == pytest.approx(
                (dsr.value, dsr.ci_low, dsr.ci_high)
            ), where
            compared += 1
    return compared


def test_the_age_band_by_hand() -> None:
    end = date(2013, 12, 31)
    assert [reference_age_band(year, end) for year in (2013, 2009, 2008, 1924, 1923, None)] == [
        "0-4", "0-4", "5-9", "85-89", "90+", "unknown"
    ]  # fmt: skip
    assert reference_age_band(2014, end) == "unknown"  # born after the period's end


def test_a_small_extract_with_sexed_and_unsexed_populations() -> None:
    # Kent gives both sexes in one row per band; Essex only by sex (summed for the area).
    users = "user_id area birth_year sex\n" + "".join(
        f"u{i} {'Kent' if i < 14 else 'Essex'} {1930 + i % 12 if i % 9 else '-'} "
        f"{'F' if i % 2 else 'M'}\n"
        for i in range(26)
    )
    enrolments = "enrolment_id user_id service_id installed_on\n" + "".join(
        f"e{i} u{i} tc 2013-01-10\n" for i in range(26)
    )
    populations = """
        area  year age_band sex population
        Kent  2013 75-79    -   1000
        Kent  2013 80-84    -   500
        Kent  2013 70-74    -   800
        Essex 2013 75-79    F   300
        Essex 2013 75-79    M   200
        Essex 2013 80-84    F   150
        Essex 2013 70-74    M   90
        Essex 2013 80-84    M   120
    """
    dataset = make_dataset(enrolments=enrolments, users=users, populations=populations)
    standard = {"70-74": 5000, "75-79": 4000, "80-84": 2500}
    assert _assert_agree(dataset, "2013", {"standard": standard, "min_events": 3}) >= 9


@pytest.mark.parametrize("seed", [3, 17])
def test_synthetic_extracts(tmp_path: Path, seed: int) -> None:
    synthesise(tmp_path, users=400, seed=seed, areas=3, extract_date=date(2014, 3, 31))
    dataset = Dataset.from_folder(tmp_path)
    assert _assert_agree(dataset, "FY2013/14", {}) > 10
    assert _assert_agree(dataset, "2013", {"per": 100_000}, per=100_000) > 10
