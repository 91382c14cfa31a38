"""The dataset-wide rules the whole-file and the streamed report share: the split, duplicates, the
version, and the digest set that keeps a stream's memory small."""

from __future__ import annotations

from trainerbot.core.datasets.rules import (
    DigestSet,
    Distinct,
    RunningVersion,
    SplitCounts,
    held_out,
    question,
)
from trainerbot.core.entities import NEGATIVE, POSITIVE, Dataset, Example, Task


def asking(text: str, answer: str = "answer", origin: str = "") -> Example:
    return Example.single_turn(text, answer, origin=origin)


def counts_of(examples: list[Example]) -> SplitCounts:
    """The counts of ``examples``, in two batches, each example on the side ``held_out`` says."""
    sut = SplitCounts()
    for batch in (examples[: len(examples) // 2], examples[len(examples) // 2 :]):
        questions = [question(example.user_text) for example in batch]
        sut.add(batch, [held_out(asked) for asked in questions], questions)
    return sut


# --- the split ---------------------------------------------------------------------------------


def test_held_out_puts_each_question_on_the_side_dataset_split_does() -> None:
    examples = [asking(f"  Question  NUMBER {i}?") for i in range(300)]
    _, test = Dataset("d", Task.CHAT, tuple(examples)).split()

    sut = [held_out(question(example.user_text)) for example in examples]

    assert [example for example, out in zip(examples, sut, strict=True) if out] == list(
        test.examples
    )
    assert 0 < sum(sut) < len(examples)


def test_question_ignores_case_and_spacing_only() -> None:
    assert question("  What\tTIME is\nit? ") == "what time is it?"


def test_split_counts_are_the_counts_of_dataset_split() -> None:
    examples = [asking(f"Question {i}") for i in range(300)]
    train, test = Dataset("d", Task.CHAT, tuple(examples)).split()

    sut = counts_of(examples)

    assert (sut.train, sut.test) == (len(train.examples), len(test.examples))
    assert not sut.nothing_held_out


def test_a_test_part_that_would_take_every_example_takes_none() -> None:
    questions = [f"Question {i}" for i in range(100)]
    in_test = [asked for asked in questions if held_out(question(asked))][:2]
    corrections = [
        asking(asked, answer, origin=f"correction c{i}")
        for i, (asked, answer) in enumerate(
            [(in_test[0], "a"), (in_test[1], "b"), (in_test[0], "c")]
        )
    ]

    sut = counts_of(corrections)

    assert sut.nothing_held_out
    assert (sut.train, sut.test, sut.leaked()) == (3, 0, 0)
    assert (sut.corrections, sut.corrections_held_out) == (3, 0)


def test_split_counts_count_corrections_and_those_held_out() -> None:
    examples = [asking(f"Question {i}", origin=f"correction c{i}") for i in range(100)]
    tested = sum(held_out(question(example.user_text)) for example in examples)

    sut = counts_of(examples)

    assert (sut.corrections, sut.corrections_held_out) == (100, tested)


def test_leaked_counts_test_examples_asking_what_training_asks() -> None:
    # "What time is it" trains and "what  time is it?" is held out (by the hash of each).
    examples = [asking("What time is it"), asking("what  time is it?", "It is noon.")]

    sut = counts_of(examples)

    assert (sut.train, sut.test, sut.leaked()) == (1, 1, 1)


# --- duplicates --------------------------------------------------------------------------------


def test_distinct_keeps_the_first_of_each_content_across_batches() -> None:
    first = [asking("a", origin="f line 1"), asking("b"), asking("a", origin="f line 3")]
    second = [asking("b", origin="f line 4"), asking("c"), asking("a", "another answer")]

    for compact in (False, True):
        sut = Distinct(compact=compact)

        kept = [[(index, key) for index, key in sut.first(batch)] for batch in (first, second)]

        assert kept == [
            [(0, first[0].key()), (1, first[1].key())],
            [(1, second[1].key()), (2, second[2].key())],
        ]
        assert sut.duplicates == 2


# --- the version -------------------------------------------------------------------------------


def test_running_version_is_the_dataset_version_for_either_task() -> None:
    examples = tuple(asking(f"review {i}", POSITIVE if i % 2 else NEGATIVE) for i in range(20))
    sut = RunningVersion()

    for example in examples:
        sut.add(example.key())

    for task in Task:
        assert sut.of(task) == Dataset("d", task, examples).version
    assert sut.of(Task.CHAT) != sut.of(Task.CLASSIFICATION)


def test_running_version_of_nothing_is_the_empty_dataset_version() -> None:
    assert RunningVersion().of(Task.CHAT) == Dataset("d", Task.CHAT, ()).version


# --- the digest set ----------------------------------------------------------------------------


def test_digest_set_keeps_every_member_as_it_grows() -> None:
    members = [(i * 0x9E3779B97F4A7C15) % 2**64 for i in range(5_000)]  # 0 among them
    sut = DigestSet()

    added = [sut.add(digest) for digest in members]

    assert all(added)
    assert not any(sut.add(digest) for digest in members)
    assert all(digest in sut for digest in members)
    assert 12345 not in sut
