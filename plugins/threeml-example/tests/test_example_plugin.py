"""The example plugin's tests, written with threeml's test kit. Copy them with the template.

They check what every plugin should check:

- the installed entry point registers every definition, with this distribution as
  its source (so ``pip install -e .`` first);
- every definition conforms (``check_plugin``): documented, serialises to JSON and
  TOML and back, evaluates on random datasets in agreement with threeml's reference
  evaluator, and its worked examples (``SPEC_CASES``) count what they say;
- the definitions count what they mean, on small readable tables (``make_dataset``).

The fixtures ``make_dataset``, ``threeml_registry`` and ``check_spec_case`` come from
threeml's pytest plugin, which is installed with threeml: there is nothing to configure.
"""

from __future__ import annotations

import importlib.metadata

import pytest
from threeml_example import plugin
from threeml_example.spec_cases import SPEC_CASES

from threeml.engine.evaluate import count
from threeml.plugins.registry import Registry, load_registry
from threeml.testing import check_plugin, spec_case_params

DISTRIBUTION = "threeml-example"
ENTRY_POINT = "example"
NAMES = (
    "example.heartbeat-steady",
    "example.high-risk-pendants",
    "example.pendant-heartbeat-7d",
    "example.telehealth-referrals",
)
STEADY, HIGH_RISK, HEARTBEAT, REFERRALS = NAMES


@pytest.fixture(scope="module")
def installed() -> Registry:
    """The registry of the installed plugins, as threeml builds it (environment ignored)."""
    return load_registry(environ={})


# The plugin is installed and registered.


def test_the_entry_point_is_installed() -> None:
    (entry_point,) = [
        ep for ep in importlib.metadata.entry_points(group="threeml") if ep.name == ENTRY_POINT
    ]
    assert entry_point.value == plugin.__name__
    assert entry_point.dist is not None
    assert entry_point.dist.name == DISTRIBUTION


def test_the_plugin_loads_from_its_entry_point(installed: Registry) -> None:
    assert [f.describe() for f in installed.failures if f.name == ENTRY_POINT] == []
    (info,) = [p for p in installed.plugins if p.name == ENTRY_POINT]
    assert info.distribution == DISTRIBUTION
    assert info.version == importlib.metadata.version(DISTRIBUTION)
    assert info.definitions == NAMES
    for name in NAMES:
        assert installed.definition(name).source == info.source


# Every definition conforms.


def test_every_definition_conforms() -> None:
    check_plugin(plugin, examples=10)


def test_every_definition_has_a_worked_example() -> None:
    assert {case.definition for case in SPEC_CASES} == set(NAMES)


@pytest.mark.parametrize("case", spec_case_params(SPEC_CASES))
def test_worked_example(case, check_spec_case, threeml_registry) -> None:
    check_spec_case(case, registry=threeml_registry(plugin))


# The definitions count what they mean.


def test_hooks_return_the_definitions() -> None:
    assert [d.name for d in plugin.threeml_counting_definitions()] == [
        STEADY, HEARTBEAT, HIGH_RISK, REFERRALS
    ]  # fmt: skip
    assert plugin.threeml_metric_definitions() == []
    assert [d.name for d in plugin.file_definitions()] == [HIGH_RISK, REFERRALS]


def test_a_heartbeat_counts_only_in_the_last_7_days(make_dataset, threeml_registry) -> None:
    registry = threeml_registry(plugin)
    dataset = make_dataset(
        enrolments="""
            enrolment_id user_id service_id installed_on ended_on
            e1           u1      tc         2013-01-01   -
            e2           u2      tc         2013-01-01   -
            e3           u3      tc         2013-01-01   2013-10-31
        """,
        contacts="""
            user_id enrolment_id date       kind
            u1      e1           2013-12-31 heartbeat
            u2      e2           2013-12-20 heartbeat
            u2      e2           2013-12-30 alarm_call
        """,
    )
    result = count(registry.counting(HEARTBEAT), dataset, "2013-Q4", registry=registry)
    assert result.members() == {"u1"}
    # u3's pendant was in place in October; only u2 is lost at the heartbeat.
    assert [step.remaining for step in result.attrition] == [3, 1]


def test_a_referral_counts_whether_or_not_it_was_installed(make_dataset, threeml_registry) -> None:
    registry = threeml_registry(plugin)
    dataset = make_dataset(
        enrolments="""
            enrolment_id user_id service_id referred_on installed_on
            e1           u1      th         2013-11-01  -
            e2           u2      th         2013-11-01  2013-11-20
            e3           u3      tc         2013-11-01  -
        """
    )
    result = count(registry.counting(REFERRALS), dataset, "2013-Q4", registry=registry)
    assert result.members() == {"u1", "u2"}


def test_member_of_follows_the_named_definition(make_dataset, threeml_registry) -> None:
    """example.high-risk-pendants names example.pendant-heartbeat-7d: whoever that counts,
    with a risk score of at least 0.5, and its attrition starts from that count."""
    registry = threeml_registry(plugin)
    dataset = make_dataset(
        users="""
            user_id area risk_score
            u1      A    0.7
            u2      A    0.7
            u3      A    0.2
        """,
        enrolments="""
            enrolment_id user_id service_id installed_on ended_on
            e1           u1      tc         2013-01-01   -
            e2           u2      tc         2013-01-01   -
            e3           u3      tc         2013-01-01   -
        """,
        contacts="""
            user_id enrolment_id date       kind
            u1      e1           2013-12-30 heartbeat
            u2      e2           2013-12-01 heartbeat
            u3      e3           2013-12-30 heartbeat
        """,
    )
    pendants = count(registry.counting(HEARTBEAT), dataset, "2013", registry=registry)
    result = count(registry.counting(HIGH_RISK), dataset, "2013", registry=registry)
    assert pendants.members() == {"u1", "u3"}
    assert result.members() == {"u1"}
    assert [step.remaining for step in result.attrition] == [2, 1]
