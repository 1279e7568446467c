"""Browsing, lists, genres and search through /rest/, on a library uploaded through the real ingest."""

from datetime import timedelta

import pytest
from django.utils import timezone

from catalog import library as catalog_library
from catalog.models import ListeningEvent
from tests.catalog_factories import fast_passwords, media_root  # noqa: F401
from tests.subsonic_helpers import XML_NS, alice, bob, ids, library, song_id  # noqa: F401

pytestmark = [pytest.mark.unit, pytest.mark.django_db, pytest.mark.usefixtures("fast_passwords", "media_root")]


def album_id(song) -> str:
    return f"al-{song.library_album_id}"


def test_music_folders_and_scan_status(alice, library):
    assert alice.call("getMusicFolders")["musicFolders"]["musicFolder"] == [{"id": 1, "name": "SKYBEAT library"}]
    status = alice.call("getScanStatus")["scanStatus"]
    assert status == {"scanning": False, "count": 5} == alice.call("startScan")["scanStatus"]
    assert alice.error("getArtists", {"musicFolderId": "2"}) == 70


def test_artists_are_indexed_by_letter_without_articles(alice, library):
    index = alice.call("getArtists")["artists"]["index"]
    names = {entry["name"]: [artist["name"] for artist in entry["artist"]] for entry in index}
    assert names == {"A": ["Alice Alone"], "B": ["The Band", "Bob"], "V": ["Various Artists"]}
    band = index[1]["artist"][0]
    assert band["albumCount"] == 1 and band["sortName"] == "Band" and band["coverArt"] == band["id"]


def test_an_artist_lists_their_albums_and_an_album_its_songs_in_track_order(alice, library):
    artist = alice.call("getArtist", {"id": f"ar-{library.first.library_artist_id}"})["artist"]
    assert artist["name"] == "The Band" and [album["name"] for album in artist["album"]] == ["First Album"]
    album = alice.call("getAlbum", {"id": album_id(library.first)})["album"]
    assert [song["title"] for song in album["song"]] == ["Opening", "Closing"]
    assert album["songCount"] == 2 and album["duration"] == 5 and album["year"] == 2001 and album["genre"] == "Rock"
    first = album["song"][0]
    assert first["track"] == 1 and first["albumId"] == album["id"] and first["artist"] == "The Band"
    assert first["contentType"] == "audio/mpeg" and first["suffix"] == "mp3" and first["size"] > 0
    assert first["genres"] == [{"name": "Rock"}] and first["path"] == "The Band/First Album/01 - Opening.mp3"


def test_compilations_credit_the_track_artist_and_the_album_artist(alice, library):
    song = alice.call("getSong", {"id": song_id(library.guest)})["song"]
    assert song["artist"] == "Guest Singer" and song["displayAlbumArtist"] == "Various Artists"
    assert song["discNumber"] == 2 and song["track"] == 5 and song["year"] == 1999


def test_folder_browsing(alice, library):
    artist_id = f"ar-{library.first.library_artist_id}"
    indexes = alice.call("getIndexes")["indexes"]
    assert any(artist["id"] == artist_id for entry in indexes["index"] for artist in entry["artist"])
    unchanged = alice.call("getIndexes", {"ifModifiedSince": indexes["lastModified"]})["indexes"]
    assert "index" not in unchanged and unchanged["lastModified"] == indexes["lastModified"]
    artist_folder = alice.call("getMusicDirectory", {"id": artist_id})["directory"]
    assert [(child["title"], child["isDir"]) for child in artist_folder["child"]] == [("First Album", True)]
    album_folder = alice.call("getMusicDirectory", {"id": artist_folder["child"][0]["id"]})["directory"]
    assert [child["title"] for child in album_folder["child"]] == ["Opening", "Closing"]
    assert alice.error("getMusicDirectory", {"id": "pl-1"}) == 70


def test_genres_are_skybeats_with_counts(alice, bob, library):
    genres = {genre["value"]: genre for genre in alice.call("getGenres")["genres"]["genre"]}
    assert genres["Rock"] == {"value": "Rock", "songCount": 2, "albumCount": 1}
    assert genres["Jazz"] == {"value": "Jazz", "songCount": 2, "albumCount": 2}  # with alice's private song
    bobs_view = {genre["value"]: genre for genre in bob.call("getGenres")["genres"]["genre"]}
    assert bobs_view["Jazz"] == {"value": "Jazz", "songCount": 1, "albumCount": 1}
    root = alice.xml("getGenres")
    assert "Rock" in [genre.text for genre in root.iter(f"{XML_NS}genre")]


def test_search3_matches_every_word_and_an_empty_query_lists_everything(alice, library):
    found = alice.call("search3", {"query": "band open"})["searchResult3"]
    assert [song["title"] for song in found["song"]] == ["Opening"]
    assert found["artist"] == [] and found["album"] == []
    found = alice.call("search3", {"query": "first"})["searchResult3"]
    assert [album["name"] for album in found["album"]] == ["First Album"]
    everything = alice.call("search3", {"query": '""', "songCount": 2, "songOffset": 1})["searchResult3"]
    assert len(everything["song"]) == 2 and len(everything["artist"]) == 4 and len(everything["album"]) == 4
    all_songs = alice.call("search3", {"query": "", "songCount": 100})["searchResult3"]["song"]
    assert len(all_songs) == 5


@pytest.mark.parametrize("list_type", ["random", "newest", "alphabeticalByName", "alphabeticalByArtist"])
def test_album_lists_of_the_whole_library(alice, library, list_type):
    albums = alice.call("getAlbumList2", {"type": list_type, "size": 50})["albumList2"]["album"]
    assert sorted(album["name"] for album in albums) == ["Bob's Album", "First Album", "Friends", "Secrets"]
    if list_type == "alphabeticalByName":
        assert [album["name"] for album in albums] == ["Bob's Album", "First Album", "Friends", "Secrets"]
    if list_type == "alphabeticalByArtist":
        assert [album["artist"] for album in albums] == ["Alice Alone", "Bob", "The Band", "Various Artists"]
    page = alice.call("getAlbumList2", {"type": list_type, "size": 2, "offset": 3})["albumList2"]["album"]
    assert len(page) == 1


def test_album_lists_by_year_and_genre(alice, library):
    def names(**params):
        return [album["name"] for album in alice.call("getAlbumList2", params)["albumList2"]["album"]]

    assert names(type="byYear", fromYear=1999, toYear=2010) == ["Friends", "First Album", "Bob's Album"]
    assert names(type="byYear", fromYear=2010, toYear=1999) == ["Bob's Album", "First Album", "Friends"]
    assert names(type="byGenre", genre="Jazz") == ["Friends", "Secrets"]
    assert names(type="byGenre", genre="Polka") == []
    assert alice.error("getAlbumList2", {"type": "byYear", "fromYear": 2000}) == 10
    assert alice.error("getAlbumList2", {"type": "byGenre"}) == 10


def test_album_lists_of_the_members_own_listening_stars_and_ratings(alice, library, user):
    now = timezone.now()
    for minutes, song in ((30, library.first), (20, library.first), (10, library.bobs)):
        ListeningEvent.objects.create(user=user, song=song, started_at=now - timedelta(minutes=minutes),
                                      seconds_listened=60, counted=True)
    catalog_library.star(user, library.guest.library_album)
    catalog_library.set_rating(user, library.bobs.library_album, 5)
    catalog_library.set_rating(user, library.first.library_album, 3)

    def names(list_type):
        return [album["name"] for album in alice.call("getAlbumList2", {"type": list_type})["albumList2"]["album"]]

    assert names("frequent") == ["First Album", "Bob's Album"]
    assert names("recent") == ["Bob's Album", "First Album"]
    assert names("starred") == ["Friends"]
    assert names("highest") == ["Bob's Album", "First Album"]
    album = alice.call("getAlbum", {"id": album_id(library.first)})["album"]
    assert album["playCount"] == 2 and album["userRating"] == 3 and "played" in album


def test_random_songs_and_songs_by_genre(alice, library):
    songs = alice.call("getRandomSongs", {"size": 50})["randomSongs"]["song"]
    assert len(songs) == 5
    jazz = alice.call("getRandomSongs", {"genre": "Jazz", "fromYear": 2000})["randomSongs"]["song"]
    assert [song["title"] for song in jazz] == ["Diary"]
    assert alice.call("getRandomSongs", {"genre": "Nope"})["randomSongs"]["song"] == []
    rock = alice.call("getSongsByGenre", {"genre": "Rock"})["songsByGenre"]["song"]
    assert [song["title"] for song in rock] == ["Opening", "Closing"]  # most confident first
    assert len(alice.call("getSongsByGenre", {"genre": "rock", "count": 1, "offset": 1})["songsByGenre"]["song"]) == 1
    assert alice.error("getSongsByGenre") == 10


def test_get_user(alice, user, staff_user, library):
    me = alice.call("getUser", {"username": user.get_username()})["user"]
    assert me["username"] == user.get_username() and me["adminRole"] is False and me["streamRole"] is True
    assert me["folder"] == [1]
