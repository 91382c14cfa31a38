"""The suite's own PostgreSQL server (tests/postgres_support.py): a real server from the machine's
binaries, run by an unprivileged user when the suite runs as root, a fresh database per test, and
nothing left behind when it stops."""

import os
import pwd
import subprocess
import sys
from pathlib import Path

import asyncpg
import pytest

from postgres_support import (
    PostgresServer,
    PostgresUnavailable,
    find_bindir,
    make_server,
    unavailable,
)

pytestmark = [pytest.mark.subprocess, pytest.mark.slow]


def _alive(pid: int) -> bool:
    """Whether the process runs (a zombie no init has reaped yet counts as gone)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    state = next(line for line in status.splitlines() if line.startswith("State:"))
    return "zombie" not in state


def _owner_of(path: Path) -> int:
    return path.stat().st_uid


def _uid_of(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    line = next(line for line in status.splitlines() if line.startswith("Uid:"))
    return int(line.split()[2])  # real, effective, saved, filesystem: the effective one


async def test_the_server_is_a_real_postgresql_on_127_0_0_1(
    postgres_server: PostgresServer, postgres_url: str
) -> None:
    assert (
        postgres_server.url
        == f"postgresql://trainerbot@127.0.0.1:{postgres_server.port}/trainerbot"
    )
    assert postgres_url.startswith(f"postgresql://trainerbot@127.0.0.1:{postgres_server.port}/t")
    for url in (postgres_server.url, postgres_url):
        connection = await asyncpg.connect(url)
        try:
            version = await connection.fetchval("SELECT version()")
            assert version.startswith("PostgreSQL "), version
            assert await connection.fetchval("SELECT current_user") == "trainerbot"
            assert await connection.fetchval("SHOW listen_addresses") == "127.0.0.1"
            assert await connection.fetchval("SHOW fsync") == "on"
            assert await connection.fetchval("SHOW max_connections") == "100"
            assert await connection.fetchval("SHOW server_encoding") == "UTF8"
            assert await connection.fetchval("SELECT 6 * 7") == 42
        finally:
            await connection.close()


async def test_the_server_runs_as_an_unprivileged_user(
    postgres_server: PostgresServer, postgres_url: str
) -> None:
    connection = await asyncpg.connect(postgres_url)
    try:
        data_directory = Path(await connection.fetchval("SELECT current_setting('data_directory')"))
        backend = _uid_of(await connection.fetchval("SELECT pg_backend_pid()"))
    finally:
        await connection.close()
    postmaster = postgres_server.postmaster_pid()
    assert postmaster is not None
    owners = {_owner_of(data_directory), _uid_of(postmaster), backend}
    if os.geteuid() == 0:
        assert owners == {pwd.getpwnam("nobody").pw_uid}, owners
        assert postgres_server.running_as == "nobody"
    else:
        assert owners == {os.geteuid()}, owners


@pytest.mark.parametrize("run", [1, 2])
async def test_each_test_gets_a_fresh_empty_database(postgres_url: str, run: int) -> None:
    # Whichever run comes second would see the first one's table, were the database shared.
    connection = await asyncpg.connect(postgres_url)
    try:
        tables = await connection.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')"
        )
        assert tables == []
        await connection.execute("CREATE TABLE marker (run int)")
        await connection.execute("INSERT INTO marker VALUES ($1)", run)
    finally:
        await connection.close()


async def test_two_databases_are_independent(
    postgres_server: PostgresServer, postgres_url: str
) -> None:
    other_url = await postgres_server.fresh_database("independent_other")
    try:
        assert other_url != postgres_url
        first = await asyncpg.connect(postgres_url)
        second = await asyncpg.connect(other_url)
        try:
            await first.execute("CREATE TABLE only_here (x int)")
            await first.execute("INSERT INTO only_here VALUES (1)")
            assert await first.fetchval("SELECT count(*) FROM only_here") == 1
            assert await second.fetchval("SELECT to_regclass('only_here')") is None
            assert await first.fetchval("SELECT current_database()") != await second.fetchval(
                "SELECT current_database()"
            )
        finally:
            await first.close()
            await second.close()
    finally:
        await postgres_server.drop_database_async("independent_other")


async def test_a_database_with_a_connection_left_open_is_still_dropped(
    postgres_server: PostgresServer,
) -> None:
    url = postgres_server.create_database("left_open")
    assert url.endswith("/left_open")
    forgotten = await asyncpg.connect(url)  # as a test that never disposes its engine leaves
    try:
        postgres_server.drop_database("left_open")
        count = "SELECT count(*) FROM pg_database WHERE datname = 'left_open'"
        assert postgres_server._psql(count) == "0"
        with pytest.raises((asyncpg.PostgresError, asyncpg.InterfaceError, OSError)):
            await forgotten.fetchval("SELECT 1")
    finally:
        forgotten.terminate()


async def test_stopping_leaves_no_process_and_no_folder() -> None:
    server = make_server().start()
    try:
        base, pid, port = server.base, server.postmaster_pid(), server.port
        assert base is not None
        assert base.is_dir()
        assert pid is not None
        assert _alive(pid)
        assert server.is_running()
        connection = await asyncpg.connect(server.url)
        await connection.close()

        server.shutdown()
        assert not server.is_running()  # pg_ctl status: no server running
        assert not _alive(pid)
        with pytest.raises(ConnectionRefusedError):
            await asyncpg.connect(f"postgresql://trainerbot@127.0.0.1:{port}/trainerbot", timeout=5)
    finally:
        server.stop()
    assert server.base is None
    assert not base.exists()
    server.stop()  # twice is fine


def test_the_binaries_are_found_here_or_the_reason_is_given(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert find_bindir() is not None  # this machine, and CI, have them
    missing = PostgresUnavailable("no binaries")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(
        pytest.fail.Exception, match="CI must run the PostgreSQL tests, but no binaries"
    ):
        unavailable(missing)
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception, match="skipped: no binaries"):
        unavailable(missing)


def test_a_server_left_by_a_killed_session_is_stopped_by_the_next() -> None:
    tests = Path(__file__).parents[2]
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import sys, time; sys.path.insert(0, {str(tests)!r})\n"
            "from postgres_support import PostgresServer\n"
            "server = PostgresServer().start()\n"
            "print(server.base, server.postmaster_pid(), flush=True)\n"
            "time.sleep(600)\n",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        base, pid = child.stdout.readline().split()
    finally:
        child.kill()  # as a SIGKILLed pytest dies: no finalizer, no atexit
        child.wait()
    assert Path(base).is_dir()
    assert _alive(int(pid))  # the server outlives its session

    with make_server() as server:
        assert server.base != Path(base)
    assert not Path(base).exists()
    assert not _alive(int(pid))
