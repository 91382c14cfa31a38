"""TestModel: run a model over held-out data, report metrics and failures, compare with a baseline."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

import pytest

from trainerbot.adapters.memory import (
    InMemoryChatModel,
    InMemoryDatasetStore,
    InMemoryJobStore,
    InMemoryModelRegistry,
    InMemoryModelTrainer,
    InMemoryWorkspace,
)
from trainerbot.core.dataset_sources import Upload
from trainerbot.core.datasets import ValidationReport
from trainerbot.core.entities import (
    NEGATIVE,
    POSITIVE,
    Actor,
    ChatMessage,
    Dataset,
    Example,
    FileContent,
    JobStatus,
    LossPoint,
    Role,
    Task,
    TrainedModel,
    TrainingJob,
)
from trainerbot.core.errors import (
    CapabilityUnavailable,
    DatasetError,
    DatasetInvalid,
    EmptyDataset,
    FileTooLarge,
    InvalidArgument,
    PathOutsideWorkspace,
    PermissionDenied,
    ServiceError,
    UnknownDataset,
    UnknownModel,
    WorkspaceFileNotFound,
)
from trainerbot.core.evaluation import INVALID_OUTPUT, EvaluationReport
from trainerbot.core.fix_failure import RecentTests
from trainerbot.core.limits import Limits
from trainerbot.core.test_model import TestModel, TestRequest
from trainerbot.ports import ChartRenderer

DEFAULT = "default-model"
TRAINED = "fewshot:job-1"
BASE = "base-model"

# The original bot's !test data: an object of input → expected answer.
ANSWERS = {"q1": "a1", "q2": "a2", "q3": "a3", "q4": "a4"}
INLINE_JSON = json.dumps(ANSWERS)
LABELLED = "\n".join(
    json.dumps({"text": text, "label": label})
    for text, label in [("t1", POSITIVE), ("t2", NEGATIVE), ("t3", POSITIVE), ("t4", NEGATIVE)]
)
LABEL_INSTRUCTION = ChatMessage(
    Role.SYSTEM, "Classify the text. Answer with exactly one of: negative, positive."
)


def scripted(
    answers_by_model: Mapping[str, Mapping[str, str]],
    *,
    failing: Mapping[str, Exception] | None = None,
):
    """A reply function: each model's answer to the last user message, 'no idea' otherwise.

    ``failing`` maps a user message to the error the model raises on it.
    """

    def reply(messages: Sequence[ChatMessage], model: str) -> str:
        asked = messages[-1].content
        if failing and asked in failing:
            raise failing[asked]
        return answers_by_model.get(model, {}).get(asked, "no idea")

    return reply


# Right on q1–q3, wrong on q4 (any model); the baseline is right on q1 and q4 only.
THREE_OF_FOUR = {"q1": "a1", "q2": "a2", "q3": "a3", "q4": "no idea"}
CHAT_SCRIPT = {
    DEFAULT: THREE_OF_FOUR,
    TRAINED: THREE_OF_FOUR,
    BASE: {"q1": "a1", "q4": "a4"},
}
# Right on t1–t3; t4's answer names no label. The baseline always says positive.
CLASSIFIER_SCRIPT = {
    TRAINED: {"t1": "positive", "t2": "Negative.", "t3": "It is positive", "t4": "I don't know"},
    BASE: {"t1": POSITIVE, "t2": POSITIVE, "t3": POSITIVE, "t4": POSITIVE},
}


# Test data in the workspace: one file, and a folder of two files (the same four answers).
WORKSPACE_FILES = {
    "tests/answers.json": INLINE_JSON.encode(),
    "suite/first.json": json.dumps({"q1": "a1", "q2": "a2"}).encode(),
    "suite/more/second.jsonl": "\n".join(
        json.dumps({"prompt": q, "completion": a}) for q, a in [("q3", "a3"), ("q4", "a4")]
    ).encode(),
}


def make_sut(
    chat_model: InMemoryChatModel,
    datasets: InMemoryDatasetStore,
    models: InMemoryModelRegistry,
    limits: Limits | None = None,
    workspace: InMemoryWorkspace | None = None,
) -> TestModel:
    return TestModel(
        chat_model=chat_model,
        datasets=datasets,
        models=models,
        default_model=DEFAULT,
        limits=limits or Limits(),
        workspace=workspace or InMemoryWorkspace(files=WORKSPACE_FILES),
    )


@pytest.fixture
def chat_model() -> InMemoryChatModel:
    both = {
        model: {**CHAT_SCRIPT.get(model, {}), **CLASSIFIER_SCRIPT.get(model, {})}
        for model in CHAT_SCRIPT.keys() | CLASSIFIER_SCRIPT.keys()
    }
    return InMemoryChatModel(scripted(both))


@pytest.fixture
def sut(
    chat_model: InMemoryChatModel, datasets: InMemoryDatasetStore, models: InMemoryModelRegistry
) -> TestModel:
    return make_sut(chat_model, datasets, models)


def asked(chat_model: InMemoryChatModel) -> list[tuple[str, str]]:
    """(model, user text) of every call, sorted: examples run concurrently."""
    return sorted((call.model, call.messages[-1].content) for call in chat_model.calls)


def chat_dataset(name: str, count: int = 20) -> Dataset:
    examples = tuple(Example.single_turn(f"q{n}", f"a{n}") for n in range(1, count + 1))
    return Dataset(name=name, task=Task.CHAT, examples=examples, source=name)


# --- chat metrics ----------------------------------------------------------------------------


async def test_scores_a_chat_model_on_inline_answers_exactly(
    sut: TestModel, chat_model: InMemoryChatModel, trainer: Actor
) -> None:
    result = await sut.execute(TestRequest(actor=trainer, data=INLINE_JSON, model=TRAINED))

    report = result.report
    assert report.model == TRAINED
    assert report.task is Task.CHAT
    assert report.count == 4
    assert dict(report.metrics) == {"exact_match": 0.75, "normalized_match": 0.75, "token_f1": 0.75}
    assert report.errors == 0
    assert [(f.example.user_text, f.output) for f in report.failures] == [("q4", "no idea")]
    assert asked(chat_model) == [(TRAINED, q) for q in ("q1", "q2", "q3", "q4")]
    assert result.baseline_report is None
    assert result.comparison is None


async def test_a_chat_model_sees_the_example_conversation_without_a_label_instruction(
    sut: TestModel, chat_model: InMemoryChatModel, trainer: Actor
) -> None:
    await sut.execute(TestRequest(actor=trainer, data=json.dumps({"q1": "a1"})))

    assert [call.messages for call in chat_model.calls] == [(ChatMessage(Role.USER, "q1"),)]


async def test_answers_are_compared_without_surrounding_spaces(
    datasets: InMemoryDatasetStore, models: InMemoryModelRegistry, trainer: Actor
) -> None:
    sut = make_sut(InMemoryChatModel(lambda m, model: "  a1 \n"), datasets, models)

    result = await sut.execute(TestRequest(actor=trainer, data=json.dumps({"q1": "a1"})))

    assert result.report.predictions[0].output == "a1"
    assert result.report.metrics["exact_match"] == 1.0


# --- which model ------------------------------------------------------------------------------


async def test_the_default_model_is_tested_when_none_is_named_or_active(
    sut: TestModel, chat_model: InMemoryChatModel, trainer: Actor
) -> None:
    result = await sut.execute(TestRequest(actor=trainer, data=INLINE_JSON))

    assert result.report.model == DEFAULT
    assert {call.model for call in chat_model.calls} == {DEFAULT}


async def test_the_active_model_is_tested_when_none_is_named(
    sut: TestModel, chat_model: InMemoryChatModel, models: InMemoryModelRegistry, trainer: Actor
) -> None:
    await models.activate(TRAINED)

    result = await sut.execute(TestRequest(actor=trainer, data=INLINE_JSON))

    assert result.report.model == TRAINED
    assert {call.model for call in chat_model.calls} == {TRAINED}


async def test_the_named_model_is_tested_whatever_is_active(
    sut: TestModel, chat_model: InMemoryChatModel, models: InMemoryModelRegistry, trainer: Actor
) -> None:
    await models.activate(TRAINED)

    result = await sut.execute(TestRequest(actor=trainer, data=INLINE_JSON, model=BASE))

    assert result.report.model == BASE
    assert {call.model for call in chat_model.calls} == {BASE}
    assert models.activations == [TRAINED], "testing does not switch the active model"


# --- classification ---------------------------------------------------------------------------


async def test_scores_a_classifier_exactly_and_counts_an_answer_naming_no_label_as_invalid(
    sut: TestModel, trainer: Actor
) -> None:
    result = await sut.execute(TestRequest(actor=trainer, data=LABELLED, model=TRAINED))

    report = result.report
    assert report.task is Task.CLASSIFICATION
    assert report.metrics["accuracy"] == 0.75
    assert report.invalid_outputs == 1
    assert report.errors == 0
    assert {label: dict(row) for label, row in report.confusion.items()} == {
        NEGATIVE: {NEGATIVE: 1, POSITIVE: 0, INVALID_OUTPUT: 1},
        POSITIVE: {NEGATIVE: 0, POSITIVE: 2, INVALID_OUTPUT: 0},
    }
    assert [(f.example.user_text, f.output) for f in report.failures] == [("t4", "I don't know")]


async def test_a_classifier_is_told_the_labels_to_choose_from(
    sut: TestModel, chat_model: InMemoryChatModel, trainer: Actor
) -> None:
    await sut.execute(TestRequest(actor=trainer, data=LABELLED, model=TRAINED))

    assert {call.messages for call in chat_model.calls} == {
        (LABEL_INSTRUCTION, ChatMessage(Role.USER, text)) for text in ("t1", "t2", "t3", "t4")
    }
    assert len(chat_model.calls) == 4


# --- model failures ---------------------------------------------------------------------------


async def test_an_example_the_model_fails_on_is_a_failure_with_its_error(
    datasets: InMemoryDatasetStore, models: InMemoryModelRegistry, trainer: Actor
) -> None:
    chat_model = InMemoryChatModel(
        scripted(CHAT_SCRIPT, failing={"q4": ServiceError("The model timed out.")})
    )
    sut = make_sut(chat_model, datasets, models)

    result = await sut.execute(TestRequest(actor=trainer, data=INLINE_JSON))

    report = result.report
    assert report.count == 4
    assert report.errors == 1
    assert report.metrics["exact_match"] == 0.75
    assert [(f.example.user_text, f.output, f.error) for f in report.failures] == [
        ("q4", "", "The model timed out.")
    ]
    assert len(chat_model.calls) == 4, "the other examples still ran"


async def test_a_model_that_is_not_available_at_all_stops_the_test(
    datasets: InMemoryDatasetStore, models: InMemoryModelRegistry, trainer: Actor, refuses
) -> None:
    chat_model = InMemoryChatModel(fail_with=CapabilityUnavailable("No chat model is configured."))
    sut = make_sut(chat_model, datasets, models)

    with refuses(CapabilityUnavailable):
        await sut.execute(TestRequest(actor=trainer, data=INLINE_JSON))


async def test_an_unavailable_model_on_one_example_stops_the_test(
    datasets: InMemoryDatasetStore, models: InMemoryModelRegistry, trainer: Actor, refuses
) -> None:
    chat_model = InMemoryChatModel(
        scripted(CHAT_SCRIPT, failing={"q2": CapabilityUnavailable("The model was unloaded.")})
    )
    sut = make_sut(chat_model, datasets, models)

    with refuses(CapabilityUnavailable):
        await sut.execute(TestRequest(actor=trainer, data=INLINE_JSON))


# --- comparing with a baseline ----------------------------------------------------------------


async def test_a_baseline_answers_the_same_examples_and_the_comparison_counts_wins_losses_ties(
    sut: TestModel, chat_model: InMemoryChatModel, trainer: Actor
) -> None:
    result = await sut.execute(
        TestRequest(actor=trainer, data=INLINE_JSON, model=TRAINED, baseline=BASE)
    )

    assert result.baseline_report is not None
    assert result.comparison is not None
    assert result.baseline_report.model == BASE
    assert result.baseline_report.metrics["exact_match"] == 0.5
    comparison = result.comparison
    assert (comparison.model, comparison.baseline) == (TRAINED, BASE)
    # trained [1, 1, 1, 0] against base [1, 0, 0, 1]
    assert (comparison.wins, comparison.losses, comparison.ties) == (2, 1, 1)
    assert comparison.deltas["exact_match"] == 0.25
    assert asked(chat_model) == sorted(
        [(TRAINED, q) for q in ANSWERS] + [(BASE, q) for q in ANSWERS]
    )


async def test_a_classifier_comparison_counts_correct_answers_where_the_baseline_was_wrong(
    sut: TestModel, trainer: Actor
) -> None:
    result = await sut.execute(
        TestRequest(actor=trainer, data=LABELLED, model=TRAINED, baseline=BASE)
    )

    assert result.comparison is not None
    # trained right on t1–t3, base (always positive) right on t1 and t3
    assert (result.comparison.wins, result.comparison.losses, result.comparison.ties) == (1, 0, 3)
    assert result.comparison.deltas["accuracy"] == 0.25


# --- where the test data comes from -----------------------------------------------------------


async def test_a_saved_dataset_is_tested_on_its_held_out_split_only(
    sut: TestModel,
    chat_model: InMemoryChatModel,
    datasets: InMemoryDatasetStore,
    trainer: Actor,
) -> None:
    saved = chat_dataset("support")
    await datasets.save(saved)
    train, test = saved.split()
    assert train.examples
    assert test.examples

    result = await sut.execute(TestRequest(actor=trainer, dataset=" support "))

    assert result.report.count == len(test.examples)
    asked_texts = {call.messages[-1].content for call in chat_model.calls}
    assert asked_texts == {e.user_text for e in test.examples}
    assert asked_texts.isdisjoint(e.user_text for e in train.examples)


async def test_a_saved_classifier_dataset_is_tested_with_all_of_its_labels(
    datasets: InMemoryDatasetStore, models: InMemoryModelRegistry, trainer: Actor
) -> None:
    good = [Example.single_turn(f"good {n}", POSITIVE) for n in range(1, 9)]
    bad = [Example.single_turn(f"bad {n}", NEGATIVE) for n in range(1, 8)]
    saved = Dataset(name="reviews", task=Task.CLASSIFICATION, examples=(*good, *bad))
    await datasets.save(saved)
    held_out = saved.split()[1].examples
    assert {e.completion for e in held_out} == {NEGATIVE}, "the held-out examples carry one label"
    chat_model = InMemoryChatModel(lambda messages, model: POSITIVE)
    sut = make_sut(chat_model, datasets, models)

    result = await sut.execute(TestRequest(actor=trainer, dataset="reviews"))

    assert {call.messages[0] for call in chat_model.calls} == {LABEL_INSTRUCTION}
    assert result.report.invalid_outputs == 0
    assert result.report.confusion[NEGATIVE][POSITIVE] == len(held_out)


async def test_refuses_an_unknown_dataset_and_runs_no_model(
    sut: TestModel, chat_model: InMemoryChatModel, trainer: Actor, refuses
) -> None:
    with refuses(UnknownDataset) as caught:
        await sut.execute(TestRequest(actor=trainer, dataset="nope"))

    assert "nope" in str(caught.value)
    assert chat_model.calls == []


async def test_refuses_a_saved_dataset_without_held_out_examples_and_runs_no_model(
    sut: TestModel,
    chat_model: InMemoryChatModel,
    datasets: InMemoryDatasetStore,
    trainer: Actor,
    refuses,
) -> None:
    train_only = chat_dataset("tiny").split()[0]
    await datasets.save(Dataset(name="tiny", task=Task.CHAT, examples=train_only.examples))

    with refuses(EmptyDataset):
        await sut.execute(TestRequest(actor=trainer, dataset="tiny"))

    assert chat_model.calls == []


async def test_a_saved_dataset_whose_corrections_all_trained_says_how_to_hold_some_out(
    sut: TestModel,
    chat_model: InMemoryChatModel,
    datasets: InMemoryDatasetStore,
    trainer: Actor,
    refuses,
) -> None:
    taught = tuple(
        Example.single_turn(f"q{n}", f"a{n}", origin=f"correction cor-{n}") for n in range(1, 13)
    )
    await datasets.save(Dataset(name="corrections", task=Task.CHAT, examples=taught))

    with refuses(EmptyDataset) as caught:
        await sut.execute(TestRequest(actor=trainer, dataset="corrections"))

    assert "holdout=true" in str(caught.value)
    assert chat_model.calls == []


async def test_tests_an_attachment(
    sut: TestModel, chat_model: InMemoryChatModel, trainer: Actor
) -> None:
    upload = Upload("answers.json", INLINE_JSON.encode())

    result = await sut.execute(TestRequest(actor=trainer, attachment=upload, model=TRAINED))

    assert result.report.count == 4
    assert result.report.metrics["exact_match"] == 0.75


async def test_refuses_an_attachment_over_the_upload_limit_and_runs_no_model(
    chat_model: InMemoryChatModel,
    datasets: InMemoryDatasetStore,
    models: InMemoryModelRegistry,
    trainer: Actor,
    refuses,
) -> None:
    sut = make_sut(chat_model, datasets, models, Limits(max_upload_bytes=10))

    with refuses(FileTooLarge):
        await sut.execute(
            TestRequest(actor=trainer, attachment=Upload("a.json", INLINE_JSON.encode()))
        )

    assert chat_model.calls == []


async def test_refuses_an_attachment_that_is_not_utf8_and_runs_no_model(
    sut: TestModel, chat_model: InMemoryChatModel, trainer: Actor, refuses
) -> None:
    upload = Upload("answers.json", '{"привет": "мир"}'.encode("cp1251"))

    with refuses(DatasetError):
        await sut.execute(TestRequest(actor=trainer, attachment=upload))

    assert chat_model.calls == []


@pytest.mark.parametrize("path", ["tests/answers.json", "./tests/answers.json"])
async def test_tests_a_file_in_the_workspace(
    sut: TestModel, chat_model: InMemoryChatModel, trainer: Actor, path: str
) -> None:
    result = await sut.execute(TestRequest(actor=trainer, data_dir=path, model=TRAINED))

    assert asked(chat_model) == [(TRAINED, q) for q in ("q1", "q2", "q3", "q4")]
    assert result.report.count == 4
    assert result.report.metrics["exact_match"] == 0.75
    assert result.report.metrics["normalized_match"] == 0.75
    assert result.report.metrics["token_f1"] == 0.75


async def test_tests_every_file_below_a_workspace_folder(
    sut: TestModel, chat_model: InMemoryChatModel, trainer: Actor
) -> None:
    result = await sut.execute(TestRequest(actor=trainer, data_dir="suite", model=TRAINED))

    assert asked(chat_model) == [(TRAINED, q) for q in ("q1", "q2", "q3", "q4")]
    assert result.report.count == 4
    assert result.report.metrics["exact_match"] == 0.75


@pytest.mark.parametrize(
    ("path", "error"),
    [
        pytest.param("../outside.json", PathOutsideWorkspace, id="outside"),
        pytest.param("/etc/passwd", PathOutsideWorkspace, id="absolute"),
        pytest.param("missing.json", WorkspaceFileNotFound, id="missing"),
    ],
)
async def test_refuses_workspace_data_that_is_not_in_the_workspace_and_runs_no_model(
    chat_model: InMemoryChatModel,
    datasets: InMemoryDatasetStore,
    models: InMemoryModelRegistry,
    trainer: Actor,
    refuses,
    path: str,
    error: type[Exception],
) -> None:
    workspace = InMemoryWorkspace(files=WORKSPACE_FILES)
    recent = RecentTests()
    sut = TestModel(
        chat_model=chat_model,
        datasets=datasets,
        models=models,
        default_model=DEFAULT,
        recent=recent,
        workspace=workspace,
    )

    with refuses(error):
        await sut.execute(TestRequest(actor=trainer, data_dir=path))

    assert chat_model.calls == []
    assert workspace.files == WORKSPACE_FILES
    assert workspace.exported == []
    assert recent.latest(trainer.id) is None
    assert datasets.versions == []


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({}, id="none"),
        pytest.param({"data": INLINE_JSON, "data_dir": "suite"}, id="data-and-data-dir"),
        pytest.param({"data_dir": "suite", "dataset": "support"}, id="data-dir-and-dataset"),
        pytest.param({"data": INLINE_JSON, "dataset": "support"}, id="data-and-dataset"),
        pytest.param(
            {"data": INLINE_JSON, "attachment": Upload("a.json", b"{}")}, id="data-and-file"
        ),
    ],
)
async def test_refuses_anything_but_exactly_one_source_of_test_data_and_runs_no_model(
    sut: TestModel,
    chat_model: InMemoryChatModel,
    trainer: Actor,
    refuses,
    changes: dict[str, object],
) -> None:
    with refuses(InvalidArgument):
        await sut.execute(TestRequest(actor=trainer, **changes))  # type: ignore[arg-type]

    assert chat_model.calls == []


@pytest.mark.parametrize("data", ["   ", "{}", "[]"])
async def test_refuses_test_data_without_examples_and_runs_no_model(
    sut: TestModel, chat_model: InMemoryChatModel, trainer: Actor, refuses, data: str
) -> None:
    with refuses(EmptyDataset):
        await sut.execute(TestRequest(actor=trainer, data=data))

    assert chat_model.calls == []


async def test_refuses_more_examples_than_the_limit_and_runs_no_model(
    chat_model: InMemoryChatModel,
    datasets: InMemoryDatasetStore,
    models: InMemoryModelRegistry,
    trainer: Actor,
    refuses,
) -> None:
    sut = make_sut(chat_model, datasets, models, Limits(max_test_examples=3))

    with refuses(InvalidArgument) as caught:
        await sut.execute(TestRequest(actor=trainer, data=INLINE_JSON))

    assert "4" in str(caught.value)
    assert "3" in str(caught.value)
    assert chat_model.calls == []


async def test_exactly_the_example_limit_is_tested(
    chat_model: InMemoryChatModel,
    datasets: InMemoryDatasetStore,
    models: InMemoryModelRegistry,
    trainer: Actor,
) -> None:
    sut = make_sut(chat_model, datasets, models, Limits(max_test_examples=4))

    result = await sut.execute(TestRequest(actor=trainer, data=INLINE_JSON))

    assert result.report.count == 4


async def test_a_bad_line_refuses_the_test_before_any_model_runs(
    sut: TestModel, chat_model: InMemoryChatModel, trainer: Actor, refuses
) -> None:
    data = LABELLED + '\n{"text": "t5"\n' + json.dumps({"text": "", "label": POSITIVE})

    with refuses(DatasetInvalid) as caught:
        await sut.execute(TestRequest(actor=trainer, data=data))

    assert "line 5" in str(caught.value)
    assert chat_model.calls == []


async def test_a_bad_line_refusal_carries_a_report_of_every_problem(
    sut: TestModel, trainer: Actor, refuses
) -> None:
    bad = "\n".join(["{broken"] * 5)

    with refuses(DatasetInvalid) as caught:
        await sut.execute(TestRequest(actor=trainer, data=bad))

    report = caught.value.report
    assert isinstance(report, ValidationReport)
    assert [p.line for p in report.problems] == [1, 2, 3, 4, 5]


# --- who may test -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"data": INLINE_JSON}, id="inline"),
        pytest.param({"dataset": "support"}, id="dataset"),
        pytest.param({"attachment": Upload("a.json", INLINE_JSON.encode())}, id="attachment"),
        pytest.param({}, id="invalid-too"),
    ],
)
async def test_refuses_a_member_without_the_trainer_role_and_runs_no_model(
    sut: TestModel,
    chat_model: InMemoryChatModel,
    member: Actor,
    refuses,
    changes: dict[str, object],
) -> None:
    with refuses(PermissionDenied):
        await sut.execute(TestRequest(actor=member, **changes))  # type: ignore[arg-type]

    assert chat_model.calls == []


# --- predictions.jsonl, charts, and the latest test remembered ---------------------------------


class FakeCharts(ChartRenderer):
    """Answers a fake image naming what it drew; raises ``fail_with`` if set."""

    def __init__(self, fail_with: Exception | None = None) -> None:
        self.fail_with = fail_with
        self.drawn: list[tuple[str, object]] = []

    async def render_comparison(
        self, report: EvaluationReport, baseline: EvaluationReport | None = None
    ) -> bytes:
        if self.fail_with is not None:
            raise self.fail_with
        self.drawn.append(("comparison", (report.model, baseline.model if baseline else None)))
        return f"png:{report.model}".encode()

    async def render_loss_curve(self, model: str, points: Sequence[LossPoint]) -> bytes:
        if self.fail_with is not None:
            raise self.fail_with
        self.drawn.append(("loss", (model, tuple(points))))
        return f"loss:{model}".encode()


class LossTrainer(InMemoryModelTrainer):
    """An in-memory trainer that also reports its jobs' loss (as OpenAI's does)."""

    def __init__(self, points: Sequence[LossPoint], *, fail_with: Exception | None = None) -> None:
        super().__init__("openai", immediate=True)
        self.points = tuple(points)
        self.loss_fails_with = fail_with
        self.asked: list[str] = []

    async def loss_curve(self, job: TrainingJob) -> Sequence[LossPoint]:
        self.asked.append(job.id)
        if self.loss_fails_with is not None:
            raise self.loss_fails_with
        return self.points


POINTS = (LossPoint(1, 2.0, None), LossPoint(2, 1.0, 1.5))
FINE_TUNED = "ft:gpt-4.1-mini:acme::x1"


def records_of(data: bytes) -> list[dict[str, object]]:
    assert data.endswith(b"\n")
    return [json.loads(line) for line in data.decode("utf-8").splitlines()]


async def test_the_files_are_predictions_jsonl_with_every_example_and_no_chart_without_a_renderer(
    sut: TestModel, trainer: Actor
) -> None:
    result = await sut.execute(TestRequest(actor=trainer, data=INLINE_JSON, model=TRAINED))

    [predictions] = result.files
    assert predictions.path == "predictions.jsonl"
    assert predictions.data == result.predictions_jsonl()
    records = records_of(predictions.data)
    assert [(r["user"], r["expected"], r["output"], r["correct"]) for r in records] == [
        ("q1", "a1", "a1", True),
        ("q2", "a2", "a2", True),
        ("q3", "a3", "a3", True),
        ("q4", "a4", "no idea", False),
    ]
    assert records[3]["failure"] == 1
    assert records[3]["error"] is None
    assert records[3]["prompt"] == [{"role": "user", "content": "q4"}]
    assert "baseline_output" not in records[0]
    assert result.charts == ()
    assert result.notes == ()


async def test_predictions_jsonl_carries_the_baselines_answers_and_keeps_unicode(
    datasets: InMemoryDatasetStore, models: InMemoryModelRegistry, trainer: Actor
) -> None:
    chat_model = InMemoryChatModel(
        scripted({TRAINED: {"привет": "мир"}, BASE: {"привет": "world"}})
    )
    sut = make_sut(chat_model, datasets, models)

    result = await sut.execute(
        TestRequest(actor=trainer, data='{"привет": "мир"}', model=TRAINED, baseline=BASE)
    )

    [record] = records_of(result.predictions_jsonl())
    assert (record["output"], record["baseline_output"]) == ("мир", "world")
    assert (record["correct"], record["baseline_correct"]) == (True, False)
    assert "мир".encode() in result.predictions_jsonl()


async def test_a_model_error_is_in_predictions_jsonl_with_its_message(
    datasets: InMemoryDatasetStore, models: InMemoryModelRegistry, trainer: Actor
) -> None:
    chat_model = InMemoryChatModel(
        scripted(CHAT_SCRIPT, failing={"q2": ServiceError("The model timed out.")})
    )
    sut = make_sut(chat_model, datasets, models)

    result = await sut.execute(TestRequest(actor=trainer, data=INLINE_JSON))

    record = records_of(result.predictions_jsonl())[1]
    assert (record["output"], record["error"], record["score"]) == ("", "The model timed out.", 0.0)


def sut_with(
    chat_model: InMemoryChatModel,
    datasets: InMemoryDatasetStore,
    models: InMemoryModelRegistry,
    **extra: object,
) -> TestModel:
    return TestModel(
        chat_model=chat_model,
        datasets=datasets,
        models=models,
        default_model=DEFAULT,
        **extra,  # type: ignore[arg-type]
    )


async def test_with_a_renderer_a_comparison_chart_goes_with_the_predictions(
    chat_model: InMemoryChatModel,
    datasets: InMemoryDatasetStore,
    models: InMemoryModelRegistry,
    trainer: Actor,
) -> None:
    charts = FakeCharts()
    sut = sut_with(chat_model, datasets, models, charts=charts)

    result = await sut.execute(
        TestRequest(actor=trainer, data=LABELLED, model=TRAINED, baseline=BASE)
    )

    assert [file.path for file in result.files] == ["predictions.jsonl", "comparison.png"]
    assert result.charts == (FileContent("comparison.png", f"png:{TRAINED}".encode()),)
    assert charts.drawn == [("comparison", (TRAINED, BASE))]


async def test_without_a_baseline_the_chart_is_of_the_metrics_alone(
    chat_model: InMemoryChatModel,
    datasets: InMemoryDatasetStore,
    models: InMemoryModelRegistry,
    trainer: Actor,
) -> None:
    charts = FakeCharts()
    sut = sut_with(chat_model, datasets, models, charts=charts)

    result = await sut.execute(TestRequest(actor=trainer, data=INLINE_JSON, model=TRAINED))

    assert [chart.path for chart in result.charts] == ["metrics.png"]
    assert charts.drawn == [("comparison", (TRAINED, None))]


async def test_a_chart_that_cannot_be_drawn_is_a_note_not_a_failed_test(
    chat_model: InMemoryChatModel,
    datasets: InMemoryDatasetStore,
    models: InMemoryModelRegistry,
    trainer: Actor,
) -> None:
    charts = FakeCharts(fail_with=CapabilityUnavailable("Charts need matplotlib."))
    sut = sut_with(chat_model, datasets, models, charts=charts)

    result = await sut.execute(TestRequest(actor=trainer, data=INLINE_JSON, model=TRAINED))

    assert result.charts == ()
    assert result.notes == ("No chart of the metrics: Charts need matplotlib.",)
    assert result.report.count == 4
    assert [file.path for file in result.files] == ["predictions.jsonl"]


async def register_fine_tuned(
    models: InMemoryModelRegistry, jobs: InMemoryJobStore, trainer: Actor
) -> TrainingJob:
    job = TrainingJob(
        id="job-1",
        trainer="openai",
        status=JobStatus.SUCCEEDED,
        dataset_name="support",
        dataset_version="v1",
        example_count=20,
        requested_by=trainer.id,
        model=FINE_TUNED,
    )
    await jobs.save(job)
    await models.register(TrainedModel(FINE_TUNED, trainer="openai", job_id=job.id))
    return job


async def test_a_model_trained_by_a_job_whose_trainer_reports_its_loss_gets_a_loss_curve(
    datasets: InMemoryDatasetStore,
    models: InMemoryModelRegistry,
    jobs: InMemoryJobStore,
    trainer: Actor,
) -> None:
    job = await register_fine_tuned(models, jobs, trainer)
    loss_trainer = LossTrainer(POINTS)
    charts = FakeCharts()
    chat_model = InMemoryChatModel(lambda messages, model: "a1")
    sut = sut_with(
        chat_model, datasets, models, charts=charts, jobs=jobs, trainers={"openai": loss_trainer}
    )

    result = await sut.execute(TestRequest(actor=trainer, data=INLINE_JSON, model=FINE_TUNED))

    assert [chart.path for chart in result.charts] == ["metrics.png", "loss.png"]
    assert ("loss", (FINE_TUNED, POINTS)) in charts.drawn
    assert loss_trainer.asked == [job.id]


async def test_no_loss_curve_for_a_model_not_trained_here_or_by_a_trainer_without_one(
    datasets: InMemoryDatasetStore,
    models: InMemoryModelRegistry,
    jobs: InMemoryJobStore,
    trainer: Actor,
) -> None:
    await register_fine_tuned(models, jobs, trainer)
    charts = FakeCharts()
    chat_model = InMemoryChatModel(lambda messages, model: "a1")
    plain = InMemoryModelTrainer("openai")  # reports no loss
    sut = sut_with(
        chat_model, datasets, models, charts=charts, jobs=jobs, trainers={"openai": plain}
    )

    trained_here = await sut.execute(TestRequest(actor=trainer, data=INLINE_JSON, model=FINE_TUNED))
    base = await sut.execute(TestRequest(actor=trainer, data=INLINE_JSON, model=BASE))

    assert [chart.path for chart in trained_here.charts] == ["metrics.png"]
    assert [chart.path for chart in base.charts] == ["metrics.png"]
    assert trained_here.notes == base.notes == ()


async def test_a_loss_curve_the_provider_cannot_give_is_a_note(
    datasets: InMemoryDatasetStore,
    models: InMemoryModelRegistry,
    jobs: InMemoryJobStore,
    trainer: Actor,
) -> None:
    await register_fine_tuned(models, jobs, trainer)
    loss_trainer = LossTrainer(POINTS, fail_with=ServiceError("OpenAI is not answering."))
    chat_model = InMemoryChatModel(lambda messages, model: "a1")
    sut = sut_with(
        chat_model,
        datasets,
        models,
        charts=FakeCharts(),
        jobs=jobs,
        trainers={"openai": loss_trainer},
    )

    result = await sut.execute(TestRequest(actor=trainer, data=INLINE_JSON, model=FINE_TUNED))

    assert [chart.path for chart in result.charts] == ["metrics.png"]
    assert result.notes == ("No loss curve: OpenAI is not answering.",)


async def test_a_test_is_remembered_as_the_trainers_latest(
    chat_model: InMemoryChatModel,
    datasets: InMemoryDatasetStore,
    models: InMemoryModelRegistry,
    trainer: Actor,
) -> None:
    recent = RecentTests()
    sut = sut_with(chat_model, datasets, models, recent=recent)

    first = await sut.execute(TestRequest(actor=trainer, data=INLINE_JSON, model=TRAINED))
    latest = recent.latest(trainer.id)
    assert latest is not None
    assert latest.report is first.report

    second = await sut.execute(TestRequest(actor=trainer, data=LABELLED, model=TRAINED))
    latest = recent.latest(trainer.id)
    assert latest is not None
    assert latest.report is second.report
    assert recent.latest("someone else") is None


async def test_a_refused_test_is_not_remembered(
    chat_model: InMemoryChatModel,
    datasets: InMemoryDatasetStore,
    models: InMemoryModelRegistry,
    trainer: Actor,
    refuses,
) -> None:
    recent = RecentTests()
    sut = sut_with(chat_model, datasets, models, recent=recent)

    with refuses(UnknownDataset):
        await sut.execute(TestRequest(actor=trainer, dataset="nope"))

    assert recent.latest(trainer.id) is None


# --- another tenant's trained models ----------------------------------------------------------


@pytest.mark.parametrize(
    "named",
    ["fewshot:qa-0123456789ab", "ft:gpt-4.1-mini-2025-04-14:org:qa:AbC123"],
    ids=["trained-here-id", "openai-fine-tuned"],
)
@pytest.mark.parametrize("as_baseline", [False, True], ids=["model", "baseline"])
async def test_a_trained_model_not_registered_here_is_not_found_and_nothing_runs(
    chat_model: InMemoryChatModel,
    datasets: InMemoryDatasetStore,
    models: InMemoryModelRegistry,
    trainer: Actor,
    refuses,
    named: str,
    as_baseline: bool,
) -> None:
    """A model another tenant trained (its id may be known: an OpenAI ``ft:`` id is one account's)
    answers only where it is registered: here it is "not found", as a made-up id is."""
    sut = TestModel(
        chat_model=chat_model,
        datasets=datasets,
        models=models,
        default_model=DEFAULT,
        workspace=InMemoryWorkspace(files=WORKSPACE_FILES),
        trainers={"fewshot": InMemoryModelTrainer("fewshot")},
    )
    request = (
        TestRequest(actor=trainer, data=INLINE_JSON, baseline=named)
        if as_baseline
        else TestRequest(actor=trainer, data=INLINE_JSON, model=named)
    )

    with refuses(UnknownModel) as caught:
        await sut.execute(request)

    assert str(caught.value) == f"There is no model {named!r}; see !models."
    assert chat_model.calls == []
    # Registered here, the same id is tested; a base model may always be named.
    await models.register(TrainedModel(id=named, trainer="fewshot"))
    assert (await sut.execute(request)).report.model == (DEFAULT if as_baseline else named)
    result = await sut.execute(TestRequest(actor=trainer, data=INLINE_JSON, model=BASE))
    assert result.report.model == BASE
