"""Engines for the parity suite: a PostgreSQL server and a local Spark session.

The server is started from PostgreSQL's installed binaries (``initdb``, ``pg_ctl``) in a
temporary folder, listening on a unix socket only; as root (CI) it runs as the ``postgres``
system user, since PostgreSQL refuses to run as root. Spark runs in ``local[2]`` with two
shuffle partitions and no UI, one session for the whole run. Whatever is missing (Java,
pyspark, psycopg, the binaries) skips the tests that need it, with the reason.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """The URL of a fresh PostgreSQL server (database ``threeml``), stopped after the run."""
    from threeml.testing.postgres import ServerUnavailable, temporary_server

    try:
        with temporary_server() as url:
            yield url
    except ServerUnavailable as reason:
        pytest.skip(str(reason))


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    """A local Spark session (``local[2]``, two shuffle partitions, no UI)."""
    pytest.importorskip("pyspark", reason="pyspark is not installed (pip install '.[spark]')")
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.skip("Spark needs Java (17), and there is none on PATH or in JAVA_HOME")
    from threeml.data.spark import local_session

    session = local_session("threeml-engines")
    try:
        yield session
    finally:
        session.stop()
