"""Standard populations for direct age standardisation: the 2013 ESP built in, others as tables.

A standard population is data: a weight for each 5-year age band (``0-4`` … ``85-89``,
``90+``, the bands of :data:`threeml.records.codes.AGE_BANDS`). The 2013 European Standard
Population (Eurostat, 2013) is built in under the name ``esp2013``; any other is given as a
table of band and weight — in a metric's options (``standard = {"65-69" = 5500, …}``) or by
:meth:`StandardPopulation.from_table` — and bands it leaves out are outside the standardised
rate (a standard holding only ``75-79`` … ``90+`` standardises over the over-75s).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self

from attrs import field, frozen

from threeml.records.codes import AGE_BANDS, ESP2013_WEIGHTS

__all__ = ["ESP2013", "STANDARDS", "StandardPopulation", "StandardPopulationError"]


class StandardPopulationError(ValueError):
    """A standard population given as a table is not one (an unknown band, a negative weight)."""


def _weights(value: Mapping[str, Any]) -> tuple[tuple[str, float], ...]:
    items = dict(value)
    unknown = sorted(set(items) - set(AGE_BANDS))
    if unknown:
        raise StandardPopulationError(
            f"unknown age band(s) {', '.join(map(repr, unknown))}; "
            f"the bands are {', '.join(AGE_BANDS)}"
        )
    weights = []
    for band in AGE_BANDS:
        if band not in items:
            continue
        weight = items[band]
        if isinstance(weight, bool) or not isinstance(weight, int | float) or weight < 0:
            raise StandardPopulationError(
                f"age band {band}: the weight must be a number of at least 0, not {weight!r}"
            )
        weights.append((band, float(weight)))
    if not weights or sum(weight for _, weight in weights) <= 0:
        raise StandardPopulationError("a standard population needs a band with a weight above 0")
    return tuple(weights)


@frozen
class StandardPopulation:
    """A named standard population: a weight per age band, youngest band first."""

    name: str
    weights: tuple[tuple[str, float], ...] = field(converter=_weights)
    source: str = ""

    @classmethod
    def from_table(cls, name: str, table: Mapping[str, Any], source: str = "") -> Self:
        """A standard population from a mapping of age band to weight (a TOML table)."""
        return cls(name, table, source)  # type: ignore[arg-type]

    @property
    def bands(self) -> tuple[str, ...]:
        """The age bands the standard covers."""
        return tuple(band for band, _ in self.weights)

    @property
    def total(self) -> float:
        """The sum of the weights."""
        return sum(weight for _, weight in self.weights)

    def describe(self) -> str:
        """The standard in one line, as every coverage output states it."""
        if len(self.bands) == len(AGE_BANDS):
            ages = "all ages"
        else:
            ages = f"ages {self.bands[0]} to {self.bands[-1]}"
        text = f"{self.name} ({ages}, total {self.total:,.0f})"
        return f"{text}; {self.source}" if self.source else text


#: The 2013 European Standard Population, per 100,000, in 5-year bands with 90+ last.
ESP2013 = StandardPopulation(
    "esp2013", ESP2013_WEIGHTS, "2013 European Standard Population (Eurostat)"
)

#: The standard populations known by name.
STANDARDS: dict[str, StandardPopulation] = {ESP2013.name: ESP2013}
