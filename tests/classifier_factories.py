"""Helpers of the classifier tests: songs stored through the upload service, the default model, broken models."""

import shutil
import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from catalog.ingest import ingest_uploads
from catalog.models import Song
from classifier import inference, seeding
from classifier.models import ModelVersion
from tests.audio_fixtures import synthetic_genre_clip, write_audio

SR_HZ = 16000


def upload_song(tmp_path, user, genre: str = "pulse", seconds: float = 12.0, seed: int = 0) -> Song:
    """A song stored through the catalog's upload service (synthetic audio, unique per seed)."""
    path = write_audio(tmp_path / f"{genre}-{seed}.wav", synthetic_genre_clip(genre, seconds, SR_HZ, seed=seed), SR_HZ)
    outcome = ingest_uploads([SimpleUploadedFile(path.name, path.read_bytes())], user)[0]
    assert outcome.ok, outcome.error
    return outcome.song


@pytest.fixture(autouse=True)
def forget_failed_loads(monkeypatch):
    """Model ids are reused between rolled-back tests: no test sees another's remembered load failure."""
    monkeypatch.setattr(inference, "_failed", {})


@pytest.fixture
def active_model(db) -> ModelVersion:
    """The pretrained-tags model, active (re-created if a transactional test flushed the migration's rows).

    Pipeline tests run on it; tests/test_default_model.py covers the shipped default model."""
    version = seeding.install_defaults()
    version.activate()
    return version


@pytest.fixture
def broken_model(settings):
    """Makes an active model version whose manifest is not JSON; its folder is removed afterwards."""
    folders = []

    def make() -> ModelVersion:
        directory = settings.SKYBEAT_MODELS_DIR / f"broken-{uuid.uuid4().hex[:8]}"
        directory.mkdir(parents=True)
        folders.append(directory)
        (directory / "manifest.json").write_text("{this is not json")
        version = ModelVersion.objects.create(
            name=directory.name, architecture=ModelVersion.Architecture.CRNN_FROM_SCRATCH, genres=["rock", "jazz"],
            artefact_path=directory.name,
        )
        version.activate()
        return version

    yield make
    for folder in folders:
        shutil.rmtree(folder)


def second_pretrained(name: str = "pretrained-tags-again") -> ModelVersion:
    """Another version on the pretrained-tags artefact: a second model the workers can really load."""
    original = ModelVersion.objects.get(name=seeding.PRETRAINED_NAME)
    return ModelVersion.objects.create(
        name=name, architecture=original.architecture, genres=original.genres,
        feature_params=original.feature_params, artefact_path=original.artefact_path,
    )
