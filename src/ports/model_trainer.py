"""ModelTrainer: turns a dataset into a model (fine-tuning, retrieval index, local classifier...)."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from trainerbot.core.entities import Dataset, TrainingJob, TrainingSpec


@runtime_checkable
class ModelTrainer(Protocol):
    """One way of training. ``name`` is what users choose with ``method=``.

    ``max_example_tokens`` and ``bills_by_token`` say how the validation report measures a
    dataset for this trainer; by default there is no limit and no bill.
    ``start`` returns the job in its first state (a fast trainer may return it already final);
    ``refresh`` asks the provider for the job's current state; ``cancel`` stops it.
    """

    @property
    def name(self) -> str: ...

    @property
    def min_examples(self) -> int:
        """The fewest training examples this trainer accepts (OpenAI fine-tuning needs 10)."""
        ...

    @property
    def max_example_tokens(self) -> int | None:
        """The longest example, in tokens, the trained model accepts: longer ones are problems in
        the validation report (``None``: no limit)."""
        return None

    @property
    def bills_by_token(self) -> bool:
        """Whether the provider bills training by the token: the validation report then estimates
        the epochs and billed tokens."""
        return False

    async def preflight(self, dataset: Dataset) -> None:
        """Refuse, before anything is saved or recorded, what this trainer cannot train at all
        (a kind of data it does not take, a missing package or model), by raising a
        ``TrainerbotError`` whose message says so in one line. By default it takes anything."""
        return None

    async def start(self, spec: TrainingSpec, *, job: TrainingJob) -> TrainingJob: ...

    async def refresh(self, job: TrainingJob) -> TrainingJob: ...

    async def cancel(self, job: TrainingJob) -> TrainingJob: ...
