"""A throwaway PostgreSQL server for tests and benchmarks, from the installed binaries.

:func:`temporary_server` runs ``initdb`` and ``pg_ctl`` (PostgreSQL's own folder on Debian,
``/usr/lib/postgresql/<version>/bin``, else on PATH) in a temporary folder, listening on a
unix socket only, creates the database ``threeml`` and yields its URL; the server is stopped
and the folder removed afterwards. As root (CI) the server runs as the ``postgres`` system
user, since PostgreSQL refuses to run as root. Whatever is missing raises
:class:`ServerUnavailable` with the reason, for a test to skip with.
"""

from __future__ import annotations

import gc
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["ServerUnavailable", "server_binaries", "temporary_server"]


class ServerUnavailable(RuntimeError):
    """No PostgreSQL server can be started here; the message says why."""


def server_binaries() -> Path | None:
    """The folder of ``initdb`` and ``pg_ctl``: PostgreSQL's own (Debian), else on PATH."""
    for folder in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
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


@contextmanager
def temporary_server(port: int = 54329) -> Iterator[str]:
    """A fresh server with a database ``threeml``; yields its URL (``postgresql://…``)."""
    try:
        import psycopg
    except ImportError:
        raise ServerUnavailable(
            "psycopg is not installed (pip install 'threeml[postgres]')"
        ) from None
    binaries = server_binaries()
    if binaries is None:
        raise ServerUnavailable("PostgreSQL's binaries (initdb, pg_ctl) are not installed")
    root = os.geteuid() == 0
    if root:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            raise ServerUnavailable(
                "running as root and there is no postgres user to run the server as"
            ) from None
    folder = Path(tempfile.mkdtemp(prefix="threeml-pg-"))
    os.chmod(folder, 0o777)
    data, socket = folder / "data", folder / "socket"
    socket.mkdir()
    os.chmod(socket, 0o777)
    if root:
        shutil.chown(folder, "postgres")
        shutil.chown(socket, "postgres")
    user = "postgres" if root else pwd.getpwuid(os.geteuid()).pw_name

    def run(*args: str) -> None:
        command = _as_server_user([str(binaries / args[0]), *args[1:]])
        subprocess.run(command, check=True, capture_output=True, text=True)

    try:
        run("initdb", "-D", str(data), "-U", user, "--auth=trust", "--locale=C.UTF-8", "-E", "UTF8")
        run(
            "pg_ctl", "-D", str(data), "-w", "-l", str(folder / "log"),
            "-o", f"-k {socket} -c listen_addresses='' -p {port} -c fsync=off",
            "start",
        )  # fmt: skip
        with psycopg.connect(
            host=str(socket), port=port, user=user, dbname="postgres", autocommit=True
        ) as con:
            con.execute("CREATE DATABASE threeml")
    except (subprocess.CalledProcessError, OSError) as error:
        shutil.rmtree(folder, ignore_errors=True)
        detail = getattr(error, "stderr", None) or str(error)
        raise ServerUnavailable(
            f"could not start PostgreSQL from {binaries}: {detail.strip()[-300:]}"
        ) from error
    try:
        yield f"postgresql://{user}@/threeml?host={socket}&port={port}"
    finally:
        gc.collect()  # intermediate tables still held are dropped while the server is up
        subprocess.run(
            _as_server_user([str(binaries / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"]),
            capture_output=True,
        )
        shutil.rmtree(folder, ignore_errors=True)
