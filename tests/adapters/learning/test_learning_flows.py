"""The issue's two acceptance flows, through the real use cases, with these adapters behind them
and in-memory records: correct → train fewshot → use → the correction comes back; and train local
on the labelled dataset → test against the base model."""

from __future__ import annotations

from collections.abc import Sequence

from learning_support import BASE_MODEL, SUPPORT_DATA

from trainerbot.adapters.learning import (
    FewShotModelTrainer,
    FilesystemArtifactStore,
    LocalModelTrainer,
    TrainedChatModel,
)
from trainerbot.adapters.memory import (
    InMemoryChatModel,
    InMemoryCorrectionStore,
    InMemoryDatasetStore,
    InMemoryInteractionLog,
    InMemoryJobStore,
    InMemoryModelRegistry,
    InMemoryWorkspace,
)
from trainerbot.core.answer_message import AnswerMessage, AnswerRequest
from trainerbot.core.dataset_sources import Upload
from trainerbot.core.entities import Actor, ChatMessage
from trainerbot.core.record_correction import CorrectionRequest, RecordCorrection
from trainerbot.core.test_model import TestModel, TestRequest
from trainerbot.core.train_model import TrainModel, TrainRequest
from trainerbot.core.use_model import UseModel, UseModelRequest

TRAINER = Actor(id="u1", name="Ada", can_train=True)
QUESTION = "What is the capital of Australia?"


def small_model(messages: Sequence[ChatMessage], model: str) -> str:
    """A base model as unreliable as a tiny one: wrong about Australia, whatever it is shown."""
    return "Sydney." if "australia" in messages[-1].content.casefold() else "I do not know."


class Bot:
    """The use cases wired as the container wires them, over one artifact store."""

    def __init__(self, artifacts: FilesystemArtifactStore, base: InMemoryChatModel) -> None:
        self.interactions = InMemoryInteractionLog()
        self.corrections = InMemoryCorrectionStore()
        self.models = InMemoryModelRegistry()
        self.datasets = InMemoryDatasetStore()
        self.fewshot = FewShotModelTrainer(artifacts, base_model=BASE_MODEL)
        self.local = LocalModelTrainer(artifacts, chat_trainer=self.fewshot)
        self.chat = TrainedChatModel(base, artifacts)
        self.answer = AnswerMessage(
            chat_model=self.chat,
            interactions=self.interactions,
            models=self.models,
            default_model=BASE_MODEL,
            system_prompt="You are trainerbot.",
        )
        self.correct = RecordCorrection(
            interactions=self.interactions, corrections=self.corrections
        )
        self.train = TrainModel(
            trainers={"fewshot": self.fewshot, "local": self.local},
            default_trainer="local",
            datasets=self.datasets,
            corrections=self.corrections,
            jobs=InMemoryJobStore(),
            models=self.models,
            workspace=InMemoryWorkspace(),
        )
        self.use = UseModel(models=self.models, default_model=BASE_MODEL)
        self.test = TestModel(
            chat_model=self.chat,
            datasets=self.datasets,
            models=self.models,
            default_model=BASE_MODEL,
        )

    async def ask(self, text: str, message_id: str) -> str:
        request = AnswerRequest(
            conversation_id="console", author=TRAINER, text=text, message_id=message_id
        )
        return (await self.answer.execute(request)).reply

    def close(self) -> None:
        for part in (self.fewshot, self.local, self.chat):
            part.close()


async def test_a_corrected_answer_comes_back_after_training_fewshot_and_using_it(
    artifacts: FilesystemArtifactStore,
) -> None:
    bot = Bot(artifacts, InMemoryChatModel(small_model))

    assert await bot.ask(QUESTION, "m1") == "Sydney."
    await bot.correct.execute(CorrectionRequest(actor=TRAINER, message_id="m1", text="Canberra."))
    trained = await bot.train.execute(
        TrainRequest(actor=TRAINER, method="fewshot", include_corrections=True)
    )
    assert trained.job.model is not None
    await bot.use.execute(UseModelRequest(actor=TRAINER, model=trained.job.model))

    assert await bot.ask(QUESTION, "m2") == "Canberra."
    assert await bot.ask("what is the capital of australia", "m3") == "Canberra."
    assert await bot.ask("What is the capital of Peru?", "m4") == "I do not know."
    bot.close()


async def test_the_local_classifier_beats_the_base_model_in_the_comparison(
    artifacts: FilesystemArtifactStore,
) -> None:
    bot = Bot(artifacts, InMemoryChatModel(small_model))
    upload = Upload(filename=SUPPORT_DATA.name, data=SUPPORT_DATA.read_bytes())

    trained = await bot.train.execute(TrainRequest(actor=TRAINER, attachment=upload))
    tested = await bot.test.execute(
        TestRequest(
            actor=TRAINER,
            dataset=trained.dataset.name,
            model=trained.job.model,
            baseline=BASE_MODEL,
        )
    )

    assert trained.job.trainer == "local"
    assert tested.report.metrics["accuracy"] >= 0.85
    assert tested.baseline_report is not None
    assert tested.baseline_report.metrics["accuracy"] == 0.0
    assert tested.comparison is not None
    assert tested.comparison.deltas["accuracy"] >= 0.85
    bot.close()
