"""How a record type declares its columns: :func:`column` metadata and the value converters.

The record types of :mod:`threeml.records.rows` declare each column with :func:`column` (its
description, key, reference, bounds) and convert values on the way in with the converters
here, which apply the same rules as loaded files (non-empty ids, plain text, ISO dates, codes,
finite numbers, normalised condition codes).
"""

from __future__ import annotations

import math
import re
from datetime import date
from typing import Any

import attrs
from attrs import field, frozen

from threeml.records.codes import normalise_condition
from threeml.records.periods import parse_date

__all__ = [
    "CONTROL_CHARACTERS",
    "INTEGER_TEXT",
    "NUMBER_TEXT",
    "TEXT_LIMIT",
    "ColumnInfo",
    "column",
    "column_info",
]

_META = "threeml"

#: How whole numbers and numbers are written in text (files and strings given to records):
#: ASCII digits, an optional sign, a decimal point and exponent for numbers; nothing else
#: (no ``1_000``, ``nan`` or ``infinity``). The engine's checks use the same patterns.
INTEGER_TEXT = r"^[+-]?[0-9]+$"
NUMBER_TEXT = r"^[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][+-]?[0-9]+)?$"


@frozen
class ColumnInfo:
    """What the type annotation cannot say about a column."""

    doc: str
    key: bool = False
    references: str | None = None  # "table.column"
    minimum: float | None = None
    maximum: float | None = None
    #: Whether a file may leave the column out of its header altogether (then read as empty).
    #: Every other column must be in the header, even when its values may be empty.
    may_be_absent: bool = False


def column(
    doc: str,
    *,
    default: Any = attrs.NOTHING,
    key: bool = False,
    references: str | None = None,
    minimum: float | None = None,
    maximum: float | None = None,
    converter: Any = None,
    factory: Any = None,
    may_be_absent: bool = False,
) -> Any:
    """Declare a column: an attrs field carrying :class:`ColumnInfo` metadata.

    Validation of the value itself (non-empty ids, bounds) is attached here so
    that Python records obey the same constraints as loaded files.
    """
    info = ColumnInfo(
        doc=doc,
        key=key,
        references=references,
        minimum=minimum,
        maximum=maximum,
        may_be_absent=may_be_absent,
    )
    validators = [_bounds(minimum, maximum)] if minimum is not None or maximum is not None else []
    kwargs: dict[str, Any] = {"metadata": {_META: info}, "validator": validators}
    if converter is not None:
        kwargs["converter"] = converter
    if factory is not None:
        kwargs["factory"] = factory
    elif default is not attrs.NOTHING:
        kwargs["default"] = default
    return field(**kwargs)


def column_info(attribute: attrs.Attribute) -> ColumnInfo:
    """The :class:`ColumnInfo` of a record field."""
    return attribute.metadata[_META]


def _bounds(minimum: float | None, maximum: float | None) -> Any:
    def check(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
        if value is None:
            return
        if minimum is not None and value < minimum:
            raise ValueError(f"{attribute.name} must be at least {minimum:g}, got {value!r}")
        if maximum is not None and value > maximum:
            raise ValueError(f"{attribute.name} must be at most {maximum:g}, got {value!r}")

    return check


#: The longest text value (id, area, label) a record or a file may hold, in characters.
TEXT_LIMIT = 200

#: Control characters (C0 and DEL), which no text value may hold.
CONTROL_CHARACTERS = re.compile("[\x00-\x1f\x7f]")


def _plain_text(text: str) -> str:
    """``text`` when it is text a file may hold: no control characters, not over-long."""
    if CONTROL_CHARACTERS.search(text):
        raise ValueError(f"text must not hold control characters, got {text!r}")
    if len(text) > TEXT_LIMIT:
        raise ValueError(f"text must be at most {TEXT_LIMIT} characters, got {len(text)}")
    return text


def _identifier(value: Any) -> str:
    text = str(value).strip() if value is not None else ""
    if not text:
        raise ValueError("an id must be a non-empty string")
    return _plain_text(text)


def _optional_identifier(value: Any) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return _plain_text(str(value).strip())


def _date(value: Any) -> date:
    return parse_date(value)


def _optional_date(value: Any) -> date | None:
    if value is None or value == "":
        return None
    return parse_date(value)


def _code(enum: type) -> Any:
    def convert(value: Any) -> Any:
        try:
            return enum(value)
        except ValueError:
            allowed = ", ".join(member.value for member in enum)
            raise ValueError(
                f"{value!r} is not a known {enum.__name__} code; expected one of {allowed}"
            ) from None

    return convert


def _optional_code(enum: type) -> Any:
    convert = _code(enum)
    return lambda value: None if value is None or value == "" else convert(value)


def _optional_number(kind: type) -> Any:
    """A converter to ``kind`` (int or float) that keeps ``None`` and empty text as ``None``.

    Like the loader, it refuses numbers that are not finite and, for whole-number
    columns, numbers with a fractional part (rather than silently truncating them).
    """

    def convert(value: Any) -> Any:
        if value is None or value == "":
            return None
        if isinstance(value, bool):
            raise ValueError(f"expected a number, got {value!r}")
        if isinstance(value, str):
            value = value.strip()
            pattern = INTEGER_TEXT if kind is int else NUMBER_TEXT
            if not re.fullmatch(pattern, value):
                expected = "a whole number" if kind is int else "a number such as 0.25"
                raise ValueError(f"expected {expected}, got {value!r}")
        if kind is int:
            if isinstance(value, float) and not value.is_integer():
                raise ValueError(f"expected a whole number, got {value!r}")
            return int(value)
        number = float(value)
        if not math.isfinite(number):
            raise ValueError(f"expected a finite number, got {value!r}")
        return number

    return convert


def _conditions(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = value.split(";")
    codes = {normalise_condition(str(item)) for item in value}
    return tuple(sorted(code for code in codes if code))


def _check_rules(record: Any) -> None:
    for rule in type(record).rules:
        if hasattr(rule, "holds") and not rule.holds(record):
            raise ValueError(f"{type(record).__name__}: {rule.describe()}")
