"""getSimilarSongs and getSimilarSongs2 over /rest/: songs that sound like a song, album or artist, never another
member's private song; and the knuckles client reading them."""

import pytest
from knuckles import Subsonic

from classifier.models import AudioEmbedding
from tests.catalog_factories import fast_passwords, media_root  # noqa: F401
from tests.similar_factories import direction, fresh_searcher, model, near  # noqa: F401
from tests.subsonic_helpers import alice, bob, build_library, library, sign_in, song_id  # noqa: F401

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_passwords", "media_root")]


def embed(library) -> None:
    """The band's two songs and alice's private diary sound alike; the guest song and bob's tune elsewhere."""
    base = direction(40)
    for seed, (song, spread) in enumerate(((library.first, 0.02), (library.second, 0.02), (library.private, 0.3))):
        AudioEmbedding.store(song.audio_id, model().pk, near(base, seed, spread))
    AudioEmbedding.store(library.guest.audio_id, model().pk, near(base, 9, 1.5))
    AudioEmbedding.store(library.bobs.audio_id, model().pk, direction(41))


def titles(body: dict, key: str) -> list[str]:
    return [entry["title"] for entry in body[key]["song"]]


def test_similar_songs_of_a_song_album_or_artist_leave_out_private_songs(library, alice, bob):
    embed(library)
    first = song_id(library.first)
    assert titles(alice.call("getSimilarSongs", {"id": first, "count": 2}), "similarSongs") == ["Closing", "Diary"]
    assert titles(bob.call("getSimilarSongs", {"id": first, "count": 2}), "similarSongs") == ["Closing", "Guest Spot"]
    album = f"al-{library.first.library_album_id}"
    assert "Diary" not in titles(bob.call("getSimilarSongs2", {"id": album}), "similarSongs2")
    by_artist = titles(alice.call("getSimilarSongs2", {"id": f"ar-{library.first.library_artist_id}"}), "similarSongs2")
    assert by_artist[0] == "Diary" and not {"Opening", "Closing"} & set(by_artist)
    assert bob.error("getSimilarSongs", {"id": song_id(library.private)}) == 70
    assert bob.error("getSimilarSongs2", {"id": "pl-1"}) == 70
    assert bob.error("getSimilarSongs") == 10
    assert alice.call("getSimilarSongs", {"id": first, "count": 0})["similarSongs"]["song"] == []


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_knuckles_reads_similar_songs(live_server, user, other_user, tmp_path):
    folder = tmp_path / "audio"
    folder.mkdir()
    songs = build_library(user, other_user, folder)
    embed(songs)
    api = Subsonic(url=live_server.url, user=user.get_username(), password=sign_in(user), client="skybeat-tests",
                   use_https=False, use_token=True)
    first = song_id(songs.first)
    assert [song.title for song in api.browsing.get_similar_songs_non_id3(first, 2)] == ["Closing", "Diary"]
    assert [song.title for song in api.browsing.get_similar_songs(first, 1)] == ["Closing"]
