"""threeml: precise, comparable and auditable counts of people using technology-enabled care."""

from threeml._version import __version__
from threeml.errors import DataError, PeriodError, ThreemlError
from threeml.plugins.hookspecs import hookimpl
from threeml.records.codes import (
    Arm,
    ContactKind,
    EndReason,
    OutcomeKind,
    Sector,
    ServiceKind,
    Unit,
)
from threeml.records.periods import Period
from threeml.records.rows import (
    Allocation,
    Contact,
    Enrolment,
    Outcome,
    Population,
    Service,
    Target,
    User,
)

__all__ = [
    "Allocation",
    "Arm",
    "Contact",
    "ContactKind",
    "DataError",
    "EndReason",
    "Enrolment",
    "Outcome",
    "OutcomeKind",
    "Period",
    "PeriodError",
    "Population",
    "Sector",
    "Service",
    "ServiceKind",
    "Target",
    "ThreemlError",
    "Unit",
    "User",
    "__version__",
    "hookimpl",
]
