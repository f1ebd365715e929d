"""The directly standardised rate and its Dobson limits against a published worked example.

Source: the test data of PHEindicatormethods, the R package that analysts in England use for
the Fingertips methods (UKHSA, https://github.com/ukhsa-collaboration/PHEindicatormethods,
file ``tests/testthat/testdata_DSR_ISR.xlsx`` at commit 093fd28, sheets
``testdata_multiarea`` and ``testdata_1976`` for the events and populations by age band, and
``testresults_DSR`` for the expected rates and 95% limits, which the package's
``testDSRs.R`` / ``testpheDSRs.R`` check ``phe_dsr`` and ``calculate_dsr`` against). The
method is the Fingertips one: Dobson et al. (1991) with Byar's limits of the total count, and
no rate on fewer than 10 events.

The age bands are the package's, in order (its sheet labels the twelfth band ``55-69``, a
typo for ``55-59``); ``testdata_1976`` uses the 1976 European Standard Population, whose last
band is 85+, given here as a standard of its own ending at ``85-89``.
"""

from __future__ import annotations

import pytest
from threeml_integrated_care.rates import standardised_rate
from threeml_integrated_care.standard_population import ESP2013, StandardPopulation

from threeml.records.codes import AGE_BANDS

#: ``pop`` of every area in ``testdata_multiarea`` (the same in each), youngest band first.
POPULATION = (636, 558, 609, 543, 384, 594, 669, 843, 660, 576, 606, 522, 426, 273, 300, 288, 153,
              123, 207)  # fmt: skip

#: ``count`` by area, youngest band first.
EVENTS = {
    "testdata_big": (127, 25, 18, 21, 12, 27, 48, 27, 29, 32, 32, 34, 45, 65, 38, 68, 74, 82, 91),
    "testdata_small": (12, 4, 3, 2, 3, 4, 8, 2, 2, 3, 4, 5, 6, 8, 5, 6, 5, 5, 4),
    "testdata_tiny": (0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 1, 1, 2, 3),
}

#: ``testresults_DSR``, per 100,000: the rate and its 95% limits.
PUBLISHED = {
    "testdata_big": (10430.247991469423, 9717.709067985681, 11178.94091547925),
    "testdata_small": (1103.212025300104, 877.455767536709, 1367.0882227251795),
}

#: The 1976 European Standard Population's weights (0-4 … 80-84, 85+).
ESP1976 = (8000, 7000, 7000, 7000, 7000, 7000, 7000, 7000, 7000, 7000, 7000, 6000, 5000, 4000,
           3000, 2000, 1000, 1000)  # fmt: skip


def _by_band(values: tuple[float, ...]) -> dict[str, float]:
    return dict(zip(AGE_BANDS, values, strict=False))


@pytest.mark.parametrize("area", sorted(PUBLISHED))
def test_the_published_rates_and_dobson_limits_per_100000(area: str) -> None:
    found = standardised_rate(_by_band(EVENTS[area]), _by_band(POPULATION), ESP2013, per=100_000)
    value, low, high = PUBLISHED[area]
    assert found.reason is None
    assert found.value == pytest.approx(value, rel=1e-9)
    assert found.ci_low == pytest.approx(low, rel=1e-9)
    assert found.ci_high == pytest.approx(high, rel=1e-9)


def test_per_10000_is_the_same_rate_scaled() -> None:
    # testresults_DSR's per-10,000 rows: testdata_small 110.3212025300104 (87.7455767536709,
    # 136.70882227251795).
    found = standardised_rate(
        _by_band(EVENTS["testdata_small"]), _by_band(POPULATION), ESP2013, per=10_000
    )
    assert (found.value, found.ci_low, found.ci_high) == pytest.approx(
        (110.3212025300104, 87.7455767536709, 136.70882227251795), rel=1e-9
    )


def test_nine_events_give_no_rate_as_published() -> None:
    # testresults_DSR: "dsr NA for total count < 10" for testdata_tiny (9 events).
    found = standardised_rate(
        _by_band(EVENTS["testdata_tiny"]), _by_band(POPULATION), ESP2013, per=100_000
    )
    assert sum(EVENTS["testdata_tiny"]) == 9
    assert found.value is None and found.ci_low is None and found.ci_high is None
    assert "fewer than 10 events" in (found.reason or "")


def test_a_standard_given_as_a_table_the_1976_esp() -> None:
    # testdata_1976: testdata_big's first 18 bands (85+ last); testresults_DSR per 100,000:
    # 8592.0975850223658 (7991.160931442103, 9225.2538803183179).
    standard = StandardPopulation.from_table("esp1976", _by_band(ESP1976))
    found = standardised_rate(
        _by_band(EVENTS["testdata_big"][:18]), _by_band(POPULATION[:18]), standard, per=100_000
    )
    assert (found.value, found.ci_low, found.ci_high) == pytest.approx(
        (8592.0975850223658, 7991.160931442103, 9225.2538803183179), rel=1e-9
    )
