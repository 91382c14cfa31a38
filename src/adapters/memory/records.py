"""In-memory record stores: what the JSONL stores keep on disk, kept in lists."""

from __future__ import annotations

from trainerbot.core.dataset_sources import check_dataset_name
from trainerbot.core.entities import (
    Correction,
    Dataset,
    Feedback,
    Interaction,
    TenantSettings,
    TrainedModel,
    TrainingJob,
)
from trainerbot.core.errors import UnknownDataset
from trainerbot.core.jobs import supersedes
from trainerbot.ports import (
    CorrectionStore,
    DatasetStore,
    FeedbackStore,
    InteractionLog,
    JobStore,
    ModelRegistry,
    SettingsStore,
)


class InMemoryInteractionLog(InteractionLog):
    def __init__(self) -> None:
        self.interactions: list[Interaction] = []

    async def append(self, interaction: Interaction) -> None:
        self.interactions.append(interaction)

    async def link_reply(self, interaction_id: str, message_id: str) -> Interaction | None:
        for index, interaction in enumerate(self.interactions):
            if interaction.id == interaction_id:
                self.interactions[index] = interaction.with_reply_message(message_id)
                return self.interactions[index]
        return None

    async def find_by_message(self, message_id: str) -> Interaction | None:
        if not message_id:
            return None  # console prompts have no message id: "" names no interaction
        for interaction in reversed(self.interactions):
            if interaction.id == message_id or interaction.answers(message_id):
                return interaction
        return None

    async def recent(self, conversation_id: str, limit: int) -> list[Interaction]:
        mine = [i for i in self.interactions if i.conversation_id == conversation_id]
        return mine[-limit:] if limit > 0 else []


class InMemoryCorrectionStore(CorrectionStore):
    def __init__(self) -> None:
        self.corrections: list[Correction] = []

    async def add(self, correction: Correction) -> None:
        self.corrections.append(correction)

    async def all(self) -> list[Correction]:
        return list(self.corrections)


class InMemoryFeedbackStore(FeedbackStore):
    def __init__(self) -> None:
        self.feedback: list[Feedback] = []

    async def add(self, feedback: Feedback) -> None:
        self.feedback.append(feedback)

    async def all(self) -> list[Feedback]:
        return list(self.feedback)


class InMemoryJobStore(JobStore):
    """Keeps every saved state in ``history``; ``get``/``all`` give the latest."""

    def __init__(self) -> None:
        self.history: list[TrainingJob] = []

    async def save(self, job: TrainingJob) -> None:
        if supersedes(job, await self.get(job.id)):
            self.history.append(job)

    async def get(self, job_id: str) -> TrainingJob | None:
        return next((j for j in reversed(self.history) if j.id == job_id), None)

    async def all(self) -> list[TrainingJob]:
        latest: dict[str, TrainingJob] = {}
        for job in self.history:
            latest[job.id] = job
        return list(latest.values())


class InMemoryDatasetStore(DatasetStore):
    """Keeps every saved version in ``versions``; the last saved one of a name is current."""

    def __init__(self) -> None:
        self.versions: list[Dataset] = []
        self.selected_name: str | None = None

    async def save(self, dataset: Dataset) -> None:
        check_dataset_name(dataset.name)
        self.versions.append(dataset)

    async def get(self, name: str) -> Dataset | None:
        check_dataset_name(name)
        return next((d for d in reversed(self.versions) if d.name == name), None)

    async def names(self) -> list[str]:
        return sorted({d.name for d in self.versions})

    async def select(self, name: str) -> None:
        if await self.get(name) is None:
            raise UnknownDataset(f"There is no dataset named {name!r}.")
        self.selected_name = name

    async def selected(self) -> str | None:
        return self.selected_name


class InMemoryModelRegistry(ModelRegistry):
    def __init__(self) -> None:
        self.registered: list[TrainedModel] = []
        self.activations: list[str] = []

    async def register(self, model: TrainedModel) -> None:
        self.registered.append(model)

    async def models(self) -> list[TrainedModel]:
        unique: dict[str, TrainedModel] = {}
        for model in self.registered:
            unique[model.id] = model
        return list(unique.values())

    async def activate(self, model_id: str) -> None:
        self.activations.append(model_id)

    async def active(self) -> str | None:
        return self.activations[-1] if self.activations else None


class InMemorySettingsStore(SettingsStore):
    def __init__(self, settings: TenantSettings | None = None) -> None:
        self.settings = settings or TenantSettings()

    async def get(self) -> TenantSettings:
        return self.settings

    async def save(self, settings: TenantSettings) -> None:
        self.settings = settings
