"""Embedding trainerbot: your own chat model behind the ChatModel port, the core's rules around it."""

import asyncio
from collections.abc import Sequence

from trainerbot import (
    Actor,
    AnswerRequest,
    CorrectionRequest,
    Settings,
    TrainerbotError,
    create_container,
)
from trainerbot.core.entities import ChatMessage
from trainerbot.ports import ChatModel


class CapitalsModel(ChatModel):
    """Any object with this method is a chat model: call your own LLM here."""

    async def complete(self, messages: Sequence[ChatMessage], *, model: str) -> str:
        question = messages[-1].content.lower()
        return "Lyon" if "france" in question else "I don't know."


async def main() -> None:
    container = create_container(Settings(storage="memory"))  # or the workspace on disk
    container.chat_model.override(CapitalsModel())
    app = container.use_cases()
    ada = Actor(id="ada", name="Ada")

    answer = await app.answer_message.execute(
        AnswerRequest(conversation_id="demo", author=ada, text="Capital of France?", message_id="1")
    )
    print("bot:", answer.reply)

    fixed = await app.record_correction.execute(
        CorrectionRequest(actor=ada, message_id="1", text="Paris")
    )
    example = fixed.example
    print("training example:", example.user_text, "->", example.completion, "not", example.rejected)

    try:
        await app.answer_message.execute(
            AnswerRequest(conversation_id="demo", author=ada, text="   ", message_id="2")
        )
    except TrainerbotError as error:  # every refusal is one line that is safe to show
        print("refused:", error)


if __name__ == "__main__":
    asyncio.run(main())
