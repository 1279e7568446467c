"""Every JSON answer of /rest/ against the OpenSubsonic shapes clients rely on (tests/subsonic_shapes.py)."""

import pytest

from catalog.library import link_song
from subsonic.urls import ENDPOINTS
from tests.catalog_factories import fast_passwords, media_root  # noqa: F401
from tests.moods_factories import classified_song, seeded_moods  # noqa: F401
from tests.subsonic_helpers import alice, library, song_id  # noqa: F401
from tests.subsonic_shapes import shape_errors

pytestmark = [pytest.mark.unit, pytest.mark.django_db, pytest.mark.usefixtures("fast_passwords", "media_root")]

MEDIA = {"stream", "download", "getCoverArt"}  # they answer bytes, not JSON


def calls(library, playlist_id: str) -> list[tuple[str, dict]]:
    first, album, artist = song_id(library.first), f"al-{library.first.library_album_id}", \
        f"ar-{library.first.library_artist_id}"
    return [
        ("ping", {}), ("getLicense", {}), ("getOpenSubsonicExtensions", {}), ("getUser", {"username": "alice"}),
        ("getScanStatus", {}), ("startScan", {}), ("getMusicFolders", {}), ("getIndexes", {}),
        ("getMusicDirectory", {"id": artist}), ("getMusicDirectory", {"id": album}), ("getArtists", {}),
        ("getArtist", {"id": artist}), ("getAlbum", {"id": album}), ("getSong", {"id": first}), ("getGenres", {}),
        ("search3", {"query": ""}), ("search3", {"query": "band"}),
        *(("getAlbumList2", {"type": kind, "fromYear": 1990, "toYear": 2030, "genre": "Rock"}) for kind in (
            "random", "newest", "highest", "frequent", "recent", "alphabeticalByName", "alphabeticalByArtist",
            "starred", "byYear", "byGenre")),
        ("getRandomSongs", {"size": 20}), ("getSongsByGenre", {"genre": "Rock"}), ("getStarred2", {}),
        ("getSimilarSongs", {"id": first}), ("getSimilarSongs2", {"id": artist}),
        ("getNowPlaying", {}), ("scrobble", {"id": first}), ("star", {"id": first}), ("unstar", {"id": first}),
        ("setRating", {"id": album, "rating": 3}), ("getPlaylists", {}), ("getPlaylist", {"id": playlist_id}),
        ("getPlaylist", {"id": "mood-calm"}), ("createPlaylist", {"name": "Shapes", "songId": first}),
        ("updatePlaylist", {"playlistId": playlist_id, "comment": "checked"}),
        ("deletePlaylist", {"id": playlist_id}),
        ("getSong", {"id": "tr-999999"}), ("getAlbumList2", {}),  # failures have a shape too
    ]


def test_every_json_answer_has_the_opensubsonic_shapes(alice, library, seeded_moods, user):
    link_song(classified_song({"ambient": 1.0}, title="Calm one", user=user))
    first = song_id(library.first)
    alice.call("star", {"id": [first, f"al-{library.guest.library_album_id}", f"ar-{library.bobs.library_artist_id}"]})
    alice.call("setRating", {"id": first, "rating": 4})
    alice.call("scrobble", {"id": first})
    alice.call("scrobble", {"id": song_id(library.guest), "submission": "false"})
    playlist_id = alice.call("createPlaylist", {"name": "Checked", "songId": [first]})["playlist"]["id"]
    plan = calls(library, playlist_id)
    assert {method for method, _ in plan} == set(ENDPOINTS) - MEDIA  # every JSON endpoint is checked
    kinds: set[str] = set()
    for method, params in plan:
        errors, seen = shape_errors(alice.json(method, params))
        assert not errors, (method, params, errors)
        kinds |= seen
    assert kinds == {"song", "entry", "child", "album", "artist", "playlist", "genre"}


def test_the_shapes_catch_what_clients_would_choke_on():
    base = {"status": "ok", "version": "1.16.1", "type": "SKYBEAT", "openSubsonic": True}
    errors, _ = shape_errors({**base, "song": {"id": 3, "isDir": False, "title": "x"}})
    assert errors  # a numeric id
    errors, _ = shape_errors({**base, "artists": {"index": [{"name": "A", "artist": [
        {"id": "ar-1", "name": "A", "nickname": "a"}]}]}})
    assert errors  # an artist field no client expects
    errors, _ = shape_errors({**base, "album": {"id": "al-1", "name": "x", "songCount": 1, "duration": 1,
                                                "created": "yesterday"}})
    assert errors  # a date that is not ISO 8601
