"""JsonlFile: whole lines, durable appends, torn lines isolated, no interleaving."""

from __future__ import annotations

import errno
import json
import logging
import os
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from trainerbot.adapters.storage import JsonlFile, ReadResult


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "records" / "things.jsonl"


@pytest.fixture
def sut(path: Path) -> JsonlFile:
    return JsonlFile(path)


def lines(path: Path) -> list[bytes]:
    return path.read_bytes().split(b"\n")


def test_append_then_read_round_trips_records(sut: JsonlFile) -> None:
    records: list[dict[str, Any]] = [
        {"type": "x", "n": 1, "text": "héllo ✓ 🎉"},
        {"type": "x", "nested": {"list": [1, 2, None]}},
    ]
    for record in records:
        sut.append(record)

    assert sut.read() == ReadResult(records=records, skipped=[])


def test_append_writes_compact_utf8_lines(sut: JsonlFile, path: Path) -> None:
    sut.append({"a": "é", "b": [1, 2]})

    assert path.read_bytes() == '{"a":"é","b":[1,2]}\n'.encode()


def test_append_creates_missing_parent_folders(sut: JsonlFile, path: Path) -> None:
    sut.append({"a": 1})

    assert path.is_file()


def test_read_of_a_missing_file_is_empty(sut: JsonlFile) -> None:
    assert sut.read() == ReadResult(records=[], skipped=[])


def test_a_newline_inside_a_value_stays_on_one_line(sut: JsonlFile, path: Path) -> None:
    sut.append({"text": "line one\nline two"})

    assert len(path.read_bytes().splitlines()) == 1
    assert sut.read().records == [{"text": "line one\nline two"}]


def test_after_append_returns_a_fresh_reader_sees_the_record(sut: JsonlFile, path: Path) -> None:
    sut.append({"id": "durable"})

    assert JsonlFile(path).read().records == [{"id": "durable"}]


def test_the_line_is_written_before_it_is_fsynced(
    sut: JsonlFile, path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    on_disk_at_fsync: list[bytes] = []
    real_fsync = os.fsync

    def spying_fsync(fd: int) -> None:
        if path.exists():
            on_disk_at_fsync.append(path.read_bytes())
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", spying_fsync)

    sut.append({"id": 1})

    assert b'{"id":1}\n' in on_disk_at_fsync


def test_a_torn_last_line_is_skipped_and_reported(
    sut: JsonlFile, path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    sut.append({"id": 1})
    with path.open("ab") as handle:
        handle.write(b'{"id":2,"te')  # a crash in the middle of a write

    with caplog.at_level(logging.WARNING):
        result = sut.read()

    assert result == ReadResult(records=[{"id": 1}], skipped=[2])
    [warning] = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert "things.jsonl" in warning.getMessage()
    assert str(path.parent) not in warning.getMessage()


def test_the_next_append_after_a_torn_line_starts_a_line_of_its_own(
    sut: JsonlFile, path: Path
) -> None:
    sut.append({"id": 1})
    with path.open("ab") as handle:
        handle.write(b'{"id":2,"te')

    JsonlFile(path).append({"id": 3})

    assert lines(path) == [b'{"id":1}', b'{"id":2,"te', b'{"id":3}', b""]
    assert sut.read() == ReadResult(records=[{"id": 1}, {"id": 3}], skipped=[2])


def test_a_line_torn_by_someone_else_after_our_own_append_is_still_isolated(
    sut: JsonlFile, path: Path
) -> None:
    sut.append({"id": 1})  # this instance now knows where the file ended
    with path.open("ab") as handle:
        handle.write(b'{"torn":')

    sut.append({"id": 3})

    assert sut.read() == ReadResult(records=[{"id": 1}, {"id": 3}], skipped=[2])


def test_a_file_that_is_only_a_torn_fragment_is_isolated(sut: JsonlFile, path: Path) -> None:
    path.parent.mkdir(parents=True)
    path.write_bytes(b'{"half')

    sut.append({"id": 1})

    assert sut.read() == ReadResult(records=[{"id": 1}], skipped=[1])


def test_lines_that_are_not_json_objects_are_skipped(sut: JsonlFile, path: Path) -> None:
    path.parent.mkdir(parents=True)
    path.write_bytes(b'{"id":1}\n[1,2]\n"text"\n\xff\xfe\n\n{"id":2}\n')

    assert sut.read() == ReadResult(records=[{"id": 1}, {"id": 2}], skipped=[2, 3, 4])


def test_append_keeps_writing_after_a_partial_write(
    sut: JsonlFile, path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_write = os.write

    def stingy_write(fd: int, data: bytes) -> int:
        return real_write(fd, bytes(data)[:7])

    monkeypatch.setattr(os, "write", stingy_write)

    sut.append({"id": "a fairly long record", "n": 12345})

    assert path.read_bytes() == b'{"id":"a fairly long record","n":12345}\n'


def test_a_failed_append_leaves_the_file_as_it_was(
    sut: JsonlFile, path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sut.append({"id": 1})
    before = path.read_bytes()
    real_write = os.write
    calls = 0

    def failing_write(fd: int, data: bytes) -> int:
        nonlocal calls
        calls += 1
        if calls == 1:
            return real_write(fd, bytes(data)[:5])
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "write", failing_write)

    with pytest.raises(OSError, match="No space"):
        sut.append({"id": 2, "text": "never whole"})

    assert path.read_bytes() == before


def test_fifty_concurrent_appends_from_threads_give_fifty_whole_lines(path: Path) -> None:
    payload = "x" * 5000  # long lines, so interleaving would show

    def append(number: int) -> None:
        JsonlFile(path).append({"n": number, "payload": payload})

    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(append, range(50)))

    raw = path.read_bytes().split(b"\n")
    assert raw[-1] == b""
    parsed = [json.loads(line) for line in raw[:-1]]
    assert sorted(record["n"] for record in parsed) == list(range(50))
    assert all(record["payload"] == payload for record in parsed)


def test_concurrent_appends_from_processes_never_interleave(path: Path) -> None:
    script = textwrap.dedent(
        """
        import sys
        from pathlib import Path
        from trainerbot.adapters.storage import JsonlFile

        writer, path = sys.argv[1], Path(sys.argv[2])
        for n in range(20):
            JsonlFile(path).append({"writer": writer, "n": n, "payload": writer * 70000})
        """
    )
    processes = [
        subprocess.Popen([sys.executable, "-c", script, name, str(path)]) for name in "abcd"
    ]
    assert [process.wait(timeout=60) for process in processes] == [0, 0, 0, 0]

    result = JsonlFile(path).read()
    assert result.skipped == []
    assert sorted((r["writer"], r["n"]) for r in result.records) == [
        (w, n) for w in "abcd" for n in range(20)
    ]
    assert all(r["payload"] == r["writer"] * 70000 for r in result.records)


async def test_async_wrappers_append_and_read(sut: JsonlFile) -> None:
    await sut.append_async({"id": 1})

    assert await sut.read_async() == ReadResult(records=[{"id": 1}], skipped=[])
