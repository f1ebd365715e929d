"""What one audited output publishes, and what a reader knows of each of its cells alone.

An :class:`AuditProblem` gathers the cells of one output (:class:`AuditCell`: a figure, its
true value and what was published of it) and the identities between them
(:class:`AuditTable`). What a reader can tell of one cell from the policy and its own
published form (:func:`published_range`, :func:`cell_range`) and how wide the range of true
values it can take must stay (:func:`protection_width`) are read here;
:mod:`threeml.publish.audit` narrows those ranges with every identity of the output
together. (Apart from the audit so that the problem's builders import no solver code.)
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence

import attrs
from attrs import field, frozen

from threeml.definitions.policies import DisclosurePolicy

__all__ = [
    "RELATIONS",
    "AuditCell",
    "AuditProblem",
    "AuditTable",
    "cell_range",
    "narrowed",
    "protection_width",
    "published_range",
]

#: How far a bound may miss a whole number and still count as it (solver tolerance).
EPS = 1e-6


@frozen
class AuditCell:
    """One published figure: its key, its true value and what was published of it.

    ``published`` is ``None`` for a suppressed cell; ``exact`` marks a figure
    published as it is (a total over all areas), which the audit does not protect.
    ``label`` names the cell for people (table and group). ``part`` names the part
    of the output the cell belongs to (one breakdown of one definition), withheld
    whole when the cell cannot be protected otherwise; ``None``: it cannot be.
    """

    key: Hashable
    raw: float
    published: float | None
    label: str = ""
    exact: bool = False
    part: Hashable | None = None
    #: An unknown of the programme only (never published, never protected): a sum a reader
    #: can state an identity through, such as a series' opening plus starts, which is also
    #: its closing plus ends. Its range is every non-negative number.
    hidden: bool = False

    @property
    def suppressed(self) -> bool:
        """Whether the figure is withheld."""
        return self.published is None


#: A table's identity: its cells add up to its total (``eq``) or to at least it (``ge``).
RELATIONS = ("eq", "ge")


@frozen
class AuditTable:
    """An identity a reader can state: ``cells`` add up to ``total`` (or at least to it)."""

    name: str
    total: Hashable
    cells: tuple[Hashable, ...] = field(converter=tuple)
    relation: str = field(default="eq", validator=attrs.validators.in_(RELATIONS))


@frozen
class AuditProblem:
    """Everything one output publishes, as cells and the identities between them."""

    cells: Mapping[Hashable, AuditCell]
    tables: tuple[AuditTable, ...] = field(converter=tuple, default=())

    @classmethod
    def build(cls, cells: Sequence[AuditCell], tables: Sequence[AuditTable]) -> AuditProblem:
        """A problem from cells and tables, keeping only identities the true values satisfy.

        An identity that does not hold on the true figures (a breakdown by service
        kind, where one person counts once per kind, does not add up to the total)
        is weakened to ``ge`` when that holds and left out otherwise.
        """
        by_key = {cell.key: cell for cell in cells}
        kept = []
        for table in tables:
            if table.total not in by_key or any(key not in by_key for key in table.cells):
                continue
            total = by_key[table.total].raw
            parts = sum(by_key[key].raw for key in table.cells)
            if math.isclose(parts, total, abs_tol=EPS):
                kept.append(table)
            elif parts > total:
                kept.append(attrs.evolve(table, relation="ge"))
        return cls(by_key, kept)

    def suppress(self, *keys: Hashable) -> AuditProblem:
        """The same problem with the cells ``keys`` suppressed as well."""
        cells = dict(self.cells)
        for key in keys:
            cells[key] = attrs.evolve(cells[key], published=None)
        return attrs.evolve(self, cells=cells)

    def withhold(self, part: Hashable) -> AuditProblem:
        """The same problem without the cells of ``part`` (and every identity naming one)."""
        cells = {key: cell for key, cell in self.cells.items() if cell.part != part}
        tables = [
            table
            for table in self.tables
            if table.total in cells and all(key in cells for key in table.cells)
        ]
        return AuditProblem(cells, tables)


def published_range(policy: DisclosurePolicy, value: float) -> tuple[float, float]:
    """The true counts a published (unsuppressed) ``value`` is consistent with under ``policy``.

    A policy may state this itself with a ``published_range(value)`` method (a
    perturbing policy does); otherwise a threshold-and-rounding policy's: 0 is
    exact, and a value rounded (half up) to the nearest ``rounding`` comes from a
    count above the threshold within the rounding interval.
    """
    own = getattr(policy, "published_range", None)
    if own is not None:
        return own(value)
    base, threshold = policy.rounding, policy.threshold
    if base <= 1:
        return (value, value)
    low = value - base // 2
    high = value + (base + 1) // 2 - 1
    if value == 0:
        # Only zero, or a count above the threshold that rounds down to zero.
        return (0.0, float(high)) if high > threshold else (0.0, 0.0)
    return float(max(low, threshold + 1)), float(high)


def cell_range(policy: DisclosurePolicy, cell: AuditCell) -> tuple[float, float]:
    """What a reader knows of ``cell`` from the policy and its own published form alone.

    A cell suppressed by the threshold (its true value 1 to the threshold) lies in
    ``[1, threshold]``, as a reader who knew which cells the threshold suppressed
    would know; any other suppressed cell is only known not to be negative.
    """
    if cell.exact:
        return (cell.raw, cell.raw)
    if cell.hidden:
        return (0.0, math.inf)
    if cell.published is None:
        if 1 <= cell.raw <= policy.threshold:
            return (1.0, float(policy.threshold))
        return (0.0, math.inf)
    return published_range(policy, cell.published)


def protection_width(policy: DisclosurePolicy, cell: AuditCell) -> int:
    """How wide ``cell``'s feasible range must stay: the policy's protection interval.

    Every suppressed or rounded cell must keep at least two possible whole values
    (a range at least 1 wide): no reader may pin it to one value. A policy may ask
    for more with a ``protection_width`` attribute (a whole number), which applies
    to the cells the threshold suppressed; it never asks for more than the
    threshold range itself allows (``threshold - 1``), and for a threshold of 1
    there is nothing left to hide.
    """
    if cell.published is None and 1 <= cell.raw <= policy.threshold:
        wanted = int(getattr(policy, "protection_width", 1))
        return max(0, min(wanted, policy.threshold - 1))
    return 1


def narrowed(low: float, high: float) -> float:
    """The width of the whole numbers in ``[low, high]`` (infinite when unbounded)."""
    if math.isinf(low) or math.isinf(high):
        return math.inf
    return math.floor(high + EPS) - math.ceil(low - EPS)
