"""Reading records: every JSON Lines shape (OpenAI chat, preference, prompt/completion,
text/label), the problems found in each, and the positive flag."""

from __future__ import annotations

import json
from collections.abc import Mapping

import pytest

from trainerbot.core.datasets import (
    MIXED_KINDS,
    NOT_UTF8,
    ParseResult,
    Problem,
    parse_text,
)
from trainerbot.core.entities import ChatMessage, Example, Role, Task

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
