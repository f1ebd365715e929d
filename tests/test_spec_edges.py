"""Worked examples for edges that only random properties used to catch (issue 16).

The standard definitions' edge cases live with their worked examples in
``threeml_counting.spec_cases`` (and so in the catalogue); this one needs a definition of its
own, since no standard definition counts through ``member-of``.
"""

from __future__ import annotations

from threeml.definitions import CountingDefinition, MemberOf
from threeml.definitions.speccase import SpecCase
from threeml.plugins.registry import default_registry
from threeml.testing import check_spec_case

THROUGH_IN_RECEIPT = CountingDefinition(
    name="spec.through-in-receipt",
    version="1",
    title="In receipt, counted through member-of",
    description="Counts whoever in-receipt counts, by name.",
    criteria=[MemberOf("in-receipt")],
)

MEMBER_OF_EDGES = SpecCase(
    definition=THROUGH_IN_RECEIPT.name,
    title="member-of in-receipt keeps the period's edges: an enrolment ending on the first day",
    period="2013",
    users=[(f"u{i}", "A", None, None) for i in range(1, 5)],
    enrolments=[
        ("e1", "u1", "tc", None, "2012-06-01", "2013-01-01"),  # ends on the first day
        ("e2", "u2", "tc", None, "2012-06-01", "2012-12-31"),  # ends the day before
        ("e3", "u3", "tc", None, "2013-12-31", None),  # starts on the last day
        ("e4", "u4", "tc", None, "2014-01-01", None),  # starts the day after
    ],
    expected={"u1", "u3"},
)


def test_member_of_in_receipt_counts_an_enrolment_ending_on_the_first_day() -> None:
    registry = default_registry().with_definitions(THROUGH_IN_RECEIPT)
    result = check_spec_case(MEMBER_OF_EDGES, registry=registry)
    assert result.members() == {"u1", "u3"}
