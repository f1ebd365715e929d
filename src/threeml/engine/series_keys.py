"""Integer keys for the long tables of a series: people and enrolments numbered once.

At national scale the long tables of a series (runs, facts per (enrolment, run), user flags
per (user, run), contacts per (enrolment, month) and (user, month)) are tens of millions of
rows, and their joins, windows and group-bys cost most when keyed by the text ids. A series
read by runs (:mod:`threeml.engine.series_runs`) numbers the people and the enrolments once
instead, and keys every long table by those numbers:

- each user gets a dense number (:data:`PERSON`) in the stored base (one row per user, the
  text ``user_id`` kept beside it for the members and the cell keys);
- each enrolment gets a number of its own and its owner's (:func:`numbered_enrolments`,
  stored once): in the long tables ``enrolment_id`` and ``user_id`` are these integers, and
  the enrolment's text id (:data:`ENROLMENT_TEXT`) stays only for its record key and for
  meeting its contacts (:func:`numbered_contacts`, the one join by text).

The numbers are made by one stored query each and only compared with each other, so any
numbering is as good as another: the figures do not depend on it. A member's text id is
read back from the base (by :data:`PERSON`) only when a membership is asked for.
"""

from __future__ import annotations

from collections.abc import Sequence

import ibis
import ibis.expr.types as ir

from threeml.engine.compiler import Compiler

__all__ = [
    "ENROLMENT_TEXT",
    "PERSON",
    "numbered_contacts",
    "numbered_enrolments",
    "numbered_people",
    "person_slices",
    "stacked",
]

#: The base's column of each user's number (``user_id`` of the long tables).
PERSON = "_pn"
#: The numbered enrolments' column of the enrolment's text id.
ENROLMENT_TEXT = "_et"
_OWNER, _NUMBER = "_po", "_en"


def numbered_people(users: ir.Table) -> ir.Table:
    """``users`` (one row per user, with ``user_id``) with a number per user (:data:`PERSON`)."""
    return users.mutate(**{PERSON: ibis.row_number()})


def numbered_enrolments(enrolments: ir.Table, people: ir.Table) -> ir.Table:
    """The ``enrolments`` (:attr:`Compiler.enrolments`) with ``enrolment_id`` a number of
    their own, ``user_id`` their owner's number (from ``people``: ``user_id`` and
    :data:`PERSON`) and the text id as :data:`ENROLMENT_TEXT`."""
    owners = people.select(_ou="user_id", **{_OWNER: people[PERSON]})
    joined = enrolments.inner_join(owners, enrolments.user_id == owners._ou)
    rest = [c for c in enrolments.columns if c not in ("enrolment_id", "user_id")]
    kept = joined.select(*rest, user_id=joined[_OWNER], **{ENROLMENT_TEXT: joined.enrolment_id})
    # Numbered after the join (a window function in a join's own select is not one).
    return kept.mutate(enrolment_id=ibis.row_number())


def numbered_contacts(compiler: Compiler, enrolments: ir.Table) -> ir.Table:
    """The counting contacts on rows of numbered ``enrolments`` (:func:`numbered_enrolments`
    with any columns added), as :meth:`Compiler.contacts_counting_on` gives them but with the
    enrolment's and its owner's numbers as ``enrolment_id`` and ``user_id``: the contacts
    meet their enrolments by the text id, once, and carry the numbers from there."""
    own = enrolments.rename(**{_NUMBER: "enrolment_id", _OWNER: "user_id"})
    own = own.rename(enrolment_id=ENROLMENT_TEXT)
    counted = compiler.contacts_counting_on(own)
    counted = counted.drop("user_id", "enrolment_id")
    return counted.rename(user_id=_OWNER, enrolment_id=_NUMBER)


def person_slices(numbered: ir.Table | None, slices: int) -> list[ir.Table | None]:
    """The numbered enrolments (:func:`numbered_enrolments`) cut into ``slices`` parts by
    their owner's number (``user_id % slices``): each person's enrolments in one part, so
    that everything built from a part is about its people alone. One part (``numbered``
    itself) when ``slices`` is 1 or there are no numbers (``None``)."""
    if numbered is None or slices <= 1:
        return [numbered]
    return [numbered.filter(numbered.user_id % slices == s) for s in range(slices)]


def stacked(tables: Sequence[ir.Table]) -> ir.Table:
    """The rows of all ``tables`` (the same columns) in one (the table itself when one)."""
    if len(tables) == 1:
        return tables[0]
    return ibis.union(*tables, distinct=False)
