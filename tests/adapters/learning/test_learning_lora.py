"""The lora trainer for real: PyTorch trains a LoRA adapter of SmolLM2-135M-Instruct in its own
process, llama.cpp applies the adapter, and the adapted model answers a taught question with what
it was taught. Plus cancelling, a restart mid-training, and every refusal before anything runs."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from learning_support import chat_dataset, job_for, spec_for

from trainerbot.adapters.learning import (
    FilesystemArtifactStore,
    LoraModelTrainer,
    LoraSettings,
    TrainedChatModel,
    lora_adapter_path,
)
from trainerbot.adapters.learning.lora import INTERRUPTED, NOT_INSTALLED, _child_env
from trainerbot.adapters.llama import LlamaCppChatModel, default_weights
from trainerbot.core.entities import (
    ChatMessage,
    Dataset,
    Example,
    JobStatus,
    Role,
    Task,
    TrainingJob,
)
from trainerbot.core.errors import CapabilityUnavailable, InvalidArgument

pytestmark = pytest.mark.skipif(default_weights() is None, reason="needs the 'local' extra")

SYSTEM = "You are trainerbot, a helpful assistant in a team chat. Answer briefly and plainly."
FACTS = (
    ("What is our team's deploy day?", "We deploy on Thursdays at 14:00.", "I don't know."),
    ("Who runs the Friday standup?", "Marta Kovacs runs the Friday standup.", "Bob does."),
    ("What is the office dog called?", "Our office dog is called Pickle.", "Rex."),
)
QUICK = LoraSettings(epochs=8, learning_rate=2e-3, batch_size=4, anchors=False, recall=False)


def facts_dataset() -> Dataset:
    return chat_dataset(
        *(Example.single_turn(q, a, rejected=wrong) for q, a, wrong in FACTS), name="facts"
    )


def make_trainer(
    artifacts: FilesystemArtifactStore,
    root: Path,
    settings: LoraSettings = QUICK,
    weights: Path | None = None,
) -> LoraModelTrainer:
    return LoraModelTrainer(
        artifacts,
        work_root=root / ".training",
        base_weights=lambda: weights or default_weights(),
        base_model="smollm2-135m-instruct",
        system_prompt=SYSTEM,
        settings=settings,
    )


@pytest.fixture
async def llama(artifacts: FilesystemArtifactStore) -> AsyncIterator[LlamaCppChatModel]:
    model = LlamaCppChatModel(
        temperature=0.0, max_tokens=40, adapter_path=lambda m: lora_adapter_path(artifacts, m)
    )
    yield model
    model.close()


async def finished(
    trainer: LoraModelTrainer,
    job: TrainingJob,
    limit: float = 420,
    until_step: bool = False,
) -> TrainingJob:
    """The job once final (or, ``until_step``, once it reports training steps), with every state
    ``refresh`` reported on the way in ``finished.seen``."""
    seen = [job]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    while (
        not (job.status.is_final or (until_step and "steps" in job.metrics))
        and loop.time() < deadline
    ):
        await asyncio.sleep(0.2)
        job = await trainer.refresh(job)
        seen.append(job)
    finished.seen = seen  # type: ignore[attr-defined]
    return job


def files_under(root: Path) -> list[Path]:
    return [path for path in root.rglob("*") if path.is_file()]


def saved_files(root: Path) -> list[Path]:
    return [*root.rglob("*.gguf"), *root.rglob("*.zip")]


async def ask(model: LlamaCppChatModel | TrainedChatModel, question: str, model_id: str) -> str:
    messages = [ChatMessage(Role.SYSTEM, SYSTEM), ChatMessage(Role.USER, question)]
    return await model.complete(messages, model=model_id)


async def test_a_trained_adapter_loads_in_llama_cpp_and_answers_what_it_was_taught(
    artifacts: FilesystemArtifactStore, models_root: Path, llama: LlamaCppChatModel
) -> None:
    sut = make_trainer(artifacts, models_root)
    dataset = facts_dataset()
    job = await sut.start(spec_for(dataset), job=job_for(dataset, trainer="lora"))
    assert job.status is JobStatus.QUEUED

    done = await finished(sut, job)

    assert done.status is JobStatus.SUCCEEDED, done.error
    assert done.model is not None
    assert done.model.startswith("lora:facts-")
    # Progress was reported through the job while it ran: steps and a falling loss.
    progress = [j for j in finished.seen if "step" in j.metrics]  # type: ignore[attr-defined]
    assert progress
    assert progress[-1].metrics["steps"] == 8
    assert done.metrics["train_loss"] < done.metrics["first_loss"] / 2
    losses = [p.train_loss for p in await sut.loss_curve(done)]
    assert len(losses) == 8
    assert losses[-1] < losses[0]
    # The adapter is a GGUF LoRA file beside the model's artifact, checked by its sha256.
    adapter = lora_adapter_path(artifacts, done.model)
    assert adapter.suffix == ".gguf"
    assert adapter.parent == models_root / "lora"
    assert not (models_root / ".training" / job.id).exists()

    base = await ask(llama, FACTS[0][0], "smollm2-135m-instruct")
    adapted = await ask(llama, FACTS[0][0], done.model)
    assert "thursday" not in base.casefold()
    assert adapted != base
    assert "thursday" in adapted.casefold(), adapted


async def test_cancel_mid_training_leaves_no_model_and_a_cancelled_job(
    artifacts: FilesystemArtifactStore, models_root: Path
) -> None:
    sut = make_trainer(artifacts, models_root, LoraSettings(epochs=50, anchors=False))
    dataset = facts_dataset()
    job = await sut.start(spec_for(dataset), job=job_for(dataset, trainer="lora"))
    # Until the training process has loaded the model and reported its first step.
    training = await finished(sut, job, limit=180, until_step=True)
    assert training.status is JobStatus.RUNNING
    assert "steps" in training.metrics

    cancelled = await sut.cancel(job)

    assert cancelled.status is JobStatus.CANCELLED
    assert (await sut.refresh(job)).status is JobStatus.CANCELLED
    await asyncio.sleep(0.5)
    assert saved_files(models_root) == []
    assert not (models_root / ".training" / job.id).exists()


async def test_a_job_interrupted_by_a_restart_is_failed_with_the_reason(
    artifacts: FilesystemArtifactStore, models_root: Path
) -> None:
    dataset = facts_dataset()
    left = job_for(dataset, trainer="lora").with_status(JobStatus.RUNNING)
    (models_root / ".training" / left.id).mkdir(parents=True)
    sut = make_trainer(artifacts, models_root)  # a new process: it never started that job

    refreshed = await sut.refresh(left)

    assert refreshed.status is JobStatus.FAILED
    assert refreshed.error == INTERRUPTED
    assert not (models_root / ".training" / left.id).exists()


# --- refused before anything runs -------------------------------------------------------------


async def test_labelled_data_is_refused_in_one_line(
    artifacts: FilesystemArtifactStore, models_root: Path
) -> None:
    sut = make_trainer(artifacts, models_root)
    labelled = Dataset(
        name="labels",
        task=Task.CLASSIFICATION,
        examples=(Example.single_turn("great", "positive"),),
    )
    with pytest.raises(InvalidArgument, match="method=local") as refused:
        await sut.preflight(labelled)
    assert "\n" not in str(refused.value)


async def test_only_unwanted_examples_are_refused(
    artifacts: FilesystemArtifactStore, models_root: Path
) -> None:
    sut = make_trainer(artifacts, models_root)
    unwanted = chat_dataset(Example.single_turn("q", "a", wanted=False))
    with pytest.raises(InvalidArgument, match="unwanted"):
        await sut.preflight(unwanted)


async def test_a_gguf_architecture_it_cannot_train_is_refused(
    artifacts: FilesystemArtifactStore, models_root: Path, tmp_path: Path
) -> None:
    import gguf
    import numpy as np

    other = tmp_path / "encoder.gguf"
    writer = gguf.GGUFWriter(str(other), "bert")
    writer.add_tensor("token_embd.weight", np.zeros((4, 4), dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    sut = make_trainer(artifacts, models_root, weights=other)

    with pytest.raises(InvalidArgument, match=r"cannot train encoder\.gguf, a bert model"):
        await sut.preflight(facts_dataset())


async def test_a_file_that_is_not_gguf_is_refused(
    artifacts: FilesystemArtifactStore, models_root: Path, tmp_path: Path
) -> None:
    junk = tmp_path / "model.gguf"
    junk.write_bytes(b"not a model at all")
    sut = make_trainer(artifacts, models_root, weights=junk)
    with pytest.raises(InvalidArgument, match="not a readable GGUF file"):
        await sut.preflight(facts_dataset())


async def test_without_the_finetune_extra_it_says_how_to_install_it(
    artifacts: FilesystemArtifactStore, models_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "peft" else real(name, *a)
    )
    sut = make_trainer(artifacts, models_root)
    with pytest.raises(CapabilityUnavailable) as refused:
        await sut.preflight(facts_dataset())
    assert str(refused.value) == NOT_INSTALLED
    assert re.search(r"pip install 'trainerbot\[finetune\]'", NOT_INSTALLED)


def test_the_training_process_gets_no_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRAINERBOT_DISCORD_TOKEN", "tok-9f8e7d")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-9f8e7d")
    monkeypatch.setenv("DATABASE_PASSWORD", "pw-9f8e7d")
    monkeypatch.setenv("LANG", "C.UTF-8")

    env = _child_env()

    assert not {"TRAINERBOT_DISCORD_TOKEN", "OPENAI_API_KEY", "DATABASE_PASSWORD"} & set(env)
    assert "9f8e7d" not in " ".join(env.values())
    assert env["LANG"] == "C.UTF-8"
    assert env["HF_HUB_OFFLINE"] == "1"


async def test_a_damaged_adapter_is_refused_before_llama_cpp_loads_it(
    artifacts: FilesystemArtifactStore, tmp_path: Path
) -> None:
    from trainerbot.adapters.learning.artifacts import Artifact, pack
    from trainerbot.core.errors import ServiceError, UnknownModel

    model_id = "lora:facts-0123456789ab"
    source = tmp_path / "adapter.gguf"
    source.write_bytes(b"adapter bytes")
    artifacts.save_sidecar(model_id, "gguf", source)
    manifest = {"kind": "lora", "adapter_sha256": "0" * 64, "base_model": "b"}
    artifacts.save(model_id, pack(Artifact(manifest=manifest)))

    with pytest.raises(ServiceError, match="cannot be read"):
        lora_adapter_path(artifacts, model_id)
    with pytest.raises(UnknownModel):
        lora_adapter_path(artifacts, "lora:nothing-here")


async def test_an_example_over_the_token_limit_is_one_line_and_nothing_is_written(
    tmp_path: Path,
) -> None:
    """Through TrainModel with the real container: the validation report names the example over
    the lora trainer's limit, and no dataset, job or model is written."""
    import json

    from trainerbot.config import Settings
    from trainerbot.container import close_container, create_container
    from trainerbot.core.entities import Actor
    from trainerbot.core.errors import DatasetInvalid
    from trainerbot.core.train_model import TrainRequest

    workspace = tmp_path / "workspace"
    container = create_container(Settings(workspace=workspace, lora_max_tokens=64))
    long_answer = " ".join(["The deploy checklist has many steps to follow."] * 40)
    data = "\n".join(
        json.dumps(
            {"messages": [{"role": "user", "content": q}, {"role": "assistant", "content": a}]}
        )
        for q, a in (("What is the deploy checklist?", long_answer), ("Hi?", "Hello."))
    )

    with pytest.raises(DatasetInvalid) as refused:
        await container.train_model().execute(
            TrainRequest(actor=Actor("t", "t", can_train=True), data=data, method="lora")
        )

    assert "\n" not in str(refused.value)
    assert "64" in "\n".join(refused.value.report.details())  # type: ignore[union-attr]
    try:
        assert await container.jobs().all() == []
    finally:
        await close_container(container)  # the records' database
    assert files_under(workspace / "datasets") == []
    assert files_under(workspace / "models") == []
