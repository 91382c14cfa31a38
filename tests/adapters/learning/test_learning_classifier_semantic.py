"""The local trainer with sentence embeddings: real all-MiniLM-L6-v2 vectors on real review
sentences (``tests/data/yelp_labelled.txt``: 1,000 Yelp sentences labelled 1 or 0, from the UCI
"Sentiment Labelled Sentences" data set, Kotzias et al., KDD 2015)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from learning_support import BASE_MODEL, HashingEmbeddings, job_for, spec_for, support_dataset

from trainerbot.adapters.embeddings import MiniLMEmbeddings, minilm_installed
from trainerbot.adapters.learning import (
    FewShotModelTrainer,
    FilesystemArtifactStore,
    LocalModelTrainer,
    TrainedChatModel,
)
from trainerbot.adapters.learning.artifacts import unpack
from trainerbot.adapters.memory import InMemoryChatModel
from trainerbot.core.datasets import build_dataset, parse_text
from trainerbot.core.entities import ChatMessage, Dataset, JobStatus, Role, TrainingJob
from trainerbot.core.errors import CapabilityUnavailable, ServiceError
from trainerbot.core.evaluation import Prediction, evaluate
from trainerbot.core.prompts import classification_instruction
from trainerbot.ports import ChatModel

YELP = Path(__file__).resolve().parents[2] / "data" / "yelp_labelled.txt"
needs_minilm = pytest.mark.skipif(
    not minilm_installed(),
    reason="the finetune extra (torch, transformers, the weights) is missing",
)


def yelp_dataset() -> Dataset:
    """The sentences as an uploaded JSON Lines file of text/label objects is read."""
    lines = [line.rsplit("\t", 1) for line in YELP.read_text("utf-8").splitlines() if line.strip()]
    text = "\n".join(json.dumps({"text": t.strip(), "label": y.strip()}) for t, y in lines)
    parsed = parse_text(text, filename="yelp.jsonl")
    assert not parsed.problems
    dataset, _ = build_dataset("yelp", parsed, source="yelp.jsonl")
    return dataset


@dataclass(frozen=True)
class Trained:
    root: Path
    job: TrainingJob
    test: Dataset

    @property
    def model(self) -> str:
        assert self.job.model is not None
        return self.job.model


@pytest.fixture(scope="module")
def embeddings() -> Iterator[MiniLMEmbeddings]:
    sut = MiniLMEmbeddings()
    yield sut
    sut.close()


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory, embeddings: MiniLMEmbeddings) -> Trained:
    """The real trainer with the real embeddings on the split TrainModel makes (796 / 200)."""
    root = tmp_path_factory.mktemp("semantic") / "models"
    dataset = yelp_dataset()
    train, test = dataset.split()
    artifacts = FilesystemArtifactStore(root)
    trainer = LocalModelTrainer(
        artifacts,
        chat_trainer=FewShotModelTrainer(artifacts, base_model=BASE_MODEL),
        embeddings=embeddings,
    )
    job = asyncio.run(
        trainer.start(spec_for(train, validation=test), job=job_for(dataset, trainer="local"))
    )
    trainer.close()
    return Trained(root, job, test)


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


@needs_minilm
def test_real_review_sentences_are_classified_by_meaning_at_88_percent_held_out(
    trained: Trained,
) -> None:
    job = trained.job

    assert job.status is JobStatus.SUCCEEDED
    assert job.metrics["valid_examples"] == len(trained.test.examples) >= 150
    assert job.metrics["valid_accuracy"] >= 0.88, job.events
    assert job.events[0].startswith("trained a classifier (sentence embeddings (all-MiniLM-L6-v2)")


@needs_minilm
async def test_the_saved_model_records_its_embeddings_and_answers_after_a_restart(
    trained: Trained, embeddings: MiniLMEmbeddings
) -> None:
    saved = unpack(FilesystemArtifactStore(trained.root).load(trained.model) or b"", trained.model)
    base = InMemoryChatModel(lambda messages, model: "base")
    restarted = TrainedChatModel(base, FilesystemArtifactStore(trained.root), embeddings=embeddings)

    report = evaluate(
        trained.model, trained.test, await predict(restarted, trained.model, trained.test)
    )
    # Sentences not in the data, sharing few words with any one review.
    warm = await restarted.complete(
        [ChatMessage(Role.USER, "Everything we ate was delicious and the waiter was lovely.")],
        model=trained.model,
    )
    cold = await restarted.complete(
        [ChatMessage(Role.USER, "The soup arrived cold and nobody apologised.")],
        model=trained.model,
    )

    assert saved.manifest["embeddings"] == "all-MiniLM-L6-v2"
    assert saved.manifest["vector_length"] == 384
    # skops files only: no pickle, and no vectors (a classifier needs none of its training data).
    assert set(saved.files) == {"classifier.skops", "text_features.skops"}
    assert report.metrics["accuracy"] == pytest.approx(trained.job.metrics["valid_accuracy"])
    assert (warm, cold) == ("1", "0")
    assert base.calls == []
    restarted.close()


@needs_minilm
async def test_without_its_embeddings_the_model_says_so_in_one_line(trained: Trained) -> None:
    base = InMemoryChatModel(lambda messages, model: "base")
    question = [ChatMessage(Role.USER, "Great food.")]
    without = TrainedChatModel(base, FilesystemArtifactStore(trained.root))
    other = TrainedChatModel(
        base, FilesystemArtifactStore(trained.root), embeddings=HashingEmbeddings()
    )

    with pytest.raises(CapabilityUnavailable) as none_configured:
        await without.complete(question, model=trained.model)
    with pytest.raises(CapabilityUnavailable) as another_model:
        await other.complete(question, model=trained.model)

    for refused in (none_configured.value, another_model.value):
        assert "\n" not in str(refused)
        assert "all-MiniLM-L6-v2" in str(refused)
        assert "TRAINERBOT_EMBEDDINGS" in str(refused)
    assert "hashing-64" in str(another_model.value)
    assert base.calls == []
    without.close()
    other.close()


# --- the mechanics, with bag-of-words vectors (no model needed) --------------------------------------


async def test_any_embeddings_adapter_is_used_and_its_name_recorded(
    artifacts: FilesystemArtifactStore, fewshot: FewShotModelTrainer
) -> None:
    embeddings = HashingEmbeddings()
    sut = LocalModelTrainer(artifacts, chat_trainer=fewshot, embeddings=embeddings)
    train, test = support_dataset().split()

    job = await sut.start(spec_for(train, validation=test), job=job_for(train, trainer="local"))
    assert job.model is not None
    saved = unpack(artifacts.load(job.model) or b"", job.model)
    chat = TrainedChatModel(InMemoryChatModel(), artifacts, embeddings=embeddings)
    label = await chat.complete(
        [ChatMessage(Role.USER, "I was charged twice for my subscription")], model=job.model
    )

    # Training and held-out texts embedded in one call, before fitting; then the question.
    assert len(embeddings.calls[0]) == len(train.examples) + len(test.examples)
    assert embeddings.calls[-1] == ["I was charged twice for my subscription"]
    assert saved.manifest["embeddings"] == "hashing-64"
    assert saved.manifest["vector_length"] == 64
    assert job.metrics["valid_accuracy"] >= 0.85
    assert label == "billing"
    sut.close()
    chat.close()


async def test_failing_embeddings_train_on_words_only_and_say_so(
    artifacts: FilesystemArtifactStore, fewshot: FewShotModelTrainer
) -> None:
    embeddings = HashingEmbeddings(fail_with=ServiceError("The embeddings service is down."))
    sut = LocalModelTrainer(artifacts, chat_trainer=fewshot, embeddings=embeddings)
    train = support_dataset()

    job = await sut.start(spec_for(train), job=job_for(train, trainer="local"))
    assert job.model is not None
    saved = unpack(artifacts.load(job.model) or b"", job.model)
    # A words-only model needs no embeddings to answer.
    chat = TrainedChatModel(InMemoryChatModel(), artifacts)
    label = await chat.complete([ChatMessage(Role.USER, "Where is my parcel?")], model=job.model)

    assert job.status is JobStatus.SUCCEEDED
    assert job.events[0] == (
        "embeddings unavailable (The embeddings service is down.); trained on words only"
    )
    assert job.events[1].startswith("trained a classifier (word and character TF-IDF")
    assert "embeddings" not in saved.manifest
    assert set(saved.files) == {"classifier.skops"}
    assert label == "delivery"
    sut.close()
    chat.close()
