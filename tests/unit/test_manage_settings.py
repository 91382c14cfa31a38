"""A tenant's own settings: who may train in it (IdentifyMember), its persona and trainer role
(ManageSettings), kept on disk, and the persona used as the system prompt of its answers and of
the models trained in it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from trainerbot.adapters.memory import (
    InMemoryChatModel,
    InMemoryCorrectionStore,
    InMemoryDatasetStore,
    InMemoryInteractionLog,
    InMemoryJobStore,
    InMemoryModelRegistry,
    InMemoryModelTrainer,
    InMemorySettingsStore,
    InMemoryWorkspace,
)
from trainerbot.adapters.storage import JsonlSettingsStore
from trainerbot.core.answer_message import AnswerMessage, AnswerRequest
from trainerbot.core.entities import Actor, ChatMessage, Role, TenantSettings
from trainerbot.core.errors import InvalidArgument, PermissionDenied
from trainerbot.core.limits import Limits
from trainerbot.core.manage_settings import (
    IdentifyMember,
    ManageSettings,
    Member,
    SettingsRequest,
    SettingsResult,
    system_prompt,
)
from trainerbot.core.train_model import TrainModel, TrainRequest

DEFAULT_PERSONA = "You are trainerbot. Answer briefly."
DEFAULT_ROLE = "trainer"
DEFAULT_MODEL = "default-model"
OWNER_ID = "100"
PERSONA = "You are Captain Byte, a pirate who answers in rhymes."
LIMIT = 60  # max_message_chars in these tests: the longest persona


class CountingSettingsStore(InMemorySettingsStore):
    """An in-memory settings store that counts its saves."""

    def __init__(self, settings: TenantSettings | None = None) -> None:
        super().__init__(settings)
        self.saves: list[TenantSettings] = []

    async def save(self, settings: TenantSettings) -> None:
        self.saves.append(settings)
        await super().save(settings)


@pytest.fixture
def store() -> CountingSettingsStore:
    return CountingSettingsStore()


def identify(store: InMemorySettingsStore | JsonlSettingsStore) -> IdentifyMember:
    return IdentifyMember(
        settings=store, default_trainer_role=DEFAULT_ROLE, owners=frozenset({OWNER_ID})
    )


def manage(
    store: InMemorySettingsStore | JsonlSettingsStore, models: InMemoryModelRegistry | None = None
) -> ManageSettings:
    return ManageSettings(
        settings=store,
        models=models or InMemoryModelRegistry(),
        default_model=DEFAULT_MODEL,
        default_persona=DEFAULT_PERSONA,
        default_trainer_role=DEFAULT_ROLE,
        limits=Limits(max_message_chars=LIMIT),
    )


def in_server(
    member_id: str = "7", *roles: str, administrator: bool = False, name: str = "Kim"
) -> Member:
    return Member(
        id=member_id,
        name=name,
        in_server=True,
        roles=frozenset(roles),
        administrator=administrator,
    )


def in_dm(member_id: str = "7", name: str = "Kim") -> Member:
    return Member(id=member_id, name=name, in_server=False)


# --- IdentifyMember ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("member", "can_train"),
    [
        (in_dm(OWNER_ID), True),  # an owner is a trainer in their direct messages
        (in_server(OWNER_ID), True),  # and in any server, with no role at all
        (in_server("7", administrator=True), True),  # a server's administrators
        (in_server("7", DEFAULT_ROLE), True),  # holders of the trainer role
        (in_server("7", "member", DEFAULT_ROLE, "dj"), True),
        (in_server("7"), False),  # anyone else in a server
        (in_server("7", "member", "Trainer"), False),  # role names are matched exactly
        (in_dm("7"), False),  # in direct messages, nobody but an owner
        (in_dm("8"), False),
    ],
)
async def test_who_is_a_trainer_with_the_default_role(
    store: CountingSettingsStore, member: Member, can_train: bool
) -> None:
    actor = await identify(store).execute(member)

    assert actor == Actor(id=member.id, name=member.name, can_train=can_train)
    assert store.saves == []


async def test_a_changed_trainer_role_decides_instead_of_the_configured_one(
    store: CountingSettingsStore,
) -> None:
    await store.save(TenantSettings(trainer_role="Coach"))
    sut = identify(store)

    assert await sut.trainer_role() == "Coach"
    assert (await sut.execute(in_server("7", "Coach"))).can_train
    assert not (await sut.execute(in_server("7", DEFAULT_ROLE))).can_train  # the old one no more
    assert (await sut.execute(in_server("7", administrator=True))).can_train
    assert (await sut.execute(in_server(OWNER_ID))).can_train
    assert not (await sut.execute(in_dm("7"))).can_train  # a role means nothing in DMs


async def test_a_member_is_identified_afresh_after_the_role_changes(
    store: CountingSettingsStore,
) -> None:
    sut = identify(store)
    coach = in_server("7", "Coach")
    assert not (await sut.execute(coach)).can_train

    await manage(store).execute(
        SettingsRequest(actor=Actor(OWNER_ID, "Owner", can_train=True), trainer_role="Coach")
    )

    assert (await sut.execute(coach)).can_train


# --- ManageSettings ------------------------------------------------------------------------------


async def test_show_gives_the_defaults_and_saves_nothing(
    store: CountingSettingsStore, trainer: Actor
) -> None:
    result = await manage(store).execute(SettingsRequest(actor=trainer))

    assert result == SettingsResult(
        persona=DEFAULT_PERSONA,
        persona_is_default=True,
        trainer_role=DEFAULT_ROLE,
        trainer_role_is_default=True,
        active_model=DEFAULT_MODEL,
        active_is_default=True,
        changed=(),
    )
    assert store.saves == []


async def test_show_names_the_active_model(store: CountingSettingsStore, trainer: Actor) -> None:
    models = InMemoryModelRegistry()
    await models.activate("fewshot:faq-1a2b")

    result = await manage(store, models).execute(SettingsRequest(actor=trainer))

    assert result.active_model == "fewshot:faq-1a2b"
    assert not result.active_is_default


async def test_sets_the_persona_trimmed_and_stores_it(
    store: CountingSettingsStore, trainer: Actor
) -> None:
    result = await manage(store).execute(SettingsRequest(actor=trainer, persona=f"  {PERSONA}\n"))

    assert result.persona == PERSONA
    assert not result.persona_is_default
    assert result.changed == ("persona",)
    assert result.trainer_role_is_default
    assert store.saves == [TenantSettings(persona=PERSONA)]
    assert await system_prompt(store, DEFAULT_PERSONA) == PERSONA


async def test_a_persona_of_exactly_the_limit_is_taken(
    store: CountingSettingsStore, trainer: Actor
) -> None:
    result = await manage(store).execute(SettingsRequest(actor=trainer, persona="p" * LIMIT))

    assert result.persona == "p" * LIMIT
    assert len(store.saves) == 1


@pytest.mark.parametrize("word", ["reset", "RESET", "  Reset "])
async def test_reset_returns_the_persona_to_the_default(
    store: CountingSettingsStore, trainer: Actor, word: str
) -> None:
    sut = manage(store)
    await sut.execute(SettingsRequest(actor=trainer, persona=PERSONA))

    result = await sut.execute(SettingsRequest(actor=trainer, persona=word))

    assert result.persona == DEFAULT_PERSONA
    assert result.persona_is_default
    assert result.changed == ("persona",)
    assert store.saves[-1] == TenantSettings()
    assert await system_prompt(store, DEFAULT_PERSONA) == DEFAULT_PERSONA


async def test_setting_the_same_persona_again_writes_nothing_new(
    store: CountingSettingsStore, trainer: Actor
) -> None:
    sut = manage(store)
    await sut.execute(SettingsRequest(actor=trainer, persona=PERSONA))
    await sut.execute(SettingsRequest(actor=trainer, persona=PERSONA))
    await sut.execute(SettingsRequest(actor=trainer, trainer_role="reset"))  # already the default

    assert store.saves == [TenantSettings(persona=PERSONA)]


@pytest.mark.parametrize(
    ("persona", "says"),
    [
        ("p" * (LIMIT + 1), f"{LIMIT + 1} characters; the limit is {LIMIT}"),
        ("line one\n" + "x" * LIMIT, "the limit is"),
        ("", "Give the new persona"),
        ("   \n ", "Give the new persona"),
    ],
)
async def test_a_persona_too_long_or_empty_is_refused_in_one_line_and_nothing_is_saved(
    store: CountingSettingsStore, trainer: Actor, refuses, persona: str, says: str
) -> None:
    await store.save(TenantSettings(persona="the old one"))
    store.saves.clear()

    with refuses(InvalidArgument) as caught:
        await manage(store).execute(SettingsRequest(actor=trainer, persona=persona))

    assert says in str(caught.value)
    assert "x" * 20 not in str(caught.value)  # the persona is not echoed back
    assert store.saves == []
    assert (await store.get()).persona == "the old one"


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("Coach", "Coach"),
        ("  Model Wranglers  ", "Model Wranglers"),
        ("r" * 100, "r" * 100),  # Discord's longest role name
        ("🤖 bots", "🤖 bots"),
    ],
)
async def test_sets_the_trainer_role(
    store: CountingSettingsStore, trainer: Actor, given: str, stored: str
) -> None:
    result = await manage(store).execute(SettingsRequest(actor=trainer, trainer_role=given))

    assert result.trainer_role == stored
    assert not result.trainer_role_is_default
    assert result.changed == ("trainer role",)
    assert store.saves == [TenantSettings(trainer_role=stored)]


async def test_reset_returns_the_trainer_role_to_the_default(
    store: CountingSettingsStore, trainer: Actor
) -> None:
    sut = manage(store)
    await sut.execute(SettingsRequest(actor=trainer, trainer_role="Coach"))

    result = await sut.execute(SettingsRequest(actor=trainer, trainer_role="reset"))

    assert result.trainer_role == DEFAULT_ROLE
    assert result.trainer_role_is_default
    assert await identify(store).trainer_role() == DEFAULT_ROLE


@pytest.mark.parametrize(
    "role", ["", "   ", "r" * 101, "two\nlines", "a\r\nb", "a\rb", "tab\there"]
)
async def test_a_trainer_role_that_no_discord_role_could_have_is_refused(
    store: CountingSettingsStore, trainer: Actor, refuses, role: str
) -> None:
    with refuses(InvalidArgument) as caught:
        await manage(store).execute(SettingsRequest(actor=trainer, trainer_role=role))

    assert "1-100 characters on one line" in str(caught.value)
    assert store.saves == []


async def test_both_at_once_are_saved_together_and_a_bad_one_saves_neither(
    store: CountingSettingsStore, trainer: Actor, refuses
) -> None:
    sut = manage(store)
    with refuses(InvalidArgument):
        await sut.execute(SettingsRequest(actor=trainer, persona=PERSONA, trainer_role="r" * 101))
    assert store.saves == []

    result = await sut.execute(
        SettingsRequest(actor=trainer, persona=PERSONA, trainer_role="Coach")
    )

    assert result.changed == ("persona", "trainer role")
    assert store.saves == [TenantSettings(persona=PERSONA, trainer_role="Coach")]


@pytest.mark.parametrize(
    "request_",
    [
        {},  # not even shown: the settings name the trainer role
        {"persona": PERSONA},
        {"persona": "reset"},
        {"trainer_role": "everyone"},  # a member may not make themselves a trainer
    ],
)
async def test_a_member_who_is_not_a_trainer_is_refused_and_nothing_is_saved(
    store: CountingSettingsStore, member: Actor, refuses, request_: dict[str, str]
) -> None:
    with refuses(PermissionDenied):
        await manage(store).execute(SettingsRequest(actor=member, **request_))

    assert store.saves == []
    assert await store.get() == TenantSettings()


# --- kept on disk --------------------------------------------------------------------------------


async def test_changes_survive_a_restart_in_the_tenants_settings_file(
    tmp_path: Path, trainer: Actor
) -> None:
    path = tmp_path / "servers" / "42" / "records" / "settings.jsonl"
    sut = manage(JsonlSettingsStore(path))
    await sut.execute(SettingsRequest(actor=trainer, persona=PERSONA))
    await sut.execute(SettingsRequest(actor=trainer, trainer_role="Coach"))

    restarted = JsonlSettingsStore(path)  # a fresh store on the same file: nothing cached

    assert await restarted.get() == TenantSettings(persona=PERSONA, trainer_role="Coach")
    assert await system_prompt(restarted, DEFAULT_PERSONA) == PERSONA
    assert (await identify(restarted).execute(in_server("7", "Coach"))).can_train
    shown = await manage(restarted).execute(SettingsRequest(actor=trainer))
    assert (shown.persona, shown.trainer_role) == (PERSONA, "Coach")
    # Each change is one more line; the last one wins.
    assert len(path.read_text("utf-8").splitlines()) == 2


async def test_a_reset_survives_a_restart_too(tmp_path: Path, trainer: Actor) -> None:
    path = tmp_path / "records" / "settings.jsonl"
    sut = manage(JsonlSettingsStore(path))
    await sut.execute(SettingsRequest(actor=trainer, persona=PERSONA, trainer_role="Coach"))
    await sut.execute(SettingsRequest(actor=trainer, persona="reset"))

    assert await JsonlSettingsStore(path).get() == TenantSettings(trainer_role="Coach")


async def test_a_tenant_with_no_settings_file_has_the_defaults(tmp_path: Path) -> None:
    store = JsonlSettingsStore(tmp_path / "records" / "settings.jsonl")

    assert await store.get() == TenantSettings()
    assert await system_prompt(store, DEFAULT_PERSONA) == DEFAULT_PERSONA
    assert await system_prompt(None, DEFAULT_PERSONA) == DEFAULT_PERSONA


# --- the persona at work -------------------------------------------------------------------------


def answerer(chat_model: InMemoryChatModel, store: InMemorySettingsStore) -> AnswerMessage:
    return AnswerMessage(
        chat_model=chat_model,
        interactions=InMemoryInteractionLog(),
        models=InMemoryModelRegistry(),
        default_model=DEFAULT_MODEL,
        system_prompt=DEFAULT_PERSONA,
        settings=store,
    )


def ask(text: str, author: Actor, number: int) -> AnswerRequest:
    return AnswerRequest(conversation_id="c-1", author=author, text=text, message_id=f"m-{number}")


async def test_answers_are_given_under_the_persona_from_the_next_message_on(
    store: CountingSettingsStore, chat_model: InMemoryChatModel, trainer: Actor, member: Actor
) -> None:
    sut = answerer(chat_model, store)
    settings = manage(store)

    await sut.execute(ask("hello", member, 1))
    await settings.execute(SettingsRequest(actor=trainer, persona=PERSONA))
    await sut.execute(ask("hello again", member, 2))
    await settings.execute(SettingsRequest(actor=trainer, persona="reset"))
    await sut.execute(ask("and again", member, 3))

    systems = [call.messages[0] for call in chat_model.calls]
    assert systems == [
        ChatMessage(Role.SYSTEM, DEFAULT_PERSONA),
        ChatMessage(Role.SYSTEM, PERSONA),
        ChatMessage(Role.SYSTEM, DEFAULT_PERSONA),
    ]
    # Only one system message, first; the persona is never mistaken for history.
    for call in chat_model.calls:
        assert [m.role for m in call.messages].count(Role.SYSTEM) == 1
    assert chat_model.calls[1].messages[-1] == ChatMessage(Role.USER, "hello again")


async def test_another_tenants_persona_is_not_used(
    chat_model: InMemoryChatModel, member: Actor
) -> None:
    ours, theirs = InMemorySettingsStore(), InMemorySettingsStore(TenantSettings(persona=PERSONA))
    await answerer(chat_model, ours).execute(ask("hello", member, 1))
    await answerer(chat_model, theirs).execute(ask("hello", member, 2))

    assert [call.messages[0].content for call in chat_model.calls] == [DEFAULT_PERSONA, PERSONA]


def chat_data(count: int = 6) -> str:
    return "\n".join(
        json.dumps(
            {
                "messages": [
                    {"role": "user", "content": f"question {n}"},
                    {"role": "assistant", "content": f"answer {n}"},
                ]
            }
        )
        for n in range(1, count + 1)
    )


def train_model(
    store: InMemorySettingsStore, model_trainer: InMemoryModelTrainer, *, default: str | None
) -> TrainModel:
    return TrainModel(
        trainers={"memory": model_trainer},
        default_trainer="memory",
        datasets=InMemoryDatasetStore(),
        corrections=InMemoryCorrectionStore(),
        jobs=InMemoryJobStore(),
        models=InMemoryModelRegistry(),
        workspace=InMemoryWorkspace(),
        settings=store,
        system_prompt=default,
    )


async def test_a_model_is_trained_under_the_tenants_persona(
    store: CountingSettingsStore, model_trainer: InMemoryModelTrainer, trainer: Actor
) -> None:
    await manage(store).execute(SettingsRequest(actor=trainer, persona=PERSONA))

    await train_model(store, model_trainer, default=DEFAULT_PERSONA).execute(
        TrainRequest(actor=trainer, data=chat_data())
    )

    [spec] = model_trainer.started
    assert spec.system_prompt == PERSONA


@pytest.mark.parametrize(
    ("default", "expected"), [(DEFAULT_PERSONA, DEFAULT_PERSONA), (None, None)]
)
async def test_without_a_persona_a_model_is_trained_under_the_configured_prompt(
    store: CountingSettingsStore,
    model_trainer: InMemoryModelTrainer,
    trainer: Actor,
    default: str | None,
    expected: str | None,
) -> None:
    await train_model(store, model_trainer, default=default).execute(
        TrainRequest(actor=trainer, data=chat_data())
    )

    [spec] = model_trainer.started
    assert spec.system_prompt == expected
