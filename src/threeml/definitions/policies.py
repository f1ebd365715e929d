"""Disclosure policies as values: what may be published of a count below "all areas".

A :class:`DisclosurePolicy` is a threshold, a rounding base and the arithmetic that applies them
to one count or to the cells of one breakdown. It lives with the definitions because plugins
supply policies (through the ``threeml_disclosure_policies`` hook) and the registry holds them,
without either importing the publishing layer that applies them
(:mod:`threeml.publish.disclosure`, which documents the named policies).

*Secondary suppression*: within one breakdown (every area, say) whose cells add
up to a published total, a single suppressed cell could be recovered as the
total minus the others. :meth:`DisclosurePolicy.apply_breakdown` therefore
suppresses the next smallest cell too whenever exactly one is suppressed.

Beyond counts (issue 13): a total over all areas beside a breakdown with a suppressed
cell goes through the policy (:meth:`DisclosurePolicy.apply_total`); an amount below all
areas is derived from the published count (:meth:`DisclosurePolicy.apply_amount`); a
median or quartile of fewer than ``quantile_minimum`` units is withheld
(:meth:`DisclosurePolicy.apply_statistic`). docs/explanation/disclosure.rst says why.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from attrs import field, frozen

from threeml.definitions.cellkey import CellKeyMethod
from threeml.errors import ThreemlError

__all__ = [
    "BUILTIN_POLICIES",
    "CELL_KEY_POLICY",
    "DEFAULT_POLICY",
    "NHS_DIGITAL_POLICY",
    "NO_DISCLOSURE_CONTROL",
    "ROUND10_POLICY",
    "DisclosurePolicy",
    "custom_policy",
]


def _non_negative(instance: object, attribute: object, value: int) -> None:
    if value < 0:
        raise ValueError("disclosure thresholds and rounding bases cannot be negative")


@frozen
class DisclosurePolicy:
    """Suppress counts from 1 to ``threshold``; round the others to the nearest ``rounding``.

    Zero is published as zero (there is no one to disclose). ``rounding`` of 0
    or 1 means no rounding. ``secondary`` (on by default) makes
    :meth:`apply_breakdown` suppress a second cell wherever only one is
    suppressed, so no suppressed cell can be recovered by subtraction.
    """

    name: str
    threshold: int = field(default=7, validator=_non_negative)
    rounding: int = field(default=5, validator=_non_negative)
    secondary: bool = True
    #: Quantiles (medians, quartiles) of fewer units than this are withheld.
    quantile_minimum: int = field(default=50, validator=_non_negative)
    #: Amounts below all areas are published as the published count times the mean per
    #: unit, rounded to this many significant figures.
    amount_figures: int = field(default=3, validator=_non_negative)
    #: A sentence on where the policy comes from (shown in outputs beside the rule).
    note: str = field(default="", eq=False)
    #: Cell-key perturbation: published cells with a cell key are perturbed by this table
    #: instead of rounded; cells without one (metric figures) fall back to ``rounding``.
    cell_key: CellKeyMethod | None = None

    @property
    def perturbs(self) -> bool:
        """True when the policy perturbs cells by their cell keys (the ``cell-key`` method)."""
        return self.cell_key is not None

    @property
    def is_raw(self) -> bool:
        """True when the policy publishes counts as they are."""
        return self.threshold == 0 and self.rounding <= 1

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

    def apply_keyed(self, count: int, key: int | None) -> int | None:
        """The publishable form of ``count`` whose cell key is ``key``.

        A perturbing policy adds the noise its table gives ``key``; without a key (or for
        a policy that does not perturb) this is :meth:`apply`.
        """
        if self.cell_key is None or key is None:
            return self.apply(count)
        return self.cell_key.perturb(count, key, self.threshold)

    def apply_breakdown(
        self, counts: Sequence[int | None], keys: Sequence[int | None] | None = None
    ) -> list[int | None]:
        """Every cell of one breakdown under the policy, with secondary suppression.

        ``counts`` are the raw cells of one breakdown (``None`` for a cell that
        is already withheld), ``keys`` their cell keys when the policy perturbs.
        Each goes through :meth:`apply_keyed`; then, when the
        policy has ``secondary`` set and exactly one cell is suppressed, the
        smallest remaining cell is suppressed too (a non-zero one by preference,
        since a published zero says less), so the suppressed cell cannot be
        recovered as the total minus the others.
        """
        keys = list(keys) if keys is not None else [None] * len(counts)
        published = [
            None if c is None else self.apply_keyed(int(c), key)
            for c, key in zip(counts, keys, strict=True)
        ]
        if not self.secondary or self.is_raw:
            return published
        suppressed = [
            i for i, value in enumerate(published) if value is None and counts[i] is not None
        ]
        if len(suppressed) != 1:
            return published
        candidates = [
            (counts[i] == 0, counts[i], i) for i, value in enumerate(published) if value is not None
        ]
        if candidates:
            _, _, chosen = min(candidates)
            published[chosen] = None
        return published

    def apply_total(self, count: int, beside_suppressed: bool) -> int | None:
        """A total over all areas: as it is, or under the policy when published beside
        suppressed cells (so that no suppressed cell is the total minus published ones, and
        a lone suppressed group never equals the total)."""
        if beside_suppressed and not self.is_raw:
            return self.apply(int(count))
        return count

    def apply_amount(
        self, amount: float | None, raw_count: int | None, published_count: int | None
    ) -> float | None:
        """An amount (person-time, days, costs) summed over ``raw_count`` units, publishable
        beside ``published_count``: ``None`` when the count is withheld, else the published
        count times the mean per unit rounded to :attr:`amount_figures` significant figures.

        Derived from the rounded count, the amount tells a reader nothing more about the
        number of units than the count does, even when every unit contributes the same
        amount (365 days before an index date, one day of a one-day period).
        """
        if self.is_raw or amount is None:
            return amount
        if published_count is None or raw_count is None:
            return None
        if raw_count == 0 or published_count == 0:
            return 0.0 if raw_count == 0 else None
        mean = float(amount) / raw_count
        if mean != 0 and self.amount_figures:
            mean = float(f"{mean:.{self.amount_figures}g}")
        return published_count * mean

    def apply_statistic(self, value: float | None, raw_count: int | None) -> float | None:
        """A quantile of ``raw_count`` units: withheld below :attr:`quantile_minimum` units."""
        if self.is_raw or value is None:
            return value
        if raw_count is None or raw_count < self.quantile_minimum:
            return None
        return value

    def describe(self) -> str:
        """The policy in one line, as every output states it."""
        if self.is_raw:
            return f"{self.name}: no disclosure control (raw counts)"
        parts = []
        if self.threshold:
            parts.append(f"counts 1-{self.threshold} suppressed")
        if self.cell_key is not None:
            parts.append(f"others perturbed by {self.cell_key.describe()}")
            if self.rounding > 1:
                parts.append(f"figures without a cell key rounded to the nearest {self.rounding}")
        elif self.rounding > 1:
            parts.append(f"others rounded to the nearest {self.rounding}")
        return f"{self.name}: " + ", ".join(parts)

    def statement(self) -> str:
        """The full statement a report carries: the rule, secondary suppression, totals."""
        if self.is_raw:
            return f"{self.describe()}; not for publication outside a secure environment"
        text = self.describe()
        if self.secondary and self.threshold:
            text += "; where one cell of a breakdown alone is suppressed, the next smallest is too"
        if self.cell_key is not None:
            text += (
                "; totals and attrition perturbed by their cell keys too (the same people "
                "always get the same published number); proportions and rates computed from "
                "the published figures, suppressed when either is"
            )
            return text
        text += (
            "; proportions and rates computed from the published figures, suppressed when "
            "either is, and numerators withheld with their denominators; person-time, days "
            "and other amounts below all areas derived from the published count "
            f"(mean per unit to {self.amount_figures} significant figures); medians and "
            f"quartiles of fewer than {self.quantile_minimum} withheld; totals over all "
            "areas unrounded unless a breakdown beside them has suppressed cells, then put "
            "through the same rule"
        )
        return text

    def to_dict(self) -> dict[str, Any]:
        """The policy as JSON-ready data (as outputs record it)."""
        return {
            "name": self.name,
            "threshold": self.threshold,
            "rounding": self.rounding,
            "secondary_suppression": self.secondary,
            **({"cell_key": self.cell_key.to_dict()} if self.cell_key is not None else {}),
            "quantile_minimum": self.quantile_minimum,
            "amount_figures": self.amount_figures,
            "description": self.statement(),
        }


DEFAULT_POLICY = DisclosurePolicy(
    "default", threshold=7, rounding=5, note="threeml's default (DESIGN.md)"
)
NHS_DIGITAL_POLICY = DisclosurePolicy(
    "nhs-digital",
    threshold=7,
    rounding=5,
    note="NHS Digital's small-number rule for published statistics",
)
ROUND10_POLICY = DisclosurePolicy("round10", threshold=7, rounding=10)
CELL_KEY_POLICY = DisclosurePolicy(
    "cell-key",
    threshold=7,
    rounding=5,
    cell_key=CellKeyMethod(),
    note="cell-key perturbation, as the UK 2021 Census and the ABS use it",
)
NO_DISCLOSURE_CONTROL = DisclosurePolicy(
    "none",
    threshold=0,
    rounding=0,
    secondary=False,
    quantile_minimum=0,
    note="raw figures: for use inside a secure environment only",
)

#: The policies threeml itself supplies, by name.
BUILTIN_POLICIES: dict[str, DisclosurePolicy] = {
    policy.name: policy
    for policy in (
        DEFAULT_POLICY,
        NHS_DIGITAL_POLICY,
        ROUND10_POLICY,
        CELL_KEY_POLICY,
        NO_DISCLOSURE_CONTROL,
    )
}
_NAMED = BUILTIN_POLICIES


def custom_policy(spec: str) -> DisclosurePolicy:
    """A policy from ``custom:THRESHOLD:ROUNDING`` (``custom:10:5``)."""
    parts = spec.split(":")
    if len(parts) != 3 or parts[0] != "custom":
        raise ThreemlError(
            f"{spec!r}: write a custom disclosure policy as custom:THRESHOLD:ROUNDING, "
            "such as custom:10:5"
        )
    try:
        threshold, rounding = int(parts[1]), int(parts[2])
        return DisclosurePolicy(spec, threshold=threshold, rounding=rounding)
    except ValueError as error:
        raise ThreemlError(
            f"{spec!r}: the threshold and rounding base must be whole numbers of 0 or more "
            f"({error})"
        ) from None
