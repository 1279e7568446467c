"""Real Subsonic clients against a live SKYBEAT: the Python client knuckles (PyPI) and the npm client subsonic-api
run with node. Scrobbles go through the real broker to a real Celery worker, which updates the mood profile."""

import hashlib
import json
import os
import shutil
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests
from django.conf import settings
from django.core.files.storage import default_storage
from knuckles import Subsonic

from catalog.models import GenrePrediction, ListeningEvent
from moods.dashboard import dashboard_data
from moods.models import MoodSnapshot
from moods.services import update_song_moods
from tests.catalog_factories import classified_by, fast_passwords, media_root  # noqa: F401
from tests.moods_factories import genre, model_version, seeded_moods  # noqa: F401
from tests.subsonic_helpers import build_library, sign_in

SUBSONIC_API_VERSION = "3.3.1"
NODE_SCRIPT = Path(__file__).parent / "js" / "subsonic_api_client.mjs"

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("fast_passwords")]


def sha256_of(song) -> str:
    with default_storage.open(song.audio_file.name, "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()


def give_genre_vector(song, probabilities: dict[str, float]) -> None:
    """What the classifier leaves on a song: its genre vector under a model, its top genre, its mood."""
    version = model_version()
    for slug, probability in probabilities.items():
        GenrePrediction.objects.create(song=song, genre=genre(slug), probability=probability)
    classified_by(song, version)
    top = max(probabilities, key=probabilities.get)
    song.top_genre, song.top_probability, song.status = genre(top), probabilities[top], "classified"
    song.save()
    update_song_moods([song.pk])


def wait_for(condition, timeout_s: float = 60.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError("timed out waiting for the worker")


@pytest.fixture
def live_library(live_server, seeded_moods, media_root, user, other_user, tmp_path):
    """The test library, in the database and MEDIA_ROOT the live server (a thread of this process) reads."""
    folder = tmp_path / "audio"
    folder.mkdir()
    library = build_library(user, other_user, folder)
    give_genre_vector(library.first, {"reggae": 1.0})
    return library


@pytest.fixture
def knuckles(live_server, user) -> Subsonic:
    return Subsonic(url=live_server.url, user=user.get_username(), password=sign_in(user), client="skybeat-tests",
                    use_https=False, use_token=True)


@pytest.mark.django_db(transaction=True)
def test_knuckles_browses_streams_searches_and_scrobbles_into_the_mood_profile(
        celery_worker_process, live_library, knuckles, user):
    library = live_library
    assert knuckles.system.ping().status == "ok"

    artists = {artist.name: artist for artist in knuckles.browsing.get_artists()}
    assert set(artists) == {"Alice Alone", "The Band", "Bob", "Various Artists"}
    band = knuckles.browsing.get_artist(artists["The Band"].id)
    assert [album.name for album in band.albums] == ["First Album"]
    album = knuckles.browsing.get_album(band.albums[0].id)
    assert [song.title for song in album.songs] == ["Opening", "Closing"] and album.year == 2001

    genres = {genre.value: genre for genre in knuckles.browsing.get_genres()}
    assert genres["Reggae"].song_count == 1 and genres["Rock"].song_count == 1 and genres["Jazz"].album_count == 2

    found = knuckles.searching.search("opening")
    assert [song.title for song in found.songs] == ["Opening"]
    song = found.songs[0]

    streamed = requests.get(knuckles.media_retrieval.stream(song.id), timeout=30)
    assert streamed.status_code == 200 and hashlib.sha256(streamed.content).hexdigest() == sha256_of(library.first)

    assert dashboard_data(user) is None  # no listening yet
    played_at = datetime.now(UTC).replace(microsecond=0)
    knuckles.media_annotation.scrobble([song.id], [played_at], submission=True)
    event = ListeningEvent.objects.get(user=user)
    assert event.song_id == library.first.pk and event.counted and event.started_at == played_at
    snapshot = wait_for(lambda: MoodSnapshot.objects.filter(user=user, plays=1).first())
    assert snapshot.dominant == "happy"  # reggae, by the seeded genre moods
    dashboard = dashboard_data(user)
    assert dashboard["top_songs"][0]["title"] == "Opening" and dashboard["sentence"]


@pytest.mark.django_db(transaction=True)
def test_knuckles_edits_playlists_and_stars(live_library, knuckles):
    library = live_library
    first, guest, bobs = (f"tr-{song.pk}" for song in (library.first, library.guest, library.bobs))
    playlist = knuckles.playlists.create_playlist("Commute", comment="mornings", song_ids=[first, guest])
    fetched = knuckles.playlists.get_playlist(playlist.id)
    assert fetched.name == "Commute" and [song.id for song in fetched.songs] == [first, guest]
    knuckles.playlists.update_playlist(playlist.id, name="Evening commute", song_ids_to_add=[bobs],
                                       song_indexes_to_remove=[0])
    fetched = knuckles.playlists.get_playlist(playlist.id)
    assert fetched.name == "Evening commute" and fetched.comment == "mornings"
    assert [song.id for song in fetched.songs] == [guest, bobs]
    names = [item.name for item in knuckles.playlists.get_playlists()]
    assert "Evening commute" in names

    knuckles.media_annotation.star_song(guest)
    knuckles.media_annotation.star_album(f"al-{library.first.library_album_id}")
    starred = knuckles.lists.get_starred()
    assert [song.id for song in starred.songs] == [guest] and [album.name for album in starred.albums] == ["First Album"]
    knuckles.playlists.delete_playlist(playlist.id)
    assert "Evening commute" not in [item.name for item in knuckles.playlists.get_playlists()]


@pytest.fixture(scope="session")
def subsonic_api_module() -> Path:
    """The npm client, installed on first use into var/npm (git-ignored), pinned."""
    if not shutil.which("node") or not shutil.which("npm"):
        pytest.skip("node and npm are needed to run the npm client")
    prefix = Path(settings.VAR_DIR) / "npm"
    package = prefix / "node_modules" / "subsonic-api"
    installed = package / "package.json"
    if not installed.exists() or json.loads(installed.read_text())["version"] != SUBSONIC_API_VERSION:
        prefix.mkdir(parents=True, exist_ok=True)
        subprocess.run(["npm", "install", "--prefix", str(prefix), "--no-audit", "--no-fund", "--loglevel", "error",
                        f"subsonic-api@{SUBSONIC_API_VERSION}"], check=True, timeout=300)
    return package / json.loads(installed.read_text())["main"]


def run_node_client(module: Path, url: str, song_id: str, **credentials: str) -> dict:
    env = {**os.environ, "SUBSONIC_API_MODULE": str(module), "SKYBEAT_URL": url, "SKYBEAT_SONG": song_id,
           **{f"SKYBEAT_{key.upper()}": value for key, value in credentials.items()}}
    done = subprocess.run(["node", str(NODE_SCRIPT)], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("mode", ["token", "api key with form POST"])
def test_the_npm_client_pings_lists_genres_and_albums_and_streams(live_library, live_server, subsonic_api_module, user,
                                                                  mode):
    app_password = sign_in(user)
    credentials = {"user": user.get_username(), "password": app_password} if mode == "token" else \
        {"api_key": app_password, "post": "1"}
    result = run_node_client(subsonic_api_module, live_server.url, f"tr-{live_library.private.pk}", **credentials)
    assert result["ping"] == "ok"
    genres = {genre["value"]: genre for genre in result["genres"]}
    assert genres["Jazz"] == {"value": "Jazz", "songCount": 2, "albumCount": 2}
    assert [album["name"] for album in result["albums"]] == ["Bob's Album", "First Album", "Friends", "Secrets"]
    assert all(album["createdIsDate"] for album in result["albums"])  # the client parsed our dates
    assert result["stream"] == {"status": 200, "contentType": "audio/flac", "sha256": sha256_of(live_library.private)}
