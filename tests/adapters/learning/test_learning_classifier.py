"""The local trainer: a scikit-learn classifier that learns the repository's labelled dataset."""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from learning_support import BASE_MODEL, chat_dataset, job_for, spec_for, support_dataset

from trainerbot.adapters.learning import (
    FewShotModelTrainer,
    FilesystemArtifactStore,
    LocalModelTrainer,
    TrainedChatModel,
)
from trainerbot.adapters.learning.artifacts import unpack
from trainerbot.adapters.memory import InMemoryChatModel
from trainerbot.core.entities import ChatMessage, Dataset, Example, JobStatus, Role, TrainingJob
from trainerbot.core.errors import DatasetInvalid
from trainerbot.core.evaluation import Prediction, compare, evaluate
from trainerbot.core.prompts import classification_instruction
from trainerbot.ports import ChatModel, ModelTrainer


@dataclass(frozen=True)
class Trained:
    """One classifier trained by the local trainer on the dataset's training part, shared by the
    tests that only read it (training and saving take a good part of a second)."""

    root: Path
    job: TrainingJob
    train: Dataset
    test: Dataset

    @property
    def model(self) -> str:
        assert self.job.model is not None
        return self.job.model

    def chat(self, base: ChatModel) -> TrainedChatModel:
        return TrainedChatModel(base, FilesystemArtifactStore(self.root))


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Trained:
    root = tmp_path_factory.mktemp("shared") / "models"
    dataset = support_dataset()
    train, test = dataset.split()
    artifacts = FilesystemArtifactStore(root)
    trainer = LocalModelTrainer(
        artifacts, chat_trainer=FewShotModelTrainer(artifacts, base_model=BASE_MODEL)
    )
    job = asyncio.run(
        trainer.start(spec_for(train, validation=test), job=job_for(dataset, trainer="local"))
    )
    trainer.close()
    return Trained(root, job, train, test)


async def predict(chat_model: ChatModel, model: str, dataset: Dataset) -> list[Prediction]:
    """What TestModel asks: the label instruction, then each example's prompt."""
    instruction = classification_instruction(dataset.labels)
    return [
        Prediction(
            example=example,
            output=(await chat_model.complete((instruction, *example.prompt), model=model)).strip(),
        )
        for example in dataset.examples
    ]


def test_the_dataset_is_over_200_short_texts_with_four_labels() -> None:
    dataset = support_dataset()
    _, test = dataset.split()

    assert len(dataset.examples) >= 200
    assert dataset.labels == ("account", "billing", "delivery", "technical")
    assert max(len(e.user_text) for e in dataset.examples) < 120
    assert len(test.examples) >= 40
    assert {e.completion for e in test.examples} == set(dataset.labels)


async def test_the_classifier_reaches_85_percent_held_out_and_beats_the_base_model(
    trained: Trained, base: InMemoryChatModel
) -> None:
    chat = trained.chat(base)

    report = evaluate(trained.model, trained.test, await predict(chat, trained.model, trained.test))
    base_report = evaluate("base", trained.test, await predict(chat, "base", trained.test))
    comparison = compare(report, base_report)

    assert report.metrics["accuracy"] >= 0.85, report.lines()
    assert report.invalid_outputs == 0
    assert base_report.metrics["accuracy"] < 0.5
    assert comparison.deltas["accuracy"] > 0.35
    assert comparison.wins > 3 * comparison.losses
    assert trained.model.startswith("local:support-requests-")
    chat.close()


async def test_it_beats_a_base_model_that_always_answers_the_commonest_label(
    trained: Trained,
) -> None:
    test = trained.test
    commonest = max(
        test.labels, key=lambda label: sum(e.completion == label for e in test.examples)
    )
    chat = trained.chat(InMemoryChatModel(lambda messages, model: commonest))

    report = evaluate(trained.model, test, await predict(chat, trained.model, test))
    baseline = evaluate("always", test, await predict(chat, "always", test))

    assert baseline.metrics["accuracy"] < 0.4
    assert report.metrics["accuracy"] - baseline.metrics["accuracy"] > 0.45
    chat.close()


async def test_with_shuffled_labels_it_scores_near_chance(
    local: LocalModelTrainer, chat: TrainedChatModel, trained: Trained
) -> None:
    train, test = trained.train, trained.test
    labels = [e.completion for e in train.examples]
    random.Random(1).shuffle(labels)
    shuffled = train.with_examples(
        replace(e, completion=label) for e, label in zip(train.examples, labels, strict=True)
    )

    job = await local.start(spec_for(shuffled), job=job_for(shuffled, trainer="local"))
    assert job.model is not None
    report = evaluate(job.model, test, await predict(chat, job.model, test))

    # Four labels: chance is 0.25. Learning the real labels scores above 0.85.
    assert report.metrics["accuracy"] < 0.45, report.lines()


def test_the_job_reports_the_held_out_accuracy_and_the_artifact_its_labels(
    trained: Trained,
) -> None:
    job = trained.job

    assert (job.status, job.trainer, job.base_model) == (JobStatus.SUCCEEDED, "local", None)
    assert job.metrics["valid_accuracy"] >= 0.85
    assert job.metrics["valid_examples"] == len(trained.test.examples)
    assert job.events[0].startswith("trained a classifier (word and character TF-IDF")
    saved = unpack(FilesystemArtifactStore(trained.root).load(trained.model) or b"", trained.model)
    assert saved.manifest["kind"] == "classifier"
    assert saved.manifest["labels"] == list(trained.train.labels)
    assert set(saved.files) == {"classifier.skops"}


async def test_a_restarted_bot_answers_with_the_saved_classifier_without_the_base_model(
    trained: Trained, base: InMemoryChatModel
) -> None:
    restarted = trained.chat(base)

    label = await restarted.complete(
        [ChatMessage(Role.USER, "My parcel never arrived and tracking is stuck.")],
        model=trained.model,
    )

    assert label == "delivery"
    assert base.calls == []
    restarted.close()


async def test_chat_data_is_trained_by_the_fewshot_trainer_as_a_local_job(
    local: LocalModelTrainer, chat: TrainedChatModel
) -> None:
    dataset = chat_dataset(Example.single_turn("Who is on call?", "Dana, this week."))

    job = await local.start(spec_for(dataset), job=job_for(dataset, trainer="local"))

    assert job.status is JobStatus.SUCCEEDED
    assert job.trainer == "local"
    assert job.model is not None
    assert job.model.startswith("fewshot:")
    reply = await chat.complete([ChatMessage(Role.USER, "who is on call")], model=job.model)
    assert reply == "Dana, this week."


async def test_a_training_part_with_one_label_is_refused(local: LocalModelTrainer) -> None:
    dataset = support_dataset()
    one_label = dataset.with_examples(e for e in dataset.examples if e.completion == "billing")

    with pytest.raises(DatasetInvalid, match="at least two labels"):
        await local.start(spec_for(one_label), job=job_for(one_label, trainer="local"))


async def test_refresh_settles_an_interrupted_job_by_its_artifact(trained: Trained) -> None:
    artifacts = FilesystemArtifactStore(trained.root)
    sut = LocalModelTrainer(
        artifacts, chat_trainer=FewShotModelTrainer(artifacts, base_model=BASE_MODEL)
    )

    recovered = await sut.refresh(trained.job.with_status(JobStatus.RUNNING))
    lost = await sut.refresh(job_for(trained.train, trainer="local", job_id="job-bbbbbbbbbbbb"))

    assert isinstance(sut, ModelTrainer)
    assert (recovered.status, recovered.model) == (JobStatus.SUCCEEDED, trained.model)
    assert lost.status is JobStatus.FAILED
    sut.close()
