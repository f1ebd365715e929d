"""Disclosure policies: the rule, secondary suppression, names, plugins, and every output."""

from __future__ import annotations

import json
import re
import types
from pathlib import Path

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from threeml.data import Dataset
from threeml.errors import ThreemlError
from threeml.plugins.hookspecs import hookimpl
from threeml.plugins.registry import RegistryConflict, default_registry, load_registry
from threeml.publish.disclosure import (
    DEFAULT_POLICY,
    NO_DISCLOSURE_CONTROL,
    DisclosurePolicy,
    policy_named,
)
from threeml.report import build_report, publish, to_csv, to_html, to_json
from threeml.report.fhir import measure_report


@attrs.frozen
class _Dist:
    name: str
    version: str


@attrs.frozen
class _EntryPoint:
    name: str
    target: object
    dist: _Dist
    value: str = "x_threeml.plugin"
    group: str = "threeml"

    def load(self) -> object:
        return self.target


def _policies(*policies: object) -> object:
    return types.SimpleNamespace(threeml_disclosure_policies=hookimpl(lambda: list(policies)))


def test_default_rule() -> None:
    assert [DEFAULT_POLICY.apply(n) for n in (0, 1, 7, 8, 12, 13, 7000)] == [
        0, None, None, 10, 10, 15, 7000,
    ]  # fmt: skip
    assert NO_DISCLOSURE_CONTROL.apply(3) == 3


def test_secondary_suppression_hides_the_next_smallest() -> None:
    assert DEFAULT_POLICY.apply_breakdown([7, 40, 12, 100]) == [None, 40, None, 100]
    # Two already suppressed: nothing more to do.
    assert DEFAULT_POLICY.apply_breakdown([3, 5, 40]) == [None, None, 40]
    # A non-zero cell is preferred to a zero one; a zero is taken when nothing else is left.
    assert DEFAULT_POLICY.apply_breakdown([0, 3, 50]) == [0, None, None]
    assert DEFAULT_POLICY.apply_breakdown([0, 3]) == [None, None]
    assert NO_DISCLOSURE_CONTROL.apply_breakdown([3, 40]) == [3, 40]


@given(st.lists(st.integers(min_value=0, max_value=60), min_size=1, max_size=12))
def test_no_suppressed_cell_can_be_recovered_by_subtraction(counts: list[int]) -> None:
    published = DEFAULT_POLICY.apply_breakdown(counts)
    hidden = [i for i, value in enumerate(published) if value is None]
    # Never exactly one hidden cell: total minus the others would give it away.
    assert len(hidden) != 1 or len(counts) == 1
    for raw, value in zip(counts, published, strict=True):
        assert value is None or (value % 5 == 0 and abs(value - raw) <= 2)
        assert value != 7
        if 1 <= raw <= 7:
            assert value is None


@pytest.mark.parametrize(
    ("name", "threshold", "rounding"),
    [("default", 7, 5), ("nhs-digital", 7, 5), ("round10", 7, 10), ("none", 0, 0),
     ("custom:10:5", 10, 5), ("custom:0:1", 0, 1)],
)  # fmt: skip
def test_policies_by_name(name: str, threshold: int, rounding: int) -> None:
    policy = policy_named(name)
    assert (policy.threshold, policy.rounding) == (threshold, rounding)
    assert policy.name == name
    assert name in policy.statement()


@pytest.mark.parametrize("name", ["lax", "custom:5", "custom:-1:5", "custom:a:b"])
def test_bad_policy_names_are_errors(name: str) -> None:
    with pytest.raises(ThreemlError):
        policy_named(name)


def test_plugins_supply_policies_by_name() -> None:
    strict = DisclosurePolicy("acme-strict", threshold=10, rounding=10)
    registry = load_registry(
        entry_points=[_EntryPoint("acme", _policies(strict), _Dist("acme-threeml", "2.0"))],
        environ={},
    )
    assert registry.failures == ()
    assert policy_named("acme-strict", registry) == strict
    assert registry.disclosure_policy_sources("acme-strict")[0].distribution == "acme-threeml"
    assert [p.disclosure_policies for p in registry.plugins] == [("acme-strict",)]
    assert "default" in registry.disclosure_policies()


def test_two_plugins_with_one_policy_name_is_an_error_naming_both() -> None:
    with pytest.raises(RegistryConflict) as raised:
        load_registry(
            entry_points=[
                _EntryPoint(
                    "a", _policies(DisclosurePolicy("strict", 10, 5)), _Dist("a-dist", "1")
                ),
                _EntryPoint("b", _policies(DisclosurePolicy("strict", 9, 5)), _Dist("b-dist", "1")),
            ],
            environ={},
        )
    assert "a-dist" in str(raised.value) and "b-dist" in str(raised.value)
    with pytest.raises(RegistryConflict, match="built in"):
        load_registry(
            entry_points=[
                _EntryPoint("a", _policies(DisclosurePolicy("default", 3, 5)), _Dist("a-dist", "1"))
            ],
            environ={},
        )


def test_a_broken_policy_hook_is_reported_and_the_others_load() -> None:
    def broken() -> list[object]:
        return ["not a policy"]

    bad = types.SimpleNamespace(threeml_disclosure_policies=hookimpl(broken))
    registry = load_registry(
        entry_points=[
            _EntryPoint("bad", bad, _Dist("bad-dist", "1")),
            _EntryPoint("good", _policies(DisclosurePolicy("g", 5, 5)), _Dist("g-dist", "1")),
        ],
        environ={},
    )
    assert [f.name for f in registry.failures] == ["bad"]
    assert "not a disclosure policy" in registry.failures[0].error
    assert "g" in registry.disclosure_policies()


# Every output, on an extract built so that areas hold exactly 7 people.

SMALL_AREAS = {"Ashby": 7, "Bream": 7, "Colne": 40, "Dent": 23, "Esk": 0}


def _extract(folder: Path) -> Path:
    users = ["user_id,area,birth_year,sex,conditions,risk_score"]
    enrolments = ["enrolment_id,user_id,service_id,referred_on,installed_on,ended_on,end_reason"]
    contacts = ["user_id,enrolment_id,date,kind"]
    n = 0
    for area, people in SMALL_AREAS.items():
        for _ in range(people):
            n += 1
            users.append(f"U{n},{area},1940,F,copd,0.6")
            enrolments.append(f"E{n},U{n},S1,2013-03-01,2013-04-10,,")
            contacts += [f"U{n},E{n},2013-05-0{d},reading" for d in range(1, 6)]
        users.append(f"X{area},{area},1950,M,,0.1")  # in every area, never enrolled
    (folder / "users.csv").write_text("\n".join(users) + "\n")
    (folder / "services.csv").write_text(
        "service_id,kind,sector,area,provider,annual_cost\nS1,telehealth,health,Colne,,\n"
    )
    (folder / "enrolments.csv").write_text("\n".join(enrolments) + "\n")
    (folder / "contacts.csv").write_text("\n".join(contacts) + "\n")
    return folder


@pytest.fixture(scope="module")
def published(tmp_path_factory) -> dict:
    folder = _extract(tmp_path_factory.mktemp("sevens"))
    registry = default_registry()
    report = build_report(
        Dataset.from_folder(folder),
        "FY2013/14",
        registry=registry,
        definitions=[registry.counting(n) for n in ("in-receipt", "telehealth", "high-risk")],
        metrics=[registry.metric(n) for n in ("multi-sector-share", "user-years")],
    )
    assert report.counts["in-receipt"].breakdowns["area"][0].count == 7  # raw figures kept
    return publish(report, DEFAULT_POLICY)


def _below_all_areas(published: dict) -> list:
    cells = [c for d in published["definitions"] for rows in d["breakdowns"].values() for c in rows]
    return cells + [
        r for m in published["metrics"] if m["evaluated"] for rows in m["breakdowns"].values()
        for r in rows
    ]  # fmt: skip


def test_a_count_of_7_never_appears_below_all_areas(published: dict) -> None:
    for cell in _below_all_areas(published):
        for key in ("count", "numerator", "denominator"):
            assert cell.get(key) != 7, cell
    csv_text = to_csv(published)
    for line in csv_text.splitlines():
        if line.startswith(("breakdown,", "metric-breakdown,")):
            assert not re.search(r",7(\.0)?,applied", line), line
    for group in measure_report(published)["group"]:
        for stratifier in group.get("stratifier", []):
            for stratum in stratifier["stratum"]:
                assert stratum["population"][0].get("count") != 7
    html = to_html(published)
    below = html[html.index('id="by-area"') :]
    assert '<td class="n">7</td>' not in below and "<td class='n'>7</td>" not in below
    data = json.loads(to_json(published))
    # All areas, beside suppressed areas: rounded (77 -> 75) so no suppressed area is the
    # total minus the others (issue 13).
    assert data["definitions"][0]["count"] == 75


def test_no_suppressed_value_is_recoverable_within_a_breakdown(published: dict) -> None:
    for definition in published["definitions"]:
        for rows in definition["breakdowns"].values():
            hidden = [c for c in rows if c["suppressed"]]
            assert len(hidden) != 1, rows
    for metric in published["metrics"]:
        for rows in metric.get("breakdowns", {}).values():
            hidden = [r for r in rows if r["numerator"] is None or r["denominator"] is None]
            assert len(hidden) != 1, rows


def test_suppressed_cells_are_marked_not_zero(published: dict) -> None:
    area = {c["group"]: c for c in published["definitions"][0]["breakdowns"]["area"]}
    assert area["Ashby"] == {"group": "Ashby", "count": None, "suppressed": True}
    html = to_html(published)
    assert html.count('<span class="suppressed">suppressed</span>') >= 2
