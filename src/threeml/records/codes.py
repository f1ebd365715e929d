"""The controlled vocabularies of the interchange schema.

Each enum's values are exactly the codes that may appear in a file. They are
``StrEnum`` so a member compares equal to its code and serialises as it.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "AGE_BANDS",
    "AgeBand",
    "Arm",
    "ContactKind",
    "EndReason",
    "OutcomeKind",
    "Sector",
    "ServiceKind",
    "Unit",
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


#: The 5-year age bands of the 2013 European Standard Population, youngest first (``90+`` last).
AGE_BANDS = (*(f"{low}-{low + 4}" for low in range(0, 90, 5)), "90+")

#: A 5-year age band, as population estimates and the 2013 European Standard Population give them.
AgeBand = StrEnum("AgeBand", {band: band for band in AGE_BANDS})  # type: ignore[misc]
AgeBand.__doc__ = "A 5-year age band (``0-4`` … ``85-89``, ``90+``)."
