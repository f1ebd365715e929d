"""A criterion kind of the example plugin: the longest gap between a pendant's heartbeats.

A pendant alarm sends a *heartbeat* (a contact of kind ``heartbeat``) when it checks in with
the monitoring centre. A supplier asks whether each alarm kept reporting over the whole of a
window: "the longest gap between consecutive heartbeats is at most N days". threeml's own
criteria cannot say that (``contacts-at-least`` counts contacts, it does not look at the
spaces between them), so the plugin adds the kind through the ``threeml_criterion_kinds``
hook, as :data:`HEARTBEAT_GAP`:

- :class:`HeartbeatGapAtMost` is the criterion: a frozen attrs class whose ``kind`` names it
  in TOML and JSON files and whose fields are what a file may set;
- :func:`compile_heartbeat_gap` is how threeml's engine tests it: an ibis query (a ``lag``
  over each user's heartbeat dates), with no Python per row;
- :func:`series_heartbeat_gap` is how it tests it in every interval of a series at once (the
  kind's optional ``series``): the same query with the interval beside the user, so a series
  reads the heartbeats once, not once per interval;
- :func:`reference_heartbeat_gap` is how the reference evaluator tests it: the definition
  applied literally to one user's rows, with the evidence ``threeml explain`` prints;
- :func:`heartbeat_gaps` draws criteria of the kind for Hypothesis, so threeml's test kit
  checks the two against each other on random data.
"""

from __future__ import annotations

from datetime import date
from itertools import pairwise
from typing import Any, ClassVar

import attrs
from attrs import field, frozen

from threeml.definitions import Criterion, Window
from threeml.definitions.kinds import CriterionKind
from threeml.records.codes import ContactKind, ServiceKind
from threeml.records.periods import Period

__all__ = [
    "HEARTBEAT_GAP",
    "HeartbeatGapAtMost",
    "compile_heartbeat_gap",
    "heartbeat_gaps",
    "reference_heartbeat_gap",
    "series_heartbeat_gap",
]


def _service_kinds(values: Any) -> frozenset[ServiceKind]:
    if values is None:
        return frozenset()
    if isinstance(values, str):
        values = [values]
    try:
        return frozenset(ServiceKind(value) for value in values)
    except ValueError as error:
        allowed = ", ".join(kind.value for kind in ServiceKind)
        raise ValueError(f"{error}; expected any of {allowed}") from None


def _at_least_one(instance: Any, attribute: attrs.Attribute, value: int) -> None:
    if value < 1:
        raise ValueError(f"{attribute.name} must be at least 1, got {value}")


@frozen
class HeartbeatGapAtMost(Criterion):
    """No gap of more than ``days`` days between heartbeats in the window, its edges included.

    The heartbeats are the user's counting contacts of kind ``heartbeat`` (dated inside their
    own enrolment's installed window, as every counting contact) on enrolments of the given
    service kinds (any when left out), dated in the window, over all the user's enrolments
    together: a pendant replaced on a new enrolment keeps the record going. Several heartbeats
    on one day are one heartbeat day.

    With the window ``[start, end]`` and the heartbeat days ``d1 < d2 < … < dk`` in it, the
    gaps are ``d1 - start``, each ``d(i+1) - d(i)`` and ``end - dk``, in days (heartbeats on
    consecutive days are 1 day apart). The user passes when there is at least one heartbeat
    day and every gap is at most ``days``. So, literally, the alarm kept reporting over the
    whole window:

    - the window's first and last days bound the gaps, as if the window opened and closed with
      a heartbeat: an alarm first heard more than ``days`` days after the window starts (one
      installed part-way through it, say) fails, and so does one last heard more than
      ``days`` days before the window ends; a heartbeat just before the window does not
      cover its start;
    - no heartbeat in the window fails, however short the window;
    - one heartbeat passes when it lies within ``days`` days of both ends of the window;
    - a heartbeat dated outside its enrolment's installed window (a test before
      installation, a late upload after the end) does not count, and other kinds of contact
      (alarm calls, test calls) are not heartbeats.

    A plugin's criterion, it is about the user: for a definition counting enrolments, each
    enrolment of a user who passes passes it.
    """

    kind: ClassVar[str] = "example.heartbeat-gap-at-most"

    days: int = field(validator=_at_least_one)
    service_kinds: frozenset[ServiceKind] = field(default=frozenset(), converter=_service_kinds)
    window: Window = field(factory=Window)

    def describe(self) -> str:
        on = ""
        if self.service_kinds:
            on = " on " + " or ".join(sorted(k.value for k in self.service_kinds)) + " enrolments"
        unit = "day" if self.days == 1 else "days"
        return (
            f"no gap of more than {self.days} {unit} between counting heartbeats{on} in "
            f"{self.window.describe()}, counting from its first day to its last"
        )


def compile_heartbeat_gap(criterion: HeartbeatGapAtMost, compiler: Any) -> Any:
    """The users who pass: an ibis table of ``user_id`` (the engine's test).

    One row per user and heartbeat day; ``lag`` over each user's days, ordered by date, gives
    the previous day (the window's start for the first), and the longest gap and the last day
    per user decide.
    """
    start, end = compiler.window(criterion.window)
    c = compiler.counting_contacts
    c = c.filter(c.kind == ContactKind.HEARTBEAT.value, c.date >= start, c.date <= end)
    if criterion.service_kinds:
        c = c.filter(c.service_kind.isin(sorted(k.value for k in criterion.service_kinds)))
    days = c.select("user_id", "date").distinct()
    previous = days.date.lag().over(group_by=days.user_id, order_by=days.date)
    gaps = days.mutate(gap=days.date.delta(previous.fill_null(start), unit="day"))
    per_user = gaps.group_by("user_id").agg(longest=gaps.gap.max(), last=gaps.date.max())
    return per_user.filter(
        per_user.longest <= criterion.days,
        end.delta(per_user.last, unit="day") <= criterion.days,
    ).select("user_id")


def series_heartbeat_gap(criterion: HeartbeatGapAtMost, compiler: Any) -> Any:
    """The users who pass in each interval of a series: an ibis table of ``user_id`` and
    ``interval`` (the kind's ``series``).

    As :func:`compile_heartbeat_gap`, with each heartbeat day joined to the intervals whose
    window holds it (``compiler.window_table``) and the ``lag`` over each user's days in one
    interval.
    """
    windows = compiler.window_table(criterion.window)
    c = compiler.counting_contacts
    c = c.filter(c.kind == ContactKind.HEARTBEAT.value)
    if criterion.service_kinds:
        c = c.filter(c.service_kind.isin(sorted(k.value for k in criterion.service_kinds)))
    days = c.select("user_id", "date").distinct()
    x = days.inner_join(windows, [days.date >= windows.start, days.date <= windows.end])
    previous = x.date.lag().over(group_by=[x.user_id, x.interval], order_by=x.date)
    gaps = x.mutate(gap=x.date.delta(previous.fill_null(x.start), unit="day"))
    per = gaps.group_by(["user_id", "interval"]).agg(
        longest=gaps.gap.max(), last=gaps.date.max(), end=gaps.end.max()
    )
    return per.filter(
        per.longest <= criterion.days,
        per.end.delta(per.last, unit="day") <= criterion.days,
    ).select("user_id", "interval")


def reference_heartbeat_gap(
    criterion: HeartbeatGapAtMost, data: Any, period: Period, user_id: str
) -> tuple[bool, str]:
    """Whether ``user_id`` passes, and why, read literally off their rows (the oracle)."""
    window = criterion.window.resolve(period)
    days = sorted(
        {
            contact["date"]
            for contact in data.contacts.get(user_id, [])
            if contact["counts"]
            and contact["kind"] == ContactKind.HEARTBEAT.value
            and window.contains(contact["date"])
            and (not criterion.service_kinds or contact["service_kind"] in criterion.service_kinds)
        }
    )
    if not days:
        return False, f"no counting heartbeat from {window.start} to {window.end}"
    points = [window.start, *days, window.end]
    gaps = [(later - earlier).days for earlier, later in pairwise(points)]
    longest = max(gaps)
    at = gaps.index(longest)
    return (
        longest <= criterion.days,
        f"{len(days)} heartbeat day(s), the longest gap {longest} day(s) "
        f"{_between(points, at, len(gaps))} (needs at most {criterion.days})",
    )


def _between(points: list[date], at: int, gaps: int) -> str:
    earlier, later = points[at], points[at + 1]
    if at == 0:
        return f"from the window's start on {earlier} to the first heartbeat on {later}"
    if at == gaps - 1:
        return f"from the last heartbeat on {earlier} to the window's end on {later}"
    return f"between the heartbeats on {earlier} and {later}"


def heartbeat_gaps() -> Any:
    """A Hypothesis strategy of :class:`HeartbeatGapAtMost` criteria (for the test kit)."""
    from hypothesis import strategies as st

    from threeml.testing.strategies import windows

    return st.builds(
        HeartbeatGapAtMost,
        days=st.integers(1, 40),
        service_kinds=st.frozensets(st.sampled_from(list(ServiceKind)), max_size=2),
        window=windows(),
    )


#: The kind, as the plugin's ``threeml_criterion_kinds`` hook returns it.
HEARTBEAT_GAP = CriterionKind(
    criterion=HeartbeatGapAtMost,
    compile=compile_heartbeat_gap,
    reference=reference_heartbeat_gap,
    strategy=heartbeat_gaps,
    series=series_heartbeat_gap,
)
