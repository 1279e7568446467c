"""Hostile query strings and Range headers never get a 5xx, anonymously or logged in.

Every view in the URLconf (the admin site aside) is first requested once to learn which query parameters it reads
(a recording ``QueryDict``); then each parameter it reads gets every value of a table of hostile values (empty,
unknown values, huge numbers, bad dates, NUL, markup), and the whole table is sent under names it does not read.
The stream's ``Range`` header gets its own table, and ``parse_range`` a property test on any text.
"""

from __future__ import annotations

import re
import traceback

import django.core.handlers.wsgi
import pytest
from django.contrib.admindocs.views import extract_views_from_urlpatterns, simplify_regex
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import QueryDict
from django.test import Client
from django.urls import get_resolver
from hypothesis import given, strategies as st
from rest_framework.views import APIView

from catalog.ingest import ingest_uploads
from catalog.models import Song
from catalog.services import start_listen
from catalog.streaming import UnsatisfiableRange, parse_range
from tests.audio_fixtures import write_tone
from tests.catalog_factories import fast_passwords, genre, media_root  # noqa: F401

HUGE_INT = "9" * 5000  # past Python's 4,300-digit int() limit

HOSTILE_VALUES = [
    "", "bogus", "-1", "0", "1.5", "1e309", "NaN", "inf", "a,b", "1,2,3", "0.5,NaN", "１２", "99999999999999999999",
    "-9223372036854775809", HUGE_INT, "0001-01-01", "9999-12-31", "2026-02-30", "\x00", "<script>alert(1)</script>",
    "%", "é😀\u202e", "x" * 10_000, "[]",
]

HOSTILE_RANGES = [
    f"bytes={HUGE_INT}-", f"bytes=-{HUGE_INT}", f"bytes=0-{HUGE_INT}", f"bytes={HUGE_INT}-{HUGE_INT}",
    "bytes=99999999999999999999-", "bytes=-99999999999999999999", "bytes=0-99999999999999999999",
    "bytes=-0", "bytes=0-0", "bytes=5-3", "bytes=--1", "bytes=1e3-", "bytes=\x00-1", "bytes=0-1,2-3",
    "bytes=" + "0-1," * 5000, "bytes=１-２", "bytes= - ", "bytes=", "bytes", "items=0-1", "", "\x00",
    "bytes=<script>", "bytes=0-" + "0" * 5000 + "1",
]

#: Values for the path parameters of the URLconf; a new kind of parameter fails the test until it is added.
PATH_VALUES = {"pk": "{song}", "slug": "{genre}", "uidb64": "MQ", "token": "set-password", "name": "ping"}
PATH_PARAMETER = re.compile(r"<(?:\w+:)?(\w+)>")  # <pk> or <int:pk>
#: The admin site is Django's own, and for staff only (it sends anyone else to its log-in page).
SKIPPED_PREFIXES = ("/admin/",)


class RecordingQueryDict(QueryDict):
    """A request's ``GET`` that notes every parameter name the view asks for."""

    names: set[str] = set()

    def __getitem__(self, key):
        self.names.add(key)
        return super().__getitem__(key)

    def get(self, key, default=None):
        self.names.add(key)
        return super().get(key, default)

    def getlist(self, key, default=None):
        self.names.add(key)
        return super().getlist(key, default)

    def __contains__(self, key):
        self.names.add(key)
        return super().__contains__(key)


def get_urls() -> list[str]:
    """URL templates of every view in the URLconf (``{song}``/``{genre}`` left to fill), format suffixes left out."""
    urls = set()
    for _, regex, _, _ in extract_views_from_urlpatterns(get_resolver().url_patterns):
        url = simplify_regex(regex)
        if url.startswith(SKIPPED_PREFIXES) or "<format>" in url:
            continue
        unknown = set(PATH_PARAMETER.findall(url)) - PATH_VALUES.keys()
        assert not unknown, f"{url}: add a value for {unknown} to PATH_VALUES"
        urls.add(PATH_PARAMETER.sub(lambda m: PATH_VALUES[m.group(1)], url))
    return sorted(urls)


@pytest.fixture
def world(user, tmp_path, monkeypatch):
    """Alice's shared and private songs, a listen, a genre; the API throttles off (they would answer 429)."""
    monkeypatch.setattr(APIView, "throttle_classes", [])
    songs = {}
    for visibility, freq in ((Song.Visibility.SHARED, 440.0), (Song.Visibility.PRIVATE, 550.0)):
        path = write_tone(tmp_path / f"{visibility}.wav", 1.0, freq=freq)
        songs[visibility] = ingest_uploads([SimpleUploadedFile(path.name, path.read_bytes())], user, visibility)[0].song
    start_listen(user, songs[Song.Visibility.SHARED])
    return {"song": songs[Song.Visibility.SHARED].pk, "genre": genre("jazz").slug}


@pytest.fixture(params=["anonymous", "logged in"])
def visitor(request, user) -> Client:
    client = Client()
    if request.param == "logged in":
        client.force_login(user)
    return client


def server_error(client: Client, url: str, method: str = "get", **kwargs) -> str | None:
    """None, or what went wrong: a 5xx status or the exception the view raised."""
    try:
        response = getattr(client, method)(url, **kwargs)
    except Exception:  # the test client re-raises what the view raised: a 500 in production
        return traceback.format_exc(limit=-3)
    return f"status {response.status_code}" if response.status_code >= 500 else None


def names_read(client: Client, url: str, monkeypatch) -> set[str]:
    """The query parameters the view behind ``url`` reads for this visitor."""
    RecordingQueryDict.names = set()
    monkeypatch.setattr(django.core.handlers.wsgi, "QueryDict", RecordingQueryDict)
    try:
        client.get(url)
    finally:
        monkeypatch.undo()
    return set(RecordingQueryDict.names)


def hostile_queries(url: str, names: set[str]) -> list[dict]:
    """Every hostile value for each name the view reads; all unknown names at once; a repeated parameter.

    The API refuses the first invalid parameter, so each gets its own requests there; the pages validate each
    filter on its own and leave out the invalid ones, so one request sets them all to the same value.
    """
    queries = [{f"zz-unknown-{i}": value for i, value in enumerate(HOSTILE_VALUES)}]
    if url.startswith("/api/"):
        queries += [{name: value} for name in sorted(names) for value in HOSTILE_VALUES]
    elif names:
        queries += [dict.fromkeys(names, value) for value in HOSTILE_VALUES]
    return queries + [{name: ["calm", "1e309"]} for name in sorted(names)]


@pytest.mark.django_db
@pytest.mark.usefixtures("fast_passwords", "media_root")
def test_no_query_string_gets_a_server_error(world, visitor, monkeypatch):
    urls = [template.format(**world) for template in get_urls()]
    assert "/songs/" in urls and "/api/songs/" in urls and "/api/me/mood/" in urls  # the discovery works
    failures, tried = [], 0
    for url in urls:
        for query in hostile_queries(url, names_read(visitor, url, monkeypatch)):
            tried += 1
            if error := server_error(visitor, url, data=query):
                failures.append(f"GET {url}?{str(query)[:60]}: {error}")
    assert tried > 300
    assert not failures, f"{len(failures)} of {tried} requests failed:\n" + "\n".join(failures[:20])


@pytest.mark.parametrize("url", [
    "/songs/?mood=bogus", "/songs/?mood=-1", "/songs/?mood=1e309", "/songs/?mood=NaN", "/songs/?mood=a,b",
    "/api/me/mood/?to=0001-01-01",
])
@pytest.mark.django_db
@pytest.mark.usefixtures("fast_passwords", "media_root")
def test_the_reported_query_strings_answer_normally(world, user, url):
    client = Client()
    client.force_login(user)
    response = client.get(url)
    assert response.status_code in (200, 400)
    if url.startswith("/songs/"):
        assert response.status_code == 200 and "Unknown mood" in response.content.decode()  # shown, filter dropped


@pytest.mark.django_db
@pytest.mark.usefixtures("fast_passwords", "media_root")
def test_no_range_header_gets_a_server_error(world, visitor):
    failures = [
        f"{method.upper()} {url} Range {header[:40]!r}: {error}"
        for url in (f"/songs/{world['song']}/stream", f"/api/songs/{world['song']}/stream")
        for header in HOSTILE_RANGES
        for method in ("get", "head")
        if (error := server_error(visitor, url, method, HTTP_RANGE=header))
    ]
    assert not failures, "\n".join(failures)


@pytest.mark.django_db
@pytest.mark.usefixtures("fast_passwords", "media_root")
def test_a_range_of_4301_digits_is_past_the_end(world, user):
    client = Client()
    client.force_login(user)
    size = len(Song.objects.get(pk=world["song"]).audio_file.read())
    refused = client.get(f"/api/songs/{world['song']}/stream", HTTP_RANGE=f"bytes={'9' * 4301}-")
    assert refused.status_code == 416 and refused["Content-Range"] == f"bytes */{size}"
    whole = client.get(f"/songs/{world['song']}/stream", HTTP_RANGE=f"bytes=-{'9' * 4301}")
    assert whole.status_code == 206 and whole["Content-Range"] == f"bytes 0-{size - 1}/{size}"


@given(header=st.one_of(st.text(), st.from_regex(r"\Abytes=[0-9 ,-]{0,60}\Z"), st.sampled_from(HOSTILE_RANGES)),
       size=st.integers(0, 10**12))
def test_parse_range_names_bytes_of_the_file_or_nothing(header, size):
    try:
        byte_range = parse_range(header, size)
    except UnsatisfiableRange:
        return
    if byte_range is not None:
        first, last = byte_range
        assert 0 <= first <= last < size
