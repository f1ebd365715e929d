"""The kinds of contribution a plugin can make, as one table that drives the registry.

Each row names a hook, what one item of its result must be, how the item is named and what a
reader calls it. :mod:`threeml.plugins.loading` calls, checks and attributes every hook through
this table, and :mod:`threeml.plugins.registry` detects conflicts with it, so adding a kind of
contribution is one row here, one hook specification in :mod:`threeml.plugins.hookspecs` and a
field of names in :class:`~threeml.plugins.info.PluginInfo`.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from typing import Any

from attrs import frozen

from threeml.definitions import CountingDefinition, MetricDefinition
from threeml.definitions.definitions import check_name
from threeml.definitions.kinds import CriterionKind
from threeml.definitions.policies import DisclosurePolicy

__all__ = [
    "BY_KEY",
    "CONTRIBUTIONS",
    "DEFINITIONS",
    "HOOK_NAMES",
    "Contribution",
    "HookProblem",
    "check_result",
    "same_kind",
]

#: The namespace counting and metric definitions share, so a name is never ambiguous.
DEFINITIONS = "definitions"


def _is_loader(item: Any) -> bool:
    """A loader is a name and two functions (the :class:`~threeml.data.loaders.Loader` value, or
    any object shaped like it)."""
    return (
        isinstance(getattr(item, "name", None), str)
        and callable(getattr(item, "accepts", None))
        and callable(getattr(item, "load", None))
    )


def _no_problem(hook: str, name: str) -> str | None:
    return None


def same_kind(first: Any, second: Any) -> bool:
    """Two objects are the same contribution when they are one object, or equal ones of one class.

    Measure kinds are plain objects: two instances of one class with equal attributes are the
    same kind even when the class defines no equality.
    """
    if first is second:
        return True
    if type(first) is not type(second):
        return False
    try:
        if first == second:
            return True
    except Exception:  # an odd __eq__ must not stop the registry
        return False
    return getattr(first, "__dict__", None) == getattr(second, "__dict__", None)


def _is_measure_kind(item: Any) -> bool:
    return isinstance(getattr(item, "kind", None), str) and callable(
        getattr(item, "evaluate", None)
    )


def _measure_kind_name(hook: str, name: str) -> str | None:
    try:
        check_name(None, None, name)  # type: ignore[arg-type]
    except ValueError:
        return (
            f"{hook} returned a measure kind named {name!r}, which is not a valid name "
            "(lower-case words joined by '-', such as 'before-after')"
        )
    return None


def _policy_name(hook: str, name: str) -> str | None:
    if not name or name.startswith("custom") or ":" in name:
        return (
            f"{hook} returned a policy named {name!r}; names are "
            "non-empty, without ':' and not starting 'custom' (kept for custom:T:B)"
        )
    return None


def _criterion_kind_name(hook: str, name: str) -> str | None:
    try:
        check_name(None, None, name)  # type: ignore[arg-type]
    except ValueError:
        return (
            f"{hook} returned a criterion kind named {name!r}, which is not a valid name "
            "(lower-case words joined by '-' or '.', such as 'acme.heartbeat-gap')"
        )
    return None


def _loader_name(hook: str, name: str) -> str | None:
    if not name or not name.strip() or name != name.strip():
        return f"{hook} returned a loader named {name!r}; name it with a non-empty word"
    return None


@frozen
class Contribution:
    """One kind of thing plugins contribute, and how the registry handles it."""

    #: The field of :class:`~threeml.plugins.info.PluginInfo` (and the registry's store) it fills.
    key: str
    #: The hook that returns it.
    hook: str
    #: What a reader calls one (``counting definition``).
    noun: str
    #: What a reader calls several, in messages about duplicates (``measure kinds``).
    plural: str
    #: What a correct item is, in the message for a wrong one.
    looks_like: str
    #: Whether an item is one of these.
    accepts: Callable[[Any], bool]
    #: The item's name.
    name_of: Callable[[Any], str]
    #: ``problem(hook, name)``: why the name cannot be used, or ``None``.
    name_problem: Callable[[str, str], str | None] = _no_problem
    #: Contributions in one namespace may not share a name (definitions share one).
    namespace: str = ""
    #: Whether two items under one name are the same contribution.
    same: Callable[[Any, Any], bool] = operator.eq
    #: Whether the registry records each item's source on the item itself (definitions do).
    stamped: bool = False
    #: The type name a hook's result is expected to hold (``a list of …``).
    type_name: str = ""

    @property
    def space(self) -> str:
        return self.namespace or self.key

    @property
    def expected(self) -> str:
        return f"a list of {self.type_name or self.plural}"


def _attribute(name: str) -> Callable[[Any], str]:
    return operator.attrgetter(name)


#: Every kind of contribution, in the order plugins' hooks are called.
CONTRIBUTIONS: tuple[Contribution, ...] = (
    Contribution(
        key="counting",
        hook="threeml_counting_definitions",
        noun="counting definition",
        plural="definitions",
        looks_like="CountingDefinition",
        accepts=lambda item: isinstance(item, CountingDefinition),
        name_of=_attribute("name"),
        namespace=DEFINITIONS,
        stamped=True,
        type_name="CountingDefinition",
    ),
    Contribution(
        key="metrics",
        hook="threeml_metric_definitions",
        noun="metric definition",
        plural="definitions",
        looks_like="MetricDefinition",
        accepts=lambda item: isinstance(item, MetricDefinition),
        name_of=_attribute("name"),
        namespace=DEFINITIONS,
        stamped=True,
        type_name="MetricDefinition",
    ),
    Contribution(
        key="measure_kinds",
        hook="threeml_measure_kinds",
        noun="measure kind",
        plural="measure kinds",
        looks_like="an object with a 'kind' name and an 'evaluate(context)' method",
        accepts=_is_measure_kind,
        name_of=_attribute("kind"),
        name_problem=_measure_kind_name,
        same=same_kind,
    ),
    Contribution(
        key="disclosure_policies",
        hook="threeml_disclosure_policies",
        noun="disclosure policy",
        plural="disclosure policies",
        looks_like="DisclosurePolicy",
        accepts=lambda item: isinstance(item, DisclosurePolicy),
        name_of=_attribute("name"),
        name_problem=_policy_name,
        type_name="DisclosurePolicy",
    ),
    Contribution(
        key="criterion_kinds",
        hook="threeml_criterion_kinds",
        noun="criterion kind",
        plural="criterion kinds",
        looks_like="CriterionKind",
        accepts=lambda item: isinstance(item, CriterionKind),
        name_of=_attribute("name"),
        name_problem=_criterion_kind_name,
        type_name="CriterionKind",
    ),
    Contribution(
        key="loaders",
        hook="threeml_loaders",
        noun="loader",
        plural="loaders",
        looks_like="an object with a 'name', an 'accepts(target)' and a 'load(target)'",
        accepts=_is_loader,
        name_of=_attribute("name"),
        name_problem=_loader_name,
        type_name="Loader",
    ),
)

#: The same table by key.
BY_KEY: dict[str, Contribution] = {c.key: c for c in CONTRIBUTIONS}

#: Every hook name threeml defines, for "did you mean" hints.
HOOK_NAMES: tuple[str, ...] = tuple(c.hook for c in CONTRIBUTIONS)


class HookProblem(Exception):
    """A plugin's hook misbehaved; the message says how (the plugin is then left out)."""


def _shown(item: Any) -> str:
    what = repr(item)
    return what if len(what) <= 60 else what[:57] + "..."


def check_result(contribution: Contribution, result: Any) -> list[Any]:
    """The items of one hook's ``result``, checked; :class:`HookProblem` when it is not a list of
    well-named items of the contribution's kind."""
    hook = contribution.hook
    if result is None:
        raise HookProblem(
            f"{hook} returned None, not {contribution.expected} (is its return missing?)"
        )
    if not isinstance(result, Sequence) or isinstance(result, str | bytes):
        raise HookProblem(f"{hook} returned {type(result).__name__}, not {contribution.expected}")
    for index, item in enumerate(result):
        if not contribution.accepts(item):
            raise HookProblem(
                f"{hook} returned {type(item).__name__} {_shown(item)} at position {index}, "
                f"not a {contribution.noun} ({contribution.looks_like})"
            )
        problem = contribution.name_problem(hook, contribution.name_of(item))
        if problem:
            raise HookProblem(problem)
    return list(result)
