"""Plain-text reports of use-case results, shared by the driving adapters (console, Discord)."""

from __future__ import annotations

from collections.abc import Mapping

from .datasets import ValidationReport
from .entities import Archive, FileContent, JobStatus, TrainingJob
from .errors import DatasetInvalid
from .export_data import ExportResult
from .fix_failure import FixFailureResult
from .limits import human_bytes
from .list_models import ListModelsResult
from .manage_settings import SettingsResult
from .test_model import PREDICTIONS_FILE, TestResult
from .text import command, plural
from .train_model import TrainResult


def dataset_invalid(error: DatasetInvalid) -> str:
    report = error.report
    if isinstance(report, ValidationReport):
        return "\n".join([f"error: {error}", *(f"  {line}" for line in report.details())])
    return f"error: {error}"


def job(job: TrainingJob) -> str:
    parts = [
        f"{job.id}  {job.status.value:<10} {job.trainer:<8} "
        f"{job.dataset_name}@{job.dataset_version} ({plural(job.example_count, 'example')})"
    ]
    if job.model:
        parts.append(f"model {job.model}")
    progress = _progress(job.metrics)
    if progress:
        parts.append(progress)
    if job.error:
        parts.append(f"error: {job.error}")
    if job.events:
        parts.append(f"latest: {job.events[-1][:120]}")
    return " — ".join(parts)


_METRICS = (("train_loss", "train loss"), ("valid_loss", "valid loss"))


def _progress(metrics: Mapping[str, float]) -> str:
    """``step 30, train loss 0.412, valid loss 0.530`` from a checkpoint's metrics."""
    shown = [f"step {int(metrics['step'])}"] if "step" in metrics else []
    shown += [f"{label} {metrics[key]:.3f}" for key, label in _METRICS if key in metrics]
    return ", ".join(shown)


def train_result(result: TrainResult) -> str:
    lines = [f"Training job {result.job.id} ({result.job.trainer}): {result.job.status.value}."]
    lines.append(f"Dataset {result.dataset.name}: {result.report.summary()}")
    lines += [f"  {line}" for line in result.report.details()]
    if result.job.model:
        model = result.job.model
        lines.append(f"Model {model} is ready: use it with {command('use', model)}")
    else:
        lines.append(f"Follow it with {command('jobs', result.job.id)}")
    return "\n".join(lines)


def job_outcome(job: TrainingJob) -> str:
    """How a finished job ended, in one line."""
    if job.status is JobStatus.SUCCEEDED and job.model:
        return f"Training job {job.id} succeeded: model {job.model} is ready — {command('use', job.model)}"
    if job.status is JobStatus.FAILED:
        return f"Training job {job.id} failed: {job.error or 'the trainer gave no reason'}"
    return f"Training job {job.id} ended: {job.status.value}."


def test_result(result: TestResult) -> str:
    lines = [result.report.summary(), *(f"  {line}" for line in result.report.lines())]
    if result.baseline_report is not None and result.comparison is not None:
        lines.append(f"Baseline: {result.baseline_report.summary()}")
        lines.append(result.comparison.summary())
    if result.report.failures:
        lines.append(
            f"{command('fix', '<number> [right answer]')} turns a failure into a correction "
            f"(every example is in {PREDICTIONS_FILE})."
        )
    lines += result.notes
    return "\n".join(lines)


def fix_result(result: FixFailureResult) -> str:
    correction = result.correction
    return (
        f"Failure {result.number} is now correction {correction.id}: "
        f"{_quoted(correction.prompt)} → {_quoted(correction.corrected)} "
        f"(the model said {_quoted(correction.wrong_answer)}). "
        f"{command('train', 'corrections=true')} trains on the corrections."
    )


def _quoted(text: str, limit: int = 60) -> str:
    flat = " ".join(text.split())
    return f'"{flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"}"'


def export(result: ExportResult) -> str:
    lines = ["Exported into the workspace:"]
    lines += [
        f"  {item.file.path}: {plural(item.lines, 'line')} — {item.what}" for item in result.files
    ]
    return "\n".join(lines)


def archive(archive: Archive) -> str:
    return (
        f"Archived {archive.source}: {plural(len(archive.files), 'file')}, "
        f"{human_bytes(archive.total_bytes)} → {archive.path}"
    )


def models(result: ListModelsResult) -> str:
    lines = []
    for model in result.models:
        mark = "→" if model.id == result.active else " "
        origin = f"trained by {model.trainer} (job {model.job_id})" if model.job_id else "default"
        lines.append(f" {mark} {model.id}  {origin}")
    return "\n".join(lines)


def settings(result: SettingsResult) -> str:
    """``!settings`` and ``!persona``: what changed, then every setting of this tenant."""

    def default(is_default: bool) -> str:
        return " (the default)" if is_default else ""

    lines = [f"Changed the {' and '.join(result.changed)}."] if result.changed else []
    lines += [
        f"Model: {result.active_model}{default(result.active_is_default)} — {command('use')} to change.",
        f"Trainer role: {result.trainer_role}{default(result.trainer_role_is_default)} — "
        f"{command('settings', 'trainer_role=<name>')} to change.",
        f"Persona{default(result.persona_is_default)} — {command('persona', '<text>')} to change:",
        _quoted(result.persona, 400),
    ]
    return "\n".join(lines)


def file_content(file: FileContent, max_shown: int) -> str:
    header = f"{file.path} ({human_bytes(len(file.data))})"
    if len(file.data) <= max_shown:
        try:
            return f"{header}\n{file.data.decode('utf-8')}"
        except UnicodeDecodeError:
            pass
    return f"{header}: not shown here (binary or large); it is in the workspace at {file.path}."
