"""Moved to :mod:`threeml.publish.counts`; kept so old imports work."""

from threeml.publish.counts import count_rows, count_to_dict

__all__ = ["count_rows", "count_to_dict"]
