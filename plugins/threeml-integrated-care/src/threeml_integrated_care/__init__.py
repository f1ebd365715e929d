"""The integrated-care metrics of threeml: what changed for the people counted.

Metric definitions are plain values; evaluate one with
:func:`threeml.metrics.measures.evaluate_metric`::

    from threeml.metrics.measures import evaluate_metric
    from threeml.plugins.registry import default_registry
    from threeml_integrated_care import MORTALITY_12M

    result = evaluate_metric(MORTALITY_12M, dataset, "FY2013/14", default_registry(), by=["area"])
"""

from threeml_integrated_care.definitions import (
    AE_ATTENDANCES_RATE,
    ARM_COMPARISON,
    ARM_COMPARISON_ADMISSIONS,
    BED_DAYS_PER_HEAD,
    COST_PER_USER_YEAR,
    COUNTING,
    EMERGENCY_ADMISSION_12M,
    EMERGENCY_ADMISSIONS_BEFORE_AFTER,
    METRICS,
    MORTALITY_12M,
    MULTI_SECTOR_SHARE,
    NEW_TELEHEALTH_USERS,
    PROGRESS_TO_TARGET,
    REFERRAL_TO_INSTALLATION,
    RETENTION_91D,
    TRIAL_PARTICIPANTS,
    USER_YEARS,
)
from threeml_integrated_care.kinds import KINDS

__all__ = [
    "AE_ATTENDANCES_RATE",
    "ARM_COMPARISON",
    "ARM_COMPARISON_ADMISSIONS",
    "BED_DAYS_PER_HEAD",
    "COST_PER_USER_YEAR",
    "COUNTING",
    "EMERGENCY_ADMISSIONS_BEFORE_AFTER",
    "EMERGENCY_ADMISSION_12M",
    "KINDS",
    "METRICS",
    "MORTALITY_12M",
    "MULTI_SECTOR_SHARE",
    "NEW_TELEHEALTH_USERS",
    "PROGRESS_TO_TARGET",
    "REFERRAL_TO_INSTALLATION",
    "RETENTION_91D",
    "TRIAL_PARTICIPANTS",
    "USER_YEARS",
]
