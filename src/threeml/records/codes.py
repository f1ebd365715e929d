"""The controlled vocabularies of the interchange schema.

Each enum's values are exactly the codes that may appear in a file. They are
``StrEnum`` so a member compares equal to its code and serialises as it.
"""

from __future__ import annotations

import difflib
import re
from enum import StrEnum

__all__ = [
    "AGE_BANDS",
    "CONDITIONS",
    "ESP2013_WEIGHTS",
    "AgeBand",
    "Arm",
    "ContactKind",
    "EndReason",
    "OutcomeKind",
    "Sector",
    "ServiceKind",
    "Unit",
    "close_conditions",
    "normalise_condition",
]


class ServiceKind(StrEnum):
    """What kind of technology-enabled care a service delivers."""

    TELEHEALTH = "telehealth"
    TELECARE = "telecare"
    TELECOACHING = "telecoaching"
    TELEMEDICINE = "telemedicine"
    SELF_CARE_APP = "self_care_app"


class Sector(StrEnum):
    """Which part of the care system provides a service."""

    HEALTH = "health"
    SOCIAL_CARE = "social_care"
    HOUSING = "housing"
    THIRD_SECTOR = "third_sector"


class ContactKind(StrEnum):
    """One recorded use of a service."""

    READING = "reading"
    ALERT = "alert"
    ALARM_CALL = "alarm_call"
    TEST_CALL = "test_call"
    HEARTBEAT = "heartbeat"
    COACHING_SESSION = "coaching_session"
    VIDEO_CONSULTATION = "video_consultation"


class OutcomeKind(StrEnum):
    """An event or measurement that says what happened to a user."""

    EMERGENCY_ADMISSION = "emergency_admission"
    ELECTIVE_ADMISSION = "elective_admission"
    AE_ATTENDANCE = "ae_attendance"
    CARE_HOME_ADMISSION = "care_home_admission"
    DEATH = "death"
    QOL = "qol"


#: Outcome kinds whose ``value`` is a length of stay in days (so never negative).
ADMISSION_KINDS: frozenset[OutcomeKind] = frozenset(
    {
        OutcomeKind.EMERGENCY_ADMISSION,
        OutcomeKind.ELECTIVE_ADMISSION,
        OutcomeKind.CARE_HOME_ADMISSION,
    }
)


class EndReason(StrEnum):
    """Why an enrolment ended."""

    DIED = "died"
    CARE_HOME = "care_home"
    HOSPITAL = "hospital"
    DECLINED = "declined"
    ABANDONED = "abandoned"
    MOVED = "moved"
    OTHER = "other"


class Arm(StrEnum):
    """A trial arm."""

    INTERVENTION = "intervention"
    CONTROL = "control"


class Unit(StrEnum):
    """What a counting definition counts."""

    USERS = "users"
    ENROLMENTS = "enrolments"


#: The long-term condition codes threeml knows. ``users.conditions`` may hold others (a
#: plugin's definition may use its own codes); validation warns about each unknown code and
#: names the known codes close to it.
CONDITIONS: tuple[str, ...] = (
    "asthma",
    "atrial_fibrillation",
    "cancer",
    "chd",
    "ckd",
    "copd",
    "dementia",
    "depression",
    "diabetes",
    "epilepsy",
    "falls",
    "frailty",
    "heart_failure",
    "hypertension",
    "learning_disability",
    "mental_health",
    "stroke",
)

#: What :func:`normalise_condition` turns into one ``_``: runs of white space and hyphens.
CONDITION_SEPARATORS = r"[\s-]+"


def normalise_condition(code: str) -> str:
    """A condition code in its one written form: lower case, words joined by one ``_``.

    Runs of white space and hyphens become one ``_``, and ``_`` at either end is dropped.

    ``COPD`` becomes ``copd`` and ``Heart failure`` or ``heart-failure`` becomes
    ``heart_failure``. Files, records and definitions all go through this rule, so a code
    matches however its case and separators were written.
    """
    return re.sub(CONDITION_SEPARATORS, "_", code.lower()).strip("_")


def close_conditions(code: str) -> list[str]:
    """The known condition codes close to ``code`` (for a "did you mean" hint)."""
    return difflib.get_close_matches(normalise_condition(code), CONDITIONS, n=3, cutoff=0.6)


#: The 5-year age bands of the 2013 European Standard Population, youngest first (``90+`` last).
AGE_BANDS = (*(f"{low}-{low + 4}" for low in range(0, 90, 5)), "90+")

#: The 2013 European Standard Population (Eurostat, 2013): people per 100,000 in each age band of
#: :data:`AGE_BANDS`, youngest first. The one source of these weights: coverage standardises to
#: them and the synthetic populations take their shape.
_ESP2013 = (5000, 5500, 5500, 5500, 6000, 6000, 6500, 7000, 7000, 7000, 7000, 6500, 6000, 5500,
            5000, 4000, 2500, 1500, 1000)  # fmt: skip
ESP2013_WEIGHTS: dict[str, int] = dict(zip(AGE_BANDS, _ESP2013, strict=True))

#: A 5-year age band, as population estimates and the 2013 European Standard Population give them.
AgeBand = StrEnum("AgeBand", {band: band for band in AGE_BANDS})  # type: ignore[misc]
AgeBand.__doc__ = "A 5-year age band (``0-4`` … ``85-89``, ``90+``)."
