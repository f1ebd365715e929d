"""Disclosure control: what may be published of a count below "all areas".

The default policy is DESIGN.md's: counts from 1 to 7 are suppressed, every
other count is rounded to the nearest 5, and proportions are computed from the
rounded figures. A policy is a value; ``none`` publishes raw counts (for use
inside a secure environment only).
"""

from __future__ import annotations

from attrs import field, frozen

from threeml.errors import ThreemlError

__all__ = ["DEFAULT_POLICY", "NO_DISCLOSURE_CONTROL", "DisclosurePolicy", "policy_named"]


def _non_negative(instance: object, attribute: object, value: int) -> None:
    if value < 0:
        raise ValueError("disclosure thresholds and rounding bases cannot be negative")


@frozen
class DisclosurePolicy:
    """Suppress counts from 1 to ``threshold``; round the others to the nearest ``rounding``.

    Zero is published as zero (there is no one to disclose). ``rounding`` of 0
    or 1 means no rounding.
    """

    name: str
    threshold: int = field(default=7, validator=_non_negative)
    rounding: int = field(default=5, validator=_non_negative)

    def apply(self, count: int) -> int | None:
        """The publishable form of ``count``: ``None`` when suppressed."""
        if count == 0:
            return 0
        if count <= self.threshold:
            return None
        if self.rounding <= 1:
            return count
        # Half rounds up, so 12.5 -> 15: deterministic and independent of float quirks.
        return ((count + self.rounding // 2) // self.rounding) * self.rounding

    def describe(self) -> str:
        if self.threshold == 0 and self.rounding <= 1:
            return f"{self.name}: no disclosure control (raw counts)"
        parts = []
        if self.threshold:
            parts.append(f"counts 1-{self.threshold} suppressed")
        if self.rounding > 1:
            parts.append(f"others rounded to the nearest {self.rounding}")
        return f"{self.name}: " + ", ".join(parts)


DEFAULT_POLICY = DisclosurePolicy("default", threshold=7, rounding=5)
NO_DISCLOSURE_CONTROL = DisclosurePolicy("none", threshold=0, rounding=0)

_NAMED = {policy.name: policy for policy in (DEFAULT_POLICY, NO_DISCLOSURE_CONTROL)}


def policy_named(name: str) -> DisclosurePolicy:
    """A built-in policy by name."""
    try:
        return _NAMED[name]
    except KeyError:
        raise ThreemlError(
            f"unknown disclosure policy {name!r}; policies are {', '.join(_NAMED)}"
        ) from None
