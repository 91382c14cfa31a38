"""Metrics computed by our own code: text normalisation, F1, intervals, reports and comparisons."""

from __future__ import annotations

import pytest

from trainerbot.core.entities import NEGATIVE, POSITIVE, Dataset, Example, Task
from trainerbot.core.evaluation import (
    INVALID_OUTPUT,
    Comparison,
    EvaluationReport,
    Prediction,
    compare,
    evaluate,
    match_label,
    metric_name,
    normalize,
    prediction_records,
    token_f1,
    wilson_interval,
)

# --- normalize -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("  Hello,   WORLD!! ", "hello world"),
        ("ｆｕｌｌ　ｗｉｄｔｈ", "full width"),
        ("Straße", "strasse"),
        ("label:positive", "label positive"),
        ("«Да» — нет.", "да нет"),
        ("tabs\tand\nnewlines", "tabs and newlines"),
        ("$5 + 3", "$5 + 3"),
        ("", ""),
    ],
)
def test_normalize(text: str, expected: str) -> None:
    assert normalize(text) == expected


# --- token_f1 --------------------------------------------------------------------------------


def test_token_f1_of_identical_text_is_one() -> None:
    assert token_f1("The cat sat.", "the cat sat") == 1.0


def test_token_f1_of_disjoint_text_is_zero() -> None:
    assert token_f1("dog", "cat") == 0.0


def test_token_f1_of_a_partial_answer() -> None:
    # 3 shared tokens: precision 3/3, recall 3/6, F1 = 2 * 1 * 0.5 / 1.5.
    assert token_f1("the cat sat", "the cat sat on the mat") == pytest.approx(2 / 3)


def test_token_f1_counts_repeated_tokens_once_each() -> None:
    # Shared bag {the: 1}: precision 1/3, recall 1/2, F1 = 0.4.
    assert token_f1("the the the", "the end") == pytest.approx(0.4)


def test_token_f1_of_two_empty_texts_is_one() -> None:
    assert token_f1("", "  ...") == 1.0


def test_token_f1_with_one_empty_text_is_zero() -> None:
    assert token_f1("", "answer") == 0.0


# --- wilson_interval -------------------------------------------------------------------------


def test_wilson_interval_of_8_of_10() -> None:
    # p = 0.8, z² = 3.8416: centre 0.99208 / 1.38416, half 1.96 * sqrt(0.025604) / 1.38416.
    low, high = wilson_interval(8, 10)

    assert low == pytest.approx(0.4902, abs=1e-4)
    assert high == pytest.approx(0.9433, abs=1e-4)


def test_wilson_interval_of_none_of_10_starts_at_zero() -> None:
    low, high = wilson_interval(0, 10)

    assert low == 0.0
    assert high == pytest.approx(0.2775, abs=1e-4)


def test_wilson_interval_of_all_of_10_ends_at_one() -> None:
    low, high = wilson_interval(10, 10)

    assert low == pytest.approx(0.7225, abs=1e-4)
    assert high == 1.0


def test_wilson_interval_of_no_trials_is_the_whole_range() -> None:
    assert wilson_interval(0, 0) == (0.0, 1.0)


@pytest.mark.parametrize(("successes", "n"), [(-1, 10), (11, 10), (0, -1)])
def test_wilson_interval_refuses_impossible_counts(successes: int, n: int) -> None:
    with pytest.raises(ValueError, match="successes"):
        wilson_interval(successes, n)


# --- match_label -----------------------------------------------------------------------------


LABELS = (NEGATIVE, POSITIVE)


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        ("positive", POSITIVE),
        ("  Positive. ", POSITIVE),
        ("The review is negative.", NEGATIVE),
        ("label:positive", POSITIVE),
        ("positive or negative", None),
        ("positively", None),
        ("I cannot tell", None),
        ("", None),
    ],
)
def test_match_label(output: str, expected: str | None) -> None:
    assert match_label(output, LABELS) == expected


def test_match_label_prefers_the_longer_label_containing_another() -> None:
    labels = ("positive", "not positive")

    assert match_label("It is not positive at all", labels) == "not positive"


def test_match_label_exact_match_beats_word_match() -> None:
    labels = ("spam", "not spam")

    assert match_label("Not spam!", labels) == "not spam"


def test_match_label_ignores_empty_labels() -> None:
    assert match_label("", ("", "yes")) is None


# --- classification --------------------------------------------------------------------------


def review(index: int, label: str) -> Example:
    return Example.single_turn(f"review {index}", label, origin=f"line {index}")


def classification_case() -> tuple[Dataset, list[Prediction]]:
    """A hand-built confusion matrix.

    expected positive: 3 right, 1 said negative, 1 model error      (support 5)
    expected negative: 2 right, 1 said positive, 1 invalid output   (support 4)
    """
    rows = [
        (POSITIVE, "positive", None),
        (POSITIVE, "Positive.", None),
        (POSITIVE, "I think positive", None),
        (POSITIVE, "negative", None),
        (POSITIVE, "", "timeout"),
        (NEGATIVE, "negative", None),
        (NEGATIVE, "NEGATIVE", None),
        (NEGATIVE, "positive", None),
        (NEGATIVE, "maybe", None),
    ]
    examples = [review(i, label) for i, (label, _, _) in enumerate(rows, start=1)]
    predictions = [
        Prediction(example, output, error)
        for example, (_, output, error) in zip(examples, rows, strict=True)
    ]
    return Dataset("reviews:test", Task.CLASSIFICATION, tuple(examples)), predictions


def classification_report() -> EvaluationReport:
    dataset, predictions = classification_case()
    return evaluate("ft:clf", dataset, predictions)


def test_classification_confusion_has_an_invalid_output_column() -> None:
    sut = classification_report()

    assert sut.confusion == {
        NEGATIVE: {NEGATIVE: 2, POSITIVE: 1, INVALID_OUTPUT: 1},
        POSITIVE: {NEGATIVE: 1, POSITIVE: 3, INVALID_OUTPUT: 1},
    }


def test_classification_accuracy_counts_errors_as_wrong() -> None:
    sut = classification_report()

    assert sut.count == 9
    assert sut.metrics["accuracy"] == pytest.approx(5 / 9)
    assert sut.accuracy_interval == wilson_interval(5, 9)


def test_classification_per_class_precision_recall_f1() -> None:
    sut = classification_report()

    negative, positive = sut.per_class
    # negative: tp 2, predicted negative 3, support 4.
    assert negative.label == NEGATIVE
    assert negative.precision == pytest.approx(2 / 3)
    assert negative.recall == pytest.approx(1 / 2)
    assert negative.f1 == pytest.approx(4 / 7)
    assert negative.support == 4
    # positive: tp 3, predicted positive 4, support 5.
    assert (positive.label, positive.precision, positive.recall) == (POSITIVE, 0.75, 0.6)
    assert positive.f1 == pytest.approx(2 / 3)
    assert positive.support == 5


def test_classification_macro_f1_is_the_mean_of_class_f1() -> None:
    sut = classification_report()

    assert sut.metrics["macro_f1"] == pytest.approx((2 / 3 + 4 / 7) / 2)


def test_classification_counts_errors_and_invalid_outputs_apart() -> None:
    sut = classification_report()

    assert (sut.errors, sut.invalid_outputs) == (1, 1)


def test_classification_failures_are_errors_then_invalid_then_wrong() -> None:
    sut = classification_report()

    assert [p.example.origin for p in sut.failures] == ["line 5", "line 9", "line 4", "line 8"]


def test_classification_summary() -> None:
    sut = classification_report()

    low, high = wilson_interval(5, 9)
    assert sut.summary() == (
        f"accuracy 0.56 (95% CI {low:.2f}–{high:.2f}) on 9 examples, 1 invalid output, 1 error"
    )


def test_summary_of_the_example_in_the_docs() -> None:
    examples = tuple(review(i, POSITIVE if i % 2 else NEGATIVE) for i in range(40))
    outputs = [e.completion for e in examples]
    outputs[0] = outputs[1] = "no idea"
    for i in range(2, 7):
        outputs[i] = POSITIVE if examples[i].completion == NEGATIVE else NEGATIVE
    predictions = [Prediction(e, o) for e, o in zip(examples, outputs, strict=True)]

    sut = evaluate("m", Dataset("d", Task.CLASSIFICATION, examples), predictions)

    assert sut.summary() == "accuracy 0.82 (95% CI 0.68–0.91) on 40 examples, 2 invalid outputs"


def test_undefined_precision_is_zero() -> None:
    examples = (review(1, POSITIVE), review(2, NEGATIVE))
    predictions = [Prediction(examples[0], "negative"), Prediction(examples[1], "negative")]

    sut = evaluate("m", Dataset("d", Task.CLASSIFICATION, examples), predictions)

    positive = sut.per_class[1]
    assert (positive.precision, positive.recall, positive.f1) == (0.0, 0.0, 0.0)


def test_classification_lines_include_the_per_class_table() -> None:
    lines = classification_report().lines()

    assert lines[1:3] == ["accuracy: 0.56 (95% CI 0.27–0.81)", "macro F1: 0.62"]
    assert lines[3:6] == [
        "label     precision  recall  f1    support",
        "negative  0.67       0.50    0.57  4",
        "positive  0.75       0.60    0.67  5",
    ]


def test_lines_list_numbered_failures_with_expected_and_output() -> None:
    lines = classification_report().lines()

    assert lines[6:] == [
        "4 failures:",
        '1. "review 5": expected "positive", error "timeout"',
        '2. "review 9": expected "negative", got "maybe"',
        '3. "review 4": expected "positive", got "negative"',
        '4. "review 8": expected "negative", got "positive"',
    ]


# --- chat ------------------------------------------------------------------------------------


def qa(question: str, answer: str, **kwargs: object) -> Example:
    return Example.single_turn(question, answer, origin=question, **kwargs)


def chat_case() -> tuple[Dataset, list[Prediction]]:
    examples = (
        qa("capital of France?", "Paris"),
        qa("2+2?", "Four."),
        qa("colour of sky?", "the sky is blue"),
        qa("hello?", "hi"),
        qa("joke?", "a rude joke", wanted=False),
    )
    predictions = [
        Prediction(examples[0], "Paris\n"),  # exact after strip
        Prediction(examples[1], "four"),  # normalised only
        Prediction(examples[2], "blue"),  # F1: p 1/1, r 1/4 -> 0.4
        Prediction(examples[3], "", error="rate limited"),
        Prediction(examples[4], "a clean joke"),  # unwanted: 1 - F1(2/3) = 1/3
    ]
    return Dataset("qa:test", Task.CHAT, examples), predictions


def chat_report() -> EvaluationReport:
    dataset, predictions = chat_case()
    return evaluate("ft:chat", dataset, predictions)


def test_chat_metrics_are_means_over_examples() -> None:
    sut = chat_report()

    assert sut.metrics == {
        "exact_match": pytest.approx((1 + 0 + 0 + 0 + 1) / 5),
        "normalized_match": pytest.approx((1 + 1 + 0 + 0 + 1) / 5),
        "token_f1": pytest.approx((1 + 1 + 0.4 + 0 + 1 / 3) / 5),
    }


def test_chat_report_has_no_classification_parts() -> None:
    sut = chat_report()

    assert (sut.accuracy_interval, sut.per_class, sut.confusion) == (None, (), {})


def test_chat_failures_are_lowest_token_f1_first() -> None:
    sut = chat_report()

    assert [p.example.origin for p in sut.failures] == ["hello?", "colour of sky?"]
    assert sut.errors == 1


def test_unwanted_chat_example_fails_when_the_output_says_it() -> None:
    example = qa("joke?", "a rude joke", wanted=False)

    sut = evaluate("m", Dataset("d", Task.CHAT, (example,)), [Prediction(example, "A rude joke!")])

    assert sut.metrics == {"exact_match": 1.0, "normalized_match": 0.0, "token_f1": 0.0}
    assert sut.failures == (Prediction(example, "A rude joke!"),)


def test_chat_summary() -> None:
    assert chat_report().summary() == (
        "token F1 0.55, exact match 0.40, normalized match 0.60 on 5 examples, 1 error"
    )


def test_failure_lines_mark_unwanted_answers() -> None:
    example = qa("joke?", "a rude joke", wanted=False)
    sut = evaluate("m", Dataset("d", Task.CHAT, (example,)), [Prediction(example, "a rude joke")])

    assert sut.lines()[-1] == '1. "joke?": expected not "a rude joke", got "a rude joke"'


def test_failure_lines_are_shortened_to_100_characters() -> None:
    long_question = "why " * 60
    example = qa(long_question, "because " * 40)
    sut = evaluate("m", Dataset("d", Task.CHAT, (example,)), [Prediction(example, "no idea " * 40)])

    failure = sut.lines()[-1]

    assert failure.startswith('1. "why why why')
    assert len(failure) <= 100
    assert failure.endswith("…")


def test_lines_show_at_most_five_failures() -> None:
    examples = tuple(qa(f"q{i}", f"a{i}") for i in range(8))
    predictions = [Prediction(e, "wrong") for e in examples]

    lines = evaluate("m", Dataset("d", Task.CHAT, examples), predictions).lines()

    assert "worst 5 of 8 failures:" in lines
    assert lines[-5:] == [f'{i + 1}. "q{i}": expected "a{i}", got "wrong"' for i in range(5)]


def test_empty_dataset_summary() -> None:
    sut = evaluate("m", Dataset("d", Task.CHAT, ()), [])

    assert sut.summary() == "m: no examples to evaluate"
    assert sut.metrics == {"exact_match": 0.0, "normalized_match": 0.0, "token_f1": 0.0}


# --- alignment -------------------------------------------------------------------------------


def test_evaluate_refuses_a_missing_prediction() -> None:
    dataset, predictions = chat_case()

    with pytest.raises(ValueError, match="4 predictions for 5 examples"):
        evaluate("m", dataset, predictions[:-1])


def test_evaluate_refuses_predictions_out_of_order() -> None:
    dataset, predictions = chat_case()

    with pytest.raises(ValueError, match="prediction 0 is not for example 0"):
        evaluate("m", dataset, [predictions[1], predictions[0], *predictions[2:]])


def test_evaluate_matches_examples_by_content_not_origin() -> None:
    example = qa("q", "a")
    moved = Example.single_turn("q", "a", origin="elsewhere")

    sut = evaluate("m", Dataset("d", Task.CHAT, (example,)), [Prediction(moved, "a")])

    assert sut.metrics["exact_match"] == 1.0


# --- compare ---------------------------------------------------------------------------------


def test_compare_counts_wins_losses_and_ties_per_example() -> None:
    dataset, predictions = classification_case()
    baseline = evaluate("base", dataset, [Prediction(p.example, POSITIVE) for p in predictions])
    # Always "positive": right on the 5 positive examples, wrong on the 4 negative ones.

    sut = compare(classification_report(), baseline)

    # Model right where baseline wrong: lines 6, 7 (wins). Baseline right, model wrong:
    # lines 4, 5 (losses). Same outcome: lines 1-3, 8, 9.
    assert (sut.wins, sut.losses, sut.ties) == (2, 2, 5)


def test_compare_deltas_are_model_minus_baseline() -> None:
    dataset, predictions = classification_case()
    baseline = evaluate("base", dataset, [Prediction(p.example, POSITIVE) for p in predictions])

    sut = compare(classification_report(), baseline)

    assert sut.deltas["accuracy"] == pytest.approx(5 / 9 - 5 / 9)
    assert sut.deltas["macro_f1"] == pytest.approx((2 / 3 + 4 / 7) / 2 - (0 + 10 / 14) / 2)


def test_compare_chat_uses_token_f1() -> None:
    dataset, predictions = chat_case()
    baseline = evaluate("base", dataset, [Prediction(p.example, "blue") for p in predictions])

    sut = compare(chat_report(), baseline)

    # Scores ours/base: 1/0, 1/0, 0.4/0.4, 0/0, 1/3 vs 1 (unwanted, "blue" shares nothing).
    assert (sut.wins, sut.losses, sut.ties) == (2, 1, 2)


def test_compare_refuses_reports_over_different_examples() -> None:
    dataset, predictions = chat_case()
    other = evaluate(
        "base",
        Dataset("d", Task.CHAT, dataset.examples[:4]),
        predictions[:4],
    )

    with pytest.raises(ValueError, match="not over the same examples"):
        compare(chat_report(), other)


def test_compare_refuses_reports_of_different_tasks() -> None:
    with pytest.raises(ValueError, match="not over the same examples"):
        compare(chat_report(), classification_report())


def test_comparison_summary() -> None:
    sut = Comparison(
        model="ft:x",
        baseline="base",
        deltas={"accuracy": 0.125, "macro_f1": -0.05},
        wins=7,
        losses=2,
        ties=31,
    )

    assert sut.summary() == (
        "ft:x vs base: accuracy +0.12, macro F1 -0.05; better on 7, worse on 2, same on 31 examples"
    )


def test_example_scores_are_per_example_correctness_for_classification() -> None:
    sut = classification_report()

    assert sut.example_scores() == (1.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0)


# --- predictions.jsonl records ---------------------------------------------------------------


def test_prediction_records_of_a_classifier_name_the_label_and_number_the_failures() -> None:
    records = prediction_records(classification_report())

    assert len(records) == 9
    assert records[0] == {
        "n": 1,
        "prompt": [{"role": "user", "content": "review 1"}],
        "user": "review 1",
        "expected": POSITIVE,
        "origin": "line 1",
        "output": "positive",
        "error": None,
        "label": POSITIVE,
        "score": 1.0,
        "correct": True,
        "failure": None,
    }
    # Failures are numbered as the report lists them: errors, invalid outputs, wrong labels.
    assert {r["user"]: r["failure"] for r in records if not r["correct"]} == {
        "review 5": 1,
        "review 9": 2,
        "review 4": 3,
        "review 8": 4,
    }
    assert records[4]["error"] == "timeout"
    assert records[4]["label"] is None
    assert records[8]["label"] is None  # "maybe" names no label
    assert records[3]["label"] == NEGATIVE


def test_prediction_records_of_chat_score_token_f1_and_mark_unwanted_examples() -> None:
    records = prediction_records(chat_report())

    assert [r["score"] for r in records] == [1.0, 1.0, 0.4, 0.0, pytest.approx(1 / 3, abs=1e-6)]
    assert [r["correct"] for r in records] == [True, True, False, False, True]
    assert [r["failure"] for r in records] == [None, None, 2, 1, None]
    assert "label" not in records[0]
    assert records[4]["wanted"] is False
    assert "wanted" not in records[0]


def test_prediction_records_with_a_baseline_carry_its_answers_too() -> None:
    dataset, predictions = classification_case()
    baseline = evaluate("base", dataset, [Prediction(p.example, POSITIVE) for p in predictions])

    records = prediction_records(classification_report(), baseline)

    assert {key for key in records[0] if key.startswith("baseline_")} == {
        "baseline_output",
        "baseline_error",
        "baseline_label",
        "baseline_score",
        "baseline_correct",
    }
    assert [r["baseline_correct"] for r in records] == [True] * 5 + [False] * 4
    assert records[7]["baseline_output"] == POSITIVE


def test_prediction_records_refuse_a_baseline_over_other_examples() -> None:
    dataset, predictions = chat_case()
    other = evaluate("base", Dataset("d", Task.CHAT, dataset.examples[:4]), predictions[:4])

    with pytest.raises(ValueError, match="not over the same examples"):
        prediction_records(chat_report(), other)


@pytest.mark.parametrize(
    ("key", "name"),
    [("macro_f1", "macro F1"), ("token_f1", "token F1"), ("some_new_metric", "some new metric")],
)
def test_metric_name(key: str, name: str) -> None:
    assert metric_name(key) == name
