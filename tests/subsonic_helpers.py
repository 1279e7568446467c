"""Helpers of the Subsonic API tests: a small library uploaded through the real ingest (real tags, real files), app
passwords, and a caller that signs requests the way Subsonic apps do."""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree import ElementTree

import pytest
from django.test import Client
from mutagen.id3 import APIC, ID3, TPE2, TPOS, TRCK

from catalog.ingest import ingest_upload
from catalog.models import Genre, Song
from subsonic.credentials import regenerate
from tests.catalog_factories import upload_of, write_song, write_tags

XML_NS = "{http://subsonic.org/restapi}"


def png_bytes(colour: tuple[int, int, int] = (200, 30, 30), size: int = 300) -> bytes:
    from io import BytesIO

    from PIL import Image

    output = BytesIO()
    Image.new("RGB", (size, size), colour).save(output, "PNG")
    return output.getvalue()


def tagged_file(folder: Path, name: str, *, title: str, artist: str, album: str, year: str = "",
                album_artist: str = "", track: str = "", disc: str = "", cover: bytes | None = None,
                seconds: float = 2.0) -> Path:
    """A real encoded file (format from ``name``) with title/artist/album/year tags, and in MP3s and WAVs the album
    artist, track, disc and an embedded front cover when given."""
    path = write_song(folder / name, seconds=seconds)
    write_tags(path, title, artist, album, year)
    if path.suffix == ".mp3":
        tags = ID3(path)
        for frame in (album_artist and TPE2(encoding=3, text=album_artist), track and TRCK(encoding=3, text=track),
                      disc and TPOS(encoding=3, text=disc)):
            if frame:
                tags.add(frame)
        if cover:
            tags.add(APIC(encoding=3, mime="image/png", type=3, desc="Cover", data=cover))
        tags.save(path)
    return path


def upload(user, path: Path, visibility: str = Song.Visibility.SHARED) -> Song:
    """Store the file as the upload page does, without queueing it for the classifier (tests set genres)."""
    outcome = ingest_upload(upload_of(path), user, visibility)
    assert outcome.ok, outcome.error
    return outcome.song


def classify(song: Song, genre_slug: str, probability: float = 0.9) -> Song:
    """What the classifier writes on a song (its top genre), without running it."""
    genre = Genre.objects.get_or_create(slug=genre_slug, defaults={"name": genre_slug.title()})[0]
    Song.objects.filter(pk=song.pk).update(top_genre=genre, top_probability=probability, status=Song.Status.CLASSIFIED)
    song.refresh_from_db()
    return song


@dataclass
class Library:
    """alice's and bob's uploads: a shared album of two tracks with a cover, a compilation track, a private song."""

    first: Song  # "Opening" by The Band, track 1 of "First Album" (2001), embedded cover
    second: Song  # "Closing" by the band, track 2 of the same album (artist spelt in another case)
    guest: Song  # "Guest Spot" by Guest Singer on "Friends" by Various Artists
    private: Song  # alice's private "Diary"
    bobs: Song  # bob's shared "Bob Tune"
    songs: list[Song] = field(default_factory=list)


def build_library(user, other_user, folder: Path) -> Library:
    cover = png_bytes()
    first = upload(user, tagged_file(folder, "opening.mp3", title="Opening", artist="The Band", album="First Album",
                                     year="2001", track="1/2", cover=cover, seconds=3.0))
    second = upload(user, tagged_file(folder, "closing.mp3", title="Closing", artist="the  band", album="first album",
                                      year="2001", track="2/2", seconds=2.0))
    guest = upload(user, tagged_file(folder, "guest.mp3", title="Guest Spot", artist="Guest Singer", album="Friends",
                                     year="1999", album_artist="Various Artists", track="5", disc="2"))
    private = upload(user, tagged_file(folder, "diary.flac", title="Diary", artist="Alice Alone", album="Secrets",
                                       year="2020"), Song.Visibility.PRIVATE)
    bobs = upload(other_user, tagged_file(folder, "bob.flac", title="Bob Tune", artist="Bob", album="Bob's Album",
                                          year="2010"))
    classify(first, "rock")
    classify(second, "rock", 0.7)
    classify(guest, "jazz")
    classify(private, "jazz")
    return Library(first, second, guest, private, bobs, [first, second, guest, private, bobs])


def sign_in(user) -> str:
    return regenerate(user)


class Subsonic:
    """Calls /rest/ as a Subsonic app does: token auth (a fresh salt per call), JSON unless told otherwise."""

    def __init__(self, client: Client, username: str, password: str):
        self.client, self.username, self.password = client, username, password

    def credentials(self) -> dict:
        salt = secrets.token_hex(6)
        token = hashlib.md5((self.password + salt).encode()).hexdigest()
        return {"u": self.username, "t": token, "s": salt, "v": "1.16.1", "c": "skybeat-tests"}

    def raw(self, method: str, params: dict | None = None, *, post: bool = False, headers: dict | None = None):
        data = {**self.credentials(), "f": "json", **(params or {})}
        send = self.client.post if post else self.client.get
        return send(f"/rest/{method}", data, headers=headers or {})

    def call(self, method: str, params: dict | None = None, **options) -> dict:
        """The ``subsonic-response`` body, asserting it is a successful one."""
        body = self.json(method, params, **options)
        assert body["status"] == "ok", body
        return body

    def json(self, method: str, params: dict | None = None, **options) -> dict:
        response = self.raw(method, params, **options)
        assert response.status_code == 200 and response["Content-Type"].startswith("application/json")
        return json.loads(response.content)["subsonic-response"]

    def error(self, method: str, params: dict | None = None, **options) -> int:
        """The error code of a failed call."""
        body = self.json(method, params, **options)
        assert body["status"] == "failed", body
        return body["error"]["code"]

    def xml(self, method: str, params: dict | None = None) -> ElementTree.Element:
        response = self.client.get(f"/rest/{method}", {**self.credentials(), **(params or {})})
        assert response["Content-Type"].startswith("text/xml")
        return ElementTree.fromstring(response.content)


@pytest.fixture
def library(db, user, other_user, media_root, tmp_path) -> Library:
    folder = tmp_path / "audio"
    folder.mkdir()
    return build_library(user, other_user, folder)


@pytest.fixture
def alice(client, user) -> Subsonic:
    return Subsonic(client, user.get_username(), sign_in(user))


@pytest.fixture
def bob(other_user) -> Subsonic:
    return Subsonic(Client(), other_user.get_username(), sign_in(other_user))


def ids(entries: list[dict]) -> list[str]:
    return [entry["id"] for entry in entries]


def song_id(song: Song) -> str:
    return f"tr-{song.pk}"
