"""TrainedChatModel: trained ids answered from their artifacts, every other id passed through."""

from __future__ import annotations

from pathlib import Path

import pytest
from learning_support import (
    BASE_MODEL,
    BASE_REPLY,
    HashingEmbeddings,
    chat_dataset,
    job_for,
    spec_for,
)

from trainerbot.adapters.learning import (
    FewShotModelTrainer,
    FilesystemArtifactStore,
    TrainedChatModel,
)
from trainerbot.adapters.learning.trained_chat import FEWSHOT_NOTE
from trainerbot.adapters.memory import (
    InMemoryChatModel,
    InMemoryInteractionLog,
    InMemoryModelRegistry,
)
from trainerbot.core.answer_message import AnswerMessage, AnswerRequest
from trainerbot.core.entities import Actor, ChatMessage, Correction, Example, Role
from trainerbot.core.errors import EmptyMessage, ServiceError, UnknownModel
from trainerbot.core.evaluation import normalize
from trainerbot.core.unwanted import WITHHELD_REPLY
from trainerbot.ports import ChatModel

SYSTEM = ChatMessage(Role.SYSTEM, "You are trainerbot.")


def user(text: str) -> ChatMessage:
    return ChatMessage(Role.USER, text)


def assistant(text: str) -> ChatMessage:
    return ChatMessage(Role.ASSISTANT, text)


def correction() -> Correction:
    """What RecordCorrection stores when a user corrects the answer to the Australia question."""
    return Correction(
        id="cor-1",
        interaction_id="int-1",
        message_id="m1",
        author_id="u1",
        prompt="What is the capital of Australia?",
        wrong_answer="Sydney.",
        corrected="Canberra.",
        model=BASE_MODEL,
        history=(user("Hi"), assistant("Hello! Ask me anything.")),
    )


async def train(fewshot: FewShotModelTrainer, *examples: Example) -> str:
    dataset = chat_dataset(*examples)
    job = await fewshot.start(spec_for(dataset), job=job_for(dataset))
    assert job.model is not None
    return job.model


def test_it_is_a_chat_model(chat: TrainedChatModel) -> None:
    assert isinstance(chat, ChatModel)


async def test_a_base_model_id_passes_through_unchanged(
    chat: TrainedChatModel, base: InMemoryChatModel
) -> None:
    messages = [SYSTEM, user("Hi")]

    reply = await chat.complete(messages, model="gpt-5.6-terra")

    assert reply == BASE_REPLY
    assert [(call.messages, call.model) for call in base.calls] == [
        (tuple(messages), "gpt-5.6-terra")
    ]


async def test_a_corrected_question_asked_again_gets_the_correction_without_the_base_model(
    chat: TrainedChatModel, fewshot: FewShotModelTrainer, base: InMemoryChatModel
) -> None:
    model = await train(fewshot, correction().example())

    reply = await chat.complete(
        [
            SYSTEM,
            user("Thanks"),
            assistant("You're welcome."),
            user("what is the capital of australia"),
        ],
        model=model,
    )

    assert reply == "Canberra."
    assert base.calls == []


async def test_another_question_asks_the_base_model_with_the_nearest_examples_first(
    chat: TrainedChatModel, fewshot: FewShotModelTrainer, base: InMemoryChatModel
) -> None:
    model = await train(
        fewshot,
        correction().example(),
        Example.single_turn("What is the capital of France?", "Paris."),
        Example.single_turn("How do I reset the office printer?", "Hold the green button."),
    )
    conversation = [
        SYSTEM,
        user("Hi"),
        assistant("Hello."),
        user("What is the capital of Austria?"),
    ]

    reply = await chat.complete(conversation, model=model)

    assert reply == BASE_REPLY
    [call] = base.calls
    assert call.model == BASE_MODEL
    assert call.messages[0] == ChatMessage(Role.SYSTEM, f"You are trainerbot.\n\n{FEWSHOT_NOTE}")
    shown = call.messages[1:-3]
    assert [m.role for m in shown] == [Role.USER, Role.ASSISTANT] * (len(shown) // 2)
    pairs = [(q.content, a.content) for q, a in zip(shown[::2], shown[1::2], strict=True)]
    # Most similar last, right before the conversation; the wrong answer is never shown.
    assert pairs[-2:] == [
        ("What is the capital of France?", "Paris."),
        ("What is the capital of Australia?", "Canberra."),
    ]
    assert all("Sydney" not in m.content for m in call.messages)
    assert call.messages[-3:] == tuple(conversation[1:])


async def test_k_limits_how_many_examples_are_shown(
    artifacts: FilesystemArtifactStore, fewshot: FewShotModelTrainer, base: InMemoryChatModel
) -> None:
    model = await train(
        fewshot, *(Example.single_turn(f"What is fact {n}?", f"Fact {n}.") for n in range(10))
    )
    sut = TrainedChatModel(base, artifacts, k=2)

    await sut.complete([user("What is fact number eleven?")], model=model)

    assert len(base.calls[0].messages) == 1 + 2 * 2 + 1
    sut.close()


async def test_an_unwanted_answer_is_never_returned(
    chat: TrainedChatModel, fewshot: FewShotModelTrainer
) -> None:
    model = await train(
        fewshot,
        Example.single_turn("Can I share my password?", "Sure, go ahead.", wanted=False),
        Example.single_turn("Is the office open on Sunday?", "Yes.", wanted=False),
        Example.single_turn("Is the office open on Sunday?", "No, Monday to Friday only."),
    )

    answer = await chat.complete([user("is the office open on sunday")], model=model)
    other = await chat.complete([user("Can I share my password?")], model=model)

    assert answer == "No, Monday to Friday only."
    assert other == BASE_REPLY


async def test_a_base_reply_repeating_an_unwanted_answer_is_named_and_the_use_case_withholds_it(
    artifacts: FilesystemArtifactStore, fewshot: FewShotModelTrainer
) -> None:
    model = await train(
        fewshot, Example.single_turn("Can I share my password?", "Sure, go ahead.", wanted=False)
    )
    parrot = InMemoryChatModel(lambda messages, model: "Sure, go ahead!")
    sut = TrainedChatModel(parrot, artifacts)
    question = [user("can I share my password")]

    # The adapter only generates, and names what it was taught not to say...
    assert await sut.complete(question, model=model) == "Sure, go ahead!"
    assert await sut.unwanted(question, model=model) == {normalize("Sure, go ahead.")}
    assert await sut.unwanted([user("Is it raining?")], model=model) == frozenset()
    assert all("Sure, go ahead" not in m.content for m in parrot.calls[0].messages)

    # ...and the use case never gives it, whole or streamed.
    registry = InMemoryModelRegistry()
    await registry.activate(model)
    answer = AnswerMessage(
        chat_model=sut,
        interactions=InMemoryInteractionLog(),
        models=registry,
        default_model=BASE_MODEL,
        system_prompt="",
    )
    asked = AnswerRequest("c", Actor("u1", "Ann"), "can I share my password", "m1")
    assert (await answer.execute(asked)).reply == WITHHELD_REPLY
    assert [piece async for piece in await answer.stream(asked)] == [WITHHELD_REPLY]
    sut.close()


async def test_stream_gives_what_complete_gives_for_taught_generated_and_passed_through_answers(
    chat: TrainedChatModel, fewshot: FewShotModelTrainer, base: InMemoryChatModel
) -> None:
    model = await train(fewshot, correction().example())
    asked = {
        "taught": ([user("What is the capital of Australia?")], model),
        "generated": ([user("What is the capital of Peru?")], model),
        "passed through": ([SYSTEM, user("Hello")], BASE_MODEL),
    }

    for messages, model_id in asked.values():
        pieces = [piece async for piece in chat.stream(messages, model=model_id)]
        assert "".join(pieces) == await chat.complete(messages, model=model_id)
    taught = [piece async for piece in chat.stream(*asked["taught"][:1], model=model)]
    assert taught == ["Canberra."]  # known at once: one piece
    assert len([piece async for piece in chat.stream([user("Hello")], model=BASE_MODEL)]) > 1


async def test_unwanted_of_a_model_that_is_not_trained_is_the_base_models(
    artifacts: FilesystemArtifactStore,
) -> None:
    base = InMemoryChatModel(unwanted=lambda messages, model: [f"not from {model}"])
    sut = TrainedChatModel(base, artifacts)

    assert await sut.unwanted([user("Hi")], model=BASE_MODEL) == {f"not from {BASE_MODEL}"}
    sut.close()


async def test_a_model_saved_by_another_instance_answers_after_a_restart(
    fewshot: FewShotModelTrainer, models_root: Path, base: InMemoryChatModel
) -> None:
    model = await train(fewshot, correction().example())
    restarted = TrainedChatModel(base, FilesystemArtifactStore(models_root))

    assert await restarted.complete([user("What is the capital of Australia?")], model=model) == (
        "Canberra."
    )
    restarted.close()


async def test_an_unknown_or_malformed_trained_id_is_an_unknown_model(
    chat: TrainedChatModel, base: InMemoryChatModel
) -> None:
    for model in ("fewshot:nothing-here-1", "local:../../../etc/passwd", "fewshot:A"):
        with pytest.raises(UnknownModel):
            await chat.complete([user("Hi")], model=model)
    assert base.calls == []


async def test_a_damaged_artifact_is_a_service_error(
    chat: TrainedChatModel, artifacts: FilesystemArtifactStore
) -> None:
    artifacts.save("fewshot:broken-1", b"this is not a zip")

    with pytest.raises(ServiceError, match="fewshot:broken-1 cannot be read"):
        await chat.complete([user("Hi")], model="fewshot:broken-1")


async def test_a_conversation_without_a_user_message_is_refused(
    chat: TrainedChatModel, fewshot: FewShotModelTrainer
) -> None:
    model = await train(fewshot, correction().example())

    with pytest.raises(EmptyMessage):
        await chat.complete([SYSTEM], model=model)


async def test_loaded_models_are_cached_up_to_the_cache_size(
    artifacts: FilesystemArtifactStore, fewshot: FewShotModelTrainer, base: InMemoryChatModel
) -> None:
    class CountingStore(FilesystemArtifactStore):
        loads: list[str] = []  # noqa: RUF012 - a test double's record

        def load(self, model_id: str) -> bytes | None:
            self.loads.append(model_id)
            return super().load(model_id)

    store = CountingStore(artifacts.root)
    first = await train(fewshot, Example.single_turn("one?", "1"))
    dataset = chat_dataset(Example.single_turn("two?", "2"), name="second")
    second = (await fewshot.start(spec_for(dataset), job=job_for(dataset))).model
    assert second is not None
    sut = TrainedChatModel(base, store, cache_size=1)

    for model in (first, first, second, second, first):
        await sut.complete([user("one?")], model=model)

    assert store.loads == [first, second, first]
    sut.close()


async def test_a_question_taught_word_for_word_is_answered_without_embedding_it(
    artifacts: FilesystemArtifactStore, base: InMemoryChatModel
) -> None:
    embeddings = HashingEmbeddings()
    trainer = FewShotModelTrainer(artifacts, base_model=BASE_MODEL, embeddings=embeddings)
    model = await train(
        trainer, Example.single_turn("Where do I park my bike?", "In the courtyard.")
    )
    calls_after_training = len(embeddings.calls)
    sut = TrainedChatModel(base, artifacts, embeddings=embeddings, semantic_threshold=0.5)

    reply = await sut.complete([user("Where do I park my bike?")], model=model)

    assert reply == "In the courtyard."
    assert len(embeddings.calls) == calls_after_training
    assert base.calls == []
    sut.close()
    trainer.close()


async def test_with_embeddings_the_question_is_embedded_to_find_examples(
    artifacts: FilesystemArtifactStore, base: InMemoryChatModel
) -> None:
    embeddings = HashingEmbeddings()
    trainer = FewShotModelTrainer(artifacts, base_model=BASE_MODEL, embeddings=embeddings)
    model = await train(
        trainer,
        Example.single_turn("Where do I park my bike?", "In the courtyard."),
        Example.single_turn("Where is the coffee machine?", "Next to the lifts."),
    )
    sut = TrainedChatModel(base, artifacts, embeddings=embeddings, k=1)

    await sut.complete([user("Is there bike parking?")], model=model)

    assert embeddings.calls[-1] == ["Is there bike parking?"]
    assert base.calls[0].messages[1:3] == (
        user("Where do I park my bike?"),
        assistant("In the courtyard."),
    )
    sut.close()
    trainer.close()


async def test_when_the_embeddings_service_fails_retrieval_uses_tf_idf(
    artifacts: FilesystemArtifactStore, base: InMemoryChatModel
) -> None:
    embeddings = HashingEmbeddings()
    trainer = FewShotModelTrainer(artifacts, base_model=BASE_MODEL, embeddings=embeddings)
    model = await train(trainer, Example.single_turn("Where do I park my bike?", "Outside."))
    embeddings.fail_with = ServiceError("down")
    sut = TrainedChatModel(base, artifacts, embeddings=embeddings)

    reply = await sut.complete([user("where can I park a bike")], model=model)

    assert reply == BASE_REPLY
    assert base.calls[0].messages[-3:-1] == (
        user("Where do I park my bike?"),
        assistant("Outside."),
    )
    sut.close()
    trainer.close()


@pytest.mark.usefixtures("no_full_collections")
async def test_answering_does_not_block_the_event_loop(
    chat: TrainedChatModel, fewshot: FewShotModelTrainer, event_loop_watch: type
) -> None:
    model = await train(
        fewshot,
        *(Example.single_turn(f"Question {n} on subject {n % 13}?", f"A{n}") for n in range(2000)),
    )

    async with event_loop_watch(tick=0.005) as watch:
        for _ in range(5):
            await chat.complete([user("Question on subject 7?")], model=model)

    assert watch.max_gap < 0.1
