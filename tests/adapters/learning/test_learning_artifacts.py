"""Artifacts: model ids that cannot leave the store, atomic files that outlive the process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from learning_support import chat_dataset, job_for

from trainerbot.adapters.learning import (
    ArtifactStore,
    FilesystemArtifactStore,
    InMemoryArtifactStore,
    parse_model_id,
)
from trainerbot.adapters.learning.artifacts import Artifact, model_id_for, pack, unpack
from trainerbot.core.entities import Example
from trainerbot.core.errors import ServiceError, UnknownModel

ESCAPES = [
    "fewshot:../../etc/passwd",
    "fewshot:..",
    "local:a/b",
    "local:a\\b",
    "fewshot:/abs",
    "fewshot:",
    "fewshot:UPPER",
    "fewshot:a b",
    "fewshot:a--b",
    "fewshot:-a",
    "fewshot:a.zip",
    "fewshot:a\x00b",
    "local:" + "a" * 80,
    "other:abc",
    "fewshot:abc\n",
]


@pytest.mark.parametrize("model_id", ESCAPES)
def test_an_id_outside_the_strict_pattern_is_an_unknown_model(model_id: str) -> None:
    with pytest.raises(UnknownModel):
        parse_model_id(model_id)


@pytest.mark.parametrize("model_id", ESCAPES)
def test_the_filesystem_store_refuses_such_ids_before_touching_a_path(
    model_id: str, artifacts: FilesystemArtifactStore, tmp_path: Path
) -> None:
    with pytest.raises(UnknownModel):
        artifacts.save(model_id, b"x")
    with pytest.raises(UnknownModel):
        artifacts.load(model_id)
    assert sorted(p.name for p in tmp_path.rglob("*")) == []


def test_a_job_gives_a_readable_unique_id_that_is_safe_as_a_path() -> None:
    dataset = chat_dataset(Example.single_turn("q", "a"), name="My Reviews/../x")

    model_id = model_id_for("fewshot", job_for(dataset, job_id="job-3f9a1c2b7d4e"))

    assert model_id == "fewshot:my-reviews-x-3f9a1c2b7d4e"
    assert parse_model_id(model_id) == ("fewshot", "my-reviews-x-3f9a1c2b7d4e")


def test_a_save_lands_in_the_kind_folder_and_leaves_no_temporary_file(
    artifacts: FilesystemArtifactStore, models_root: Path
) -> None:
    artifacts.save("local:reviews-0123", b"first")
    artifacts.save("local:reviews-0123", b"second")

    assert [p.relative_to(models_root).as_posix() for p in models_root.rglob("*")] == [
        "local",
        "local/reviews-0123.zip",
    ]
    assert artifacts.load("local:reviews-0123") == b"second"
    assert artifacts.load("local:missing-0123") is None
    assert not artifacts.exists("fewshot:missing-0123")


def test_a_new_process_reads_what_this_one_saved(
    artifacts: FilesystemArtifactStore, models_root: Path
) -> None:
    artifacts.save("fewshot:kept-0123", b"payload")
    script = (
        "import sys; from pathlib import Path;"
        "from trainerbot.adapters.learning import FilesystemArtifactStore as S;"
        "sys.stdout.write(S(Path(sys.argv[1])).load('fewshot:kept-0123').decode())"
    )

    result = subprocess.run(
        [sys.executable, "-c", script, str(models_root)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )

    assert result.stdout == "payload"


def test_an_artifact_that_is_a_symlink_is_not_followed(
    artifacts: FilesystemArtifactStore, models_root: Path, tmp_path: Path
) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("not yours")
    (models_root / "fewshot").mkdir(parents=True)
    os.symlink(secret, models_root / "fewshot" / "evil-0123.zip")

    with pytest.raises(ServiceError) as caught:
        artifacts.load("fewshot:evil-0123")

    assert str(tmp_path) not in str(caught.value)
    assert not artifacts.exists("fewshot:evil-0123")


def test_a_kind_folder_leading_outside_the_root_is_refused(
    artifacts: FilesystemArtifactStore, models_root: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    models_root.mkdir(parents=True)
    os.symlink(outside, models_root / "local")

    (outside / "x-0123.zip").write_bytes(b"planted")

    with pytest.raises(ServiceError):
        artifacts.save("local:x-0123", b"data")
    with pytest.raises(ServiceError):
        artifacts.load("local:x-0123")
    with pytest.raises(ServiceError):
        artifacts.exists("local:x-0123")

    assert (outside / "x-0123.zip").read_bytes() == b"planted"


def test_the_in_memory_store_keeps_artifacts_and_checks_ids() -> None:
    sut = InMemoryArtifactStore()

    sut.save("fewshot:a-1", b"data")

    assert isinstance(sut, ArtifactStore)
    assert sut.load("fewshot:a-1") == b"data"
    assert sut.model_ids == ["fewshot:a-1"]
    with pytest.raises(UnknownModel):
        sut.load("fewshot:../a")


def test_pack_and_unpack_round_trip_the_manifest_and_files() -> None:
    artifact = Artifact(manifest={"kind": "fewshot", "n": 1}, files={"examples.jsonl": b"{}\n"})

    read = unpack(pack(artifact), "fewshot:a-1")

    assert read.kind == "fewshot"
    assert read.manifest["n"] == 1
    assert read.manifest["format"] == "trainerbot-model"
    assert read.files == {"examples.jsonl": b"{}\n"}


@pytest.mark.parametrize("data", [b"", b"not a zip", pack(Artifact(manifest={}))[:-10]])
def test_damaged_bytes_are_a_service_error_naming_the_model(data: bytes) -> None:
    with pytest.raises(ServiceError, match="fewshot:a-1 cannot be read"):
        unpack(data, "fewshot:a-1")


class Payload:
    """A type no model file should name: loading one would run its code."""

    loaded = False
    command = ""

    def __setstate__(self, state: object) -> None:
        Payload.loaded = True


def test_a_classifier_file_naming_an_untrusted_type_is_refused_without_running_it() -> None:
    import skops.io

    from trainerbot.adapters.learning.classifier import CLASSIFIER_FILE, TextClassifier

    payload = Payload()
    payload.command = "touch /tmp/owned"  # state, so that loading it would call __setstate__
    planted = Artifact(manifest={"labels": ["a"]}, files={CLASSIFIER_FILE: skops.io.dumps(payload)})
    with pytest.raises(ServiceError, match=r"^The model local-x cannot be read"):
        TextClassifier.from_artifact(planted, "local-x")
    assert not Payload.loaded

    # The check could fail: trusted, the same bytes do run the payload's code.
    data = planted.files[CLASSIFIER_FILE]
    skops.io.loads(data, trusted=skops.io.get_untrusted_types(data=data))
    assert Payload.loaded
