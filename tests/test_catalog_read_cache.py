"""The read caches (catalog.read_cache): every cached list stays private to its viewer and follows every change."""

import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from catalog import read_cache, services
from catalog.models import Song, fast_reverse
from catalog.serializers import HistoryEntrySerializer, SongSerializer
from classifier.inference import _set_status
from moods.models import SongMood
from moods.services import update_song_moods
from tests.catalog_factories import fast_passwords, genre, listened, make_song  # noqa: F401

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_passwords")]

PRIVATE_TITLE = "Alice private demo"

# (url name, kwargs, query): every cached read. The history reads list the viewer's own plays.
READS = {
    "genre page": ("catalog:genre-detail", {"slug": "rock"}, {}),
    "library page": ("catalog:song-list", {}, {"q": "demo"}),
    "library page, genre filter": ("catalog:song-list", {}, {"genre": "rock"}),
    "history page": ("catalog:history", {}, {}),
    "API song list": ("api-song-list", {}, {"genre": "rock"}),
    "API song search": ("api-song-list", {}, {"q": "demo"}),
    "API history": ("api-history", {}, {}),
}


def get(client: Client, name: str, kwargs: dict, query: dict) -> tuple[str, int]:
    """The response's text and how many queries it took."""
    with CaptureQueriesContext(connection) as captured:
        response = client.get(reverse(name, kwargs=kwargs), query)
    assert response.status_code == 200, response.content[:300]
    return response.content.decode(), len(captured)


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def library(user, other_user):
    """Alice's private song and a shared one by Bob, both rock; each of them has played both."""
    rock = genre("rock")
    private = make_song(user, top_genre=rock, title=PRIVATE_TITLE, visibility=Song.Visibility.PRIVATE)
    shared = make_song(other_user, top_genre=rock, title="Bob shared demo")
    for listener in (user, other_user):
        for song in (private, shared):
            listened(listener, song, 60)
    return private, shared


@pytest.mark.parametrize("read", READS, ids=str)
def test_a_private_song_never_reaches_another_viewers_cached_read(read, library, user, other_user, staff_user):
    private, _ = library
    alice, bob, staff = logged_in(user), logged_in(other_user), logged_in(staff_user)
    assert PRIVATE_TITLE in get(alice, *READS[read])[0]
    body, cold = get(bob, *READS[read])
    assert "Bob shared demo" in body and PRIVATE_TITLE not in body
    body, warm = get(bob, *READS[read])
    assert warm < cold, "the second read is answered from the cache"
    assert PRIVATE_TITLE not in body
    if "history" not in read:  # staff see every song; Bob's plays of it are history once it is private
        assert PRIVATE_TITLE in get(staff, *READS[read])[0]


@pytest.mark.parametrize("read", [name for name in READS if "history" not in name], ids=str)
def test_making_a_song_private_removes_it_from_cached_reads_at_once(read, library, other_user):
    private, _ = library
    services.set_visibility(private, Song.Visibility.SHARED)
    bob = logged_in(other_user)
    assert PRIVATE_TITLE in get(bob, *READS[read])[0]
    services.set_visibility(private, Song.Visibility.PRIVATE)
    assert PRIVATE_TITLE not in get(bob, *READS[read])[0]


def test_cached_counts_are_per_viewer(library, user, other_user):
    rock_songs = {"genre": "rock"}
    assert logged_in(user).get(reverse("api-song-list"), rock_songs).json()["count"] == 2
    bob = logged_in(other_user)
    assert bob.get(reverse("api-song-list"), rock_songs).json()["count"] == 1
    assert "1 song whose top genre is Rock" in get(bob, *READS["genre page"])[0]
    assert "2 songs whose top genre is Rock" in get(logged_in(user), *READS["genre page"])[0]


def test_uploads_classification_and_deletion_show_at_once(library, user, other_user):
    bob = logged_in(other_user)
    read = READS["library page, genre filter"]
    get(bob, *read)
    added = make_song(user, title="Fresh upload")  # pending: not rock yet
    assert "Fresh upload" not in get(bob, *read)[0]
    assert "Fresh upload" in get(bob, "catalog:song-list", {}, {})[0]
    added.top_genre, added.top_probability, added.status = genre("rock"), 0.9, Song.Status.CLASSIFIED
    added.save()
    assert "Fresh upload" in get(bob, *read)[0]
    services.delete_song(added)
    assert "Fresh upload" not in get(bob, *read)[0]


def test_status_changes_and_moods_made_without_save_show_at_once(library, other_user):
    _, shared = library
    pending = make_song(other_user, title="Bob pending demo")
    bob = logged_in(other_user)
    read = ("catalog:song-list", {}, {"q": "Bob"})
    assert "status-pending" in get(bob, *read)[0]
    _set_status(pending.pk, Song.Status.FAILED, "broken")
    assert "status-failed" in get(bob, *read)[0]
    SongMood.objects.create(song=shared, valence=0.5, arousal=0.5, dominant="happy", moods={"happy": 1.0})
    update_song_moods([shared.pk])  # no predictions: the song loses its mood, through the cache too
    assert 'data-mood="' not in get(bob, *read)[0]


def test_history_follows_new_plays(library, user):
    alice = logged_in(user)
    before = get(alice, *READS["API history"])[0]
    listened(user, make_song(user, title="Played just now"), 60)
    assert "Played just now" not in before and "Played just now" in get(alice, *READS["API history"])[0]
    assert "Played just now" in get(alice, *READS["history page"])[0]


def test_a_new_playlist_appears_in_the_cached_rows_menus(library, user):
    alice = logged_in(user)
    get(alice, *READS["genre page"])
    playlist = user.playlists.create(name="Road trip")
    assert f'<option value="{playlist.pk}">Road trip</option>' in get(alice, *READS["genre page"])[0]


def test_cached_forms_carry_each_sessions_own_csrf_token(library, user):
    _, shared = library
    for _ in range(2):  # the second session is served the first one's cached rows
        alice = Client(enforce_csrf_checks=True)
        alice.force_login(user)
        body = get(alice, *READS["genre page"])[0]
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', body).group(1)
        assert read_cache.CSRF_PLACEHOLDER not in body
        response = alice.post(reverse("catalog:playlist-add"),
                              {"song": shared.pk, "playlist": "new", "csrfmiddlewaretoken": token})
        assert response.status_code == 302


def test_caches_can_be_turned_off(library, other_user, settings):
    settings.SKYBEAT_READ_CACHE_S = 0
    bob = logged_in(other_user)
    assert get(bob, *READS["genre page"])[1] == get(bob, *READS["genre page"])[1]


def test_song_rows_are_what_the_serializers_give(library, user):
    songs = list(services.search_songs(user))
    assert SongSerializer(songs, many=True).data == [SongSerializer(song).data for song in songs]
    events = list(services.history(user).select_related("song__uploaded_by"))
    assert HistoryEntrySerializer(events, many=True).data == [HistoryEntrySerializer(event).data for event in events]


def test_fast_reverse_is_reverse():
    assert fast_reverse("catalog:song-detail", 42) == reverse("catalog:song-detail", args=[42])
    assert fast_reverse("api-song-stream", 7) == reverse("api-song-stream", args=[7])
    assert fast_reverse("catalog:genre-detail", "hip-hop") == reverse("catalog:genre-detail", args=["hip-hop"])


def test_messages_show_once_and_never_from_the_cache(library, user):
    _, shared = library
    alice = logged_in(user)
    genre_page = reverse("catalog:genre-detail", kwargs={"slug": "rock"})
    alice.post(reverse("catalog:playlist-add"), {"song": shared.pk, "playlist": "new", "next": genre_page})
    assert "added to" in get(alice, *READS["genre page"])[0]
    assert "added to" not in get(alice, *READS["genre page"])[0]


def test_the_browsable_api_is_cached_per_viewer_too(library, user, other_user):
    url = reverse("api-song-list")
    assert PRIVATE_TITLE in logged_in(user).get(url, {"genre": "rock"}, HTTP_ACCEPT="text/html").content.decode()
    bob = logged_in(other_user)
    for _ in range(2):
        response = bob.get(url, {"genre": "rock"}, HTTP_ACCEPT="text/html")
        assert response.status_code == 200 and "Bob shared demo" in response.content.decode()
        assert PRIVATE_TITLE not in response.content.decode()


def test_a_song_page_is_cached_per_viewer_and_follows_its_label(library, user, other_user, staff_user):
    private, shared = library
    alice, bob = logged_in(user), logged_in(other_user)
    page = ("catalog:song-detail", {"pk": private.pk}, {})
    assert PRIVATE_TITLE in get(alice, *page)[0]
    assert bob.get(reverse(*page[:1], kwargs=page[1])).status_code == 404  # not Alice's cached page
    assert PRIVATE_TITLE in get(logged_in(staff_user), *page)[0]
    bob_page = ("catalog:song-detail", {"pk": shared.pk}, {})
    body, cold = get(bob, *bob_page)
    assert "Nobody has confirmed" in body and get(bob, *bob_page)[1] < cold
    services.label_song(shared, genre("rock"), other_user)
    assert "confirmed by bob" in get(bob, *bob_page)[0]
