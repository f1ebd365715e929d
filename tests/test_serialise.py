"""Definitions survive JSON and TOML, and a bad definition file says what is wrong and where."""

from __future__ import annotations

import json
import re
import sys

import pytest
import strategies
from hypothesis import given, settings
from hypothesis import strategies as st

from threeml import Unit
from threeml.definitions import (
    CountingDefinition,
    DefinitionFileError,
    Measure,
    MemberOf,
    MetricDefinition,
    Query,
    from_data,
    from_json,
    from_toml,
    to_data,
    to_json,
    to_toml,
)

NAMES = st.from_regex(r"[a-z][a-z0-9]{0,8}([.-][a-z0-9]{1,5}){0,2}", fullmatch=True)
TEXT = st.text(max_size=40)
#: Versions and descriptions are never blank (a blank one is refused).
FILLED = TEXT.filter(str.strip)
EVERY_CRITERION = st.one_of(
    strategies.criteria(),
    st.builds(MemberOf, NAMES),
)
PARAMETERS = st.dictionaries(
    st.from_regex(r"[a-z_]{1,10}", fullmatch=True),
    st.integers(-1000, 1000) | st.floats(allow_nan=False, allow_infinity=False) | TEXT,
    max_size=3,
)


@st.composite
def counting_definitions(draw: st.DrawFn) -> CountingDefinition:
    return CountingDefinition(
        name=draw(NAMES),
        version=draw(st.sampled_from(["1", "2.0", "2013-12"]) | FILLED),
        title=draw(TEXT),
        description=draw(FILLED),
        criteria=tuple(draw(st.lists(EVERY_CRITERION, min_size=1, max_size=4))),
        unit=draw(st.sampled_from(list(Unit))),
        origin=draw(TEXT),
        parameters=draw(PARAMETERS),
    )


@settings(max_examples=150, deadline=None)
@given(counting_definitions())
def test_counting_definitions_round_trip_through_json_and_toml(definition) -> None:
    for text, read in ((to_json(definition), from_json), (to_toml(definition), from_toml)):
        again = read(text)
        assert again == definition
        assert again.criteria == definition.criteria  # same order, same parameters
        assert dict(again.parameters) == dict(definition.parameters)  # not part of equality
        assert to_data(again) == to_data(definition)


def test_a_metric_definition_round_trips() -> None:
    metric = MetricDefinition(
        name="multi-sector-share",
        version="1",
        title="Share of users in more than one sector",
        description="multi-sector over in-receipt",
        population="in-receipt",
        measure=Measure(kind="share", options={"numerator": "multi-sector", "per": 100}),
        higher_is_better=True,
    )
    assert from_json(to_json(metric)) == metric
    assert from_toml(to_toml(metric)) == metric


def test_fields_left_out_take_their_defaults() -> None:
    definition = from_toml(
        """
        name = "acme.heartbeat-7d"
        version = "1"
        title = "Pendant alarms with a heartbeat in the last 7 days"
        description = "An alarm supplier's 'active'."

        [[criteria]]
        kind = "enrolment-overlaps"
        service_kinds = ["telecare"]

        [[criteria]]
        kind = "contacts-at-least"
        contact_kinds = ["heartbeat"]
        window = { last_days = 7 }
        """
    )
    assert isinstance(definition, CountingDefinition)
    assert definition.unit is Unit.USERS
    overlaps, contacts = definition.criteria
    assert overlaps.window.last_days is None
    assert contacts.count == 1
    assert contacts.window.last_days == 7


BASE = {
    "type": "counting",
    "name": "acme.active",
    "version": "1",
    "title": "t",
    "description": "d",
}


def _toml(criterion: str) -> str:
    head = "\n".join(f"{key} = {json.dumps(value)}" for key, value in BASE.items())
    return f'{head}\n\n[[criteria]]\nkind = "enrolment-overlaps"\n\n[[criteria]]\n{criterion}\n'


def test_an_unknown_criterion_kind_is_named_with_the_kinds_there_are() -> None:
    with pytest.raises(DefinitionFileError) as caught:
        from_toml(_toml('kind = "heartbeats-at-least"'), "acme.toml")
    message = str(caught.value)
    assert "acme.toml" in message
    assert "criterion 2" in message
    assert "'heartbeats-at-least'" in message
    assert "contacts-at-least" in message  # the kinds that do exist


@pytest.mark.parametrize("function", ["os:system", "this:s", "antigravity:fly"])
@pytest.mark.parametrize("form", ["toml", "json"])
def test_a_query_criterion_in_a_file_is_refused_and_imports_nothing(function, form) -> None:
    before = set(sys.modules)
    if form == "toml":
        text = _toml(f'kind = "query"\nfunction = "{function}"\ndescription = "runs code"')
        read = from_toml
    else:
        criteria = [{"kind": "enrolment-overlaps"}, {"kind": "query", "function": function}]
        text = json.dumps({**BASE, "criteria": criteria})
        read = from_json
    with pytest.raises(DefinitionFileError) as caught:
        read(text, f"acme.{form}")
    message = str(caught.value)
    assert message.startswith(f"acme.{form} acme.active, criterion 2: a definition file cannot")
    assert "code comes only from installed plugins' criterion kinds" in message
    assert "contacts-at-least" in message  # the kinds there are
    assert "query," not in message
    assert set(sys.modules) == before


def test_a_query_criterion_does_not_serialise() -> None:
    definition = CountingDefinition(
        name="acme.q",
        version="1",
        title="t",
        description="d",
        criteria=(Query(len, "whatever len says"),),
    )
    with pytest.raises(DefinitionFileError, match="holds a Python function and cannot be written"):
        to_toml(definition)
    with pytest.raises(DefinitionFileError, match="'builtins:len'"):
        to_data(definition)


def test_a_criterion_without_a_kind_is_an_error() -> None:
    with pytest.raises(DefinitionFileError, match="criterion 2: a criterion needs a 'kind'"):
        from_toml(_toml("count = 2"))


def test_an_unknown_field_is_named_with_the_known_fields() -> None:
    with pytest.raises(DefinitionFileError) as caught:
        from_toml(_toml('kind = "contacts-at-least"\ncuont = 4'))
    message = str(caught.value)
    assert "criterion 2 (contacts-at-least)" in message
    assert "cuont" in message
    assert "count" in message and "window" in message


def test_an_unknown_field_of_the_definition_is_an_error() -> None:
    data = {**BASE, "colour": "red", "criteria": [{"kind": "referred-in"}]}
    with pytest.raises(DefinitionFileError, match=r"unknown field.*colour"):
        from_data(data)


@pytest.mark.parametrize(
    ("window", "expected"),
    [
        ("window = { last_days = 0 }", "at least one day"),
        ("window = { last_days = -7 }", "at least one day"),
        ("window = 28", "window is written { last_days = N } or left out"),
        ("window = { days = 28 }", "unknown field(s) days; known fields are last_days"),
    ],
)
def test_a_bad_window_is_explained(window: str, expected: str) -> None:
    with pytest.raises(DefinitionFileError) as caught:
        from_toml(_toml(f'kind = "contacts-at-least"\n{window}'))
    message = str(caught.value)
    assert "criterion 2" in message
    assert expected in message


def test_a_bad_parameter_value_is_explained() -> None:
    with pytest.raises(DefinitionFileError, match=r"criterion 2 \(risk-at-least\).*0\.\.1"):
        from_toml(_toml('kind = "risk-at-least"\nthreshold = 50'))
    with pytest.raises(DefinitionFileError, match="telehealthh"):
        from_toml(_toml('kind = "enrolment-overlaps"\nservice_kinds = ["telehealthh"]'))


def test_invalid_toml_is_reported_as_such() -> None:
    with pytest.raises(DefinitionFileError, match=re.escape("acme.toml: not valid TOML")):
        from_toml('name = "acme.active\n', "acme.toml")


def test_invalid_json_is_reported_as_such() -> None:
    with pytest.raises(DefinitionFileError, match="not valid JSON"):
        from_json('{"name": "acme.active",}')


def test_a_definition_without_criteria_is_an_error() -> None:
    with pytest.raises(DefinitionFileError, match=r"non-empty list of \[\[criteria\]\]"):
        from_data({**BASE, "criteria": []})
