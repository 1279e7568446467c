"""Similar songs end to end: a real Celery worker stores each classified song's embedding, and Chromium shows
"Sounds like this" on the song page and the "for you" mix on the home page."""

from datetime import timedelta

import numpy as np
import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from catalog.models import ListeningEvent, Song
from classifier.models import AudioEmbedding
from similar import services
from tests.classifier_factories import active_model, forget_failed_loads, upload_song  # noqa: F401
from tests.similar_factories import direction, fresh_searcher, near, sounding  # noqa: F401
from tests.test_catalog_sweep import wait_until


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_stores_each_songs_embedding(celery_worker_process, active_model, user, tmp_path):
    songs = [upload_song(tmp_path, user, genre, seed=70 + i) for i, genre in enumerate(("pulse", "pulse", "drone"))]
    for song in songs:
        wait_until(lambda song=song: Song.objects.get(pk=song.pk).status == Song.Status.CLASSIFIED,
                   what=f"song {song.pk} classified")
    stored = {row.audio_id: row for row in AudioEmbedding.objects.all()}
    assert set(stored) == {song.audio_id for song in songs}
    vector = AudioEmbedding.decode(stored[songs[0].audio_id].vector)
    assert vector.shape == (400,) and abs(np.linalg.norm(vector) - 1) < 1e-2
    assert stored[songs[0].audio_id].model_version == active_model
    assert [n.song for n in services.similar_songs(user, songs[0], 2)][0] == songs[1], "pulse sounds like pulse"
    client = Client()
    client.force_login(user)
    for song in songs:  # the worker's files live under the shared test MEDIA_ROOT: leave nothing there
        client.delete(reverse("api-song-detail", args=[song.pk]))
    assert not AudioEmbedding.objects.exists()


def log_in(page, live_server, user) -> None:
    client = Client()
    client.force_login(user)
    page.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME,
                               "value": client.cookies[settings.SESSION_COOKIE_NAME].value, "url": live_server.url}])


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_song_page_and_the_home_page_show_songs_like_yours(page, live_server, user, other_user):
    base = direction(50)
    played = sounding(base, other_user, title="Night Drive")
    sounding(near(base, 1), other_user, title="Night Drive II", genre_slug="electronic")
    sounding(near(base, 2, 0.2), other_user, title="Bob's Secret Demo", visibility=Song.Visibility.PRIVATE)
    ListeningEvent.objects.create(user=user, song=played, started_at=timezone.now() - timedelta(days=5),
                                  seconds_listened=200, counted=True, completed=True)
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    log_in(page, live_server, user)
    page.goto(f"{live_server.url}{played.get_absolute_url()}")
    section = page.locator("#sounds-like")
    assert section.get_by_role("heading", name="Sounds like this").is_visible()
    assert "Night Drive II" in section.inner_text() and "Electronic" in section.inner_text()
    assert "Secret" not in section.inner_text()
    assert section.locator("[data-play]").count() == 1
    page.goto(f"{live_server.url}/")
    mix = page.locator("#for-you")
    assert mix.get_by_role("heading", name="For you").is_visible()
    assert "because you played Night Drive" in mix.inner_text() and "Secret" not in mix.inner_text()
    assert mix.get_by_role("button", name="Play the mix").is_visible()
    assert errors == []


def test_the_default_model_gives_the_embedding_in_the_same_pass():
    from classifier.genre_model import fusion_frame_features
    from classifier.model_store import load_genre_model
    from classifier.artefacts import SHIPPED_MODELS_DIR

    model = load_genre_model(SHIPPED_MODELS_DIR / "genre-crnn-gtzan")
    frames = np.random.default_rng(3).random((3, model.settings.frame_length, model.settings.n_mels), np.float32)
    frame_probs, song_probs, embedding = model.predict_with_embedding(frames)
    expected = fusion_frame_features(frames)[:, :400].mean(axis=0)
    assert np.allclose(embedding, expected / np.linalg.norm(expected), atol=1e-5)
    assert np.allclose(model.predict(frames)[1], song_probs)
