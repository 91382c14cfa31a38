"""Reading datasets in every format, the problems found in them, and the validation report."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import pytest
from records_support import CLEAN_REPORT

from trainerbot.core.datasets import (
    MIXED_KINDS,
    NEEDS_LABEL,
    NOT_UTF8,
    UNSUPPORTED_FILE,
    ParseResult,
    Problem,
    ValidationReport,
    build_dataset,
    decode,
    parse_files,
    parse_text,
    validate,
)
from trainerbot.core.entities import (
    NEGATIVE,
    POSITIVE,
    ChatMessage,
    Dataset,
    Example,
    Role,
    Task,
)
from trainerbot.core.errors import DatasetError

SYSTEM = {"role": "system", "content": "Be brief."}
USER = {"role": "user", "content": "Hi"}
ASSISTANT = {"role": "assistant", "content": "Hello!"}


def line(value: object) -> str:
    return json.dumps(value)


def chat_line(*messages: Mapping[str, object], **extra: object) -> str:
    return line({"messages": list(messages), **extra})


def preference_line(**fields: object) -> str:
    record: dict[str, object] = {
        "input": {"messages": [USER]},
        "preferred_output": [{"role": "assistant", "content": "Hello!"}],
        "non_preferred_output": [{"role": "assistant", "content": "Go away."}],
    }
    record.update(fields)
    return line({key: value for key, value in record.items() if value is not None})


def user(text: str) -> ChatMessage:
    return ChatMessage(Role.USER, text)


# --- Problem ---------------------------------------------------------------------------------


def test_problem_str_names_file_and_line() -> None:
    problem = Problem(3, "message 1 has no role", source="reviews/a.jsonl")

    assert str(problem) == "reviews/a.jsonl line 3: message 1 has no role"


def test_problem_str_without_source_names_the_line() -> None:
    assert str(Problem(2, "not a JSON object")) == "line 2: not a JSON object"


def test_problem_str_without_line_names_the_file() -> None:
    assert str(Problem(None, NOT_UTF8, source="a.csv")) == "a.csv: not UTF-8 text"


def test_problem_str_without_line_or_source_is_the_message() -> None:
    assert str(Problem(None, "item 2: missing label")) == "item 2: missing label"


# --- OpenAI chat JSONL -----------------------------------------------------------------------


def test_chat_line_becomes_prompt_and_last_assistant_completion() -> None:
    text = chat_line(SYSTEM, USER, ASSISTANT)

    sut = parse_text(text, filename="chat.jsonl")

    assert sut == ParseResult(
        examples=(
            Example(
                prompt=(ChatMessage(Role.SYSTEM, "Be brief."), user("Hi")),
                completion="Hello!",
                origin="chat.jsonl line 1",
            ),
        ),
        problems=(),
        task=Task.CHAT,
    )


def test_chat_prompt_keeps_earlier_assistant_turns() -> None:
    text = chat_line(USER, ASSISTANT, {"role": "user", "content": "Again"}, ASSISTANT)

    (example,) = parse_text(text, filename="chat.jsonl").examples

    assert example.prompt == (
        user("Hi"),
        ChatMessage(Role.ASSISTANT, "Hello!"),
        user("Again"),
    )
    assert example.completion == "Hello!"


def test_chat_messages_after_the_last_assistant_are_ignored() -> None:
    text = chat_line(USER, ASSISTANT, {"role": "user", "content": "Bye"})

    (example,) = parse_text(text, filename="chat.jsonl").examples

    assert example.prompt == (user("Hi"),)
    assert example.completion == "Hello!"


def test_chat_accepts_name_weight_and_tools() -> None:
    text = chat_line(
        {"role": "user", "content": "Hi", "name": "ann"},
        {"role": "assistant", "content": "Hello!", "weight": 1},
        tools=[],
        parallel_tool_calls=False,
    )

    sut = parse_text(text, filename="chat.jsonl")

    assert sut.problems == ()
    assert len(sut.examples) == 1


def test_chat_completion_is_the_last_assistant_message_not_weighted_zero() -> None:
    text = chat_line(
        USER,
        ASSISTANT,
        {"role": "user", "content": "Again"},
        {"role": "assistant", "content": "Meh", "weight": 0},
    )

    (example,) = parse_text(text, filename="chat.jsonl").examples

    assert example.prompt == (user("Hi"),)
    assert example.completion == "Hello!"


def test_chat_wanted_false_in_data_marks_example_unwanted() -> None:
    text = chat_line(USER, ASSISTANT, wanted=False)

    (example,) = parse_text(text, filename="chat.jsonl").examples

    assert example.wanted is False


def test_chat_line_numbers_count_blank_lines() -> None:
    text = "\n".join([chat_line(USER, ASSISTANT), "", "   ", "nope"])

    sut = parse_text(text, filename="chat.jsonl")

    assert sut.problems == (Problem(4, "not valid JSON: Expecting value at column 1"),)
    assert [e.origin for e in sut.examples] == ["chat.jsonl line 1"]


def test_chat_windows_line_endings_are_read() -> None:
    text = chat_line(USER, ASSISTANT) + "\r\n" + chat_line(USER, ASSISTANT) + "\r\n"

    sut = parse_text(text, filename="chat.jsonl")

    assert sut.problems == ()
    assert len(sut.examples) == 2


def test_jsonl_line_with_raw_line_separator_is_one_line() -> None:
    text = chat_line({"role": "user", "content": "a\u2028b"}, ASSISTANT)

    (example,) = parse_text(text, filename="chat.jsonl").examples

    assert example.user_text == "a\u2028b"


def test_every_problem_on_a_line_is_reported() -> None:
    text = chat_line({"role": "bot"}, ASSISTANT)

    sut = parse_text(text, filename="chat.jsonl")

    assert sut.problems == (
        Problem(1, 'message 1 has unrecognised role "bot"'),
        Problem(1, "message 1 has no content"),
    )
    assert sut.examples == ()


A = ASSISTANT
U = USER

JSONL_PROBLEMS = [
    # line-level
    ("not json", "not valid JSON: Expecting value at column 1"),
    ("[1, 2]", "not a JSON object"),
    (
        line({"foo": 1}),
        "missing messages (or prompt and completion, text and label, input and preferred_output)",
    ),
    # chat
    (line({"messages": []}), "messages must be a non-empty list"),
    (line({"messages": "Hi"}), "messages must be a non-empty list"),
    (chat_line(U, A, extra=1), "unrecognised keys: extra"),
    (chat_line(U, A, wanted="no"), "wanted must be true or false"),
    (line({"messages": ["Hi", A]}), "message 1 is not an object"),
    (chat_line({"content": "Hi"}, A), "message 1 has no role"),
    (chat_line({"role": "user"}, A), "message 1 has no content"),
    (chat_line({"role": "user", "content": None}, A), "message 1 has no content"),
    (
        chat_line({"role": "developer", "content": "x"}, U, A),
        'message 1 has unrecognised role "developer"',
    ),
    (chat_line({"role": ["user"], "content": "x"}, A), 'message 1 has unrecognised role ["user"]'),
    (chat_line({**U, "tool_calls": []}, A), "message 1 has unrecognised keys: tool_calls"),
    (chat_line({"role": "user", "content": 5}, A), "message 1 content is not a string"),
    (chat_line({"role": "user", "content": "  "}, A), "message 1 has empty content"),
    (chat_line(U, {**A, "weight": 2}), "message 2 weight must be 0 or 1"),
    (chat_line(U, {**A, "weight": True}), "message 2 weight must be 0 or 1"),
    (chat_line({**U, "name": 5}, A), "message 1 name is not a string"),
    (chat_line(SYSTEM, U), "no assistant message"),
    (chat_line(SYSTEM, A), "no user message before the last assistant message"),
    (chat_line(U, {**A, "weight": 0}), "every assistant message has weight 0: nothing to learn"),
    # preference
    (preference_line(input=None), "missing input"),
    (preference_line(input="Hi"), "input must be an object with messages"),
    (preference_line(input={}), "input has no messages"),
    (preference_line(input={"messages": [U], "x": 1}), "input has unrecognised keys: x"),
    (preference_line(input={"messages": []}), "input messages must be a non-empty list"),
    (preference_line(input={"messages": [{"role": "user"}]}), "input message 1 has no content"),
    (preference_line(input={"messages": [SYSTEM]}), "input has no user message"),
    (preference_line(preferred_output=None), "missing preferred_output"),
    (preference_line(non_preferred_output=None), "missing non_preferred_output"),
    (preference_line(preferred_output=[]), "preferred_output must be a non-empty list"),
    (
        preference_line(preferred_output=[U]),
        "preferred_output must hold exactly one assistant message",
    ),
    (
        preference_line(non_preferred_output=[A, A]),
        "non_preferred_output must hold exactly one assistant message",
    ),
    (
        preference_line(preferred_output=[{"role": "assistant"}]),
        "preferred_output message 1 has no content",
    ),
    (
        preference_line(non_preferred_output=[A]),
        "preferred and non-preferred outputs are the same",
    ),
    (preference_line(extra=1), "unrecognised keys: extra"),
    # prompt/completion and synonyms
    (line({"prompt": "Hi"}), "missing completion"),
    (line({"completion": "Hi"}), "missing prompt"),
    (line({"prompt": " ", "completion": "x"}), "empty prompt"),
    (line({"prompt": 3, "completion": "x"}), "prompt must be a string or a list of messages"),
    (line({"prompt": [], "completion": "x"}), "prompt must be a non-empty list"),
    (line({"prompt": [A], "completion": "x"}), "prompt has no user message"),
    (line({"prompt": [{"role": "user"}], "completion": "x"}), "prompt message 1 has no content"),
    (line({"prompt": "x", "completion": 3}), "completion must be a string"),
    (line({"prompt": "x", "completion": ""}), "empty completion"),
    (line({"prompt": "x", "completion": "y", "rejected": 4}), "rejected must be a string"),
    (line({"prompt": "x", "completion": "y", "id": 4}), "unrecognised keys: id"),
    (line({"prompt": "x", "completion": "y", "wanted": 0}), "wanted must be true or false"),
    (line({"input": "x"}), "missing output"),
    (line({"question": "x", "answer": ""}), "empty answer"),
    # text/label
    (line({"text": "x"}), "missing label"),
    (line({"label": "x"}), "missing text"),
    (line({"text": 1, "label": "a"}), "text must be a string"),
    (line({"text": "x", "label": True}), "label must be a string"),
    (line({"text": "x", "label": " "}), "empty label"),
    (line({"text": "", "label": "a"}), "empty text"),
    (line({"text": "x", "label": "a", "id": 1}), "unrecognised keys: id"),
]


@pytest.mark.parametrize(("bad_line", "message"), JSONL_PROBLEMS)
def test_jsonl_problem_is_reported_with_its_line_and_produces_nothing(
    bad_line: str, message: str
) -> None:
    sut = parse_text("\n" + bad_line + "\n", filename="data.jsonl")

    assert sut.problems == (Problem(2, message),)
    assert sut.examples == ()


# --- OpenAI preference JSONL -----------------------------------------------------------------


def test_preference_line_becomes_preferred_completion_and_rejected() -> None:
    text = preference_line(input={"messages": [SYSTEM, USER]})

    sut = parse_text(text, filename="dpo.jsonl")

    assert sut.examples == (
        Example(
            prompt=(ChatMessage(Role.SYSTEM, "Be brief."), user("Hi")),
            completion="Hello!",
            rejected="Go away.",
            origin="dpo.jsonl line 1",
        ),
    )
    assert sut.task is Task.CHAT


def test_preference_positive_false_marks_unwanted() -> None:
    (example,) = parse_text(preference_line(), filename="dpo.jsonl", positive=False).examples

    assert example.wanted is False


# --- prompt/completion and text/label JSONL --------------------------------------------------


def test_prompt_completion_line_becomes_single_turn_chat_example() -> None:
    text = line({"prompt": "Capital of France?", "completion": "Paris"})

    sut = parse_text(text, filename="qa.jsonl")

    assert sut.examples == (
        Example.single_turn("Capital of France?", "Paris", origin="qa.jsonl line 1"),
    )
    assert sut.task is Task.CHAT


@pytest.mark.parametrize(("ask", "answer"), [("input", "output"), ("question", "answer")])
def test_prompt_completion_synonyms_are_read(ask: str, answer: str) -> None:
    sut = parse_text(line({ask: "2+2?", answer: "4"}), filename="qa.jsonl")

    assert sut.examples == (Example.single_turn("2+2?", "4", origin="qa.jsonl line 1"),)


def test_example_to_dict_output_is_read_back() -> None:
    original = Example(
        prompt=(ChatMessage(Role.SYSTEM, "Be kind."), user("Hi")),
        completion="Hello",
        rejected="Go away",
        wanted=False,
        origin="cor-123",
    )

    (example,) = parse_text(line(original.to_dict()), filename="export.jsonl").examples

    assert example.key() == original.key()


def test_text_label_line_becomes_classification_example() -> None:
    text = line({"text": " Great film ", "label": " positive "})

    sut = parse_text(text, filename="reviews.jsonl")

    assert sut.examples == (
        Example.single_turn("Great film", "positive", origin="reviews.jsonl line 1"),
    )
    assert sut.task is Task.CLASSIFICATION


def test_integer_label_is_read_as_text() -> None:
    (example,) = parse_text(line({"text": "x", "label": 1}), filename="d.jsonl").examples

    assert example.completion == "1"


def test_mixing_labelled_and_chat_lines_is_a_problem() -> None:
    text = line({"text": "Great", "label": "positive"}) + "\n" + chat_line(USER, ASSISTANT)

    sut = parse_text(text, filename="d.jsonl")

    assert sut.problems == (Problem(None, MIXED_KINDS),)
    assert sut.task is Task.CHAT
    assert len(sut.examples) == 2


# --- the positive flag -----------------------------------------------------------------------


@pytest.mark.parametrize(("positive", "wanted"), [(None, True), (True, True), (False, False)])
def test_positive_flag_sets_wanted_on_chat_examples(positive: bool | None, wanted: bool) -> None:
    (example,) = parse_text(
        chat_line(USER, ASSISTANT), filename="c.jsonl", positive=positive
    ).examples

    assert example.wanted is wanted


def test_positive_false_marks_prompt_completion_unwanted() -> None:
    text = line({"prompt": "x", "completion": "y"})

    (example,) = parse_text(text, filename="c.jsonl", positive=False).examples

    assert example.wanted is False


def test_positive_true_does_not_override_unwanted_in_data() -> None:
    text = chat_line(USER, ASSISTANT, wanted=False)

    (example,) = parse_text(text, filename="c.jsonl", positive=True).examples

    assert example.wanted is False


def test_positive_flag_is_ignored_on_labelled_data() -> None:
    text = line({"text": "Awful", "label": "negative"})

    (example,) = parse_text(text, filename="r.jsonl", positive=True).examples

    assert example == Example.single_turn("Awful", "negative", origin="r.jsonl line 1")


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
