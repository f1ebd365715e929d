"""threeml: precise, comparable and auditable counts of people using technology-enabled care."""

from threeml.codes import Arm, ContactKind, EndReason, OutcomeKind, Sector, ServiceKind, Unit
from threeml.errors import DataError, PeriodError, ThreemlError
from threeml.hookspecs import hookimpl
from threeml.periods import Period
from threeml.records import Allocation, Contact, Enrolment, Outcome, Service, Target, User

__version__ = "0.1.0"

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
