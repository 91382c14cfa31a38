"""A real PostgreSQL server for the test suite, from the machine's own PostgreSQL binaries.

``PostgresServer`` makes a throwaway cluster (``initdb``) in a temporary folder and runs it with
``pg_ctl`` on a free port of 127.0.0.1. PostgreSQL refuses to run as root, so when the suite runs
as root (as CI does) the cluster belongs to, and the server runs as, the unprivileged ``nobody``
user. Every client connects as the superuser ``trainerbot`` with ``trust`` authentication::

    with PostgresServer() as server:
        server.url                              # postgresql://trainerbot@127.0.0.1:PORT/trainerbot
        url = server.create_database("t_one")   # a fresh empty database (template0)
        url = await server.fresh_database("t_two")

The pytest fixtures (registered from tests/conftest.py with ``pytest_plugins``):

- ``postgres_server`` (session): one server per test session, started only when a test asks;
- ``postgres_url`` (function): a fresh empty database for the test, dropped after it.

Where the binaries are missing the fixtures skip with the reason, except under CI (``CI`` set, as
every CI service sets it), where a test must never be skipped: there they fail, saying why.
"""

from __future__ import annotations

import atexit
import contextlib
import itertools
import logging
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn

import pytest

log = logging.getLogger("trainerbot.tests.postgres")

USER = "trainerbot"  # the superuser initdb makes; clients connect as it, without a password
DATABASE = "trainerbot"  # the database ``url`` names
HOST = "127.0.0.1"
UNPRIVILEGED = "nobody"  # who owns and runs the cluster when the suite runs as root
REQUIRED = ("initdb", "pg_ctl", "postgres", "psql")
_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server binaries here (or no unprivileged user to run them as root)."""


def find_bindir() -> Path | None:
    """The folder holding the newest PostgreSQL server binaries on this machine, or None.

    Debian's ``/usr/lib/postgresql/<version>/bin`` first (the newest version), then what
    ``pg_config --bindir`` says, then wherever ``initdb`` is on the PATH."""

    def complete(folder: Path) -> bool:
        return all(os.access(folder / name, os.X_OK) for name in REQUIRED)

    def version(folder: Path) -> tuple[int, ...]:
        return tuple(int(part) for part in re.findall(r"\d+", folder.name)) or (0,)

    root = Path("/usr/lib/postgresql")
    if root.is_dir():
        for folder in sorted(root.iterdir(), key=version, reverse=True):
            if complete(folder / "bin"):
                return folder / "bin"
    pg_config = shutil.which("pg_config")
    if pg_config:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            said = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, timeout=10, check=True
            ).stdout.strip()
            if said and complete(Path(said)):
                return Path(said)
    initdb = shutil.which("initdb")
    if initdb and complete(Path(initdb).resolve().parent):
        return Path(initdb).resolve().parent
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def _world_traversable(folder: Path) -> bool:
    return all(os.stat(part).st_mode & 0o001 for part in [folder, *folder.parents])


def _quote(name: str) -> str:
    if not _NAME.fullmatch(name):
        raise ValueError(f"not a database name for tests: {name!r} (want [a-z_][a-z0-9_]{{0,62}})")
    return f'"{name}"'


class PostgresServer:
    """One PostgreSQL cluster in a temporary folder, on ``127.0.0.1:port``; see the module doc."""

    def __init__(self, bindir: Path | None = None, *, max_connections: int = 100) -> None:
        found = bindir or find_bindir()
        if found is None:
            raise PostgresUnavailable(
                "no PostgreSQL server binaries (initdb, pg_ctl, postgres, psql) were found under "
                "/usr/lib/postgresql/<version>/bin, `pg_config --bindir` or the PATH; "
                "install them (Debian: apt-get install postgresql)"
            )
        self.bindir = found
        self.max_connections = max_connections
        self.port = 0
        self.base: Path | None = None  # the temporary folder: data/, the socket, server.log
        self.run_as: pwd.struct_passwd | None = None
        if os.geteuid() == 0:
            try:
                self.run_as = pwd.getpwnam(UNPRIVILEGED)
            except KeyError:
                raise PostgresUnavailable(
                    f"the suite runs as root and PostgreSQL refuses to: it needs the unprivileged "
                    f"user {UNPRIVILEGED!r} to run the test server as, and there is none"
                ) from None
        self.startup_seconds = 0.0
        self.version = ""
        self.started = ""  # the one line the start logs, also printed in pytest's summary

    # --- where things are ---------------------------------------------------------------

    @property
    def data_directory(self) -> Path:
        assert self.base is not None, "the server is not started"
        return self.base / "data"

    @property
    def log_path(self) -> Path:
        assert self.base is not None, "the server is not started"
        return self.base / "server.log"

    @property
    def url(self) -> str:
        """``postgresql://trainerbot@127.0.0.1:PORT/trainerbot``."""
        return self.url_for(DATABASE)

    def url_for(self, database: str) -> str:
        return f"postgresql://{USER}@{HOST}:{self.port}/{database}"

    @property
    def running_as(self) -> str:
        return self.run_as.pw_name if self.run_as else pwd.getpwuid(os.geteuid()).pw_name

    # --- running the binaries -----------------------------------------------------------

    def _environment(self) -> dict[str, str]:
        # The developer's PGHOST, PGDATA, PGPASSWORD… must not steer the test cluster.
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env.update(LC_ALL="C", LANG="C", PGCONNECT_TIMEOUT="10")
        if self.run_as is not None and self.base is not None:
            env.update(HOME=str(self.base), USER=self.run_as.pw_name, LOGNAME=self.run_as.pw_name)
        return env

    def _run(
        self, *args: str, server_side: bool = False, timeout: float = 60
    ) -> subprocess.CompletedProcess[str]:
        """Run a binary from ``bindir``; ``server_side`` ones (initdb, pg_ctl) as ``run_as``."""
        options: dict[str, Any] = {}
        if server_side and self.run_as is not None:
            # setuid in the child, as `setpriv --reuid --regid --clear-groups` does.
            options = dict(user=self.run_as.pw_uid, group=self.run_as.pw_gid, extra_groups=[])
        return subprocess.run(
            [str(self.bindir / args[0]), *args[1:]],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=self._environment(),
            cwd=self.base,
            check=False,
            **options,
        )

    def _psql(self, sql: str, *, database: str = "postgres") -> str:
        done = self._run(
            "psql", "-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1",
            "-h", HOST, "-p", str(self.port), "-U", USER, "-d", database, "-c", sql,
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"psql {sql!r} failed: {done.stderr.strip() or done.stdout.strip()}")
        return done.stdout.strip()

    def _log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no server log)"

    # --- life cycle ---------------------------------------------------------------------

    def start(self) -> PostgresServer:
        """initdb, start on a free port, wait until it accepts connections, create ``trainerbot``."""
        if self.base is not None:
            return self
        began = time.perf_counter()
        parent = Path(tempfile.gettempdir())
        if self.run_as is not None and not _world_traversable(parent):
            parent = Path("/tmp")  # the server's user must be able to reach its folder
        self._sweep_abandoned(parent)
        self.base = Path(tempfile.mkdtemp(prefix="trainerbot-pg-", dir=parent))
        atexit.register(self.stop)  # a safety net should a session end without its finalizers
        try:
            (self.base / "owner.pid").write_text(f"{os.getpid()}\n")
            if self.run_as is not None:
                os.chown(self.base, self.run_as.pw_uid, self.run_as.pw_gid)
            done = self._run(
                "initdb", "-D", str(self.data_directory), "-A", "trust", "-U", USER,
                "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions",
                server_side=True, timeout=120,
            )  # fmt: skip
            if done.returncode != 0:
                raise RuntimeError(f"initdb failed:\n{done.stdout}\n{done.stderr}")
            for attempt in range(3):  # another process may take the free port before we do
                self.port = _free_port()
                done = self._run(
                    "pg_ctl", "start", "-D", str(self.data_directory), "-l", str(self.log_path),
                    "-w", "-t", "60", "-o",
                    f"-p {self.port} -c listen_addresses={HOST} "
                    f"-c unix_socket_directories={self.base} "
                    f"-c fsync=on -c max_connections={self.max_connections}",
                    server_side=True, timeout=90,
                )  # fmt: skip
                if done.returncode == 0:
                    break
                if attempt == 2 or "could not bind" not in self._log_tail(50):
                    raise RuntimeError(
                        f"pg_ctl start failed:\n{done.stdout}\n{done.stderr}\n"
                        f"server log ({self.log_path}):\n{self._log_tail()}"
                    )
            self._psql(f"CREATE DATABASE {_quote(DATABASE)}")
            self.version = self._psql("SHOW server_version")
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.perf_counter() - began
        self.started = (
            f"PostgreSQL {self.version} started in {self.startup_seconds:.2f} s on "
            f"{HOST}:{self.port} as {self.running_as} ({self.base}, binaries {self.bindir})"
        )
        log.info("%s", self.started)
        return self

    def _sweep_abandoned(self, parent: Path) -> None:
        """Stop and remove the clusters of test sessions that died without stopping them (a
        SIGKILLed pytest): those whose ``owner.pid`` names a process that no longer runs."""
        for folder in parent.glob("trainerbot-pg-*"):
            try:
                owner = int((folder / "owner.pid").read_text())
                os.kill(owner, 0)
                continue  # its session still runs (or another user's: not ours to touch)
            except ProcessLookupError:
                pass
            except (OSError, ValueError):
                continue
            abandoned = PostgresServer(self.bindir)
            abandoned.base = folder
            with contextlib.suppress(OSError, subprocess.SubprocessError):
                abandoned.shutdown()
            shutil.rmtree(folder, ignore_errors=True)

    def is_running(self) -> bool:
        """What ``pg_ctl status`` says (it answers 3 when no server runs on the folder)."""
        if self.base is None or not self.data_directory.is_dir():
            return False
        status = self._run("pg_ctl", "status", "-D", str(self.data_directory), server_side=True)
        return status.returncode == 0

    def postmaster_pid(self) -> int | None:
        """The server's process id, from ``postmaster.pid``; None when there is none."""
        if self.base is None:
            return None
        try:
            return int((self.data_directory / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def shutdown(self) -> None:
        """Stop the server, keeping its folder: ``pg_ctl stop -m fast``, then ``-m immediate``,
        then SIGKILL to the postmaster."""
        if self.base is None or self.postmaster_pid() is None:
            return
        data = str(self.data_directory)
        for mode in ("fast", "immediate"):
            stopped = self._run(
                "pg_ctl", "stop", "-D", data, "-m", mode, "-w", "-t", "30", server_side=True
            )
            if stopped.returncode == 0 or not self.is_running():
                return
        pid = self.postmaster_pid()
        if pid is not None:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)

    def stop(self) -> None:
        """``shutdown`` and remove the folder. Safe to call twice."""
        atexit.unregister(self.stop)
        if self.base is None:
            return
        try:
            self.shutdown()
        finally:
            base, self.base = self.base, None
            shutil.rmtree(base, ignore_errors=True)

    def __enter__(self) -> PostgresServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # --- databases ----------------------------------------------------------------------

    def create_database(self, name: str) -> str:
        """A fresh empty database (from template0) named ``name``; its URL."""
        self._psql(f"CREATE DATABASE {_quote(name)} TEMPLATE template0")
        return self.url_for(name)

    def drop_database(self, name: str) -> None:
        """Drop ``name``, ending whatever connections to it are still open."""
        self._psql(f"DROP DATABASE IF EXISTS {_quote(name)} WITH (FORCE)")

    async def fresh_database(self, name: str) -> str:
        """``create_database`` through asyncpg, for code already on an event loop."""
        import asyncpg  # imported here: the suite runs without it until a test needs PostgreSQL

        connection = await asyncpg.connect(self.url_for("postgres"), timeout=10)
        try:
            await connection.execute(f"CREATE DATABASE {_quote(name)} TEMPLATE template0")
        finally:
            await connection.close()
        return self.url_for(name)

    async def drop_database_async(self, name: str) -> None:
        import asyncpg

        connection = await asyncpg.connect(self.url_for("postgres"), timeout=10)
        try:
            await connection.execute(f"DROP DATABASE IF EXISTS {_quote(name)} WITH (FORCE)")
        finally:
            await connection.close()


# --- pytest fixtures ------------------------------------------------------------------------

_started: list[PostgresServer] = []
_numbers = itertools.count(1)


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def unavailable(missing: PostgresUnavailable) -> NoReturn:
    """Skip the test for want of PostgreSQL, except under CI, where the test fails instead."""
    if _in_ci():
        pytest.fail(f"CI must run the PostgreSQL tests, but {missing}", pytrace=False)
    pytest.skip(f"PostgreSQL tests skipped: {missing}")


def make_server(**options: Any) -> PostgresServer:
    """A ``PostgresServer`` (not started) for a test that needs a server of its own (to stop or
    kill it); where PostgreSQL is missing, the skip or, under CI, the failure."""
    try:
        return PostgresServer(**options)
    except PostgresUnavailable as reason:
        missing = reason
    unavailable(missing)  # outside the except: the failure need not show the exception's chain


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One real PostgreSQL server for the session, started the first time a test asks."""
    with make_server() as server:
        _started.append(server)
        yield server


@pytest.fixture
def postgres_url(postgres_server: PostgresServer, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh empty database for this test: ``postgresql://trainerbot@127.0.0.1:PORT/<name>``,
    dropped after the test (connections still open to it are ended)."""
    slug = re.sub(r"[^a-z0-9_]+", "_", request.node.name.lower()).strip("_")
    name = f"t{next(_numbers)}_{slug}"[:63]
    yield postgres_server.create_database(name)
    postgres_server.drop_database(name)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    for server in _started:
        terminalreporter.write_line(server.started)
