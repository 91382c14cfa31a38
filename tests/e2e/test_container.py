"""The composition root: every use case resolves, adapters follow configuration."""

import dataclasses
from pathlib import Path

import pytest

from trainerbot import Actor, AnswerRequest, CorrectionRequest
from trainerbot.adapters.audio.fallback import FallbackSpeechToText
from trainerbot.adapters.audio.recognition import SpeechRecognitionSpeechToText
from trainerbot.adapters.learning import FewShotModelTrainer, LocalModelTrainer, TrainedChatModel
from trainerbot.adapters.llama import LlamaCppChatModel, default_weights
from trainerbot.adapters.memory import (
    InMemoryChatModel,
    InMemoryCorrectionStore,
    InMemoryInteractionLog,
)
from trainerbot.adapters.openai import (
    OpenAIChatModel,
    OpenAIEmbeddings,
    OpenAIModelTrainer,
    OpenAISpeechToText,
)
from trainerbot.adapters.sql import SqlCorrectionStore
from trainerbot.adapters.storage import FilesystemWorkspace, JsonlCorrectionStore
from trainerbot.adapters.unavailable import UnavailableChatModel
from trainerbot.config import RECORDS_DATABASE, Settings
from trainerbot.container import Container, create_container
from trainerbot.core.use_cases import UseCases


def test_every_use_case_resolves_from_a_container_wired_to_memory() -> None:
    sut = create_container(Settings(storage="memory"))
    use_cases = sut.use_cases()
    assert isinstance(use_cases, UseCases)
    for field in dataclasses.fields(UseCases):
        resolved = getattr(use_cases, field.name)
        assert type(resolved).__name__ == field.type  # the annotation, e.g. "AnswerMessage"
        # Each use case is executed, but for the job leases' three steps.
        steps = ("claim", "finish", "release") if field.name == "lease_job" else ("execute",)
        assert all(callable(getattr(resolved, step)) for step in steps), field.name
    assert isinstance(sut.interactions(), InMemoryInteractionLog)
    assert isinstance(sut.corrections(), InMemoryCorrectionStore)


async def test_use_cases_share_one_instance_of_each_adapter() -> None:
    sut = create_container(Settings(storage="memory"))
    sut.chat_model.override(InMemoryChatModel(lambda messages, model: "Lyon"))
    use_cases = sut.use_cases()
    ada = Actor(id="ada", name="Ada")

    await use_cases.answer_message.execute(
        AnswerRequest(conversation_id="c", author=ada, text="Capital of France?", message_id="7")
    )
    # The correction finds the answer: both use cases hold the same interaction log.
    await use_cases.record_correction.execute(
        CorrectionRequest(actor=ada, message_id="7", text="Paris")
    )
    [correction] = sut.corrections().corrections
    assert correction.wrong_answer == "Lyon"


def test_filesystem_storage_lives_in_the_configured_workspace(tmp_path: Path) -> None:
    sut = create_container(Settings(workspace=tmp_path / "ws"))
    assert isinstance(sut.workspace(), FilesystemWorkspace)
    # The records: by default in the workspace's own SQLite file (opened when first used).
    assert isinstance(sut.corrections(), SqlCorrectionStore)
    assert sut.database().url.database == str((tmp_path / "ws" / RECORDS_DATABASE).absolute())
    assert {p.name for p in (tmp_path / "ws").iterdir()} >= {"datasets", "archives", "exports"}


def test_the_json_lines_records_of_earlier_releases_are_there_on_request(tmp_path: Path) -> None:
    sut = create_container(Settings(workspace=tmp_path / "ws", records="jsonl"))
    assert isinstance(sut.corrections(), JsonlCorrectionStore)
    assert sut.settings().records_adapter == "jsonl"
    # A database URL wins: records="jsonl" is only the files instead of the workspace's database.
    with_url = Settings(workspace=tmp_path / "ws", records="jsonl", database_url="sqlite:///x")
    assert with_url.records_adapter == "sql"


def test_without_openai_settings_the_embedded_model_answers() -> None:
    sut = create_container(Settings(storage="memory"))
    chat = sut.base_chat_model()
    assert isinstance(chat, LlamaCppChatModel)
    assert chat.weights == default_weights()
    # Trained fewshot and local models answer through the chat model, over that base model.
    assert isinstance(sut.chat_model(), TrainedChatModel)
    assert isinstance(sut.trainers()["fewshot"], FewShotModelTrainer)
    assert isinstance(sut.trainers()["local"], LocalModelTrainer)


def test_openai_chosen_but_not_configured_names_the_settings_to_set() -> None:
    sut = create_container(Settings(storage="memory", chat_backend="openai"))
    chat = sut.base_chat_model()
    assert isinstance(chat, UnavailableChatModel)
    assert "TRAINERBOT_OPENAI_API_KEY" in chat.reason
    assert "TRAINERBOT_OPENAI_BASE_URL" in chat.reason


def test_a_base_url_alone_selects_the_openai_adapters() -> None:
    sut = create_container(Settings(storage="memory", openai_base_url="http://127.0.0.1:9/v1"))
    assert isinstance(sut.base_chat_model(), OpenAIChatModel)
    assert isinstance(sut.trainers()["openai"], OpenAIModelTrainer)
    assert isinstance(sut.embeddings(), OpenAIEmbeddings)
    # The adapters share one client, made without a key for a key-less local server.
    assert str(sut.openai_client().base_url) == "http://127.0.0.1:9/v1/"


@pytest.mark.parametrize(
    ("engine", "adapter"),
    [
        ("openai", OpenAISpeechToText),
        ("sphinx", SpeechRecognitionSpeechToText),
        ("google", SpeechRecognitionSpeechToText),
        # The bundled Whisper model, with sphinx behind it should Whisper be unusable.
        ("faster_whisper", FallbackSpeechToText),
    ],
)
def test_the_speech_engine_follows_configuration(engine: str, adapter: type) -> None:
    settings = Settings(storage="memory", openai_api_key="sk-test", stt_engine=engine)
    assert isinstance(create_container(settings).speech_to_text(), adapter)


def test_offline_the_speech_engine_is_whisper() -> None:
    settings = Settings(storage="memory")
    assert settings.resolved_stt_engine == "faster_whisper"
    assert isinstance(create_container(settings).speech_to_text(), FallbackSpeechToText)


def test_nothing_is_built_until_asked() -> None:
    # Declaring and binding the container constructs no adapter (no workspace folder appears).
    Container(settings=Settings(workspace=Path("never-created")))
    assert not Path("never-created").exists()


# --- the split by concern, and the selection decided by the settings ---------------------------


def test_every_concern_is_the_roots_by_name_and_one_provider_each() -> None:
    from trainerbot.container import CONCERNS

    for concern in CONCERNS:
        for name, provider in concern.cls_providers.items():
            assert Container.providers[name] is provider, f"{concern.__name__}.{name}"


def test_the_use_case_bundle_holds_every_use_case_provider_by_its_field() -> None:
    sut = create_container(Settings(storage="memory"))
    use_cases = sut.use_cases()
    for field in dataclasses.fields(UseCases):
        assert getattr(use_cases, field.name) is getattr(sut, field.name)()


def test_one_storage_setting_chooses_every_store(tmp_path: Path) -> None:
    stores = ("workspace", "datasets", "artifacts", "interactions", "corrections", "feedback")
    stores += ("jobs", "models", "tenant_settings")
    memory = create_container(Settings(storage="memory"))
    disk = create_container(Settings(workspace=tmp_path / "ws"))
    for name in stores:
        assert type(getattr(memory, name)()).__name__.startswith("InMemory"), name
        assert not type(getattr(disk, name)()).__name__.startswith("InMemory"), name


@pytest.mark.parametrize(
    ("settings", "adapters"),
    [
        (
            Settings(storage="memory"),
            {
                "openai_adapters": "missing",
                "chat_adapter": "local",
                "stt_adapter": "faster_whisper",
            },
        ),
        (
            Settings(storage="memory", chat_backend="openai", stt_engine="openai"),
            {"openai_adapters": "missing", "chat_adapter": "missing", "stt_adapter": "missing"},
        ),
        (
            Settings(
                storage="memory", openai_base_url="http://127.0.0.1:9/v1", tts_engine="openai"
            ),
            {"chat_adapter": "openai", "tts_adapter": "openai", "tts_chain": "with_fallback"},
        ),
        (
            Settings(storage="memory", tts_engine="espeak"),
            {"tts_adapter": "espeak", "tts_chain": "alone", "voice_adapter": "none"},
        ),
        (
            Settings(storage="memory", tts_fallback="none", discord_token="x"),
            {"tts_adapter": "gtts", "tts_chain": "alone", "voice_adapter": "discord"},
        ),
    ],
)
def test_the_settings_say_which_adapter_serves(
    settings: Settings, adapters: dict[str, str]
) -> None:
    assert {name: getattr(settings, name) for name in adapters} == adapters


@pytest.mark.parametrize(
    ("chosen", "openai", "installed", "adapter"),
    [
        ("auto", True, True, "openai"),
        ("auto", False, True, "local"),
        ("auto", False, False, "none"),
        ("openai", False, True, "none"),  # chosen but not configured: TF-IDF only
        ("local", False, False, "local"),  # chosen: says what to install when first used
        ("none", True, True, "none"),
    ],
)
def test_the_settings_say_which_embeddings_serve(
    chosen: str, openai: bool, installed: bool, adapter: str
) -> None:
    settings = Settings(
        storage="memory", embeddings=chosen, openai_api_key="sk-test" if openai else None
    )
    assert settings.embeddings_adapter(local_installed=installed) == adapter


def test_the_embedded_model_answers_briefly_and_is_named_for_its_lora_models() -> None:
    assert Settings(max_answer_tokens=None).embedded_max_tokens == 256
    assert Settings(max_answer_tokens=100).embedded_max_tokens == 100
    assert Settings().embedded_temperature == 0.2
    assert Settings(temperature=0.7).embedded_temperature == 0.7
    assert Settings().embedded_model_name == "smollm2-135m-instruct"
    assert Settings(gguf_model=Path("m/qwen.gguf")).embedded_model_name == "qwen"
    assert Settings(chat_backend="local", chat_model="mine").embedded_model_name == "mine"


def test_a_tenant_shares_the_heavy_providers_and_has_its_own_stores(tmp_path: Path) -> None:
    from trainerbot.container import SHARED, tenant_container, tenant_workspace
    from trainerbot.core.tenancy import Tenant

    # With a database, so that every shared provider (the database's too) can be built.
    settings = Settings(workspace=tmp_path / "ws", database_url=f"sqlite:///{tmp_path}/r.sqlite3")
    root = create_container(settings)
    root.chat_model.override(InMemoryChatModel(lambda messages, model: "overridden"))
    child = tenant_container(root, Tenant.server(7))
    for name in SHARED:
        assert getattr(child, name)() is getattr(root, name)(), name
    assert child.chat_model() is root.chat_model()  # an override reaches every tenant
    assert child.jobs() is not root.jobs()
    assert child.workspace().root == tenant_workspace(settings, Tenant.server(7)).resolve()
    assert child.use_cases().answer_message is not root.use_cases().answer_message


def test_the_records_database_is_no_file_of_any_workspace(tmp_path: Path) -> None:
    from trainerbot.container import tenant_container, tenant_workspace
    from trainerbot.container.storage import database_files
    from trainerbot.core.tenancy import Tenant

    ws = tmp_path / "ws"
    settings = Settings(workspace=ws)
    assert database_files(settings) == (
        RECORDS_DATABASE,
        f"{RECORDS_DATABASE}-wal",
        f"{RECORDS_DATABASE}-shm",
        f"{RECORDS_DATABASE}-journal",
    )
    # In a folder of the workspace, as a user may configure it; elsewhere, or no SQLite file.
    inside = Settings(workspace=ws, database_url=f"sqlite:///{ws}/db/r.sqlite3")
    assert database_files(inside)[0] == "db/r.sqlite3"
    for other in (
        Settings(workspace=ws, database_url=f"sqlite:///{tmp_path}/r.sqlite3"),
        Settings(workspace=ws, database_url="postgresql://ada@db.example/records"),
        Settings(workspace=ws, records="jsonl"),
        Settings(storage="memory"),
    ):
        assert database_files(other) == ()
    # A tenant's container: its workspace below, the database the root's, outside it.
    child = tenant_container(create_container(settings), Tenant.server(7))
    assert child.settings().workspace == tenant_workspace(settings, Tenant.server(7))
    assert child.settings().database_url_value == settings.database_url_value
    assert database_files(child.settings()) == ()
