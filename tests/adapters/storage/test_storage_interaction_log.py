"""JsonlInteractionLog: durable, indexed by message, conversation-ordered."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from trainerbot.adapters.storage import JsonlFile, JsonlInteractionLog
from trainerbot.core.entities import Interaction

START = datetime(2025, 1, 1, tzinfo=UTC)


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "records" / "interactions.jsonl"


@pytest.fixture
def sut(path: Path) -> JsonlInteractionLog:
    return JsonlInteractionLog(path)


def interaction(number: int, conversation: str = "chan-1", **changes: Any) -> Interaction:
    values: dict[str, Any] = {
        "id": f"int-{number}",
        "conversation_id": conversation,
        "author_id": "user-1",
        "message_id": f"m-{number}",
        "prompt": f"question {number}",
        "reply": f"answer {number}",
        "model": "gpt-test",
        "created_at": START + timedelta(minutes=number),
    }
    values.update(changes)
    return Interaction(**values)


def lines_of(path: Path) -> list[str]:
    return path.read_text().splitlines()


def bytes_of(path: Path) -> bytes:
    return path.read_bytes()


async def test_append_writes_one_interaction_record(sut: JsonlInteractionLog, path: Path) -> None:
    await sut.append(interaction(1))

    [line] = lines_of(path)
    assert json.loads(line)["type"] == "interaction"
    assert json.loads(line)["id"] == "int-1"


async def test_link_reply_returns_the_updated_interaction_and_records_a_link(
    sut: JsonlInteractionLog, path: Path
) -> None:
    await sut.append(interaction(1))

    linked = await sut.link_reply("int-1", "reply-a")

    assert linked == interaction(1, reply_message_ids=("reply-a",))
    last = json.loads(lines_of(path)[-1])
    assert last == {
        "type": "reply_link",
        "v": 1,
        "interaction_id": "int-1",
        "message_id": "reply-a",
    }


async def test_link_reply_to_an_unknown_interaction_is_none_and_writes_nothing(
    sut: JsonlInteractionLog, path: Path
) -> None:
    await sut.append(interaction(1))
    before = bytes_of(path)

    assert await sut.link_reply("int-404", "reply-a") is None
    assert bytes_of(path) == before


async def test_linking_the_same_reply_twice_records_it_once(
    sut: JsonlInteractionLog, path: Path
) -> None:
    await sut.append(interaction(1))
    await sut.link_reply("int-1", "reply-a")

    again = await sut.link_reply("int-1", "reply-a")

    assert again == interaction(1, reply_message_ids=("reply-a",))
    assert len(lines_of(path)) == 2


async def test_a_fresh_instance_rebuilds_the_index_from_disk(
    sut: JsonlInteractionLog, path: Path
) -> None:
    await sut.append(interaction(1))
    await sut.append(interaction(2, conversation="chan-2"))
    await sut.append(interaction(3))
    await sut.link_reply("int-1", "reply-a")

    fresh = JsonlInteractionLog(path)

    assert await fresh.find_by_message("reply-a") == interaction(1, reply_message_ids=("reply-a",))
    assert [i.id for i in await fresh.recent("chan-1", 10)] == ["int-1", "int-3"]
    assert await fresh.find_by_message("m-2") == interaction(2, conversation="chan-2")


async def test_queries_do_not_read_the_file_again_after_loading(
    sut: JsonlInteractionLog, path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await sut.append(interaction(1))
    reads = 0
    real_read = JsonlFile.read

    def counting_read(self: JsonlFile) -> Any:
        nonlocal reads
        reads += 1
        return real_read(self)

    monkeypatch.setattr(JsonlFile, "read", counting_read)

    await sut.append(interaction(2))
    await sut.link_reply("int-2", "reply-a")
    assert await sut.find_by_message("reply-a") is not None
    assert len(await sut.recent("chan-1", 10)) == 2
    assert reads == 0


async def test_a_torn_line_and_damaged_records_are_skipped_on_load(path: Path) -> None:
    writer = JsonlInteractionLog(path)
    await writer.append(interaction(1))
    with path.open("a") as handle:
        handle.write('{"type":"interaction","v":1,"id":"broken"}\n')  # fields missing
        handle.write('{"type":"reply_link","v":1,"interaction_id":"int-404","message_id":"x"}\n')
        handle.write('{"type":"interaction","v":1,"id":"to')  # torn by a crash

    sut = JsonlInteractionLog(path)

    assert [i.id for i in await sut.recent("chan-1", 10)] == ["int-1"]
    await sut.append(interaction(2))
    assert [i.id for i in await JsonlInteractionLog(path).recent("chan-1", 10)] == [
        "int-1",
        "int-2",
    ]


async def test_concurrent_appends_are_all_indexed_in_file_order(
    sut: JsonlInteractionLog, path: Path
) -> None:
    await asyncio.gather(*(sut.append(interaction(n)) for n in range(20)))

    in_memory = [i.id for i in await sut.recent("chan-1", 100)]
    on_disk = [i.id for i in await JsonlInteractionLog(path).recent("chan-1", 100)]
    assert sorted(in_memory) == sorted(f"int-{n}" for n in range(20))
    assert in_memory == on_disk


async def test_after_append_returns_a_fresh_instance_sees_the_interaction(
    sut: JsonlInteractionLog, path: Path
) -> None:
    await sut.append(interaction(1))

    assert await JsonlInteractionLog(path).find_by_message("m-1") == interaction(1)
