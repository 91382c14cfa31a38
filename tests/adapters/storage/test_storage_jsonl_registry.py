"""The per-path state the JSON Lines files share is forgotten with the last file on that path: a
bot that has seen many tenants does not keep a lock for every file it ever opened."""

from __future__ import annotations

import gc
from pathlib import Path

from trainerbot.adapters.storage import jsonl
from trainerbot.adapters.storage.jsonl import JsonlFile


def test_the_shared_state_of_a_path_lives_as_long_as_a_file_on_it(tmp_path: Path) -> None:
    path = tmp_path / "records" / "interactions.jsonl"
    first = JsonlFile(path)
    second = JsonlFile(path)
    first.append({"id": 1})

    assert first._state is second._state  # one lock per path inside the process
    assert path in jsonl._REGISTRY

    del first, second
    gc.collect()

    assert path not in jsonl._REGISTRY
    again = JsonlFile(path)
    assert [record["id"] for record in again.read().records] == [1]
