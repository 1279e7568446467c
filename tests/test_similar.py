"""Similar songs, the "for you" mix and the flowing mood radio: nearest neighbours of the songs' embeddings, exact
and approximate, of which nobody sees another member's private song."""

from datetime import timedelta

import numpy as np
import pytest
from django.urls import reverse
from django.utils import timezone

from catalog.models import ListeningEvent, Song
from classifier.models import AudioEmbedding
from similar import index, services
from similar.models import IndexBuild
from similar.space import SHIPPED_SPACE, fit_base_set_space, library_space, load_space
from tests.catalog_factories import media_root  # noqa: F401  (a fixture)
from tests.similar_factories import direction, fresh_searcher, near, sounding  # noqa: F401  (fresh_searcher: fixture)

PRIVATE = Song.Visibility.PRIVATE


def titles(neighbours) -> list[str]:
    return [n.song.title for n in neighbours]


def played(user, song: Song, days_ago: float, counted: bool = True) -> ListeningEvent:
    return ListeningEvent.objects.create(user=user, song=song, started_at=timezone.now() - timedelta(days=days_ago),
                                         seconds_listened=200, counted=counted, completed=counted)


def test_the_shipped_space_is_the_fit_of_the_shipped_base_set():
    shipped, refitted = load_space(SHIPPED_SPACE), fit_base_set_space()
    # to rounding: the fit's eigen-decomposition differs in its last bits between CPUs (~5e-14 between two EPYCs)
    for part in ("mean", "sound", "genre"):
        assert np.allclose(getattr(shipped, part), getattr(refitted, part), rtol=0, atol=1e-9), part
    assert shipped.genre_weight == refitted.genre_weight
    vectors = library_space().project(np.stack([direction(1), direction(2)]))
    assert vectors.shape == (2, library_space().dims) and np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)


def test_the_approximate_index_finds_what_exact_search_finds():
    rng = np.random.default_rng(0)
    centres = rng.standard_normal((200, 73))
    vectors = centres[rng.integers(0, 200, 20_000)] + 0.7 * rng.standard_normal((20_000, 73))
    vectors = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)
    ids = np.arange(20_000, dtype=np.int64) * 7  # any ids
    ann = index.build_ann(ids, vectors)
    queries = vectors[rng.choice(20_000, 100, replace=False)]
    exact = np.argsort(-(queries @ vectors.T), axis=1)[:, :10]
    _, found = ann.search(queries, 10)
    recall = np.mean([len(set(ids[row]) & set(hits)) / 10 for row, hits in zip(exact, found)])
    assert recall >= 0.95


@pytest.mark.django_db
def test_similar_songs_are_the_nearest_visible_ones(user, other_user):
    rock, jazz = direction(1), direction(2)
    song = sounding(rock, user, title="Query")
    sounding(near(rock, 1), user, title="Close")
    sounding(near(rock, 2, 0.3), other_user, title="Farther")
    sounding(jazz, other_user, genre_slug="jazz", title="Elsewhere")
    sounding(near(rock, 3), other_user, title="Bob's secret", visibility=PRIVATE)
    pending = sounding(near(rock, 4), other_user, title="Unclassified")
    Song.objects.filter(pk=pending.pk).update(status=Song.Status.PENDING)

    assert titles(services.similar_songs(user, song, 3)) == ["Close", "Farther", "Elsewhere"]
    assert "Bob's secret" in titles(services.similar_songs(other_user, song, 3))


@pytest.mark.django_db
def test_over_fetching_fills_the_page_past_other_members_private_songs(user, other_user):
    base = direction(5)
    query = sounding(base, user, title="Query")
    for i in range(40):  # the 40 nearest songs are bob's and private
        sounding(near(base, i, 0.02), other_user, title=f"Private {i}", visibility=PRIVATE)
    for i in range(12):
        sounding(near(base, 100 + i, 0.6), other_user, title=f"Shared {i}")
    found = services.similar_songs(user, query, 10)
    assert len(found) == 10 and all(title.startswith("Shared") for title in titles(found))


@pytest.mark.django_db
def test_one_song_per_audio_and_never_the_same_bytes(user, other_user):
    base = direction(6)
    query = sounding(base, user, title="Query")
    copy = sounding(base, other_user, title="Bob's copy")
    Song.objects.filter(pk=copy.pk).update(audio=query.audio)
    AudioEmbedding.objects.filter(audio_id=copy.audio_id).delete()
    twin_of_mine = sounding(near(base, 1), other_user, title="Twin (bob)")
    mine = sounding(near(base, 2, 0.2), user, title="Mine", audio=twin_of_mine.audio)
    assert titles(services.similar_songs(user, query, 5)) == ["Mine"]
    assert mine.audio_id == twin_of_mine.audio_id


@pytest.mark.django_db
def test_the_song_page_shows_sounds_like_this_without_private_songs(client, user, other_user):
    base = direction(7)
    song = sounding(base, user, title="Query")
    sounding(near(base, 1), user, title="Alice's private twin", visibility=PRIVATE)
    sounding(near(base, 2), other_user, title="Shared neighbour", genre_slug="blues")
    client.force_login(other_user)
    page = client.get(song.get_absolute_url()).content.decode()
    assert "Sounds like this" in page and "Shared neighbour" in page and "private twin" not in page
    client.force_login(user)
    page = client.get(song.get_absolute_url()).content.decode()
    assert "private twin" in page and "Shared neighbour" in page and "Blues" in page and "data-play" in page


@pytest.mark.django_db
def test_the_cached_song_page_follows_a_neighbours_visibility(client, user, other_user):
    base = direction(8)
    song = sounding(base, other_user, title="Query")
    twin = sounding(near(base, 1), user, title="Alice twin", visibility=PRIVATE)
    client.force_login(other_user)
    assert "Alice twin" not in client.get(song.get_absolute_url()).content.decode()
    twin.visibility = Song.Visibility.SHARED
    twin.save()
    assert "Alice twin" in client.get(song.get_absolute_url()).content.decode()
    twin.visibility = PRIVATE
    twin.save()
    assert "Alice twin" not in client.get(song.get_absolute_url()).content.decode()


@pytest.mark.django_db
def test_the_api_lists_similar_songs_of_a_visible_song_only(client, user, other_user):
    base = direction(8)
    song = sounding(base, user, title="Query")
    private = sounding(near(base, 1), other_user, title="Hidden", visibility=PRIVATE)
    sounding(near(base, 2), other_user, title="Shown")
    client.force_login(user)
    body = client.get(reverse("song-similar", args=[song.pk]), {"count": 5}).json()
    assert [entry["song"]["title"] for entry in body] == ["Shown"] and body[0]["similarity"] > 0.5
    assert client.get(reverse("song-similar", args=[private.pk])).status_code == 404


# --- The mix -------------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_mix_explains_itself_and_leaves_out_what_was_just_played(client, user, other_user):
    rock, jazz = direction(11), direction(12)
    riff = sounding(rock, other_user, title="Riff")
    swing = sounding(jazz, other_user, title="Swing", genre_slug="jazz")
    sounding(near(rock, 1), other_user, title="Riff II")
    sounding(near(jazz, 1), other_user, title="Swing II", genre_slug="jazz")
    yesterday = sounding(near(rock, 2), other_user, title="Heard yesterday")
    sounding(near(jazz, 2), other_user, title="Bob's private swing", visibility=PRIVATE)
    played(user, riff, 1)
    played(user, swing, 20)
    played(user, yesterday, 1, counted=False)

    mix = services.for_you(user)
    reasons = {entry.song.title: entry.because.title for entry in mix}
    assert reasons["Riff II"] == "Riff" and reasons["Swing II"] == "Swing"
    assert not {"Riff", "Swing", "Heard yesterday", "Bob's private swing"} & reasons.keys()
    assert mix[0].because.title == "Riff", "the most recent listening comes first"
    client.force_login(user)
    page = client.get(reverse("home")).content.decode()
    assert "For you" in page and "because you played Riff" in page and "Bob&#x27;s private swing" not in page


@pytest.mark.django_db
def test_the_mix_has_an_empty_state_for_new_members(client, user):
    sounding(direction(13), title="Anything")
    assert services.for_you(user) == []
    client.force_login(user)
    page = client.get(reverse("home")).content.decode()
    assert 'id="for-you-empty"' in page and "play a few songs" in page
    client.logout()
    assert "For you" not in client.get(reverse("home")).content.decode()


# --- The index across processes ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_stored_index_serves_other_processes_with_fresh_songs_merged(settings, media_root, user, other_user):
    settings.SKYBEAT_SIMILAR_ANN_FROM = 30
    base = direction(20)
    query = sounding(base, user, title="Query")
    for i in range(40):
        sounding(direction(100 + i), other_user, title=f"Far {i}")
    built = sounding(near(base, 1, 0.3), other_user, title="Indexed")
    AudioEmbedding.objects.update(updated_at=timezone.now() - timedelta(hours=1))
    assert index.needs_rebuild()
    build = index.build_index()
    assert build.items == 42 and build.file.storage.exists(build.file.name)
    assert not index.needs_rebuild()

    later = sounding(near(base, 2), other_user, title="Classified after the build")
    another_server = index.Searcher()
    another_server.refresh()
    assert another_server.build_id == build.pk and another_server.ann.ntotal == 42 and len(another_server.ids) == 1
    assert titles(services.similar_songs(user, query, 2)) == ["Classified after the build", "Indexed"]

    Song.objects.filter(pk=built.pk).update(visibility=PRIVATE)  # private now: gone at once, without a rebuild
    assert "Indexed" not in titles(services.similar_songs(user, query, 5))
    settings.SKYBEAT_SIMILAR_ANN_FROM = 1000
    assert index.needs_rebuild() and index.build_index() is None and not IndexBuild.objects.exists()


# --- Mood radio ----------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_radio_follows_the_sound_of_the_previous_song():
    a, b = direction(30), direction(31)
    songs = [sounding(v, title=t) for v, t in ((a, "A1"), (b, "B1"), (near(a, 1), "A2"), (near(b, 1), "B2"))]
    for distance, song in zip((0.0, 0.01, 0.02, 0.03), songs):
        song.mood_distance = distance
    assert [s.title for s in services.flowing_radio(songs, 4)] == ["A1", "A2", "B1", "B2"]
    assert [s.title for s in services.flowing_radio(songs, 2)] == ["A1", "A2"]
