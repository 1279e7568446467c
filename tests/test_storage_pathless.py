"""Upload → classify → label → train → classify with the new model, end to end on a storage without local paths
(as S3): every read and write of audio goes through Django's storage API, nothing lands under MEDIA_ROOT."""

import pytest
from django.core.files.storage import default_storage
from django.test import Client
from django.urls import reverse

from catalog.models import Genre, Song
from catalog.services import label_song
from classifier import datasets, inference, training
from classifier.training_options import TrainingOptions
from tests.audio_fixtures import synthetic_genre_clip, write_audio
from tests.catalog_factories import fast_passwords, media_root, stored_files, upload_of  # noqa: F401
from tests.classifier_factories import active_model, forget_failed_loads  # noqa: F401
from tests.test_catalog_audio_blobs import IN_MEMORY_STORAGES
from tests.training_helpers import SAMPLE_RATE_HZ, small_tensorflow  # noqa: F401  (fixture)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_passwords")]
PER_GENRE = 5


def test_upload_classify_and_train_on_a_storage_without_local_paths(settings, user, active_model, media_root,
                                                                   tmp_path, django_capture_on_commit_callbacks):
    settings.STORAGES = IN_MEMORY_STORAGES
    settings.SKYBEAT_MIN_LABELS_PER_GENRE = PER_GENRE
    settings.SKYBEAT_MODELS_DIR, settings.SKYBEAT_EMBEDDING_CACHE_DIR = tmp_path / "models", tmp_path / "embeddings"
    with pytest.raises(NotImplementedError):
        default_storage.path("audio/anything.wav")
    client = Client()
    client.force_login(user)

    songs = []
    for kind in ("drone", "pulse"):
        genre = Genre.objects.get_or_create(slug=kind, defaults={"name": kind.title()})[0]
        for seed in range(PER_GENRE):
            path = write_audio(tmp_path / f"{kind}-{seed}.wav",
                               synthetic_genre_clip(kind, 6.0, SAMPLE_RATE_HZ, seed=seed), SAMPLE_RATE_HZ)
            response = client.post(reverse("api-song-list"), {"file": upload_of(path)})
            assert response.status_code == 201, response.content
            song = Song.objects.get(pk=response.json()["uploads"][0]["song"]["id"])
            label_song(song, genre, user)
            songs.append(song)
    with django_capture_on_commit_callbacks(execute=True):
        inference.classify_song(songs[0].pk)
    songs[0].refresh_from_db()
    assert songs[0].status == Song.Status.CLASSIFIED and default_storage.exists(songs[0].spectrogram.name)

    options = TrainingOptions(mode="feature-extractor", epochs=2, skip_s=0.5, seed=1)
    result = training.train(datasets.library_dataset(), options, source="library")
    assert result.model_version.genres == ["drone", "pulse"] and result.cache_stats["misses"] == 2 * PER_GENRE

    result.model_version.activate()
    with django_capture_on_commit_callbacks(execute=True):
        inference.classify_song(songs[-1].pk)
    songs[-1].refresh_from_db()
    assert songs[-1].status == Song.Status.CLASSIFIED, songs[-1].failure_reason
    assert songs[-1].classification.model_version == result.model_version
    assert stored_files(media_root) == [], "nothing touched the local MEDIA_ROOT"
