"""Library pages: genres, search, the song page (status, probabilities, timeline, spectrogram, label, owner tools)."""

import re
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from catalog.ingest import ingest_uploads
from catalog.models import GenreLabel, ListeningEvent, Song
from catalog.services import start_listen
from classifier.models import ModelVersion
from tests.catalog_factories import fast_passwords, genre, listened, make_song, media_root, stored_files, upload_of, write_song  # noqa: F401

pytestmark = [pytest.mark.unit, pytest.mark.django_db, pytest.mark.usefixtures("fast_passwords", "media_root")]

PNG = b"\x89PNG\r\n\x1a\n" + bytes(64)


@pytest.fixture
def version():
    return ModelVersion.objects.get_or_create(name="pages-test", defaults={"architecture": "crnn-from-scratch"})[0]


@pytest.fixture
def classified(user, version):
    rock, jazz = genre("rock", "#e74c3c"), genre("jazz", "#3498db")
    song = make_song(user, title="Blue Train", top_genre=jazz, probability=0.7, model_version=version, duration_s=6.0)
    song.predictions.create(genre=rock, probability=0.3)
    song.timeline = {"genres": ["jazz", "rock"], "frames": [[0.0, [0.9, 0.1]], [3.0, [0.2, 0.8]]]}
    song.spectrogram.save("spec.png", ContentFile(PNG), save=True)
    return song


def test_genre_list_shows_counts_and_colours(client, user):
    rock = genre("rock", "#e74c3c")
    genre("gone", retired=True)
    for _ in range(3):
        make_song(user, top_genre=rock)
    make_song(user, top_genre=rock, visibility=Song.Visibility.PRIVATE)
    count = re.compile(r"Rock</span>\s*<span class=\"muted\" data-song-count>(\d+) songs?<")
    page = client.get(reverse("catalog:genre-list")).content.decode()
    assert count.search(page).group(1) == "3"
    assert f"background: {rock.colour}" in page and "Gone" not in page
    client.force_login(user)
    assert count.search(client.get(reverse("catalog:genre-list")).content.decode()).group(1) == "4"


def test_genre_page_sorts_by_confidence_and_paginates(client, user):
    rock = genre("rock")
    for n in range(55):
        make_song(user, top_genre=rock, probability=n / 100, title=f"Track {n:02d}")
    make_song(user, top_genre=genre("jazz"), title="Elsewhere")
    first = client.get(reverse("catalog:genre-detail", args=["rock"]))
    titles = re.findall(r'class="song-title"[^>]*>(Track \d+)<', first.content.decode())
    assert titles[:3] == ["Track 54", "Track 53", "Track 52"] and len(titles) == 50
    assert "Elsewhere" not in first.content.decode()
    second = client.get(reverse("catalog:genre-detail", args=["rock"]), {"page": 2}).content.decode()
    assert re.findall(r'class="song-title"[^>]*>(Track \d+)<', second) == [f"Track {n:02d}" for n in range(4, -1, -1)]
    assert 'data-play data-song="' in second
    assert client.get(reverse("catalog:genre-detail", args=["nope"])).status_code == 404


def test_library_search_filters_and_sort(client, user, other_user):
    rock = genre("rock")
    make_song(user, title="Alpha Song", artist="Zed", top_genre=rock, probability=0.9)
    make_song(other_user, title="Beta", album="Alpha Album", artist="Yan")
    make_song(user, title="Gamma", artist="Xi", status=Song.Status.FAILED)

    def titles(**params):
        page = client.get(reverse("catalog:song-list"), params).content.decode()
        return re.findall(r'class="song-title"[^>]*>([^<]+)<', page)

    assert titles(q="alpha", sort="title") == ["Alpha Song", "Beta"]
    assert titles(genre="rock") == ["Alpha Song"]
    assert titles(uploader="bob") == ["Beta"]
    assert titles(status="failed") == ["Gamma"]
    assert titles(sort="artist") == ["Gamma", "Beta", "Alpha Song"]
    assert titles(sort="oldest") == ["Alpha Song", "Beta", "Gamma"]
    page = client.get(reverse("catalog:song-list"), {"genre": "no-such-genre"})
    assert page.status_code == 200 and "Select a valid choice" in page.content.decode()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="trigram indexes are PostgreSQL's")
@pytest.mark.parametrize("column", ["title", "artist", "album"])
def test_a_library_search_can_use_a_trigram_index_on_postgresql(column):
    """The search's SQL (``icontains``: ``UPPER(column::text) LIKE ...``) matches the indexed expression
    (migration 0009)."""
    sql, params = Song.objects.filter(**{f"{column}__icontains": "blue"}).query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # a test's few rows would be scanned anyway
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert f"song_{column}_trigram" in plan


def test_song_page_of_a_classified_song(client, user, classified):
    client.force_login(user)
    page = client.get(classified.get_absolute_url()).content.decode()
    assert f'src="{reverse("catalog:song-stream", args=[classified.pk])}"' in page
    bars = re.findall(r'<td class="col-bar"><div class="bar"><span style="width: (\d+)%; background: (#\w+)"', page)
    jazz, rock = classified.top_genre, genre("rock")
    assert bars == [("70", jazz.colour), ("30", rock.colour)]
    assert 'id="timeline-canvas"' in page and 'id="song-timeline"' in page and '"frames": [[0.0, [0.9, 0.1]]' in page
    assert reverse("catalog:song-spectrogram", args=[classified.pk]) in page
    assert page.count('class="playhead"') == 2
    assert "Nobody has confirmed" in page and "Change visibility" in page
    assert "Predicted by model “pages-test”." in page  # the classifier's panel (catalog.extensions)


@pytest.mark.parametrize(("status", "reason", "text"), [
    (Song.Status.PENDING, "", "Not classified yet: the song is queued"),
    (Song.Status.PROCESSING, "", "Not classified yet: the classifier is listening"),
    (Song.Status.FAILED, "The audio could not be decoded.", "Classification failed: The audio could not be decoded."),
])
def test_song_page_explains_the_status(client, user, status, reason, text):
    song = make_song(user, status=status, failure_reason=reason)
    page = client.get(song.get_absolute_url()).content.decode()
    assert text in page
    assert "Genre probabilities" not in page and "timeline-canvas" not in page


def test_spectrogram_is_served_to_those_who_may_see_the_song(client, user, other_user, classified):
    url = reverse("catalog:song-spectrogram", args=[classified.pk])
    response = client.get(url)
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    assert b"".join(response.streaming_content) == PNG
    classified.visibility = Song.Visibility.PRIVATE
    classified.save()
    client.force_login(other_user)
    assert client.get(url).status_code == 404


def test_owner_confirms_or_changes_the_genre(client, user, classified):
    client.force_login(user)
    response = client.post(reverse("catalog:song-label", args=[classified.pk]), {"genre": "jazz"}, follow=True)
    assert "confirmed by alice" in response.content.decode()
    label = GenreLabel.objects.get(song=classified)
    assert (label.genre.slug, label.labelled_by) == ("jazz", user)
    page = client.post(reverse("catalog:song-label", args=[classified.pk]), {"genre": "rock"}, follow=True).content.decode()
    assert "Labelled <strong>Rock</strong> by alice" in page
    assert GenreLabel.objects.get(song=classified).genre.slug == "rock"
    assert client.post(reverse("catalog:song-label", args=[classified.pk]), {"genre": "nope"}, follow=True).status_code == 200
    assert GenreLabel.objects.get(song=classified).genre.slug == "rock"


def test_owner_changes_visibility(client, user, classified):
    client.force_login(user)
    client.post(reverse("catalog:song-visibility", args=[classified.pk]), {"visibility": "private"})
    assert Song.objects.get(pk=classified.pk).visibility == Song.Visibility.PRIVATE


@pytest.mark.parametrize("who", ["owner", "staff"])
def test_delete_removes_the_song_and_its_files(client, user, staff_user, media_root, tmp_path, who,
                                               django_capture_on_commit_callbacks):
    song = ingest_uploads([upload_of(write_song(tmp_path / "bye.wav"))], user)[0].song
    song.spectrogram.save("bye.png", ContentFile(PNG), save=True)
    start_listen(user, song)
    client.force_login(user if who == "owner" else staff_user)
    assert client.get(reverse("catalog:song-delete", args=[song.pk])).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("catalog:song-delete", args=[song.pk]))
    assert response.status_code == 302
    assert not Song.objects.exists() and not ListeningEvent.objects.exists()
    assert stored_files(media_root) == []


def test_upload_page_has_a_dropzone_and_a_plain_fallback(client, user):
    client.force_login(user)
    page = client.get(reverse("catalog:upload")).content.decode()
    assert 'id="dropzone"' in page and 'data-max-bytes="' in page
    assert re.search(r'<input id="file-input"[^>]*type="file" name="file" multiple', page)
    assert 'enctype="multipart/form-data"' in page and "js/upload.js" in page


def test_history_groups_plays_by_day_and_leaves_out_short_listens(client, user):
    song = make_song(user, title="Daily Song")
    # anchored at yesterday's noon: counted back from now, listens minutes apart straddle midnight past 00:00
    noon = timezone.localtime().replace(hour=12, minute=0, second=0, microsecond=0) - timedelta(days=1)
    for n, (days_ago, seconds) in enumerate(((0, 40), (0, 50), (1, 35), (1, 5))):
        listened(user, song, seconds, started_at=noon - timedelta(days=days_ago, minutes=10 * (n + 1)))
    client.force_login(user)
    page = client.get(reverse("catalog:history")).content.decode()
    assert page.count('class="history-day"') == 2
    assert len(re.findall(r'class="song-title"[^>]*>Daily Song<', page)) == 3
