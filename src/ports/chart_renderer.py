"""ChartRenderer: pictures of test results and training runs, as PNG bytes.

Also ``LossCurveSource``: the capability a trainer has when it can tell how a job's loss went, step
by step (OpenAI keeps it per step). A trainer without it simply has no loss curve to draw.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from trainerbot.core.entities import LossPoint, TrainingJob
from trainerbot.core.evaluation import EvaluationReport


@runtime_checkable
class ChartRenderer(Protocol):
    """Draws charts for people to look at; every method answers a whole PNG image.

    Rendering is CPU work: an adapter keeps it off the event loop. A renderer that cannot draw
    (its library is missing) raises ``CapabilityUnavailable``.
    """

    async def render_comparison(
        self, report: EvaluationReport, baseline: EvaluationReport | None = None
    ) -> bytes:
        """The metrics of ``report`` (and of ``baseline`` on the same examples, side by side);
        for classification also the confusion matrix."""
        ...

    async def render_loss_curve(self, model: str, points: Sequence[LossPoint]) -> bytes:
        """Training and validation loss by step of the job that trained ``model``."""
        ...


@runtime_checkable
class LossCurveSource(Protocol):
    """A trainer that can report a job's loss by step (a ``ModelTrainer`` may also be this)."""

    async def loss_curve(self, job: TrainingJob) -> Sequence[LossPoint]:
        """The job's losses, oldest step first; empty when the provider has none (yet)."""
        ...
