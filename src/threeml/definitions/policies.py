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
from attrs.validators import in_

from threeml.definitions.cellkey import CellKeyMethod
from threeml.errors import ThreemlError

__all__ = [
    "BUILTIN_POLICIES",
    "CELL_KEY_POLICY",
    "CUSTOM_SETTINGS",
    "CUSTOM_SYNTAX",
    "DEFAULT_POLICY",
    "NHS_DIGITAL_POLICY",
    "NO_DISCLOSURE_CONTROL",
    "ROUND10_POLICY",
    "TOTALS_RULES",
    "TOTALS_WITH_BREAKDOWN",
    "TOTALS_WITH_SUPPRESSED",
    "DisclosurePolicy",
    "custom_policy",
]


#: :attr:`DisclosurePolicy.totals`: totals go through the policy beside any breakdown.
TOTALS_WITH_BREAKDOWN = "breakdown"
#: :attr:`DisclosurePolicy.totals`: only beside a breakdown with a suppressed cell.
TOTALS_WITH_SUPPRESSED = "suppressed"
TOTALS_RULES = (TOTALS_WITH_BREAKDOWN, TOTALS_WITH_SUPPRESSED)


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
    #: When totals over all areas (and attrition steps) go through the policy:
    #: ``"breakdown"`` (the default) whenever a breakdown is published beside them, so that
    #: two publications never subtract exact figures (issue 13, route 5); ``"suppressed"``
    #: only when a breakdown beside them has a suppressed cell.
    totals: str = field(default=TOTALS_WITH_BREAKDOWN, validator=in_(TOTALS_RULES))

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

    def rounds_totals(self, beside_breakdown: bool, beside_suppressed: bool) -> bool:
        """Whether totals over all areas go through the policy.

        ``beside_breakdown``: a breakdown is published beside them; ``beside_suppressed``:
        one of its cells is suppressed. Under :attr:`totals` ``"breakdown"`` (the default)
        the first is enough, so that the totals of two publications (two periods, two
        definitions) are never exact figures a reader can subtract; under
        ``"suppressed"`` only the second. A raw policy never rounds them.
        """
        if self.is_raw:
            return False
        if self.totals == TOTALS_WITH_BREAKDOWN:
            return beside_breakdown or beside_suppressed
        return beside_suppressed

    def apply_total(
        self, count: int, beside_suppressed: bool, *, beside_breakdown: bool = False
    ) -> int | None:
        """A total over all areas: as it is, or under the policy when
        :meth:`rounds_totals` says so (so that no suppressed cell is the total minus
        published ones, a lone suppressed group never equals the total, and two
        publications never differ by an exact figure)."""
        if self.rounds_totals(beside_breakdown, beside_suppressed):
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
            f"quartiles of fewer than {self.quantile_minimum} withheld; "
        )
        if self.totals == TOTALS_WITH_BREAKDOWN:
            text += (
                "totals over all areas and attrition steps put through the same rule "
                "whenever a breakdown is published beside them (unrounded otherwise)"
            )
        else:
            text += (
                "totals over all areas unrounded unless a breakdown beside them has "
                "suppressed cells, then put through the same rule"
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
            "totals": self.totals,
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


#: The settings ``custom:T:B`` may add, as ``:name=value``, with what each accepts.
CUSTOM_SETTINGS: dict[str, str] = {
    "quantile_minimum": "a whole number of 0 or more (medians and quartiles of fewer units "
    "are withheld)",
    "amount_figures": "a whole number from 1 to 15 (significant figures of the mean per unit "
    "behind a published amount)",
    "totals": "breakdown or suppressed (when totals over all areas go through the policy)",
}
CUSTOM_SYNTAX = "custom:THRESHOLD:ROUNDING[:quantile_minimum=N][:amount_figures=N][:totals=RULE]"


def _whole(spec: str, name: str, text: str, low: int, high: int | None = None) -> int:
    try:
        value = int(text)
    except ValueError:
        value = None
    if value is None or value < low or (high is not None and value > high):
        raise ThreemlError(
            f"{spec!r}: {name} must be {CUSTOM_SETTINGS.get(name, 'a whole number of 0 or more')}"
            f", not {text!r}"
        )
    return value


def custom_policy(spec: str) -> DisclosurePolicy:
    """A policy from ``custom:THRESHOLD:ROUNDING`` (``custom:10:5``), optionally followed by
    settings ``:name=value``: ``quantile_minimum``, ``amount_figures`` and ``totals``
    (``custom:10:5:quantile_minimum=100:amount_figures=2``). Each is validated; a bad one
    is named with what it accepts."""
    parts = spec.split(":")
    if len(parts) < 3 or parts[0] != "custom":
        raise ThreemlError(
            f"{spec!r}: write a custom disclosure policy as {CUSTOM_SYNTAX}, "
            "such as custom:10:5 or custom:10:5:quantile_minimum=100"
        )
    threshold = _whole(spec, "the threshold", parts[1], 0)
    rounding = _whole(spec, "the rounding base", parts[2], 0)
    settings: dict[str, Any] = {}
    for part in parts[3:]:
        name, equals, text = part.partition("=")
        name, text = name.strip(), text.strip()
        if not equals or name not in CUSTOM_SETTINGS:
            raise ThreemlError(
                f"{spec!r}: {part!r} is not a setting of a custom policy; write "
                f"{CUSTOM_SYNTAX} (settings: {', '.join(CUSTOM_SETTINGS)})"
            )
        if name in settings:
            raise ThreemlError(f"{spec!r}: {name} is given twice")
        if name == "quantile_minimum":
            settings[name] = _whole(spec, name, text, 0)
        elif name == "amount_figures":
            settings[name] = _whole(spec, name, text, 1, 15)
        elif text in TOTALS_RULES:
            settings[name] = text
        else:
            raise ThreemlError(f"{spec!r}: totals must be breakdown or suppressed, not {text!r}")
    return DisclosurePolicy(spec, threshold=threshold, rounding=rounding, **settings)
