"""The fewshot trainer and its index: immediate training, retrieval, direct answers."""

from __future__ import annotations

import pytest
from learning_support import BASE_MODEL, HashingEmbeddings, chat_dataset, job_for, spec_for

from trainerbot.adapters.learning import (
    FewShotIndex,
    FewShotModelTrainer,
    FilesystemArtifactStore,
)
from trainerbot.adapters.learning.artifacts import unpack
from trainerbot.core.entities import Example, JobStatus, TrainingSpec
from trainerbot.core.errors import InvalidArgument, ServiceError
from trainerbot.ports import ModelTrainer

CAPITALS = (
    Example.single_turn("What is the capital of Australia?", "Canberra."),
    Example.single_turn("What is the capital of France?", "Paris."),
    Example.single_turn("How many legs does a spider have?", "Eight."),
    Example.single_turn("Who wrote Hamlet?", "William Shakespeare."),
)


def index(*examples: Example, vectors: list[list[float]] | None = None) -> FewShotIndex:
    import numpy as np

    array = None if vectors is None else np.asarray(vectors, dtype=np.float32)
    return FewShotIndex(examples or CAPITALS, base_model=BASE_MODEL, vectors=array)


# --- the index -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "question",
    [
        "What is the capital of Australia?",
        "what is the capital of australia",
        "  WHAT IS THE CAPITAL OF AUSTRALIA ?? ",
        "What's the capital of Australia",
        "what is capital of australia, please",
    ],
)
def test_the_same_question_written_differently_gets_the_taught_answer(question: str) -> None:
    assert index().lookup(question, 1.0).answer == "Canberra."


@pytest.mark.parametrize(
    "question",
    [
        "What is the capital of Austria?",
        "What was the capital of Australia?",
        "What is not the capital of Australia?",
        "Which city is the capital of Australia?",
        "capital of Australia",
    ],
)
def test_a_different_question_gets_no_direct_answer(question: str) -> None:
    assert index().lookup(question, 1.0).answer is None


def test_a_lower_threshold_lets_a_near_question_through() -> None:
    sut = index()

    assert sut.lookup("What is the capital city of Australia?", 1.0).answer is None
    assert sut.lookup("What is the capital city of Australia?", 0.8).answer == "Canberra."


def test_the_latest_of_two_teachings_of_one_question_wins() -> None:
    sut = index(
        Example.single_turn("Where is the meeting?", "Room 1."),
        Example.single_turn("where is the meeting", "Room 4, it moved."),
    )

    assert sut.lookup("Where is the meeting?", 1.0).answer == "Room 4, it moved."


def test_an_unwanted_answer_is_banned_and_never_the_answer() -> None:
    sut = index(
        Example.single_turn("Is the sun a planet?", "Yes."),
        Example.single_turn("Is the sun a planet?", "Yes.", wanted=False),
        Example.single_turn("Is the sun a planet?", "No, it is a star."),
        Example.single_turn("Is the moon a planet?", "Yes, a big one.", wanted=False),
    )

    assert sut.lookup("is the sun a planet", 1.0).answer == "No, it is a star."
    assert sut.lookup("is the sun a planet", 1.0).banned == {"yes"}
    moon = sut.lookup("Is the moon a planet?", 1.0)
    assert moon.answer is None
    assert moon.banned == {"yes a big one"}
    assert all(entry.answer != "Yes, a big one." for entry, _ in sut.nearest("moon", 5))


def test_nearest_ranks_the_most_similar_questions_first() -> None:
    nearest = index().nearest("capital of Australia", 2)

    assert [entry.answer for entry, _ in nearest] == ["Canberra.", "Paris."]
    assert nearest[0][1] > nearest[1][1] > 0


def test_nearest_leaves_out_questions_under_the_minimum_similarity() -> None:
    assert index().nearest("zzzz qqqq", 3, min_similarity=0.05) == []


def test_with_vectors_nearest_ranks_by_the_query_vector() -> None:
    sut = index(
        Example.single_turn("alpha", "A"),
        Example.single_turn("beta", "B"),
        vectors=[[1.0, 0.0], [0.0, 1.0]],
    )

    assert [e.answer for e, _ in sut.nearest("alpha", 1, query_vector=[0.1, 0.9])] == ["B"]
    # A vector of another length (another embedding model) falls back to TF-IDF.
    assert [e.answer for e, _ in sut.nearest("alpha", 1, query_vector=[1.0])] == ["A"]


# --- the trainer -----------------------------------------------------------------------------


async def test_start_indexes_at_once_and_returns_the_job_succeeded_with_its_model(
    fewshot: FewShotModelTrainer, artifacts: FilesystemArtifactStore
) -> None:
    dataset = chat_dataset(*CAPITALS)
    job = job_for(dataset)

    started = await fewshot.start(spec_for(dataset), job=job)

    assert isinstance(fewshot, ModelTrainer)
    assert (fewshot.name, fewshot.min_examples) == ("fewshot", 1)
    assert started.status is JobStatus.SUCCEEDED
    assert started.model == "fewshot:corrections-0123456789ab"
    assert started.trainer == "fewshot"
    assert started.base_model == BASE_MODEL
    assert started.events == ("indexed 4 examples with tf-idf",)
    saved = unpack(artifacts.load(started.model) or b"", started.model)
    assert saved.manifest["kind"] == "fewshot"
    assert saved.manifest["base_model"] == BASE_MODEL
    assert saved.manifest["job"] == job.id
    assert saved.manifest["dataset_version"] == dataset.version


async def test_the_specs_base_model_is_the_one_the_model_answers_with(
    fewshot: FewShotModelTrainer,
) -> None:
    dataset = chat_dataset(*CAPITALS)
    spec = TrainingSpec(dataset=dataset, base_model="gpt-other")

    started = await fewshot.start(spec, job=job_for(dataset))

    assert started.base_model == "gpt-other"


async def test_a_trained_model_cannot_be_the_base_model(fewshot: FewShotModelTrainer) -> None:
    dataset = chat_dataset(*CAPITALS)

    with pytest.raises(InvalidArgument):
        await fewshot.start(
            TrainingSpec(dataset=dataset, base_model="fewshot:x-1"), job=job_for(dataset)
        )


async def test_with_embeddings_the_wanted_questions_are_embedded_and_saved(
    artifacts: FilesystemArtifactStore,
) -> None:
    embeddings = HashingEmbeddings()
    sut = FewShotModelTrainer(artifacts, base_model=BASE_MODEL, embeddings=embeddings)
    dataset = chat_dataset(*CAPITALS, Example.single_turn("Hi?", "Go away.", wanted=False))

    started = await sut.start(spec_for(dataset), job=job_for(dataset))

    # Each wanted question, then each wanted question with its answer (for recall by meaning).
    assert embeddings.calls == [
        [e.user_text for e in CAPITALS] + [f"{e.user_text} {e.completion}" for e in CAPITALS]
    ]
    assert started.events == ("indexed 5 examples with embeddings (1 marked not to say)",)
    saved = unpack(artifacts.load(started.model or "") or b"", "m")
    assert saved.manifest["retrieval"] == "embeddings"
    assert saved.manifest["embeddings"] == embeddings.name
    assert {"vectors.npy", "pair_vectors.npy"} <= set(saved.files)
    sut.close()


async def test_when_embedding_fails_training_falls_back_to_tf_idf(
    artifacts: FilesystemArtifactStore,
) -> None:
    embeddings = HashingEmbeddings(fail_with=ServiceError("OpenAI is down."))
    sut = FewShotModelTrainer(artifacts, base_model=BASE_MODEL, embeddings=embeddings)
    dataset = chat_dataset(*CAPITALS)

    started = await sut.start(spec_for(dataset), job=job_for(dataset))

    assert started.status is JobStatus.SUCCEEDED
    assert started.events == (
        "embeddings unavailable (OpenAI is down.); indexed with TF-IDF instead",
        "indexed 4 examples with tf-idf",
    )
    sut.close()


async def test_refresh_keeps_a_finished_job_and_settles_an_interrupted_one(
    fewshot: FewShotModelTrainer,
) -> None:
    dataset = chat_dataset(*CAPITALS)
    done = await fewshot.start(spec_for(dataset), job=job_for(dataset))
    interrupted = job_for(dataset, job_id="job-aaaaaaaaaaaa")
    saved_then_interrupted = done.with_status(JobStatus.RUNNING)

    assert await fewshot.refresh(done) is done
    failed = await fewshot.refresh(interrupted)
    assert failed.status is JobStatus.FAILED
    assert failed.error is not None
    assert "train again" in failed.error
    recovered = await fewshot.refresh(saved_then_interrupted)
    assert (recovered.status, recovered.model) == (JobStatus.SUCCEEDED, done.model)


async def test_cancel_marks_an_unfinished_job_cancelled_and_keeps_a_finished_one(
    fewshot: FewShotModelTrainer,
) -> None:
    dataset = chat_dataset(*CAPITALS)
    done = await fewshot.start(spec_for(dataset), job=job_for(dataset))

    assert await fewshot.cancel(done) is done
    assert (await fewshot.cancel(job_for(dataset))).status is JobStatus.CANCELLED


@pytest.mark.usefixtures("no_full_collections")
async def test_training_does_not_block_the_event_loop(
    fewshot: FewShotModelTrainer, event_loop_watch: type
) -> None:
    examples = tuple(
        Example.single_turn(f"Question number {n} about topic {n % 17}?", f"Answer {n}.")
        for n in range(3000)
    )
    dataset = chat_dataset(*examples)

    async with event_loop_watch(tick=0.005) as watch:
        started = await fewshot.start(spec_for(dataset), job=job_for(dataset))

    assert started.status is JobStatus.SUCCEEDED
    assert watch.ticks > 0
    assert watch.max_gap < 0.1


def _unit(*values: float) -> list[float]:
    norm = sum(v * v for v in values) ** 0.5
    return [v / norm for v in values]


def test_a_question_close_in_meaning_gets_the_taught_answer_and_a_far_one_does_not() -> None:
    import numpy as np

    deploy = Example.single_turn("What is our deploy day?", "Thursdays.")
    dog = Example.single_turn("What is the office dog called?", "Pickle.")
    sut = FewShotIndex(
        [deploy, dog],
        base_model=BASE_MODEL,
        vectors=np.asarray([_unit(1, 0, 0), _unit(0, 1, 0)], dtype=np.float32),
        pair_vectors=np.asarray([_unit(1, 0.2, 0), _unit(0, 1, 0.2)], dtype=np.float32),
        embeddings="test-embeddings",
    )

    near_deploy = sut.lookup(
        "When do we ship?", 1.0, query_vector=_unit(1, 0.3, 0.1), semantic_threshold=0.9
    )
    far = sut.lookup(
        "What is the capital of France?", 1.0, query_vector=_unit(0, 0, 1), semantic_threshold=0.9
    )
    by_question_alone = sut.lookup(
        "Dog's name?",
        1.0,
        query_vector=_unit(0.1, 1, 0),
        semantic_threshold=0.999,
        question_threshold=0.9,
    )

    assert near_deploy.answer == "Thursdays."
    assert far.answer is None
    assert by_question_alone.answer == "Pickle."
    # Without a threshold, meaning is not consulted: only the same words answer.
    assert sut.lookup("When do we ship?", 1.0, query_vector=_unit(1, 0, 0)).answer is None


def test_an_answer_banned_for_the_question_is_not_recalled_by_meaning() -> None:
    import numpy as np

    taught = Example.single_turn("What is our deploy day?", "Mondays.")
    banned = Example.single_turn("When do we ship?", "Mondays.", wanted=False)
    sut = FewShotIndex(
        [taught, banned],
        base_model=BASE_MODEL,
        vectors=np.asarray([_unit(1, 0)], dtype=np.float32),
        pair_vectors=np.asarray([_unit(1, 0)], dtype=np.float32),
        embeddings="test-embeddings",
    )

    lookup = sut.lookup("When do we ship?", 1.0, query_vector=_unit(1, 0), semantic_threshold=0.5)

    assert lookup.answer is None
    assert lookup.banned == frozenset({"mondays"})
