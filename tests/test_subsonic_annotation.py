"""Scrobbles, now playing, stars, ratings, playlists and mood radios through /rest/."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from catalog.library import link_song
from catalog.models import ListeningEvent, Playlist
from tests.catalog_factories import fast_passwords, media_root  # noqa: F401
from tests.moods_factories import classified_song, seeded_moods  # noqa: F401
from tests.subsonic_helpers import alice, bob, ids, library, song_id  # noqa: F401

pytestmark = [pytest.mark.unit, pytest.mark.django_db, pytest.mark.usefixtures("fast_passwords", "media_root")]


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def test_a_scrobble_records_a_counted_listen_once(alice, library, user):
    played_at = (timezone.now() - timedelta(minutes=5)).replace(microsecond=0)
    for _ in range(2):  # an app retrying its queue
        alice.call("scrobble", {"id": song_id(library.first), "time": ms(played_at), "submission": "true"})
    event = ListeningEvent.objects.get(user=user)
    assert event.song == library.first and event.started_at == played_at
    assert event.counted and event.completed and event.seconds_listened == pytest.approx(library.first.audio.duration_s)
    alice.call("scrobble", {"id": [song_id(library.second), song_id(library.guest)]})  # no time: now
    assert ListeningEvent.objects.filter(user=user, counted=True).count() == 3
    assert alice.call("getSong", {"id": song_id(library.first)})["song"]["playCount"] == 1


def test_bad_scrobbles_record_nothing(alice, library, user):
    future = timezone.now() + timedelta(days=2)
    assert alice.error("scrobble", {"id": song_id(library.first), "time": ms(future)}) == 0
    assert alice.error("scrobble", {"id": song_id(library.first), "time": 2**53}) == 0
    assert alice.error("scrobble", {"id": song_id(library.first), "time": -(2**53)}) == 0
    assert alice.error("scrobble", {"id": [song_id(library.first), song_id(library.second)], "time": "1"}) == 0
    assert alice.error("scrobble", {"id": [song_id(library.first), "tr-999999"]}) == 70
    assert alice.error("scrobble") == 10
    assert alice.error("scrobble", {"id": song_id(library.first), "submission": "maybe"}) == 0
    assert not ListeningEvent.objects.filter(user=user).exists()


def test_now_playing_is_the_members_own(alice, bob, library):
    alice.call("scrobble", {"id": song_id(library.guest), "submission": "false"})
    entries = alice.call("getNowPlaying")["nowPlaying"]["entry"]
    assert [entry["title"] for entry in entries] == ["Guest Spot"]
    assert entries[0]["username"] == alice.username and entries[0]["playerName"] == "skybeat-tests"
    assert entries[0]["minutesAgo"] == 0
    assert bob.call("getNowPlaying")["nowPlaying"]["entry"] == []
    assert not ListeningEvent.objects.exists()  # now playing is not a play


def test_stars_on_songs_albums_and_artists(alice, library):
    album, artist = f"al-{library.guest.library_album_id}", f"ar-{library.bobs.library_artist_id}"
    alice.call("star", {"id": [song_id(library.first), album], "artistId": artist})
    starred = alice.call("getStarred2")["starred2"]
    assert ids(starred["song"]) == [song_id(library.first)] and ids(starred["album"]) == [album]
    assert ids(starred["artist"]) == [artist]
    assert "starred" in alice.call("getSong", {"id": song_id(library.first)})["song"]
    alice.call("unstar", {"id": song_id(library.first), "albumId": album})
    starred = alice.call("getStarred2")["starred2"]
    assert starred["song"] == [] and starred["album"] == [] and ids(starred["artist"]) == [artist]
    assert alice.error("star") == 10
    assert alice.error("star", {"id": "tr-999999"}) == 70


def test_ratings(alice, library):
    alice.call("setRating", {"id": song_id(library.first), "rating": 4})
    alice.call("setRating", {"id": f"ar-{library.first.library_artist_id}", "rating": 2})
    assert alice.call("getSong", {"id": song_id(library.first)})["song"]["userRating"] == 4
    artist = alice.call("getArtist", {"id": f"ar-{library.first.library_artist_id}"})["artist"]
    assert artist["userRating"] == 2
    alice.call("setRating", {"id": song_id(library.first), "rating": 0})
    assert "userRating" not in alice.call("getSong", {"id": song_id(library.first)})["song"]
    assert alice.error("setRating", {"id": song_id(library.first), "rating": 6}) == 0
    assert alice.error("setRating", {"id": song_id(library.first)}) == 10


def test_playlists_are_created_edited_and_deleted(alice, library):
    created = alice.call("createPlaylist", {"name": "Road trip", "songId": [song_id(library.first),
                                                                            song_id(library.guest)]})["playlist"]
    assert created["name"] == "Road trip" and created["owner"] == alice.username and created["songCount"] == 2
    assert ids(created["entry"]) == [song_id(library.first), song_id(library.guest)]
    alice.call("updatePlaylist", {"playlistId": created["id"], "name": "Road trip 2", "comment": "summer",
                                  "public": "true", "songIdToAdd": [song_id(library.bobs), song_id(library.first)],
                                  "songIndexToRemove": 0})
    playlist = alice.call("getPlaylist", {"id": created["id"]})["playlist"]
    assert (playlist["name"], playlist["comment"], playlist["public"]) == ("Road trip 2", "summer", True)
    assert ids(playlist["entry"]) == [song_id(library.guest), song_id(library.bobs), song_id(library.first)]
    assert playlist["duration"] == sum(entry["duration"] for entry in playlist["entry"])
    replaced = alice.call("createPlaylist", {"playlistId": created["id"], "songId": song_id(library.second)})
    assert ids(replaced["playlist"]["entry"]) == [song_id(library.second)]
    assert alice.error("updatePlaylist", {"playlistId": created["id"], "songIndexToRemove": 5}) == 0
    assert alice.error("updatePlaylist", {"playlistId": created["id"], "name": "  "}) == 0
    assert alice.error("createPlaylist", {"songId": song_id(library.first)}) == 10
    alice.call("deletePlaylist", {"id": created["id"]})
    assert not Playlist.objects.exists()
    assert alice.error("getPlaylist", {"id": created["id"]}) == 70


def test_only_the_owner_changes_a_playlist_and_others_see_it_only_when_public(alice, bob, library):
    made = alice.call("createPlaylist", {"name": "Mine", "songId": [song_id(library.first)]})["playlist"]
    assert bob.error("getPlaylist", {"id": made["id"]}) == 70
    alice.call("updatePlaylist", {"playlistId": made["id"], "public": "true"})
    assert bob.call("getPlaylist", {"id": made["id"]})["playlist"]["owner"] == alice.username
    assert made["id"] in ids(bob.call("getPlaylists")["playlists"]["playlist"])
    assert bob.error("updatePlaylist", {"playlistId": made["id"], "name": "Taken"}) == 50
    assert bob.error("deletePlaylist", {"id": made["id"]}) == 50
    assert bob.error("createPlaylist", {"playlistId": made["id"], "songId": song_id(library.bobs)}) == 50
    assert bob.error("getPlaylists", {"username": alice.username}) == 50


def test_mood_radios_are_read_only_generated_playlists(alice, user, seeded_moods):
    calm, lively = classified_song({"ambient": 1.0}, title="Still Water"), classified_song({"dance": 1.0}, title="Go")
    for song in (calm, lively):
        link_song(song)
    radios = {entry["name"]: entry for entry in alice.call("getPlaylists")["playlists"]["playlist"]}
    assert {"Mood radio: Calm", "Mood radio: Energetic"} <= set(radios)
    assert radios["Mood radio: Calm"]["owner"] == "SKYBEAT radio" and radios["Mood radio: Calm"]["songCount"] == 2
    entries = alice.call("getPlaylist", {"id": "mood-calm"})["playlist"]["entry"]
    assert [entry["title"] for entry in entries] == ["Still Water", "Go"]  # nearest the calm mood first
    assert entries[0]["moods"] == ["calm"]
    assert alice.error("updatePlaylist", {"playlistId": "mood-calm", "name": "Mine now"}) == 50
    assert alice.error("deletePlaylist", {"id": "mood-calm"}) == 50
    assert alice.error("getPlaylist", {"id": "mood-sleepy"}) == 70


def test_scrobble_times_are_utc_milliseconds(alice, library, user):
    moment = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    alice.call("scrobble", {"id": song_id(library.first), "time": ms(moment)})
    assert ListeningEvent.objects.get(user=user).started_at == moment
