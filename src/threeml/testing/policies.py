"""The conformance check for a disclosure policy a plugin supplies.

:func:`check_policy` asserts what every published output relies on: a usable name, a statement
every output can print, JSON-ready data, zero published as zero, no count from 1 to the
threshold ever published, published counts close to the raw ones and never negative, and, with
secondary suppression, never exactly one suppressed cell in a breakdown (which a reader could
recover from the total). It needs neither Hypothesis nor the engine.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from threeml.definitions.policies import DisclosurePolicy

__all__ = ["check_policy"]

#: Breakdowns every policy is tried on: small cells alone, beside large ones, zeros.
BREAKDOWNS: tuple[tuple[int, ...], ...] = (
    (1, 40, 55),
    (3, 0, 120),
    (0, 0, 9),
    (2, 2, 2, 300),
    (7, 8, 12, 13, 1000),
    (150, 4, 0, 0),
)


def _fail(policy: Any, problem: str) -> AssertionError:
    name = getattr(policy, "name", repr(policy))
    return AssertionError(f"disclosure policy {name!r}: {problem}")


def check_policy(policy: DisclosurePolicy, *, registry: Any = None) -> None:
    """Assert that ``policy`` is a disclosure policy every output can apply and state.

    With ``registry`` (for example ``threeml_registry(my_plugin)``), also assert that it is
    registered under its name. Raises :class:`AssertionError` naming the policy and the problem.
    """
    if not isinstance(policy, DisclosurePolicy):
        raise _fail(policy, f"is a {type(policy).__name__}, not a DisclosurePolicy")
    name = policy.name
    if not name or name.startswith("custom") or ":" in name:
        raise _fail(policy, "names are non-empty, without ':' and not starting 'custom'")
    if not policy.statement().strip():
        raise _fail(policy, "statement() is empty; every output prints it")
    data = policy.to_dict()
    try:
        json.dumps(data, allow_nan=False)
    except (TypeError, ValueError) as error:
        raise _fail(policy, f"to_dict() is not JSON-ready ({error})") from None
    if data.get("name") != name:
        raise _fail(policy, f"to_dict() records the name {data.get('name')!r}")
    _check_counts(policy)
    for cells in BREAKDOWNS:
        _check_breakdown(policy, cells)
    if registry is not None and registry.disclosure_policy(name) != policy:
        raise _fail(policy, "the registry holds a different policy under this name")


def _check_counts(policy: DisclosurePolicy) -> None:
    if policy.apply(0) != 0:
        raise _fail(policy, f"publishes 0 as {policy.apply(0)!r}; zero discloses no one")
    for count in range(1, max(policy.threshold, 0) + 1):
        if policy.apply(count) is not None:
            raise _fail(policy, f"publishes {count}, which its threshold suppresses")
    slack = max(policy.rounding, 1) // 2  # apply() without a cell key rounds, even perturbing
    for count in range(policy.threshold + 1, policy.threshold + 200):
        published = policy.apply(count)
        if published is None:
            raise _fail(policy, f"suppresses {count}, above its threshold of {policy.threshold}")
        if published < 0 or abs(published - count) > slack:
            raise _fail(policy, f"publishes {count} as {published}, more than {slack} away")


def _check_breakdown(policy: DisclosurePolicy, cells: Sequence[int]) -> None:
    published = policy.apply_breakdown(list(cells))
    if len(published) != len(cells):
        raise _fail(policy, f"apply_breakdown{tuple(cells)} returned {len(published)} cells")
    suppressed = [i for i, value in enumerate(published) if value is None]
    if policy.secondary and not policy.is_raw and len(suppressed) == 1:
        raise _fail(
            policy,
            f"apply_breakdown{tuple(cells)} suppresses exactly one cell, which a reader "
            "recovers as the total minus the others",
        )
    if any(value is not None and value < 0 for value in published):
        raise _fail(policy, f"apply_breakdown{tuple(cells)} publishes a negative count")
