"""Reading every format: JSON, CSV, plain text, sniffing a text's format, and folders."""

from __future__ import annotations

import json

import pytest
from test_datasets_records import ASSISTANT, SYSTEM, USER, chat_line, line, preference_line

from trainerbot.core.datasets import (
    MIXED_KINDS,
    NEEDS_LABEL,
    NOT_UTF8,
    UNSUPPORTED_FILE,
    ParseResult,
    Problem,
    decode,
    parse_files,
    parse_text,
)
from trainerbot.core.entities import NEGATIVE, POSITIVE, Example, Task
from trainerbot.core.errors import DatasetError

# --- JSON ------------------------------------------------------------------------------------


def test_json_array_chat_problem_names_the_item() -> None:
    text = json.dumps([{"messages": [USER, ASSISTANT]}, {"messages": [USER]}])

    sut = parse_text(text, filename="data.json")

    assert sut.problems == (Problem(None, "item 2: no assistant message"),)


def test_json_array_of_objects_uses_item_origins() -> None:
    text = json.dumps(
        [
            {"prompt": "a", "completion": "b"},
            {"messages": [USER, ASSISTANT]},
        ]
    )

    sut = parse_text(text, filename="data.json")

    assert [e.origin for e in sut.examples] == ["data.json item 1", "data.json item 2"]
    assert sut.problems == ()


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ("x", "item 2: not a JSON object"),
        ({"text": "x"}, "item 2: missing label"),
        ({"text": "x", "label": 3.5}, "item 2: label must be a string"),
    ],
)
def test_json_array_problem_names_the_item(item: object, message: str) -> None:
    text = json.dumps([{"text": "a", "label": "b"}, item])

    sut = parse_text(text, filename="data.json")

    assert sut.problems == (Problem(None, message),)
    assert len(sut.examples) == 1


def test_json_object_of_answers_becomes_prompt_completion_examples() -> None:
    text = json.dumps({"hello": "hi", "2+2": "4"})

    sut = parse_text(text, filename="test.json")

    assert sut.examples == (
        Example.single_turn("hello", "hi", origin="test.json item 1"),
        Example.single_turn("2+2", "4", origin="test.json item 2"),
    )
    assert sut.task is Task.CHAT


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ({"a": "b", "c": 2}, "item 2: the answer is not a string"),
        ({"a": "b", "c": " "}, "item 2: empty answer"),
        ({"a": "b", " ": "d"}, "item 2: empty input"),
    ],
)
def test_json_object_of_answers_problem_names_the_item(
    mapping: dict[str, object], message: str
) -> None:
    sut = parse_text(json.dumps(mapping), filename="test.json")

    assert sut.problems == (Problem(None, message),)
    assert len(sut.examples) == 1


def test_json_single_example_object_is_one_example() -> None:
    sut = parse_text(json.dumps({"text": "Great", "label": "positive"}), filename="one.json")

    assert sut.examples == (Example.single_turn("Great", "positive", origin="one.json item 1"),)


def test_invalid_json_file_reports_the_line() -> None:
    sut = parse_text('[\n  {"text": "a",\n  oops\n]', filename="bad.json")

    assert sut.problems == (
        Problem(3, "not valid JSON: Expecting property name enclosed in double quotes at column 3"),
    )


def test_deeply_nested_json_is_a_problem_not_a_crash() -> None:
    sut = parse_text("[" * 100_000, filename="deep.json")

    assert sut.problems == (Problem(None, "not valid JSON: nested too deeply"),)


def test_jsonl_line_with_an_over_long_number_is_a_problem_not_a_crash() -> None:
    sut = parse_text('{"text": "x", "label": ' + "1" * 5000 + "}", filename="d.jsonl")

    assert sut.problems == (Problem(1, "not valid JSON: a number is too long"),)


def test_json_scalar_is_a_problem() -> None:
    sut = parse_text("42", filename="n.json")

    assert sut.problems == (
        Problem(None, "a JSON dataset must be an array of examples or an object of answers"),
    )


# --- CSV -------------------------------------------------------------------------------------


def test_csv_prompt_completion_rows_become_chat_examples() -> None:
    text = "Prompt,Completion,id\nhi,hello,1\n"

    sut = parse_text(text, filename="qa.csv")

    assert sut.examples == (Example.single_turn("hi", "hello", origin="qa.csv line 2"),)
    assert sut.task is Task.CHAT


def test_csv_text_label_rows_become_classification_examples() -> None:
    text = "label,text\npositive, Great film \n"

    sut = parse_text(text, filename="r.csv")

    assert sut.examples == (Example.single_turn("Great film", "positive", origin="r.csv line 2"),)
    assert sut.task is Task.CLASSIFICATION


@pytest.mark.parametrize(("ask", "answer"), [("input", "output"), ("question", "answer")])
def test_csv_synonym_columns_are_read(ask: str, answer: str) -> None:
    sut = parse_text(f"{ask},{answer}\n2+2?,4\n", filename="qa.csv")

    assert sut.examples == (Example.single_turn("2+2?", "4", origin="qa.csv line 2"),)


def test_csv_line_numbers_follow_multiline_cells_and_blank_lines() -> None:
    text = 'prompt,completion\n\n"two\nlines",a\nx,\n'

    sut = parse_text(text, filename="qa.csv")

    assert [e.origin for e in sut.examples] == ["qa.csv line 3"]
    assert sut.examples[0].user_text == "two\nlines"
    assert sut.problems == (Problem(5, "empty completion"),)


def test_csv_every_empty_cell_is_reported() -> None:
    sut = parse_text("text,label,id\n , ,7\n", filename="r.csv")

    assert sut.problems == (Problem(2, "empty text"), Problem(2, "empty label"))


def test_csv_row_of_empty_cells_is_skipped_as_blank() -> None:
    sut = parse_text("text,label\n,\nGreat,positive\n", filename="r.csv")

    assert sut.problems == ()
    assert [e.origin for e in sut.examples] == ["r.csv line 3"]


def test_csv_row_with_wrong_cell_count_is_reported() -> None:
    sut = parse_text("prompt,completion\nhi,hello,again\n", filename="qa.csv")

    assert sut.problems == (Problem(2, "has 3 cells, the header has 2"),)
    assert sut.examples == ()


def test_csv_without_known_columns_is_reported() -> None:
    sut = parse_text("a,b\nx,y\n", filename="x.csv")

    assert sut.problems == (
        Problem(
            1,
            "the CSV header needs prompt and completion (or input and output, question and "
            "answer) or text and label columns; it has a, b",
        ),
    )


def test_csv_unclosed_quote_is_reported_where_the_record_starts() -> None:
    sut = parse_text('prompt,completion\nhi,hello\nx,"unclosed\nmore,y\n', filename="qa.csv")

    assert sut.problems == (Problem(3, "not valid CSV: unexpected end of data"),)
    assert len(sut.examples) == 1


def test_csv_positive_false_marks_chat_rows_unwanted() -> None:
    (example,) = parse_text(
        "prompt,completion\nhi,hello\n", filename="qa.csv", positive=False
    ).examples

    assert example.wanted is False


# --- plain text ------------------------------------------------------------------------------


def test_plain_text_positive_true_labels_each_line_positive() -> None:
    sut = parse_text("Great film\n\n  Loved it  \n", filename="good.txt", positive=True)

    assert sut == ParseResult(
        examples=(
            Example.single_turn("Great film", POSITIVE, origin="good.txt line 1"),
            Example.single_turn("Loved it", POSITIVE, origin="good.txt line 3"),
        ),
        problems=(),
        task=Task.CLASSIFICATION,
    )


def test_plain_text_positive_false_labels_negative() -> None:
    (example,) = parse_text("Awful", positive=False).examples

    assert example == Example.single_turn("Awful", NEGATIVE, origin="inline line 1")


def test_plain_text_without_positive_is_a_problem() -> None:
    sut = parse_text("Great film\nLoved it\n", filename="good.md")

    assert sut == ParseResult(
        examples=(), problems=(Problem(None, NEEDS_LABEL),), task=Task.CLASSIFICATION
    )


def test_plain_text_document_per_file_is_one_example() -> None:
    sut = parse_text(
        "  Para one.\n\nPara two.\n", filename="doc.md", positive=True, document_per_file=True
    )

    assert sut.examples == (
        Example.single_turn("Para one.\n\nPara two.", POSITIVE, origin="doc.md"),
    )


def test_empty_text_has_no_examples_and_no_problems() -> None:
    assert parse_text("  \n", positive=None) == ParseResult((), (), Task.CLASSIFICATION)


def test_markdown_file_is_plain_text_even_if_it_looks_like_json() -> None:
    sut = parse_text(chat_line(USER, ASSISTANT), filename="notes.md", positive=True)

    assert sut.task is Task.CLASSIFICATION
    assert sut.examples[0].completion == POSITIVE


def test_txt_file_holding_jsonl_is_read_as_jsonl() -> None:
    sut = parse_text(chat_line(USER, ASSISTANT), filename="message.txt", positive=True)

    assert sut.task is Task.CHAT
    assert sut.examples[0].completion == "Hello!"


def test_txt_file_with_broken_json_stays_plain_text() -> None:
    sut = parse_text("{not json}", filename="message.txt", positive=True)

    assert sut.examples == (
        Example.single_turn("{not json}", POSITIVE, origin="message.txt line 1"),
    )


# --- sniffing --------------------------------------------------------------------------------


def test_sniffed_jsonl_uses_inline_origin() -> None:
    sut = parse_text(chat_line(USER, ASSISTANT))

    assert [e.origin for e in sut.examples] == ["inline line 1"]


def test_sniffed_brace_text_with_a_bad_line_is_jsonl_with_the_line_reported() -> None:
    sut = parse_text(chat_line(USER, ASSISTANT) + "\n{oops")

    assert sut.problems == (
        Problem(2, "not valid JSON: Expecting property name enclosed in double quotes at column 2"),
    )
    assert len(sut.examples) == 1


def test_sniffed_one_line_object_of_answers_is_json() -> None:
    sut = parse_text('{"hello": "hi"}')

    assert sut.examples == (Example.single_turn("hello", "hi", origin="inline item 1"),)


def test_sniffed_pretty_printed_object_is_json() -> None:
    sut = parse_text('{\n  "hello": "hi"\n}\n')

    assert sut.examples == (Example.single_turn("hello", "hi", origin="inline item 1"),)


def test_sniffed_bracket_is_json_array() -> None:
    sut = parse_text('  [{"text": "a", "label": "b"}]')

    assert sut.examples == (Example.single_turn("a", "b", origin="inline item 1"),)


def test_sniffed_csv_header_is_csv() -> None:
    sut = parse_text("text,label\nGreat,positive\n")

    assert sut.examples == (Example.single_turn("Great", "positive", origin="inline line 2"),)


def test_sniffed_prose_with_commas_is_plain_text() -> None:
    sut = parse_text("Text, labels and more\n", positive=True)

    assert sut.examples == (
        Example.single_turn("Text, labels and more", POSITIVE, origin="inline line 1"),
    )


def test_unknown_extension_is_sniffed() -> None:
    sut = parse_text(chat_line(USER, ASSISTANT), filename="data.log")

    assert sut.task is Task.CHAT
    assert len(sut.examples) == 1


def test_leading_byte_order_mark_is_ignored() -> None:
    sut = parse_text("\ufeff" + chat_line(USER, ASSISTANT))

    assert len(sut.examples) == 1


# --- folders ---------------------------------------------------------------------------------


def test_decode_drops_byte_order_mark() -> None:
    assert decode("\ufeffhi".encode(), "a.txt") == "hi"


def test_decode_refuses_bytes_that_are_not_utf8() -> None:
    with pytest.raises(DatasetError, match=r"^a\.txt is not UTF-8 text$"):
        decode(b"\xff\xfe\x00", "a.txt")


def test_parse_files_reads_text_files_as_one_document_each_in_name_order() -> None:
    files = [
        ("reviews/b.txt", b"Second\nfile"),
        ("reviews/a.md", "\ufeffFirst".encode()),
    ]

    sut = parse_files(files, positive=False)

    assert sut == ParseResult(
        examples=(
            Example.single_turn("First", NEGATIVE, origin="reviews/a.md"),
            Example.single_turn("Second\nfile", NEGATIVE, origin="reviews/b.txt"),
        ),
        problems=(),
        task=Task.CLASSIFICATION,
    )


def test_parse_files_reports_unsupported_and_undecodable_files_and_reads_the_rest() -> None:
    files = [
        ("d/a.pdf", b"%PDF"),
        ("d/b.jsonl", b"\xff\xfe"),
        ("d/c.jsonl", chat_line(USER, ASSISTANT).encode()),
    ]

    sut = parse_files(files, positive=None)

    assert sut.problems == (
        Problem(None, UNSUPPORTED_FILE, source="d/a.pdf"),
        Problem(None, NOT_UTF8, source="d/b.jsonl"),
    )
    assert [e.origin for e in sut.examples] == ["d/c.jsonl line 1"]


def test_parse_files_problems_carry_the_file_name() -> None:
    files = [("d/c.jsonl", b"\n{}")]

    sut = parse_files(files, positive=None)

    assert [str(p) for p in sut.problems] == [
        "d/c.jsonl line 2: missing messages (or prompt and completion, text and label, "
        "input and preferred_output)"
    ]


def test_parse_files_skips_hidden_files() -> None:
    sut = parse_files([("d/.DS_Store", b"\x00\x01"), ("d/a.txt", b"x")], positive=True)

    assert sut.problems == ()
    assert len(sut.examples) == 1


def test_parse_files_reports_missing_label_once_for_the_folder() -> None:
    sut = parse_files([("a.txt", b"x"), ("b.txt", b"y")], positive=None)

    assert sut.problems == (Problem(None, NEEDS_LABEL),)


def test_parse_files_labels_documents_by_their_subfolder() -> None:
    files = [("negative/a.txt", b"Awful"), ("positive/b.txt", b"Great"), ("positive/c.md", b"Fine")]

    sut = parse_files(files, positive=None)

    assert sut.problems == ()
    assert sut.task is Task.CLASSIFICATION
    assert [(e.user_text, e.completion) for e in sut.examples] == [
        ("Awful", "negative"),
        ("Great", "positive"),
        ("Fine", "positive"),
    ]


def test_parse_files_positive_flag_overrides_subfolder_labels() -> None:
    sut = parse_files([("negative/a.txt", b"Awful")], positive=True)

    assert [e.completion for e in sut.examples] == [POSITIVE]


def test_parse_files_mixing_labelled_and_chat_files_is_a_problem() -> None:
    files = [("d/a.txt", b"Great"), ("d/b.jsonl", chat_line(USER, ASSISTANT).encode())]

    sut = parse_files(files, positive=True)

    assert sut.problems == (Problem(None, MIXED_KINDS),)
    assert sut.task is Task.CHAT


# --- every format parses -------------------------------------------------------------------

EVERY_FORMAT = [
    ("chat.jsonl", chat_line(SYSTEM, USER, ASSISTANT), Task.CHAT),
    ("preference.jsonl", preference_line(), Task.CHAT),
    ("pairs.jsonl", line({"prompt": "Hi", "completion": "Hello!"}), Task.CHAT),
    ("io.jsonl", line({"input": "Hi", "output": "Hello!"}), Task.CHAT),
    ("qa.jsonl", line({"question": "Hi", "answer": "Hello!"}), Task.CHAT),
    ("labels.jsonl", line({"text": "great", "label": "positive"}), Task.CLASSIFICATION),
    ("array.json", json.dumps([{"prompt": "Hi", "completion": "Hello!"}]), Task.CHAT),
    ("one.json", json.dumps({"messages": [USER, ASSISTANT]}, indent=2), Task.CHAT),
    ("answers.json", json.dumps({"Hi": "Hello!"}), Task.CHAT),
    ("pairs.csv", "prompt,completion\nHi,Hello!\n", Task.CHAT),
    ("labels.csv", "Text,Label\ngreat,positive\n", Task.CLASSIFICATION),
    ("notes.txt", "great film\n", Task.CLASSIFICATION),
    ("notes.md", "# great film\n", Task.CLASSIFICATION),
    ("message.txt", chat_line(USER, ASSISTANT), Task.CHAT),
    (None, chat_line(USER, ASSISTANT), Task.CHAT),
    (None, "prompt,completion\nHi,Hello!\n", Task.CHAT),
    (None, "[" + line({"text": "great", "label": "positive"}) + "]", Task.CLASSIFICATION),
]


@pytest.mark.parametrize(("filename", "text", "task"), EVERY_FORMAT)
def test_every_format_parses_into_one_example(filename: str | None, text: str, task: Task) -> None:
    sut = parse_text(text, filename=filename, positive=True)

    assert sut.problems == ()
    assert len(sut.examples) == 1
    assert sut.task is task
