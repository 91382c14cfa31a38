"""The TokenCounter contract, run against tiktoken's cl100k_base (bundled, offline).

No in-memory counter exists: the use-case tests that need one define their own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from trainerbot.adapters.tokens import TiktokenTokenCounter
from trainerbot.ports import TokenCounter

IMPLEMENTATIONS: dict[str, Callable[[], TokenCounter]] = {
    "tiktoken": TiktokenTokenCounter,
}

TEXTS = [
    "tiktoken is great!",
    "",
    "The quick brown fox jumps over the lazy dog.",
    "Ünïcödé and 日本語 text",
    "a <|endoftext|> inside a text",
]


@pytest.fixture(params=sorted(IMPLEMENTATIONS))
def counter(request: pytest.FixtureRequest) -> Iterator[TokenCounter]:
    sut = IMPLEMENTATIONS[request.param]()
    yield sut
    close = getattr(sut, "close", None)
    if close is not None:
        close()


def test_it_implements_the_port_and_names_its_encoding(counter: TokenCounter) -> None:
    assert isinstance(counter, TokenCounter)
    assert counter.name
    assert counter.name == counter.name.strip()


def test_empty_text_is_no_tokens_and_longer_text_more(counter: TokenCounter) -> None:
    assert counter.count("") == 0
    assert 0 < counter.count("hello") < counter.count("hello there, how are you today?")


def test_count_many_gives_one_count_a_text_in_order(counter: TokenCounter) -> None:
    assert counter.count_many(TEXTS) == [counter.count(text) for text in TEXTS]
    assert counter.count_many([]) == []


def test_count_batches_gives_each_batchs_counts_in_order(counter: TokenCounter) -> None:
    batches = [TEXTS[:2], [], TEXTS[2:], TEXTS[::-1]]

    assert list(counter.count_batches(iter(batches))) == [
        counter.count_many(batch) for batch in batches
    ]


@pytest.mark.parametrize("marker", ["<|endoftext|>", "<|fim_prefix|>", "<|im_start|>"])
def test_special_token_markers_are_counted_as_text_never_refused(
    counter: TokenCounter, marker: str
) -> None:
    assert counter.count(marker) > 0
    assert counter.count_many([marker, "plain"]) == [counter.count(marker), counter.count("plain")]


def test_counting_from_several_threads_gives_the_same_counts(counter: TokenCounter) -> None:
    expected = counter.count_many(TEXTS)

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: counter.count_many(TEXTS), range(16)))

    assert results == [expected] * 16
