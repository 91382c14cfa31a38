"""The command language: positional in the original's order, or key=value; quoting; rest-of-line."""

import pytest

from trainerbot.core.commands import COMMANDS, parse_command, split_command
from trainerbot.core.errors import InvalidArgument, UnknownCommand


def parse(line: str) -> dict[str, object]:
    split = split_command(line)
    assert split is not None
    return dict(parse_command(*split).args)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            "!train data_dir=reviews positive=false method=local",
            {"data_dir": "reviews", "positive": False, "method": "local"},
        ),
        ("!train hello reviews true", {"data": "hello", "data_dir": "reviews", "positive": True}),
        ('!train "hello world" positive=yes', {"data": "hello world", "positive": True}),
        ('!train data_dir="my reviews"', {"data_dir": "my reviews"}),
        ("!train corrections=true method=fewshot", {"corrections": True, "method": "fewshot"}),
        ("!train corrections=true holdout=true", {"corrections": True, "holdout": True}),
        ("!test data_dir=tests/answers.json", {"data_dir": "tests/answers.json"}),
        (
            '!test data_dir="my tests" model=m1 baseline=m0',
            {"data_dir": "my tests", "model": "m1", "baseline": "m0"},
        ),
        (
            "!correct 123 the right answer is 4",
            {"message_id": "123", "text": "the right answer is 4"},
        ),
        ('!feedback don\'t "quote" me', {"text": 'don\'t "quote" me'}),
        (
            '!test [{"prompt": "a b", "completion": "c"}] model=m1',
            {"data": '[{"prompt": "a b", "completion": "c"}]', "model": "m1"},
        ),
        ("!select_dataset reviews false", {"folder": "reviews", "positive": False}),
        ("!archive 'two words'", {"folder": "two words"}),
        ("!HI", {}),
    ],
)
def test_parses_positional_and_named_arguments(line: str, expected: dict[str, object]) -> None:
    assert parse(line) == expected


def test_a_code_block_is_one_value_with_its_lines_kept() -> None:
    line = '!train ```jsonl\n{"a": 1}\n{"b": 2}\n``` positive=true'
    assert parse(line) == {"data": '{"a": 1}\n{"b": 2}', "positive": True}


def test_a_code_block_in_rest_text_loses_its_fence() -> None:
    assert parse('!test ```json\n[{"prompt": "p", "completion": "c"}]\n```')["data"] == (
        '[{"prompt": "p", "completion": "c"}]'
    )


@pytest.mark.parametrize(
    ("line", "message_part"),
    [
        ("!correct 12", "Missing text"),
        ("!correct", "Missing message_id"),
        ("!getfile a b", "Too many arguments"),
        ("!train positive=maybe", "positive must be true or false"),
        ("!train data_dir=a data_dir=b", "given twice"),
        ("!archive", "Missing folder"),
        ("!hi there", "Too many arguments"),
    ],
)
def test_malformed_arguments_get_one_line_with_the_usage(line: str, message_part: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        parse(line)
    message = str(caught.value)
    assert message_part in message
    assert "Usage: !" in message
    assert "\n" not in message


def test_an_unknown_command_points_to_help() -> None:
    with pytest.raises(UnknownCommand, match=r"Unknown command !frobnicate\. Type !help"):
        parse_command("frobnicate", "")


@pytest.mark.parametrize("line", ["hello", "", "!", "! spaced", "what is 2!"])
def test_plain_text_is_not_a_command(line: str) -> None:
    assert split_command(line) is None


def test_a_custom_prefix_is_honoured() -> None:
    assert split_command("?train x", prefix="?") == ("train", "x")
    assert split_command("!train x", prefix="?") is None


def test_every_command_of_the_original_is_kept() -> None:
    original = {
        "hi",
        "join",
        "leave",
        "train",
        "test",
        "archive",
        "select_dataset",
        "instruction",
        "correct",
        "feedback",
        "getfile",
    }
    assert original <= set(COMMANDS)


def test_the_original_train_arguments_keep_their_order() -> None:
    names = [p.name for p in COMMANDS["train"].params if p.positional]
    assert names == ["data", "data_dir", "positive"]
