"""Disclosure control: what may be published of a count below "all areas".

The default policy is DESIGN.md's: counts from 1 to 7 are suppressed, every
other count is rounded to the nearest 5, and proportions are computed from the
rounded figures. A policy is a value; ``none`` publishes raw counts (for use
inside a secure environment only).

Named policies (:func:`policy_named`):

``default``
    counts 1-7 suppressed, others rounded to the nearest 5 (DESIGN.md);
``nhs-digital``
    the same figures as NHS Digital's published-statistics rule for small
    numbers (1-7 suppressed, others rounded to the nearest 5);
``round10``
    counts 1-7 suppressed, others rounded to the nearest 10;
``cell-key``
    counts 1-7 suppressed, others perturbed by cell-key noise in -2..2 (the same people
    always get the same published number; see :mod:`threeml.definitions.cellkey`); figures
    that carry no cell key (metric figures) rounded to the nearest 5;
``none``
    raw counts, for use inside a secure environment only;
``custom:T:B``
    counts 1-T suppressed, others rounded to the nearest B (``custom:10:5``), optionally
    followed by settings ``:quantile_minimum=N``, ``:amount_figures=N`` and
    ``:totals=breakdown|suppressed`` (:func:`custom_policy`);

and any policy a plugin supplies through the ``threeml_disclosure_policies``
hook (see :mod:`threeml.plugins.hookspecs`).

*Secondary suppression*: within one breakdown (every area, say) whose cells add
up to a published total, a single suppressed cell could be recovered as the
total minus the others. :meth:`DisclosurePolicy.apply_breakdown` therefore
suppresses the next smallest cell too whenever exactly one is suppressed.
"""

from __future__ import annotations

from threeml.definitions.policies import (
    BUILTIN_POLICIES,
    CELL_KEY_POLICY,
    CUSTOM_SYNTAX,
    DEFAULT_POLICY,
    NHS_DIGITAL_POLICY,
    NO_DISCLOSURE_CONTROL,
    ROUND10_POLICY,
    DisclosurePolicy,
    custom_policy,
)
from threeml.errors import ThreemlError
from threeml.plugins.registry import Registry, default_registry

__all__ = [
    "BUILTIN_POLICIES",
    "CELL_KEY_POLICY",
    "DEFAULT_POLICY",
    "NHS_DIGITAL_POLICY",
    "NO_DISCLOSURE_CONTROL",
    "ROUND10_POLICY",
    "DisclosurePolicy",
    "custom_policy",
    "policy_named",
]

_NAMED = BUILTIN_POLICIES


def policy_named(name: str, registry: Registry | None = None) -> DisclosurePolicy:
    """A disclosure policy by name: built in, ``custom:T:B``, or supplied by a plugin.

    Plugin policies are looked up in ``registry`` (default: the registry of
    the installed plugins).
    """
    name = name.strip()
    if name in _NAMED:
        return _NAMED[name]
    if name.startswith("custom:") or name == "custom":
        return custom_policy(name)
    if registry is None:
        registry = default_registry()
    lookup = getattr(registry, "disclosure_policies", None)
    known = lookup() if lookup is not None else dict(_NAMED)
    if name in known:
        return known[name]
    raise ThreemlError(
        f"unknown disclosure policy {name!r}; policies are {', '.join(known)}, or {CUSTOM_SYNTAX}"
    )
