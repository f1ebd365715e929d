"""Reading threeml's environment variables, each bad value named.

Every ``THREEML_`` variable is read through one of the functions here (or, for the engine's
memory cap and threads, :mod:`threeml.data.engine`), so that a value threeml cannot use stops
with a :class:`SettingError` naming the variable, the value and a good value — never a
Python error from deep inside. The command line prints it and exits with status 2.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping

from threeml.errors import ThreemlError

__all__ = ["FALSE", "TRUE", "SettingError", "flag", "positive_number"]

#: The words an on/off variable accepts, in any case.
TRUE = frozenset({"1", "true", "yes", "on"})
FALSE = frozenset({"", "0", "false", "no", "off"})


class SettingError(ThreemlError, ValueError):
    """An environment variable has a value threeml cannot use."""


def flag(name: str, environ: Mapping[str, str] | None = None) -> bool:
    """The on/off variable ``name``: unset or empty is off."""
    given = (os.environ if environ is None else environ).get(name, "")
    word = given.strip().lower()
    if word in TRUE:
        return True
    if word in FALSE:
        return False
    raise SettingError(
        f"{name}={given!r} is neither on nor off: give 1, true, yes or on to switch it on, "
        f"or 0, false, no, off (or leave it unset) to switch it off"
    )


def positive_number(
    name: str, default: float, environ: Mapping[str, str] | None = None, *, example: str = "10"
) -> float:
    """The variable ``name`` as a positive finite number (``default`` when unset or empty)."""
    given = (os.environ if environ is None else environ).get(name, "")
    if not given.strip():
        return default
    try:
        value = float(given)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise SettingError(
            f"{name}={given!r} is not a positive number: give one such as {name}={example} "
            f"(leave it unset for {default:g})"
        )
    return value
