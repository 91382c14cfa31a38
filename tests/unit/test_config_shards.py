"""The shard settings: ``TRAINERBOT_SHARD_COUNT`` and ``TRAINERBOT_SHARD_IDS`` (comma-separated,
each below the count), for bot processes that split Discord's servers between them."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from trainerbot.config import Settings


def test_unsharded_by_default() -> None:
    settings = Settings()

    assert settings.shard_count is None
    assert settings.shard_ids == frozenset()


def test_the_shards_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRAINERBOT_SHARD_COUNT", "4")
    monkeypatch.setenv("TRAINERBOT_SHARD_IDS", " 3, 1,")

    settings = Settings()

    assert settings.shard_count == 4
    assert settings.shard_ids == frozenset({1, 3})


def test_a_count_alone_means_every_shard_here() -> None:
    assert Settings(shard_count=2, records="jsonl").shard_ids == frozenset()


@pytest.mark.parametrize(
    ("sharding", "problem"),
    [
        ({"shard_ids": "0"}, "set TRAINERBOT_SHARD_COUNT too"),
        ({"shard_count": 2, "shard_ids": "1,2"}, "shard 2 is not one of the 2 shards"),
        ({"shard_count": 2, "shard_ids": "one"}, "shard ids are numbers"),
        ({"shard_count": 2, "shard_ids": "-1"}, "shard ids are numbers"),
        ({"shard_count": 2, "shard_ids": frozenset({-1})}, "shard -1 is not one of the 2"),
        ({"shard_count": 0}, "greater than or equal to 1"),
    ],
)
def test_impossible_shards_are_refused_in_one_line(
    sharding: dict[str, object], problem: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        Settings(**sharding)  # type: ignore[arg-type]

    [error] = refused.value.errors()
    assert problem in error["msg"]
    assert "\n" not in error["msg"]


def test_some_of_the_shards_need_records_the_other_processes_share() -> None:
    with pytest.raises(ValidationError, match="a database they share"):
        Settings(shard_count=2, shard_ids="1", records="jsonl")

    assert Settings(shard_count=2, shard_ids="1").records_adapter == "sql"
    assert Settings(shard_count=2, shard_ids="0,1", records="jsonl").records_adapter == "jsonl"
