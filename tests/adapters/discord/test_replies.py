"""split_reply: a long answer becomes Discord messages within the limit, code fences balanced,
nothing lost."""

from __future__ import annotations

import random

import pytest

from trainerbot.adapters.discord.replies import DISCORD_MESSAGE_LIMIT, split_reply

FENCE = "```"


def fence_lines(chunk: str) -> int:
    return sum(1 for line in chunk.split("\n") if line.startswith(FENCE))


def bodies(chunk: str) -> list[str]:
    """The chunk's possible texts once fence lines added by the split are removed: a first line
    that (re)opens a fence, a last line that closes one, or both."""
    lines = chunk.split("\n")
    reopened = len(lines) > 1 and lines[0].startswith(FENCE)
    closed = len(lines) > 1 and lines[-1] == FENCE
    candidates = [chunk]
    if reopened:
        candidates.append("\n".join(lines[1:]))
    if closed:
        candidates.append("\n".join(lines[:-1]))
    if reopened and closed and len(lines) > 2:
        candidates.append("\n".join(lines[1:-1]))
    return candidates


def rebuilds(chunks: list[str], text: str) -> bool:
    """Whether ``text`` is the chunks, without added fence lines, joined by the separators the
    split dropped: a line break, a space, or nothing (a hard cut).

    Only trailing whitespace may be missing: the one loss the rules allow where, as in these
    texts, no blank run is longer than a chunk.
    """
    pending = [(0, 0)]  # (index of the next chunk, position in text)
    while pending:
        number, position = pending.pop()
        if number == len(chunks):
            if not text[position:].strip():
                return True
            continue
        for body in bodies(chunks[number]):
            if not text.startswith(body, position):
                continue
            after = position + len(body)
            pending.append((number + 1, after))
            for separator in ("\n", " "):
                if text.startswith(separator, after):
                    pending.append((number + 1, after + len(separator)))
    return False


@pytest.mark.parametrize("text", ["", " ", "\n\n", " \t\n  "])
def test_empty_or_blank_text_gives_no_chunks(text: str) -> None:
    assert split_reply(text) == []


@pytest.mark.parametrize(
    "text",
    [
        "Paris.",
        "\n  Leading and trailing whitespace is kept.  \n\n",
        "An unclosed fence that fits:\n```python\nprint(1)",
    ],
)
def test_text_that_fits_is_one_unchanged_chunk(text: str) -> None:
    assert split_reply(text) == [text]


def test_text_of_exactly_the_limit_is_one_chunk() -> None:
    assert split_reply("a" * DISCORD_MESSAGE_LIMIT) == ["a" * DISCORD_MESSAGE_LIMIT]


def test_one_character_over_the_limit_makes_two_chunks() -> None:
    assert split_reply("a" * (DISCORD_MESSAGE_LIMIT + 1)) == ["a" * DISCORD_MESSAGE_LIMIT, "a"]


def test_the_default_limit_is_discords_2000_characters() -> None:
    assert DISCORD_MESSAGE_LIMIT == 2000


def test_many_lines_split_at_the_last_line_break_that_fits() -> None:
    lines = [f"line-{number:03}" for number in range(500)]  # 8 characters, 9 with the break
    lines_per_chunk = 222  # 222 * 9 - 1 = 1997 <= 2000; one more line would be 2006

    chunks = split_reply("\n".join(lines))

    assert chunks == [
        "\n".join(lines[:lines_per_chunk]),
        "\n".join(lines[lines_per_chunk : 2 * lines_per_chunk]),
        "\n".join(lines[2 * lines_per_chunk :]),
    ]


def test_blank_lines_at_a_split_stay_in_the_chunk_except_the_dropped_break() -> None:
    text = "a" * 15 + "\n\n" + "b" * 10

    assert split_reply(text, limit=20) == ["a" * 15 + "\n", "b" * 10]


def test_blank_lines_before_a_long_line_stay_with_its_start() -> None:
    text = "\n\n" + "y" * 30

    assert split_reply(text, limit=20) == ["\n\n" + "y" * 18, "y" * 12]


def test_a_long_line_splits_at_its_last_space_within_the_limit() -> None:
    text = "alpha beta gamma delta epsilon zeta eta theta"

    assert split_reply(text, limit=20) == ["alpha beta gamma", "delta epsilon zeta", "eta theta"]


def test_a_space_just_past_the_limit_is_a_split_point() -> None:
    text = "a" * 20 + " " + "b" * 5

    assert split_reply(text, limit=20) == ["a" * 20, "b" * 5]


def test_a_word_longer_than_the_limit_is_cut_hard_at_the_limit() -> None:
    assert split_reply("x" * 45, limit=20) == ["x" * 20, "x" * 20, "x" * 5]


def test_a_word_longer_than_the_limit_after_a_space_starts_a_new_chunk() -> None:
    assert split_reply("see " + "y" * 30, limit=20) == ["see", "y" * 20, "y" * 10]


def test_a_code_block_over_several_chunks_is_closed_and_reopened_with_its_language() -> None:
    code = "\n".join(f"x = {number}" for number in range(8))
    text = f"intro\n```python\n{code}\n```\noutro"

    chunks = split_reply(text, limit=30)

    assert chunks == [
        "intro\n```python\nx = 0\n```",
        "```python\nx = 1\nx = 2\n```",
        "```python\nx = 3\nx = 4\n```",
        "```python\nx = 5\nx = 6\n```",
        "```python\nx = 7\n```\noutro",
    ]


def test_a_long_code_block_at_the_default_limit_stays_balanced_in_every_chunk() -> None:
    code = "\n".join(f"print('line {number:04}')" for number in range(300))
    text = f"Here is the script:\n```python\n{code}\n```\nThat's all."

    chunks = split_reply(text)

    assert len(chunks) == 3  # about 5,800 characters
    assert chunks[0].startswith("Here is the script:\n```python\n")
    assert all(chunk.startswith("```python\n") for chunk in chunks[1:])
    assert all(chunk.endswith("\n```") for chunk in chunks[:-1])
    assert chunks[-1].endswith("\n```\nThat's all.")
    assert all(len(chunk) <= DISCORD_MESSAGE_LIMIT for chunk in chunks)
    assert all(fence_lines(chunk) % 2 == 0 for chunk in chunks)
    assert rebuilds(chunks, text)


def test_several_code_blocks_each_reopen_with_their_own_language() -> None:
    text = (
        "First:\n```js\nlet a = 1;\nlet b = 2;\nlet c = 3;\n```\n"
        "Then:\n```python\nd = 4\ne = 5\nf = 6\n```\nDone."
    )

    chunks = split_reply(text, limit=28)

    # The block's own closing line ends the third chunk: no closing line is added there.
    assert chunks == [
        "First:\n```js\nlet a = 1;\n```",
        "```js\nlet b = 2;\n```",
        "```js\nlet c = 3;\n```\nThen:",
        "```python\nd = 4\ne = 5\n```",
        "```python\nf = 6\n```\nDone.",
    ]


def test_added_fence_lines_count_toward_the_limit() -> None:
    text = "```\n" + "z" * 12 + "\n" + "y" * 12 + "\n```"

    chunks = split_reply(text, limit=20)

    # Each chunk is "```\n" + 12 characters + "\n```": exactly 20. The first one's closing line
    # is added, the second one's opening line too.
    assert chunks == ["```\n" + "z" * 12 + "\n```", "```\n" + "y" * 12 + "\n```"]


def test_a_split_right_after_an_opening_line_leaves_an_empty_code_block() -> None:
    # The rule is the last line break that fits, even when that is just after the opening line.
    text = "```\n" + "z" * 30 + "\n```"

    chunks = split_reply(text, limit=20)

    assert chunks == [
        "```\n```",
        "```\n" + "z" * 12 + "\n```",
        "```\n" + "z" * 12 + "\n```",
        "```\n" + "z" * 6 + "\n```",
    ]


def test_an_opening_line_longer_than_half_the_limit_reopens_as_a_plain_fence() -> None:
    opening = "```" + "a-very-long-language-tag"
    text = f"{opening}\none\ntwo\n```"

    chunks = split_reply(text, limit=36)

    assert chunks == [f"{opening}\none\n```", "```\ntwo\n```"]


def test_an_unclosed_fence_is_closed_in_the_last_chunk() -> None:
    text = "```sh\n" + "echo hi\n" * 5

    chunks = split_reply(text, limit=30)

    assert chunks[-1].endswith("\n```")
    assert all(fence_lines(chunk) % 2 == 0 for chunk in chunks)
    assert rebuilds(chunks, text)


def test_a_trailing_line_break_after_the_last_split_is_dropped() -> None:
    assert split_reply("a" * 20 + "\n", limit=20) == ["a" * 20]


def test_a_blank_run_longer_than_a_chunk_loses_only_what_cannot_share_one() -> None:
    text = "a" * 20 + "\n" + " " * 30 + "\nb"

    chunks = split_reply(text, limit=20)

    # 20 of the 30 spaces would make a chunk of their own; the other 10 go with the text.
    assert chunks == ["a" * 20, " " * 10 + "\nb"]


@pytest.mark.parametrize("limit", [19, 1, 0, -5])
def test_a_limit_below_20_is_refused(limit: int) -> None:
    with pytest.raises(ValueError, match="at least 20"):
        split_reply("hello", limit=limit)


def test_a_limit_of_20_is_accepted() -> None:
    assert split_reply("hello", limit=20) == ["hello"]


WORDS = ["a", "to", "the", "model", "answer", "Discord", "message", "chunk", "é", "🎉"]
LANGUAGES = ["", "python", "js", "rust", "a-rather-long-language-tag"]


def random_text(rng: random.Random) -> str:
    """Lines of words, long words, blank lines and code fences (sometimes left open), with no
    blank run longer than two lines: the split then loses nothing but trailing whitespace."""
    lines: list[str] = []
    fence_open = False
    for _ in range(rng.randint(1, 60)):
        roll = rng.random()
        if roll < 0.15:
            lines.append(FENCE if fence_open else FENCE + rng.choice(LANGUAGES))
            fence_open = not fence_open
        elif roll < 0.25:
            if lines[-2:] != ["", ""]:
                lines.append("")
        elif roll < 0.35:
            lines.append(rng.choice("xyz") * rng.randint(10, 300))
        else:
            words = [rng.choice(WORDS) for _ in range(rng.randint(1, 40))]
            if rng.random() < 0.3:
                words.insert(rng.randrange(len(words)), "w" * rng.randint(20, 120))
            indent = "  " if fence_open else ""
            lines.append(indent + " ".join(words))
    if fence_open and rng.random() < 0.5:
        lines.append(FENCE)
    text = "\n".join(lines)
    if rng.random() < 0.2:
        text += "\n"
    return text


@pytest.mark.parametrize("seed", range(8))
def test_random_texts_keep_every_rule(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(60):
        text = random_text(rng)
        limit = rng.choice([20, 21, 25, 32, 50, 80, 200, DISCORD_MESSAGE_LIMIT])

        chunks = split_reply(text, limit=limit)

        context = f"limit={limit} text={text!r}"
        if not text.strip():
            assert chunks == [], context
            continue
        if len(text) <= limit:
            assert chunks == [text], context
            continue
        assert all(len(chunk) <= limit for chunk in chunks), context
        assert all(chunk.strip() for chunk in chunks), context
        assert all(fence_lines(chunk) % 2 == 0 for chunk in chunks), context
        assert rebuilds(chunks, text), context
