"""Building a dataset from what was read, and the validation report of it."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from records_support import CLEAN_REPORT

from trainerbot.core.datasets import (
    ParseResult,
    Problem,
    ValidationReport,
    build_dataset,
    validate,
)
from trainerbot.core.entities import NEGATIVE, POSITIVE, Dataset, Example, Task

# --- build_dataset and validate --------------------------------------------------------------


def qa(index: int) -> Example:
    return Example.single_turn(f"question {index}", f"answer {index}")


def parsed_of(
    *examples: Example, task: Task = Task.CHAT, problems: tuple[Problem, ...] = ()
) -> ParseResult:
    return ParseResult(examples=examples, problems=problems, task=task)


def test_build_dataset_removes_exact_duplicates_keeping_the_first() -> None:
    first = Example.single_turn("hi", "hello", origin="line 1")
    again = Example.single_turn("hi", "hello", origin="line 2")
    other = Example.single_turn("hi", "hey", origin="line 3")

    dataset, removed = build_dataset("greetings", parsed_of(first, again, other), source="chat")

    assert dataset == Dataset("greetings", Task.CHAT, (first, other), source="chat")
    assert removed == 1


def test_build_dataset_keeps_the_task() -> None:
    example = Example.single_turn("x", POSITIVE)

    dataset, _ = build_dataset("r", parsed_of(example, task=Task.CLASSIFICATION), source="")

    assert dataset.task is Task.CLASSIFICATION


def test_validate_counts_the_split() -> None:
    # By the hash of their text, questions 2, 5 and 10 land in the test share.
    parsed = parsed_of(*(qa(i) for i in range(12)))
    dataset, duplicates = build_dataset("qa", parsed, source="")

    sut = validate(dataset, parsed, duplicates=duplicates, min_examples=9)

    assert (sut.example_count, sut.train_count, sut.test_count) == (12, 9, 3)
    assert sut.dataset_version == dataset.version
    assert sut.is_valid


def test_the_same_question_never_lands_on_both_sides() -> None:
    # The split hashes the question (ignoring case and spacing), so asking the same question in
    # other words of spacing or with other answers cannot leak from training into the test part.
    parsed = parsed_of(
        *(Example.single_turn(f"Same  QUESTION {i % 3}", f"answer {i}") for i in range(30))
    )
    dataset, _ = build_dataset("qa", parsed, source="")

    sut = validate(dataset, parsed, duplicates=0, min_examples=1)

    assert sut.leaked == 0
    train, test = dataset.split()
    asked = {e.user_text.casefold() for e in train.examples}
    assert not any(e.user_text.casefold() in asked for e in test.examples)


def test_leakage_is_reported_in_details() -> None:
    sut = report(leaked=2)

    assert sut.is_valid
    assert sut.details()[-1] == (
        "2 test examples asked the same as a training example: "
        "test scores on them will look better than the model is"
    )


def report(**changes: Any) -> ValidationReport:
    return replace(CLEAN_REPORT, **changes)


def test_validate_copies_the_parse_problems_and_labels() -> None:
    problems = (Problem(3, "not a JSON object"),)
    examples = (Example.single_turn("a", POSITIVE), Example.single_turn("b", NEGATIVE))
    parsed = parsed_of(*examples, task=Task.CLASSIFICATION, problems=problems)
    dataset, _ = build_dataset("r", parsed, source="")

    sut = validate(dataset, parsed, duplicates=3, min_examples=1)

    assert sut.problems == problems
    assert sut.labels == (NEGATIVE, POSITIVE)
    assert sut.duplicates == 3
    assert not sut.is_valid


def test_report_with_enough_examples_two_labels_and_no_problems_is_valid() -> None:
    assert report().is_valid


def test_report_with_a_problem_is_invalid() -> None:
    assert not report(problems=(Problem(2, "not a JSON object"),)).is_valid


def test_report_with_too_few_examples_is_invalid() -> None:
    assert not report(example_count=9, train_count=9, test_count=0).is_valid


def test_report_with_exactly_min_examples_is_valid() -> None:
    assert report(example_count=12, train_count=10, test_count=2).is_valid


def test_report_counts_the_training_part_against_the_minimum() -> None:
    assert not report(example_count=10, train_count=8, test_count=2).is_valid


def test_classification_report_with_one_label_is_invalid() -> None:
    assert not report(labels=(POSITIVE,)).is_valid


def test_chat_report_needs_no_labels() -> None:
    assert report(task=Task.CHAT, labels=()).is_valid


def test_duplicates_and_leakage_do_not_invalidate() -> None:
    assert report(duplicates=5, leaked=2).is_valid


def test_valid_summary_gives_counts_labels_and_version() -> None:
    assert report(duplicates=1).summary() == (
        "42 examples (34 train / 8 test), 2 labels, version 1a2b3c4d5e6f; 1 duplicate removed"
    )


def test_valid_chat_summary_has_no_labels_and_names_leakage() -> None:
    sut = report(task=Task.CHAT, labels=(), duplicates=2, leaked=1)

    assert sut.summary() == (
        "42 examples (34 train / 8 test), version 1a2b3c4d5e6f; 2 duplicates removed; "
        "1 test example also in training"
    )


def test_invalid_summary_shows_two_problems_and_how_many_more() -> None:
    problems = (
        Problem(2, "not valid JSON: Expecting value at column 1"),
        Problem(5, "no assistant message"),
        Problem(7, "message 1 has no role"),
    )

    assert report(problems=problems).summary() == (
        "invalid: 3 problems — line 2: not valid JSON: Expecting value at column 1; "
        "line 5: no assistant message; and 1 more"
    )


def test_invalid_summary_without_problems_gives_the_reason() -> None:
    sut = report(example_count=4, train_count=4, test_count=0)

    assert sut.summary() == (
        "invalid: needs at least 10 training examples, has 4 (of 4; 0 held out for testing)"
    )


def test_invalid_summary_names_the_only_label() -> None:
    sut = report(labels=(POSITIVE,))

    assert sut.summary() == "invalid: only one label (positive): a classifier needs at least two"


def test_details_list_problems_then_notes() -> None:
    sut = report(
        problems=(Problem(2, "empty label", source="r.csv"),),
        example_count=4,
        train_count=4,
        test_count=0,
        labels=(POSITIVE,),
        duplicates=1,
        leaked=0,
    )

    assert sut.details() == [
        "r.csv line 2: empty label",
        "needs at least 10 training examples, has 4 (of 4; 0 held out for testing)",
        "only one label (positive): a classifier needs at least two",
        "1 duplicate example removed",
        "no test examples: the split put every example in training",
    ]


def test_details_of_a_clean_report_are_empty() -> None:
    assert report().details() == []
