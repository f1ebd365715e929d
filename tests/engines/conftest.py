"""Engines for the parity suite: a PostgreSQL server and a local Spark session.

The server is started from PostgreSQL's installed binaries (``initdb``, ``pg_ctl``) in a
temporary folder, listening on a unix socket only; as root (CI) it runs as the ``postgres``
system user, since PostgreSQL refuses to run as root. Spark runs in ``local[2]`` with two
shuffle partitions and no UI, one session for the whole run. Whatever is missing (Java,
pyspark, psycopg, the binaries) skips the tests that need it, with the reason.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

_BINARIES = sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)


def _pg_bin() -> Path | None:
    """The folder of ``initdb`` and ``pg_ctl``: PostgreSQL's own (Debian), else on PATH."""
    for folder in _BINARIES:
        if (Path(folder) / "pg_ctl").exists() and (Path(folder) / "initdb").exists():
            return Path(folder)
    on_path, initdb = shutil.which("pg_ctl"), shutil.which("initdb")
    if on_path and initdb and Path(on_path).parent == Path(initdb).parent:
        return Path(on_path).parent
    return None


def _as_server_user(command: list[str]) -> list[str]:
    """``command`` run as the ``postgres`` user when we are root (initdb refuses root)."""
    if os.geteuid() != 0:
        return command
    return ["runuser", "-u", "postgres", "--", *command]


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """The URL of a fresh PostgreSQL server (database ``threeml``), stopped after the run."""
    pytest.importorskip("psycopg", reason="psycopg is not installed (pip install '.[postgres]')")
    binaries = _pg_bin()
    if binaries is None:
        pytest.skip("PostgreSQL's binaries (initdb, pg_ctl) are not installed")
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and there is no postgres user to run the server as")
    folder = Path(tempfile.mkdtemp(prefix="threeml-pg-"))
    os.chmod(folder, 0o777)
    data, socket = folder / "data", folder / "socket"
    socket.mkdir()
    os.chmod(socket, 0o777)
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres")
        shutil.chown(socket, "postgres")
    user = "postgres" if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name

    def run(*args: str) -> None:
        command = _as_server_user([str(binaries / args[0]), *args[1:]])
        subprocess.run(command, check=True, capture_output=True, text=True)

    try:
        run("initdb", "-D", str(data), "-U", user, "--auth=trust", "--locale=C.UTF-8", "-E", "UTF8")
        run(
            "pg_ctl", "-D", str(data), "-w", "-l", str(folder / "log"),
            "-o", f"-k {socket} -c listen_addresses='' -p 54329 -c fsync=off",
            "start",
        )  # fmt: skip
        import psycopg

        with psycopg.connect(
            host=str(socket), port=54329, user=user, dbname="postgres", autocommit=True
        ) as con:
            con.execute("CREATE DATABASE threeml")
    except (subprocess.CalledProcessError, OSError) as error:
        shutil.rmtree(folder, ignore_errors=True)
        detail = getattr(error, "stderr", None) or str(error)
        pytest.skip(f"could not start PostgreSQL from {binaries}: {detail.strip()[-300:]}")
    try:
        yield f"postgresql://{user}@/threeml?host={socket}&port=54329"
    finally:
        subprocess.run(
            _as_server_user([str(binaries / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"]),
            capture_output=True,
        )
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    """A local Spark session (``local[2]``, two shuffle partitions, no UI)."""
    pytest.importorskip("pyspark", reason="pyspark is not installed (pip install '.[spark]')")
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.skip("Spark needs Java (17), and there is none on PATH or in JAVA_HOME")
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[2]")
        .appName("threeml-engines")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.driver.memory", "1g")
        .getOrCreate()
    )
    try:
        yield session
    finally:
        session.stop()
