"""Outputs: results shaped for publishing (JSON, CSV rows), with disclosure control applied."""

from threeml.outputs.counts import count_rows, count_to_dict

__all__ = ["count_rows", "count_to_dict"]
