"""OpenAIEmbeddings against the fake OpenAI server (its embeddings are hashed bags of words)."""

from __future__ import annotations

import base64
import json
import math
import struct

import pytest
from fake_openai import FakeOpenAI, Recorded, embed
from openai import AsyncOpenAI
from openai_adapter_support import EMBEDDING_MODEL, assert_one_clear_line

from trainerbot.adapters.openai import OpenAIEmbeddings, service_name
from trainerbot.adapters.openai.embeddings import BATCH
from trainerbot.core.errors import ServiceError, UnknownModel


def cosine(left: list[float], right: list[float]) -> float:
    dot = sum(a * b for a, b in zip(left, right, strict=True))
    return dot / (math.hypot(*left) * math.hypot(*right))


def close_to(vector: list[float], expected: list[float]) -> bool:
    return len(vector) == len(expected) and all(
        math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-9)
        for a, b in zip(vector, expected, strict=True)
    )


@pytest.fixture
def sut(client: AsyncOpenAI, openai_server: FakeOpenAI) -> OpenAIEmbeddings:
    return OpenAIEmbeddings(
        client, model=EMBEDDING_MODEL, service=service_name(openai_server.base_url)
    )


def embedding_requests(server: FakeOpenAI) -> list[Recorded]:
    return server.requests_to("/embeddings", "POST")


async def test_one_vector_per_text_in_input_order(
    openai_server: FakeOpenAI, sut: OpenAIEmbeddings
) -> None:
    texts = ["the cat sat", "a dog barked", "rain in spring"]

    vectors = await sut.embed(texts)

    assert len(vectors) == len(texts)
    assert all(close_to(v, embed(t)) for v, t in zip(vectors, texts, strict=True))
    [request] = embedding_requests(openai_server)
    assert request.json["model"] == EMBEDDING_MODEL
    assert request.json["input"] == texts


async def test_vectors_all_have_the_same_length(sut: OpenAIEmbeddings) -> None:
    vectors = await sut.embed(["short", "a much longer text with many more words in it", "x"])

    assert {len(vector) for vector in vectors} == {64}


async def test_more_texts_than_a_batch_are_sent_in_several_requests_and_kept_in_order(
    openai_server: FakeOpenAI, sut: OpenAIEmbeddings
) -> None:
    texts = [f"text number {i} word{i}" for i in range(BATCH * 2 + 10)]

    vectors = await sut.embed(texts)

    sizes = [len(r.json["input"]) for r in embedding_requests(openai_server)]
    assert sizes == [BATCH, BATCH, 10]
    assert len(vectors) == len(texts)
    assert all(close_to(v, embed(t)) for v, t in zip(vectors, texts, strict=True))


async def test_blank_texts_keep_their_place(sut: OpenAIEmbeddings) -> None:
    texts = ["first words", "", "   ", "last words"]

    vectors = await sut.embed(texts)

    assert len(vectors) == 4
    assert close_to(vectors[0], embed("first words"))
    assert close_to(vectors[3], embed("last words"))


async def test_no_texts_make_no_request(openai_server: FakeOpenAI, sut: OpenAIEmbeddings) -> None:
    vectors = await sut.embed([])

    assert vectors == []
    assert openai_server.requests == []


async def test_texts_sharing_words_are_closer_than_unrelated_ones(sut: OpenAIEmbeddings) -> None:
    question, paraphrase, unrelated = await sut.embed(
        [
            "how do I reset my password",
            "I forgot my password how do I reset it",
            "the weather in Lisbon is sunny today",
        ]
    )

    assert cosine(question, paraphrase) > cosine(question, unrelated) + 0.3


async def test_unknown_model_is_unknown_model_naming_it(
    openai_server: FakeOpenAI, client: AsyncOpenAI
) -> None:
    sut = OpenAIEmbeddings(
        client, model="text-embedding-0", service=service_name(openai_server.base_url)
    )

    with pytest.raises(UnknownModel) as caught:
        await sut.embed(["hello"])

    assert "'text-embedding-0'" in str(caught.value)
    assert_one_clear_line(str(caught.value))


async def test_server_error_is_a_service_error(
    openai_server: FakeOpenAI, sut: OpenAIEmbeddings
) -> None:
    openai_server.inject("server_error", path="/embeddings")

    with pytest.raises(ServiceError):
        await sut.embed(["hello"])


async def test_fewer_vectors_than_texts_is_a_service_error_not_a_shifted_answer(
    openai_server: FakeOpenAI, sut: OpenAIEmbeddings
) -> None:
    one_vector = base64.b64encode(struct.pack("<3f", 0.1, 0.2, 0.3)).decode()
    body = json.dumps(
        {
            "object": "list",
            "data": [{"object": "embedding", "index": 0, "embedding": one_vector}],
            "model": EMBEDDING_MODEL,
            "usage": {"prompt_tokens": 2, "total_tokens": 2},
        }
    )
    openai_server.inject("malformed", path="/embeddings", body=body)

    with pytest.raises(ServiceError, match="sent 1 embeddings for 2 texts"):
        await sut.embed(["first text", "second text"])
