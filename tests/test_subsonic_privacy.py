"""Privacy matrix: another member's token never lists, finds, streams, scrobbles, stars, rates or playlists a private
song, its album or its artist; a private song in a shared album or a public playlist stays invisible to others."""

import json

import pytest

from catalog.models import ListeningEvent, Rating, Star
from catalog.playlists import create_playlist
from tests.catalog_factories import fast_passwords, media_root  # noqa: F401
from tests.subsonic_helpers import alice, bob, library, png_bytes, song_id, tagged_file, upload  # noqa: F401

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_passwords", "media_root")]

LISTINGS = [
    ("getArtists", {}), ("getIndexes", {}), ("getAlbumList2", {"type": "newest", "size": 500}),
    ("getAlbumList2", {"type": "byGenre", "genre": "Jazz"}), ("getAlbumList2", {"type": "byYear", "fromYear": 1900,
                                                                                "toYear": 2100}),
    ("getRandomSongs", {"size": 500}), ("getSongsByGenre", {"genre": "Jazz", "count": 500}),
    ("search3", {"query": ""}), ("search3", {"query": "Diary"}), ("search3", {"query": "Alice"}),
    ("search3", {"query": "Secrets"}), ("getStarred2", {}), ("getPlaylists", {}), ("getNowPlaying", {}),
]


def private_ids(library) -> set[str]:
    private = library.private
    return {song_id(private), f"al-{private.library_album_id}", f"ar-{private.library_artist_id}"}


def every_id(payload) -> set[str]:
    found = set()

    def walk(value):
        if isinstance(value, dict):
            if isinstance(value.get("id"), str):
                found.add(value["id"])
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(payload)
    return found


@pytest.mark.parametrize("method, params", LISTINGS)
def test_listings_never_show_anothers_private_song(alice, bob, library, method, params):
    alice.call("star", {"id": song_id(library.private)})
    alice.call("scrobble", {"id": song_id(library.private), "submission": "false"})
    payload = bob.call(method, params)
    assert not every_id(payload) & private_ids(library)
    assert "Diary" not in json.dumps(payload) and "Secrets" not in json.dumps(payload)
    if method != "getPlaylists":  # the owner does see it there
        assert every_id(alice.call(method, params)) & private_ids(library)


@pytest.mark.parametrize("method, key", [
    ("getSong", "song"), ("getAlbum", "album"), ("getArtist", "artist"), ("getMusicDirectory", "album"),
    ("getMusicDirectory", "artist"), ("stream", "song"), ("download", "song"), ("getCoverArt", "song"),
    ("getCoverArt", "album"), ("getCoverArt", "artist"), ("scrobble", "song"), ("star", "song"), ("star", "album"),
    ("setRating", "song"),
])
def test_anothers_private_song_its_album_and_artist_are_not_found(alice, bob, library, user, other_user, method, key):
    private = library.private
    target = {"song": song_id(private), "album": f"al-{private.library_album_id}",
              "artist": f"ar-{private.library_artist_id}"}[key]
    params = {"id": target, **({"rating": 5} if method == "setRating" else {})}
    assert bob.error(method, params) == 70
    assert alice.raw(method, params).status_code == 200
    assert not ListeningEvent.objects.filter(user=other_user).exists()
    assert not Star.objects.filter(user=other_user).exists() and not Rating.objects.filter(user=other_user).exists()


def test_a_private_song_in_a_shared_album_is_invisible_to_others(alice, bob, library, user, tmp_path):
    hidden = upload(user, tagged_file(tmp_path, "hidden.mp3", title="Hidden Track", artist="The Band",
                                      album="First Album", year="1980", track="3", cover=png_bytes((0, 0, 255))),
                    visibility="private")
    album = f"al-{hidden.library_album_id}"
    seen_by_bob = bob.call("getAlbum", {"id": album})["album"]
    assert [song["title"] for song in seen_by_bob["song"]] == ["Opening", "Closing"]
    assert seen_by_bob["songCount"] == 2 and seen_by_bob["year"] == 2001
    assert alice.call("getAlbum", {"id": album})["album"]["songCount"] == 3
    assert bob.error("createPlaylist", {"name": "Grab", "songId": song_id(hidden)}) == 70


def test_a_public_playlist_never_carries_its_owners_private_songs_to_others(alice, bob, library, user):
    playlist = create_playlist(user, "Mixed", [library.private, library.first], public=True)
    seen = bob.call("getPlaylist", {"id": f"pl-{playlist.pk}"})["playlist"]
    assert [entry["title"] for entry in seen["entry"]] == ["Opening"] and seen["songCount"] == 1
    listed = {entry["id"]: entry for entry in bob.call("getPlaylists")["playlists"]["playlist"]}
    assert listed[f"pl-{playlist.pk}"]["songCount"] == 1
    assert alice.call("getPlaylist", {"id": f"pl-{playlist.pk}"})["playlist"]["songCount"] == 2
