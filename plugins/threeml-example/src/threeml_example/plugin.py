"""The example plugin's hook implementations: the definitions and criterion kind it supplies.

threeml finds this module through the entry point in ``pyproject.toml`` (in
the ``threeml`` entry-point group) and calls the three ``@hookimpl`` functions
below. Each returns definitions (or criterion kinds) and does nothing else;
threeml records this plugin, its distribution and version as each one's source.

The plugin adds one criterion kind, ``example.heartbeat-gap-at-most`` (the
longest gap between a pendant's heartbeats, in ``heartbeat.py``), and a
definition that uses it, :data:`HEARTBEAT_STEADY`.

Definitions come from two places, to show both ways of writing one:

- in Python, as values (:data:`PENDANT_HEARTBEAT_7D`, :data:`HEARTBEAT_STEADY`);
- in TOML files in the package's ``definitions/`` folder, one definition per
  file; drop another ``.toml`` file there and it is supplied too (counting or
  metric, by its ``type``).

The module also offers threeml its worked examples as ``SPEC_CASES`` (see
``spec_cases.py``): the docs' catalogue renders them under each definition, and
``threeml.testing.check_plugin`` checks them.
"""

from __future__ import annotations

from importlib import resources

from threeml.definitions import (
    CRITERIA,
    ContactsAtLeast,
    CountingDefinition,
    EnrolmentOverlaps,
    MetricDefinition,
    Window,
    load_definition,
)
from threeml.definitions.kinds import CriterionKind
from threeml.plugins.hookspecs import hookimpl
from threeml_example.heartbeat import HEARTBEAT_GAP, HeartbeatGapAtMost
from threeml_example.spec_cases import SPEC_CASES

__all__ = [
    "HEARTBEAT_STEADY",
    "PENDANT_HEARTBEAT_7D",
    "SPEC_CASES",
    "file_definitions",
    "threeml_counting_definitions",
    "threeml_criterion_kinds",
    "threeml_metric_definitions",
]

#: "We supply pendant alarms; our active means a heartbeat in the last 7 days."
PENDANT_HEARTBEAT_7D = CountingDefinition(
    name="example.pendant-heartbeat-7d",
    version="1",
    title="Pendant alarm users with a heartbeat in the last 7 days",
    description=(
        "We supply pendant alarms; our active means a heartbeat in the last 7 days. "
        "A person counts when they have a telecare enrolment in place (installed and not "
        "yet ended) at some time in the period, and their pendant sent at least one "
        "heartbeat (the automatic signal a working alarm sends) in the last 7 days of the "
        "period, on a telecare enrolment and while that enrolment was installed. A pendant "
        "in a drawer, never switched on, does not count; nor does one whose last heartbeat "
        "was earlier in the period."
    ),
    criteria=(
        EnrolmentOverlaps(service_kinds={"telecare"}),
        ContactsAtLeast(
            count=1,
            contact_kinds={"heartbeat"},
            service_kinds={"telecare"},
            window=Window(last_days=7),
        ),
    ),
    origin="threeml-example: a template for a telecare provider's own definition of 'active'",
    parameters={"days": 7},
)

#: "Our alarms report at least weekly: count those that kept doing so all period."
HEARTBEAT_STEADY = CountingDefinition(
    name="example.heartbeat-steady",
    version="1",
    title="Pendant alarms that kept reporting: no heartbeat gap of more than 7 days",
    description=(
        "A person counts when they have a telecare enrolment in place at some time in the "
        "period and their pendant kept reporting over the whole period: counting heartbeats "
        "(dated while the telecare enrolment was installed) on telecare enrolments, with no "
        "gap of more than 7 days between one and the next, nor between the period's first "
        "day and the first heartbeat, nor between the last heartbeat and the period's last "
        "day. An alarm installed part-way through the period, one that fell silent for a "
        "week and a day, or one that stopped reporting before the period's end does not "
        "count. Heartbeats on a replacement pendant (a new enrolment) carry the record on."
    ),
    criteria=(
        EnrolmentOverlaps(service_kinds={"telecare"}),
        HeartbeatGapAtMost(days=7, service_kinds={"telecare"}),
    ),
    origin=(
        "threeml-example: a pendant-alarm supplier's check that each alarm kept reporting; "
        "uses the plugin's own criterion kind, example.heartbeat-gap-at-most"
    ),
    parameters={"days": 7},
)

#: The folder (inside this package) holding definitions written as TOML files.
DEFINITIONS_FOLDER = "definitions"


#: The criterion kinds the files may use: threeml's own and this plugin's.
FILE_CRITERIA = {**CRITERIA, HEARTBEAT_GAP.name: HEARTBEAT_GAP.criterion}


def file_definitions() -> list[CountingDefinition | MetricDefinition]:
    """Every definition in the package's ``definitions/*.toml`` files, in file-name order."""
    folder = resources.files(__package__).joinpath(DEFINITIONS_FOLDER)
    found = []
    for resource in sorted(folder.iterdir(), key=lambda r: r.name):
        if resource.name.endswith(".toml"):
            # as_file gives a real path even when the package is installed zipped.
            with resources.as_file(resource) as path:
                found.append(load_definition(path, criteria=FILE_CRITERIA))
    return found


@hookimpl
def threeml_counting_definitions() -> list[CountingDefinition]:
    """The counting definitions this plugin supplies."""
    from_files = [d for d in file_definitions() if isinstance(d, CountingDefinition)]
    return [HEARTBEAT_STEADY, PENDANT_HEARTBEAT_7D, *from_files]


@hookimpl
def threeml_criterion_kinds() -> list[CriterionKind]:
    """The criterion kinds this plugin supplies: the longest gap between heartbeats."""
    return [HEARTBEAT_GAP]


@hookimpl
def threeml_metric_definitions() -> list[MetricDefinition]:
    """The metric definitions this plugin supplies (from TOML files; none are shipped yet).

    Kept so that a copy of this template supplies metrics as soon as a metric
    ``.toml`` file (``type = "metric"``) is added to ``definitions/``.
    """
    return [d for d in file_definitions() if isinstance(d, MetricDefinition)]
