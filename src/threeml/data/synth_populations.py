"""Synthetic populations consistent with synthetic users: the denominators of coverage rates.

For each area, calendar year, 5-year age band and sex, the population is the number of
synthetic users who would be in that band at the end of that year divided by a coverage
fraction that rises with age (so coverage looks like telecare's: rare before 60, common
after 85), plus a background of people of every age in the shape of the 2013 European
Standard Population. Every band of every area therefore holds at least as many people as
the extract has users in it. An ``eligible`` group (people with long-term conditions or
social-care needs, who could benefit) holds a share of each band that rises with age, and
never fewer than the users in it.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from threeml.records.codes import AGE_BANDS, ESP2013_WEIGHTS

__all__ = ["COVERAGE_BY_BAND", "ELIGIBLE_SHARE", "ESP_SHAPE", "population_columns"]

#: The share of a band's people who use a service, youngest band first (the 19 bands).
COVERAGE_BY_BAND = np.array(
    [0.001] * 10 + [0.004, 0.008, 0.015, 0.03, 0.05, 0.08, 0.12, 0.18, 0.25]
)

#: The share of a band's people who could benefit (the ``eligible`` group).
ELIGIBLE_SHARE = np.array(
    [0.01] * 8 + [0.03, 0.05, 0.08, 0.12, 0.18, 0.25, 0.33, 0.42, 0.52, 0.6, 0.7]
)

#: The 2013 European Standard Population's band weights per 100,000 (a background shape).
ESP_SHAPE = np.array([ESP2013_WEIGHTS[band] for band in AGE_BANDS])


def population_columns(
    rng: np.random.Generator,
    area_names: pa.Array,
    user_area: np.ndarray,
    birth_year: pa.Array,
    sex: pa.Array,
    years: range,
    background: float = 2.0,
) -> dict[str, pa.Array]:
    """The populations table's columns for ``years``, for users of the given area, birth, sex.

    ``background`` is the number of people of all ages per user of the area, besides those
    implied by the users themselves.
    """
    areas, bands = len(area_names), len(AGE_BANDS)
    known = np.asarray(birth_year.is_valid())
    births = np.asarray(birth_year.fill_null(0))
    female = np.asarray(pc_equal(sex, "F"))
    size = np.bincount(user_area, minlength=areas)
    background = np.maximum(size, 1)[:, None] * background * ESP_SHAPE[None, :] / ESP_SHAPE.sum()
    area_col, year_col, band_col, sex_col, count_col, group_col = [], [], [], [], [], []
    for year in years:
        band = np.clip((year - births) // 5, 0, bands - 1)
        for code, is_female in (("F", True), ("M", False)):
            chosen = known & (female == is_female) & (year - births >= 0)
            users_in = np.zeros((areas, bands))
            np.add.at(users_in, (user_area[chosen], band[chosen]), 1)
            growth = 1.01 ** (year - years.start)
            people = np.ceil(
                users_in / COVERAGE_BY_BAND[None, :]
                + background * growth * rng.uniform(0.9, 1.1, (areas, bands))
            ).astype(np.int64)
            eligible = np.maximum(
                np.ceil(people * ELIGIBLE_SHARE[None, :]).astype(np.int64),
                users_in.astype(np.int64),
            )
            for group, values in ((None, people), ("eligible", eligible)):
                area_col.append(np.repeat(np.arange(areas), bands))
                band_col.append(np.tile(np.arange(bands), areas))
                year_col.append(np.full(areas * bands, year))
                sex_col += [code] * (areas * bands)
                group_col += [group] * (areas * bands)
                count_col.append(values.reshape(-1))
    return {
        "area": area_names.take(pa.array(np.concatenate(area_col))),
        "year": pa.array(np.concatenate(year_col), pa.int64()),
        "age_band": pa.array(np.array(AGE_BANDS, dtype=object)[np.concatenate(band_col)].tolist()),
        "sex": pa.array(sex_col, pa.string()),
        "population": pa.array(np.concatenate(count_col), pa.int64()),
        "group": pa.array(group_col, pa.string()),
    }


def pc_equal(values: pa.Array, code: str) -> pa.Array:
    """``values == code`` with nulls as false."""
    import pyarrow.compute as pc

    return pc.fill_null(pc.equal(values, code), False)
