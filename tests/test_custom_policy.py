"""The custom policy syntax: ``custom:T:B`` and its settings ``:name=value``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from threeml.cli import main
from threeml.definitions.policies import (
    CUSTOM_SETTINGS,
    TOTALS_WITH_BREAKDOWN,
    TOTALS_WITH_SUPPRESSED,
    custom_policy,
)
from threeml.errors import ThreemlError
from threeml.publish.disclosure import policy_named


def test_threshold_and_rounding_as_before() -> None:
    policy = custom_policy("custom:10:5")
    assert (policy.threshold, policy.rounding) == (10, 5)
    assert (policy.quantile_minimum, policy.amount_figures) == (50, 3)
    assert policy.totals == TOTALS_WITH_BREAKDOWN


def test_settings_set_quantile_minimum_amount_figures_and_totals() -> None:
    policy = policy_named("custom:10:5:quantile_minimum=100:amount_figures=2:totals=suppressed")
    assert (policy.threshold, policy.rounding) == (10, 5)
    assert (policy.quantile_minimum, policy.amount_figures) == (100, 2)
    assert policy.totals == TOTALS_WITH_SUPPRESSED
    # what each setting does: fewer than 100 units withhold a quantile; means to 2 figures
    assert policy.apply_statistic(3.5, 99) is None and policy.apply_statistic(3.5, 100) == 3.5
    assert policy.apply_amount(12.34 * 13, 13, 15) == pytest.approx(15 * 12)
    assert not policy.rounds_totals(True, False) and policy.rounds_totals(True, True)
    stated = policy.to_dict()
    assert (stated["quantile_minimum"], stated["amount_figures"], stated["totals"]) == (
        100,
        2,
        "suppressed",
    )
    assert "fewer than 100 withheld" in stated["description"]
    assert "2 significant figures" in stated["description"]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("custom:10", r"custom:THRESHOLD:ROUNDING\[:quantile_minimum=N\]"),
        ("custom:x:5", r"the threshold must be a whole number of 0 or more, not 'x'"),
        ("custom:10:-5", r"the rounding base must be a whole number of 0 or more, not '-5'"),
        ("custom:10:5:quantile_minimum=-1", r"quantile_minimum must be a whole number of 0"),
        ("custom:10:5:quantile_minimum=lots", r"quantile_minimum .* not 'lots'"),
        ("custom:10:5:amount_figures=0", r"amount_figures must be a whole number from 1 to 15"),
        ("custom:10:5:amount_figures=16", r"amount_figures .* from 1 to 15 .*, not '16'"),
        ("custom:10:5:totals=never", r"totals must be breakdown or suppressed, not 'never'"),
        ("custom:10:5:rounding=3", r"'rounding=3' is not a setting .* quantile_minimum"),
        ("custom:10:5:quantile_minimum", r"'quantile_minimum' is not a setting"),
        (
            "custom:10:5:amount_figures=2:amount_figures=3",
            r"amount_figures is given twice",
        ),
    ],
)
def test_bad_settings_are_named_with_what_they_accept(spec: str, message: str) -> None:
    with pytest.raises(ThreemlError, match=message) as raised:
        custom_policy(spec)
    assert spec in str(raised.value)


@given(
    st.integers(0, 20),
    st.integers(0, 20),
    st.integers(0, 500),
    st.integers(1, 15),
    st.sampled_from([TOTALS_WITH_BREAKDOWN, TOTALS_WITH_SUPPRESSED]),
)
def test_every_valid_setting_round_trips_through_the_syntax(t, b, q, a, totals) -> None:
    spec = f"custom:{t}:{b}:totals={totals}:amount_figures={a}:quantile_minimum={q}"
    policy = custom_policy(spec)
    assert (policy.threshold, policy.rounding, policy.quantile_minimum) == (t, b, q)
    assert (policy.amount_figures, policy.totals) == (a, totals)
    assert set(CUSTOM_SETTINGS) == {"quantile_minimum", "amount_figures", "totals"}


def test_the_command_line_takes_the_settings_and_states_them(capsys) -> None:
    import threeml

    folder = str(Path(threeml.__file__).parent / "demo_data")
    spec = "custom:10:5:quantile_minimum=100"
    args = ["count", "in-receipt", "--data", folder, "--period", "2013", "--by", "area"]
    assert main([*args, "--disclosure", spec, "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["disclosure"].startswith(spec)
    assert data["provenance"]["disclosure"]["quantile_minimum"] == 100
    code = main([*args, "--disclosure", "custom:10:5:amount_figures=0"])
    err = capsys.readouterr().err
    assert code != 0
    assert "amount_figures must be a whole number from 1 to 15" in err
    assert "Traceback" not in err
