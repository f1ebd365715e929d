"""How the engine evaluates each kind of criterion: one handler per kind, holding all its roles.

An evaluation asks a criterion different questions depending on where it stands:

- ``user_pass``: which users pass it, as a table with one column, ``user_id``. Every kind
  answers this; it is all a plugin kind's ``compile`` has to answer;
- for an *enrolment criterion* (``about_enrolments``), which enrolments match it: from the
  enrolment's own row (``enrolment_test``) or by counting its counting contacts
  (``contact_span`` and ``contact_test``). The answers are columns of the shared table of
  enrolment facts (:mod:`threeml.engine.flags`); ``user_aggregate`` reads a user's verdict off
  those columns and ``contributes`` says whether an enrolment is one of the records behind a
  count;
- ``user_flag``: the verdict as a column beside the users table, for criteria about the user;
- ``enrolment_flag`` and ``enrolment_pass``: the verdict for one enrolment, when a definition
  counts enrolments.

Each of threeml's kinds has one handler class with every role it needs (enrolment criteria in
:mod:`threeml.engine.criteria_enrolments`, criteria about the user in
:mod:`threeml.engine.criteria_users`, the base in :mod:`threeml.engine.handlers`), registered in
:data:`HANDLERS` by criterion class with :func:`handles`; the roles a handler leaves out read
its ``user_pass``. A plugin's kind (:class:`~threeml.definitions.kinds.CriterionKind`) is
handled by :class:`PluginKindHandler` around the kind's ``compile``. :func:`handler_for` picks
the handler; a criterion that neither threeml nor a plugin known to the evaluation handles
raises :class:`~threeml.engine.errors.UnhandledCriterionKind`.
"""

from __future__ import annotations

# Both families register their handlers in HANDLERS when imported.
from threeml.engine import criteria_enrolments, criteria_users
from threeml.engine.handlers import (
    HANDLERS,
    CriterionHandler,
    PluginKindHandler,
    enrolment_pass,
    handler_for,
    handles,
    user_pass,
)

__all__ = [
    "HANDLERS",
    "CriterionHandler",
    "PluginKindHandler",
    "criteria_enrolments",
    "criteria_users",
    "enrolment_pass",
    "handler_for",
    "handles",
    "user_pass",
]
