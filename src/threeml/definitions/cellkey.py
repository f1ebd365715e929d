"""The cell-key method's published parameters: the key range and the perturbation table.

The cell-key method (used for the UK's 2021 Census and by the Australian Bureau of
Statistics) gives every unit a fixed random *record key* in ``[0, key_range)``, derived
from a secret seed kept with the extract; a cell's key is the sum of its members' record
keys modulo ``key_range``. The *perturbation table* maps a cell's key to the noise added to
its count, so the same set of people always gets the same published number, and two cells
that differ by one person get independent noise (their keys differ by that person's
random record key).

Nothing here knows the seed: the engine computes record keys (:mod:`threeml.engine.cellkeys`)
and the publishing layer applies :meth:`CellKeyMethod.perturb` through the policy. Every
number in this module is published in the docs (``docs/explanation/disclosure.rst``).
"""

from __future__ import annotations

from typing import Any

from attrs import field, frozen

__all__ = ["STANDARD_NOISE", "CellKeyMethod"]

#: threeml's perturbation table: (noise, how many of 256 cell keys get it). Symmetric,
#: mean 0, variance 206/256 (about 0.80).
STANDARD_NOISE: tuple[tuple[int, int], ...] = ((-2, 13), (-1, 51), (0, 128), (1, 51), (2, 13))


def _power_of_two(instance: object, attribute: object, value: int) -> None:
    if value < 2 or value > 65536 or value & (value - 1):
        raise ValueError("the cell-key range must be a power of two from 2 to 65536")


def _covers_range(instance: CellKeyMethod, attribute: object, value: Any) -> None:
    if sum(keys for _, keys in value) != instance.key_range:
        raise ValueError("the perturbation table must give a noise to every cell key exactly once")
    if any(keys < 0 for _, keys in value):
        raise ValueError("the perturbation table cannot give a noise to fewer than 0 keys")


@frozen
class CellKeyMethod:
    """The published parameters of cell-key perturbation (never the seed).

    ``noise`` lists, in order, each noise value and how many consecutive cell keys get it:
    cell keys ``0 .. 12`` get -2, ``13 .. 63`` get -1, and so on for the standard table.
    A count of 0 is published as 0; counts from 1 to the policy's threshold are
    suppressed; every other count ``v`` with cell key ``k`` is published as
    ``max(threshold + 1, v + noise(k))``, so no published count falls into the
    suppressed range.
    """

    name: str = "threeml-ptable-1"
    key_range: int = field(default=256, validator=_power_of_two)
    noise: tuple[tuple[int, int], ...] = field(
        default=STANDARD_NOISE, converter=lambda rows: tuple((int(n), int(k)) for n, k in rows)
    )

    def __attrs_post_init__(self) -> None:
        _covers_range(self, None, self.noise)

    @property
    def max_noise(self) -> int:
        """The largest absolute noise the table adds (what a reader knows of any cell)."""
        return max(abs(n) for n, keys in self.noise if keys)

    @property
    def variance(self) -> float:
        """The noise's variance when cell keys are uniform."""
        return sum(keys * n * n for n, keys in self.noise) / self.key_range

    def noise_for(self, key: int) -> int:
        """The noise the table gives cell key ``key`` (taken modulo the key range)."""
        position = key % self.key_range
        for noise, keys in self.noise:
            if position < keys:
                return noise
            position -= keys
        raise AssertionError("unreachable: the table covers every key")  # pragma: no cover

    def perturb(self, count: int, key: int, threshold: int) -> int | None:
        """The published form of ``count`` with cell key ``key``: ``None`` when suppressed."""
        if count == 0:
            return 0
        if count <= threshold:
            return None
        return max(threshold + 1, count + self.noise_for(key))

    def describe(self) -> str:
        """The parameters in one phrase, as outputs state them."""
        table = ", ".join(f"{n:+d}: {k}/{self.key_range}" for n, k in self.noise if k)
        return (
            f"cell-key noise (table {self.name}, record keys 0-{self.key_range - 1}, "
            f"noise {table}, variance {self.variance:.2f})"
        )

    def to_dict(self) -> dict[str, Any]:
        """The parameters as JSON-ready data."""
        return {
            "table": self.name,
            "key_range": self.key_range,
            "noise": [{"noise": n, "keys": k} for n, k in self.noise],
            "variance": round(self.variance, 4),
        }
