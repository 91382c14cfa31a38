"""The validation report: one data file per error kind, token counts and limits, the cost estimate,
and the streamed path giving the same report as the in-memory one."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from records_support import CLEAN_REPORT

from trainerbot.core.datasets import (
    MAX_PROBLEMS_KEPT,
    NEEDS_LABEL,
    NOT_UTF8,
    Problem,
    ValidationReport,
    build_dataset,
    decode,
    parse_text,
    validate,
    validate_stream,
)
from trainerbot.core.entities import NEGATIVE, POSITIVE, ChatMessage, Example, Role, Task
from trainerbot.core.errors import DatasetError
from trainerbot.core.tokens import (
    BillingEstimate,
    TokenCheck,
    TokenStats,
    TokenSurvey,
    TokenTally,
    TrainingTokens,
)
from trainerbot.ports import TokenCounter

DATA = Path(__file__).parent.parent / "data" / "validation"


class WordCounter(TokenCounter):
    """One token a word: counts a reader can check by eye. Records every batch it is given."""

    name = "words"

    def __init__(self) -> None:
        self.batches: list[list[str]] = []

    def count(self, text: str) -> int:
        return len(text.split())

    def count_many(self, texts: Sequence[str]) -> list[int]:
        self.batches.append(list(texts))
        return [len(text.split()) for text in texts]


def one_epoch(training: TrainingTokens) -> BillingEstimate:
    """A trainer's estimate (``ModelTrainer.estimate``) that bills each training token once."""
    return BillingEstimate(epochs=1, training_tokens=training.tokens)


def check(limit: int | None = 40, *, billing: bool = False) -> TokenCheck:
    return TokenCheck(
        WordCounter(), max_example_tokens=limit, estimate=one_epoch if billing else None
    )


def report_of(
    text: str, *, filename: str = "data.jsonl", min_examples: int = 1, **options: Any
) -> ValidationReport:
    parsed = parse_text(text, filename=filename)
    dataset, duplicates = build_dataset("data", parsed, source=filename)
    return validate(dataset, parsed, duplicates=duplicates, min_examples=min_examples, **options)


def stream_of(text: str, *, min_examples: int = 1, **options: Any) -> ValidationReport:
    lines = text.encode().splitlines(keepends=True)
    return validate_stream(lines, name="data", min_examples=min_examples, **options)


def findings(report: ValidationReport) -> list[str]:
    """Everything wrong the report says, one entry each: problems, then the notes."""
    found = [str(problem) for problem in report.problems]
    if report.omitted_problems:
        found.append(f"{report.omitted_problems} more problems")
    if report.too_few:
        found.append("too few examples")
    if report.one_label:
        found.append("one label")
    if report.duplicates:
        found.append(f"{report.duplicates} duplicate")
    if report.leaked:
        found.append(f"{report.leaked} leaked")
    return found


def chat(question: str, answer: str, system: str | None = None) -> str:
    messages = [{"role": "system", "content": system}] if system else []
    messages += [{"role": "user", "content": question}, {"role": "assistant", "content": answer}]
    return json.dumps({"messages": messages})


# --- one file per error kind -----------------------------------------------------------------

# (file, what the report finds, validate's options). A file that yields no example at all sets
# min_examples=0, so "too few examples" does not hide its own problem.
CASES = [
    # OpenAI's format checks, each with its line
    ("bad_json.jsonl", ["line 3: not valid JSON: Expecting value at column 15"], {}),
    ("not_an_object.jsonl", ["line 2: not a JSON object"], {}),
    (
        "missing_messages.jsonl",
        [
            "line 3: missing messages (or prompt and completion, text and label, "
            "input and preferred_output)"
        ],
        {},
    ),
    ("empty_messages.jsonl", ["line 2: messages must be a non-empty list"], {}),
    ("message_missing_role.jsonl", ["line 3: message 1 has no role"], {}),
    ("message_missing_content.jsonl", ["line 1: message 2 has no content"], {}),
    ("message_empty_content.jsonl", ["line 2: message 1 has empty content"], {}),
    ("unknown_key.jsonl", ["line 3: unrecognised keys: id"], {}),
    ("message_unknown_key.jsonl", ["line 2: message 1 has unrecognised keys: tool_calls"], {}),
    ("unknown_role.jsonl", ['line 3: message 1 has unrecognised role "bot"'], {}),
    ("no_assistant_message.jsonl", ["line 2: no assistant message"], {}),
    ("bad_weight.jsonl", ["line 3: message 2 weight must be 0 or 1"], {}),
    (
        "nothing_to_learn.jsonl",
        ["line 2: every assistant message has weight 0: nothing to learn"],
        {},
    ),
    ("no_user_message.jsonl", ["line 3: no user message before the last assistant message"], {}),
    # the other JSON Lines shapes
    ("same_preference.jsonl", ["line 1: preferred and non-preferred outputs are the same"], {}),
    ("missing_completion.jsonl", ["line 2: missing completion"], {}),
    ("missing_label.jsonl", ["line 3: missing label"], {}),
    ("mixed_kinds.jsonl", ["mixes labelled and chat examples"], {}),
    # the dataset as a whole
    ("too_few_examples.jsonl", ["too few examples"], {"min_examples": 10}),
    (
        "over_token_limit.jsonl",
        ["line 3: 56 tokens, over the 40-token limit"],
        {"tokens": check(limit=40)},
    ),
    ("duplicates.jsonl", ["1 duplicate"], {}),
    ("leakage.jsonl", ["1 leaked"], {}),
    ("one_label.jsonl", ["one label"], {}),
    # the other formats
    ("bad_csv.csv", ["line 3: not valid CSV: unexpected end of data"], {}),
    (
        "csv_unknown_columns.csv",
        [
            "line 1: the CSV header needs prompt and completion (or input and output, question "
            "and answer) or text and label columns; it has question, reply"
        ],
        {"min_examples": 0},
    ),
    ("csv_wrong_cells.csv", ["line 3: has 3 cells, the header has 2"], {}),
    ("csv_empty_cell.csv", ["line 3: empty label"], {}),
    ("json_item.json", ["item 2: empty completion"], {}),
    ("json_answers.json", ["item 2: the answer is not a string"], {}),
    (
        "not_json.json",
        ["line 2: not valid JSON: Expecting value at column 12"],
        {"min_examples": 0},
    ),
    # Unlabelled text yields no example, so no label either: that note comes with it.
    ("unlabelled.txt", [NEEDS_LABEL, "one label"], {"min_examples": 0}),
]


def report_of_file(path: Path, **options: Any) -> ValidationReport:
    text = decode(path.read_bytes(), path.name)
    return report_of(text, filename=path.name, **options)


def stream_of_file(path: Path, **options: Any) -> ValidationReport:
    with path.open("rb") as lines:
        return validate_stream(lines, name=path.stem, **{"min_examples": 1, **options})


@pytest.mark.parametrize(
    ("filename", "found", "options"), [pytest.param(*case, id=case[0]) for case in CASES]
)
def test_each_error_kind_has_a_file_that_produces_exactly_it(
    filename: str, found: list[str], options: dict[str, Any]
) -> None:
    sut = report_of_file(DATA / filename, **options)

    assert findings(sut) == found
    assert sut.is_valid == (found[0] in ("1 duplicate", "1 leaked"))


@pytest.mark.parametrize(
    ("filename", "found", "options"),
    [pytest.param(*case, id=case[0]) for case in CASES if case[0].endswith(".jsonl")],
)
def test_streamed_file_gives_the_same_report(
    filename: str, found: list[str], options: dict[str, Any]
) -> None:
    if "tokens" in options:  # a counter of its own: the one above has counted already
        options = {**options, "tokens": check(limit=40)}
    whole = report_of_file(DATA / filename, **options)

    sut = stream_of_file(DATA / filename, **options)

    assert findings(sut) == found
    assert sut == replace(whole, dataset_name=sut.dataset_name)


def test_every_error_file_is_in_the_table() -> None:
    tested = {case[0] for case in CASES} | {"not_utf8.jsonl"}

    assert {path.name for path in DATA.iterdir()} == tested


def test_file_that_is_not_utf8_is_refused_whole_or_named_by_line_when_streamed() -> None:
    path = DATA / "not_utf8.jsonl"

    with pytest.raises(DatasetError, match="not UTF-8 text"):
        decode(path.read_bytes(), path.name)
    assert stream_of_file(path).problems == (Problem(3, NOT_UTF8),)


# --- token counts ------------------------------------------------------------------------------


def test_tokens_follow_the_cookbook_count() -> None:
    # 3 to prime the reply; per message 3 + the role's tokens (1 word) + the content's.
    text = chat("one two three", "four five", system="be brief")

    sut = report_of(text, tokens=check(limit=None))

    assert sut.tokens == TokenStats(
        encoding="words",
        examples=1,
        total=3 + (3 + 1 + 2) + (3 + 1 + 3) + (3 + 1 + 2),
        assistant=2,
        minimum=22,
        p50=22,
        p90=22,
        maximum=22,
    )


def test_assistant_tokens_count_earlier_answers_too() -> None:
    messages = [
        {"role": "user", "content": "a"},
        {"role": "assistant", "content": "b c"},
        {"role": "user", "content": "d"},
        {"role": "assistant", "content": "e f g"},
    ]

    sut = report_of(json.dumps({"messages": messages}), tokens=check(limit=None))

    assert sut.tokens is not None
    assert (sut.tokens.total, sut.tokens.assistant) == (3 + 4 * 4 + 1 + 2 + 1 + 3, 5)


def test_token_statistics_are_nearest_rank_percentiles() -> None:
    tally = TokenTally()
    for tokens in [10, 20, 30, 40, 50, 60, 70, 80, 90, 100]:
        tally.add(tokens, tokens // 2)

    sut = tally.stats("words")

    assert sut == TokenStats("words", 10, 550, 275, minimum=10, p50=50, p90=90, maximum=100)
    assert sut.mean == 55.0


def test_no_counter_means_no_token_statistics() -> None:
    sut = report_of(chat("hi", "hello"))

    assert sut.tokens is None
    assert sut.billing is None


def test_system_prompt_is_sent_to_the_counter_once() -> None:
    counter = WordCounter()
    text = "\n".join(chat(f"question {i}", f"answer {i}", system="be brief") for i in range(5))

    sut = report_of(text, tokens=TokenCheck(counter))

    sent = [text for batch in counter.batches for text in batch]
    assert sent.count("be brief") == 1
    assert sut.tokens is not None
    assert sut.tokens.examples == 5


def test_over_limit_problems_name_file_and_line_in_a_folder() -> None:
    from trainerbot.core.datasets import parse_files

    long_line = chat("one two three four five six", "seven eight nine ten")
    files = [("a.jsonl", chat("hi", "hello").encode()), ("b.jsonl", long_line.encode())]
    parsed = parse_files(files, positive=None)
    dataset, _ = build_dataset("folder", parsed, source="folder")

    sut = validate(dataset, parsed, duplicates=0, min_examples=1, tokens=check(limit=20))

    assert sut.problems == (Problem(1, "21 tokens, over the 20-token limit", "b.jsonl"),)


def test_over_limit_problem_of_a_json_item_names_the_item() -> None:
    text = json.dumps(
        [{"prompt": "a", "completion": "b"}, {"prompt": "a b c d e f g h i j", "completion": "k"}]
    )

    sut = report_of(text, filename="data.json", tokens=check(limit=20))

    assert [str(problem) for problem in sut.problems] == [
        "item 2: 22 tokens, over the 20-token limit"
    ]


def test_over_limit_problem_of_a_correction_names_it() -> None:
    from trainerbot.core.datasets import ParseResult

    example = Example(
        (ChatMessage(Role.USER, "a b c d e f g h i j"),), "k l m", origin="correction cor-1"
    )
    parsed = ParseResult((example,), (), Task.CHAT)
    dataset, _ = build_dataset("corrections", parsed, source="")

    sut = validate(dataset, parsed, duplicates=0, min_examples=1, tokens=check(limit=20))

    assert [str(problem) for problem in sut.problems] == [
        "correction cor-1: 24 tokens, over the 20-token limit"
    ]


# --- the training part and the trainer's estimate ---------------------------------------------


def test_training_tokens_are_the_training_part_capped_at_the_limit() -> None:
    survey = TokenSurvey(check(limit=20, billing=True))
    examples = [Example.single_turn("a " * n, "b") for n in (1, 30)]  # 13 and 42 tokens
    measured = list(survey.measure([(examples, [False, False], "batch")]))

    sut = survey.training(train_count=2)

    assert measured == [("batch", [(1, "42 tokens, over the 20-token limit")])]
    assert sut == TrainingTokens(examples=2, tokens=13 + 20)
    assert survey.billing(train_count=2) == BillingEstimate(epochs=1, training_tokens=13 + 20)


def test_training_tokens_leave_out_the_test_part() -> None:
    survey = TokenSurvey(check(limit=None, billing=True))
    examples = [Example.single_turn("a", "b"), Example.single_turn("a a", "b")]
    list(survey.measure([(examples, [False, True], None)]))

    assert survey.training(train_count=1) == TrainingTokens(examples=1, tokens=13)


def test_report_has_a_cost_estimate_only_when_the_trainer_gives_one() -> None:
    text = "\n".join(chat(f"question {i}", f"answer {i}") for i in range(20))

    plain = report_of(text, tokens=check())
    billed = report_of(text, tokens=check(billing=True))

    assert plain.billing is None
    assert billed.billing == BillingEstimate(epochs=1, training_tokens=15 * billed.train_count)


# --- what the report says ----------------------------------------------------------------------

STATS = TokenStats("cl100k_base", 42, 10_500, 4_200, minimum=80, p50=240, p90=400, maximum=1_020)


def test_valid_summary_adds_the_token_total() -> None:
    sut = replace(CLEAN_REPORT, tokens=STATS)

    assert sut.summary() == (
        "42 examples (34 train / 8 test), 2 labels, version 1a2b3c4d5e6f, 10,500 tokens"
    )


def test_details_end_with_token_statistics_and_the_cost_estimate() -> None:
    sut = replace(
        CLEAN_REPORT, tokens=STATS, billing=BillingEstimate(epochs=3, training_tokens=8_500)
    )

    assert sut.details() == [
        "tokens per example (cl100k_base): min 80, median 240, p90 400, max 1,020, mean 250.0; "
        "10,500 in all, 4,200 of them in answers",
        "estimated cost: 3 epochs × 8,500 training tokens ≈ 25,500 billed tokens",
    ]


def test_omitted_problems_count_in_summary_validity_and_details() -> None:
    sut = replace(CLEAN_REPORT, problems=(Problem(2, "not a JSON object"),), omitted_problems=120)

    assert not sut.is_valid
    assert sut.summary() == "invalid: 121 problems — line 2: not a JSON object; and 120 more"
    assert sut.details() == ["line 2: not a JSON object", "and 120 more problems not listed"]


# --- the streamed path ---------------------------------------------------------------------------


def test_stream_keeps_the_first_problems_and_counts_the_rest() -> None:
    text = "\n".join(["not json"] * (MAX_PROBLEMS_KEPT + 7) + [chat("hi", "hello")])

    sut = stream_of(text)

    assert len(sut.problems) == MAX_PROBLEMS_KEPT
    assert sut.problems[0].line == 1
    assert sut.problems[-1].line == MAX_PROBLEMS_KEPT
    assert sut.omitted_problems == 7
    assert sut.problem_count == MAX_PROBLEMS_KEPT + 7


def test_stream_puts_over_limit_problems_in_line_order() -> None:
    long = chat(" ".join(["word"] * 30), "answer")
    longer = chat(" ".join(["word"] * 31), "answer")
    text = "\n".join([long, "not json", longer, chat("hi", "hello")])

    sut = stream_of(text, tokens=check(limit=20), max_problems=2)

    assert [str(problem) for problem in sut.problems] == [
        "line 1: 42 tokens, over the 20-token limit",
        "line 2: not valid JSON: Expecting value at column 1",
    ]
    assert sut.omitted_problems == 1


def test_stream_reads_bytes_with_bom_crlf_and_blank_lines() -> None:
    text = "\ufeff" + chat("hi", "hello") + "\r\n\r\n" + chat("bye", "ciao") + "\r\n"

    sut = validate_stream(text.encode().splitlines(keepends=True), name="d", min_examples=1)

    assert (sut.problems, sut.example_count) == ((), 2)


def test_stream_of_labelled_lines_reports_task_labels_and_version() -> None:
    lines = [
        json.dumps({"text": f"review {i}", "label": POSITIVE if i % 2 else NEGATIVE})
        for i in range(12)
    ]
    text = "\n".join([*lines, lines[0]])

    sut = stream_of(text)

    assert sut == replace(report_of(text), dataset_name="data")
    assert (sut.task, sut.labels, sut.duplicates) == (Task.CLASSIFICATION, (NEGATIVE, POSITIVE), 1)


def test_stream_of_a_large_file_matches_the_whole_file_report() -> None:
    # More lines than one batch: duplicates, leakage and counts carry across batches.
    # 2,500 examples of 900 questions, 60 of them long; 50 asked again without "?", some of which
    # the split puts on the other side; 30 duplicates; a bad line.
    lines = [
        chat(f"Question number {i % 900}?", f"Answer {i}." + " more" * (i % 42 == 0) * 10)
        for i in range(2_500)
    ]
    lines += [chat(f"question number {i}", "again") for i in range(50)]
    lines += [*lines[:30], "oops"]
    text = "\n".join(lines)

    sut = stream_of(text, tokens=check(limit=20, billing=True))

    whole = report_of(text, tokens=check(limit=20, billing=True))
    in_line_order = sorted(whole.problems, key=lambda problem: problem.line or 0)
    assert sut == replace(
        whole,
        problems=tuple(in_line_order[:MAX_PROBLEMS_KEPT]),
        omitted_problems=len(whole.problems) - MAX_PROBLEMS_KEPT,
    )
    assert sut.duplicates == 30
    assert sut.leaked > 0


def test_stream_split_is_the_split_of_the_dataset() -> None:
    text = "\n".join(chat(f"Question {i}", "answer") for i in range(500))
    parsed = parse_text(text, filename="d.jsonl")
    dataset, _ = build_dataset("d", parsed, source="")
    train, test = dataset.split()

    sut = stream_of(text)

    assert (sut.train_count, sut.test_count) == (len(train.examples), len(test.examples))


def test_leakage_ignores_case_spacing_and_punctuation() -> None:
    # By the hash of its question, "What time is it" lands in training and "What time is it?" in
    # the test part: the split keeps only identical questions (ignoring case and spacing) together.
    text = "\n".join([chat("What time is it", "Noon."), chat("what  time is it?", "It is noon.")])

    sut = report_of(text)

    assert (sut.train_count, sut.test_count, sut.leaked) == (1, 1, 1)


def test_leakage_ignores_typographic_punctuation() -> None:
    # "What’s your name" (a curly apostrophe) lands in training, "What's your name" in the test.
    text = "\n".join([chat("What’s your name", "Ann."), chat("What's your name", "I am Ann.")])

    sut = report_of(text)

    assert (sut.train_count, sut.test_count, sut.leaked) == (1, 1, 1)
    assert stream_of(text).leaked == 1


def test_system_prompts_anywhere_in_the_conversation_count_once_each() -> None:
    messages = [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "a"},
        {"role": "system", "content": "be kind now"},
        {"role": "assistant", "content": "b c"},
        {"role": "user", "content": "d"},
        {"role": "assistant", "content": "e"},
    ]
    text = json.dumps({"messages": messages}) + "\n" + chat("x", "y")

    sut = report_of(text, tokens=check(limit=None))

    assert sut.tokens is not None
    # 3 + per message (3 + 1 role word) × 6 + 2 + 1 + 3 + 2 + 1 + 1 = 37; and 3 + 4 × 2 + 2 = 13.
    assert (sut.tokens.maximum, sut.tokens.minimum) == (37, 13)
    assert sut.tokens.assistant == (2 + 1) + 1  # "b c" and "e", then "y"


def test_stream_of_examples_all_in_the_test_bucket_trains_on_them_all() -> None:
    # Dataset.split gives every example to training when the test part would take them all: the
    # streamed report must say the same, and bill for them.
    many = "\n".join(chat(f"Question {i}", "answer") for i in range(100))
    _, test = build_dataset("d", parse_text(many, filename="d.jsonl"), source="")[0].split()
    text = json.dumps({"prompt": test.examples[0].user_text, "completion": "the answer"}) + "\n"
    whole = report_of(text, tokens=check(limit=None, billing=True))

    sut = stream_of(text, tokens=check(limit=None, billing=True))

    assert (sut.train_count, sut.test_count, sut.leaked) == (1, 0, 0)
    assert sut.billing is not None
    assert sut.billing.training_tokens > 0
    assert sut == replace(whole, dataset_name=sut.dataset_name)
