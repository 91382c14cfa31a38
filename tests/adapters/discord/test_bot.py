"""The bot through dpytest: every command of the parity table, chat, corrections, feedback,
permissions and bad input, with in-memory adapters behind the real use cases."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import discord
import discord.ext.test as dpytest
import pytest
from discord_support import ANSWER, Server, say, send

from trainerbot.adapters.discord.errors import SOMETHING_WENT_WRONG
from trainerbot.core.commands import COMMANDS
from trainerbot.core.entities import Rating
from trainerbot.core.errors import PermissionDenied, UnknownModel

TRAINER_COMMANDS = sorted(name for name, spec in COMMANDS.items() if spec.trainer_only)


# --- chat -----------------------------------------------------------------------------------


async def test_a_plain_message_is_answered_as_a_reply_and_logged(server: Server) -> None:
    message = await dpytest.message("What is the capital of France?", member=server.member)

    reply = dpytest.get_message()
    assert reply.content == ANSWER
    interactions = server.container.interactions()
    logged = await interactions.find_by_message(str(reply.id))  # the reply is linked
    assert logged is not None
    assert logged.message_id == str(message.id)
    assert logged.prompt == "What is the capital of France?"


async def test_the_bot_ignores_other_bots(server: Server) -> None:
    robot = dpytest.backend.make_user("robot", "0001")
    robot.bot = True
    robot_member = dpytest.backend.make_member(robot, server.guild)

    await dpytest.message("hello", member=robot_member)

    assert dpytest.sent_queue.empty()


async def test_model_output_never_pings_anyone(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.model.answer = "@everyone look <@&123>"
    http = dpytest.backend.get_state().http
    sent_payloads: list[dict[str, Any]] = []
    real_send = http.send_message

    async def send_message(channel_id: int, *, params: Any) -> Any:
        # dpytest finds the channel in its caller's local variables: keep one here.
        caller = inspect.currentframe()
        channel = caller.f_back.f_locals.get("channel") if caller and caller.f_back else None
        assert channel is not None
        sent_payloads.append(params.payload)
        return await real_send(channel_id, params=params)

    monkeypatch.setattr(http, "send_message", send_message)

    await dpytest.message("ping them", member=server.member)

    assert "@everyone" in dpytest.get_message().content
    [payload] = sent_payloads
    assert payload["allowed_mentions"] == {"parse": [], "replied_user": False}


# --- commands everyone may use ----------------------------------------------------------------


async def test_hi_greets_by_name(server: Server) -> None:
    assert (await say(server, "!hi", by=server.member))[0].startswith("Hi ")


async def test_help_lists_every_command(server: Server) -> None:
    [text] = await say(server, "!help", by=server.member)
    for name in COMMANDS:
        assert f"!{name}" in text


async def test_help_on_one_command_shows_its_usage(server: Server) -> None:
    [text] = await say(server, "!help train", by=server.member)
    assert "!train [data] [data_dir] [positive]" in text


async def test_instruction_shows_the_instructions(server: Server) -> None:
    replies = await say(server, "!instruction", by=server.member)
    assert replies
    assert all(len(reply) <= 2000 for reply in replies)
    assert "!correct" in "\n".join(replies)


async def test_an_unknown_command_says_how_to_get_help(server: Server) -> None:
    assert await say(server, "!frobnicate", by=server.member) == [
        "Unknown command !frobnicate. Type !help to see the commands."
    ]


async def test_correct_by_message_id_records_a_correction(server: Server) -> None:
    await dpytest.message("What is the capital of France?", member=server.member)
    answer = dpytest.get_message()

    replies = await say(server, f"!correct {answer.id} Paris, on the Seine", by=server.member)

    assert replies[0].startswith("Thanks — correction ")
    [correction] = await server.container.corrections().all()
    assert correction.corrected == "Paris, on the Seine"


async def test_correct_as_a_reply_names_the_answer_it_replies_to(server: Server) -> None:
    await dpytest.message("What is the capital of France?", member=server.member)
    answer = dpytest.get_message()
    # dpytest's make_message cannot reply; the same message, with a reference, by hand.
    data = dpytest.factories.make_message_dict(
        server.channel,
        server.member,
        content="!correct Paris, on the Seine",
        guild_id=server.guild.id,
    )
    data["message_reference"] = {"message_id": answer.id, "channel_id": server.channel.id}
    dpytest.backend.get_state().parse_message_create(data)
    await dpytest.run_all_events()

    assert dpytest.get_message().content.startswith("Thanks — correction ")
    [correction] = await server.container.corrections().all()
    assert correction.corrected == "Paris, on the Seine"
    assert correction.message_id == str(answer.id)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("!correct", "Missing message_id. Usage: !correct <message_id> <text...>"),
        ("!correct 123", "Missing text. Usage: !correct <message_id> <text...>"),
        ("!feedback", "Missing text. Usage: !feedback <text...>"),
        ("!correct 42 the answer", "I have no answer with id 42"),
        ("!cancel", "Missing job_id. Usage: !cancel <job_id>"),
        ("!train positive=maybe", "positive must be true or false"),
    ],
)
async def test_bad_arguments_get_one_clear_line(server: Server, line: str, expected: str) -> None:
    [reply] = await say(server, line)
    assert reply.startswith(expected)
    assert "\n" not in reply


async def test_feedback_is_recorded(server: Server) -> None:
    replies = await say(server, "!feedback the answers are too long", by=server.member)

    assert replies[0].startswith("Thanks — feedback ")
    [feedback] = await server.container.feedback().all()
    assert feedback.text == "the answers are too long"


async def test_a_thumbs_down_on_an_answer_is_feedback_on_it(server: Server) -> None:
    await dpytest.message("What is the capital of France?", member=server.member)
    answer = dpytest.get_message()

    # dpytest 0.7's reactions lack a field discord.py 2.7 reads ("type"): the gateway event
    # the bot receives, built by hand.
    event = {
        "type": 0,
        "user_id": server.member.id,
        "channel_id": server.channel.id,
        "message_id": answer.id,
        "guild_id": server.guild.id,
        "message_author_id": server.bot.user.id,
        "burst": False,
    }
    payload = discord.RawReactionActionEvent(event, discord.PartialEmoji(name="👎"), "REACTION_ADD")
    payload.member = server.member
    server.bot.dispatch("raw_reaction_add", payload)
    await dpytest.run_all_events()

    [feedback] = await server.container.feedback().all()
    assert feedback.rating is Rating.DOWN
    assert feedback.message_id == str(answer.id)


# --- trainer commands -------------------------------------------------------------------------


@pytest.mark.parametrize("name", TRAINER_COMMANDS)
async def test_a_member_without_the_trainer_role_is_refused_every_trainer_command(
    server: Server, name: str
) -> None:
    assert await say(server, f"!{name} x", by=server.member) == [str(PermissionDenied())]


async def test_getfile_sends_a_workspace_file(server: Server) -> None:
    await dpytest.message("!getfile docs/readme.txt", member=server.trainer)

    caption, sent = dpytest.get_message(), dpytest.get_message()
    assert caption.content == "📄 docs/readme.txt"
    [attachment] = sent.attachments
    assert attachment.filename == "readme.txt"


@pytest.mark.parametrize(
    "line",
    [
        "!getfile ../../etc/passwd",
        "!getfile /etc/passwd",
        "!archive ../",
        "!select_dataset ../../etc",
        "!train data_dir=../outside",
        "!transcribe ../secret.ogg",
    ],
)
async def test_paths_that_leave_the_workspace_are_refused(server: Server, line: str) -> None:
    replies = await send(server, line)
    assert "workspace" in replies[-1].content
    assert not any("root:" in reply.content for reply in replies)
    assert not any(reply.attachments for reply in replies)


async def test_train_acknowledges_then_reports_the_job(server: Server) -> None:
    status, *results = await send(server, "!train data_dir=reviews method=local")

    assert status.content == "⏳ Checking the dataset and starting training…"
    edited = await server.channel.fetch_message(status.id)
    assert edited.content == "✅ Checking the dataset and starting training: done."
    [job] = await server.container.jobs().all()
    assert any(job.id in result.content for result in results)


async def test_models_lists_the_default_and_use_refuses_an_unknown_one(server: Server) -> None:
    default = server.container.settings().resolved_chat_model
    [listed] = await say(server, "!models")
    assert default in listed

    assert await say(server, "!use nope") == [
        str(UnknownModel("There is no model 'nope'; see !models."))
    ]


async def test_an_unexpected_failure_gets_a_generic_line(
    server: Server, caplog: pytest.LogCaptureFixture
) -> None:
    server.model.failure = RuntimeError("secret detail /home/x")

    await dpytest.message("hello", member=server.member)

    assert dpytest.get_message().content == SOMETHING_WENT_WRONG
    assert "secret detail" in caplog.text


async def test_an_audio_attachment_is_transcribed_then_answered(
    server: Server, tmp_path: Path
) -> None:
    recording = tmp_path / "voice-message.ogg"
    recording.write_bytes(b"\x00\x01" * 800)  # the in-memory converter takes bytes as PCM

    sent = await send(server, "", by=server.member, attachments=[str(recording)])
    replies = [message.content for message in sent]

    assert replies == ["🎙️ Heard: what is the capital of france", ANSWER]
    [(audio, _)] = server.container.speech_to_text().heard
    assert audio.samples == recording.read_bytes()


async def test_a_long_answer_is_split_under_the_limit_with_code_kept_whole(server: Server) -> None:
    code = "\n".join(f"    print({i})" for i in range(150))
    server.model.answer = f"Here you go:\n```python\n{code}\n```\nDone."

    replies = await say(server, "write code", by=server.member)

    assert len(replies) > 1
    assert all(len(reply) <= 2000 for reply in replies)
    assert all(reply.count("```") % 2 == 0 for reply in replies)
    assert replies[-1].endswith("Done.")


async def test_a_very_long_answer_comes_as_a_file(server: Server) -> None:
    server.model.answer = "word " * 5_000

    [reply] = await send(server, "tell me everything", by=server.member)

    # (dpytest drops the text of a message that carries a file; the file is what matters.)
    [attachment] = reply.attachments
    assert attachment.filename == "answer.md"
    assert (await attachment.read()).decode() == server.model.answer.strip()
