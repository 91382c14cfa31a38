"""ModelTrainer: turns a dataset into a model (fine-tuning, retrieval index, local classifier...)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

from trainerbot.core.entities import Dataset, TrainingJob, TrainingSpec

if TYPE_CHECKING:  # core.tokens imports the ports: named for the type checker only
    from trainerbot.core.tokens import BillingEstimate, TrainingTokens


@runtime_checkable
class ModelTrainer(Protocol):
    """One way of training. ``name`` is what users choose with ``method=``.

    ``max_example_tokens`` and ``estimate`` say how the validation report measures a dataset for
    this trainer; by default there is no limit and no bill, so a trainer that does not bill by the
    token implements neither.
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

    def estimate(self, training: TrainingTokens) -> BillingEstimate | None:
        """What training on ``training`` (the training part's examples and tokens) would bill, by
        this trainer's own rules (a provider's epochs, its per-token bill), for the validation
        report; ``None``, the default, for a trainer that does not bill by the token."""
        return None

    async def preflight(self, dataset: Dataset) -> None:
        """Refuse, before anything is saved or recorded, what this trainer cannot train at all
        (a kind of data it does not take, a missing package or model), by raising a
        ``TrainerbotError`` whose message says so in one line. By default it takes anything."""
        return None

    async def start(self, spec: TrainingSpec, *, job: TrainingJob) -> TrainingJob: ...

    async def refresh(self, job: TrainingJob) -> TrainingJob: ...

    async def cancel(self, job: TrainingJob) -> TrainingJob: ...
