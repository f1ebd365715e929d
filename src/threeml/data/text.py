"""Text functions whose meaning is the same on every engine.

ibis compiles ``strip()`` to ``TRIM(' \\t\\n\\r\\v\\f' FROM x)``; Spark reads the escapes in
that literal as the letters ``v`` and ``f``, so ``falls`` became ``alls`` there, silently.
:func:`trim_space` removes the same white space with a regular expression whose character
class names each character by its hexadecimal escape (``\\x0b``), read alike by RE2, Java and
PostgreSQL; the SQL literal holds no control character for an engine to read its own way.
"""

from __future__ import annotations

import ibis.expr.types as ir

__all__ = ["WHITE_SPACE", "is_padded", "trim_space"]

#: The characters :func:`trim_space` removes at either end: space, tab, line feed, carriage
#: return, vertical tab and form feed (what Python's ``str.strip`` removes among ASCII).
WHITE_SPACE = " \t\n\r\x0b\x0c"

# Written as the regular expression's own hexadecimal escapes, which RE2 (DuckDB), Java
# (Spark) and PostgreSQL read alike; the SQL literal then holds only printable characters.
_CLASS = "[" + "".join(f"\\x{ord(c):02x}" for c in WHITE_SPACE) + "]"
_AT_ENDS = f"^{_CLASS}+|{_CLASS}+$"
_PADDED = f"^{_CLASS}|{_CLASS}$"


def trim_space(text: ir.StringValue) -> ir.StringValue:
    """``text`` without :data:`WHITE_SPACE` at either end, on every engine alike."""
    return text.re_replace(_AT_ENDS, "")


def is_padded(text: ir.StringValue) -> ir.BooleanValue:
    """Whether ``text`` begins or ends with :data:`WHITE_SPACE` (a test, cheaper than trimming).

    A regular expression rather than comparing the first character with ``' '``: a database
    collation (PostgreSQL's ``en_US``, say) does not order control characters by code.
    """
    return text.re_search(_PADDED)
