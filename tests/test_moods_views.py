"""The mood dashboard, the radio, the API, the chip and the admin: each user sees only their own moods."""

import json
import logging
import time
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from catalog.models import Genre, Song
from moods import receivers, services, tasks
from moods.models import MoodSnapshot
from moods.profile import MOOD_POINTS, songs_near_mood

from .catalog_factories import audio_blob
from .moods_factories import classified_song, history, listen, seeded_moods  # noqa: F401  (seeded_moods is a fixture)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("seeded_moods")]


@pytest.fixture
def alice_history(user):
    now = timezone.now()
    calm = classified_song({"ambient": 0.8, "classical": 0.2}, title="Slow Tide")
    loud = classified_song({"metal": 1.0}, title="Iron Storm")
    history(user, loud, now - timedelta(days=3), plays=5, seconds=200)
    history(user, calm, now, plays=20, seconds=240)
    return calm, loud


def test_dashboard_for_a_user_with_history(client, user, alice_history):
    client.force_login(user)
    response = client.get(reverse("moods:dashboard"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Lately you're mostly calm" in html
    assert 'id="mood-data"' in html
    data = response.context["data"]
    assert [g["name"] for g in data["genres"]][:3] == ["Ambient", "Classical", "Metal"]
    assert data["point"]["arousal"] < 0 < data["point"]["valence"]
    assert len(data["trail"]) >= 1 and len(data["weeks"]) == len(data["trail"])
    assert [s["title"] for s in data["top_songs"]] == ["Slow Tide", "Iron Storm"]
    assert sum(m["share"] for m in data["moods"]) == pytest.approx(1.0)
    assert "js/skycharts.js" in html and "No moods yet" not in html


def test_dashboard_empty_state_says_what_to_do(client, other_user, alice_history):
    client.force_login(other_user)
    html = client.get(reverse("moods:dashboard")).content.decode()
    assert "Listen to a few songs — your moods appear after" in html
    assert reverse("catalog:genre-list") in html
    for leaked in ("Slow Tide", "Iron Storm", "mood-data", "Lately"):
        assert leaked not in html


def test_dashboard_never_shows_another_users_data(client, user, other_user, alice_history):
    history(other_user, classified_song({"pop": 1.0}, title="Sunny Hook"), timezone.now(), plays=30)
    client.force_login(other_user)
    html = client.get(reverse("moods:dashboard")).content.decode()
    assert "Sunny Hook" in html and "mostly happy" in html
    assert "Slow Tide" not in html and "Iron Storm" not in html and "Ambient" not in html


def test_dashboard_needs_login(client):
    response = client.get(reverse("moods:dashboard"))
    assert response.status_code == 302 and reverse("login") in response["Location"]


def test_api_current_profile(client, user, alice_history):
    client.force_login(user)
    body = client.get("/api/me/mood/").json()
    assert body["dominant"] == "calm" and body["plays"] == 25 and body["seconds"] == 20 * 240 + 5 * 200
    assert body["sentence"].startswith("Lately you're mostly calm")
    assert 0.8 < body["confidence"] < 1
    assert body["distribution"][0]["genre"] == "ambient"
    assert sum(row["share"] for row in body["distribution"]) == pytest.approx(1)
    assert set(body["moods"]) == set(MOOD_POINTS)


def test_api_current_profile_of_a_new_user_is_empty(client, other_user):
    client.force_login(other_user)
    body = client.get("/api/me/mood/").json()
    assert (body["dominant"], body["plays"], body["confidence"], body["distribution"]) == ("", 0, 0.0, [])


def test_api_snapshots_in_a_range(client, user, other_user):
    song = classified_song({"jazz": 1.0})
    today = timezone.now()
    for days_ago in (10, 5, 1):
        then = today - timedelta(days=days_ago)
        services.apply_listen(listen(user, song, then).pk, now=then)
    services.apply_listen(listen(other_user, song, today).pk, now=today)
    client.force_login(user)
    first, last = (today - timedelta(days=6)).date(), today.date()
    body = client.get(f"/api/me/mood/?from={first}&to={last}").json()
    assert (body["from"], body["to"]) == (str(first), str(last))
    assert [s["plays"] for s in body["snapshots"]] == [2, 3]
    assert body["snapshots"][0]["date"] == str((today - timedelta(days=5)).date())
    jazz = Genre.objects.get(slug="jazz")
    assert body["snapshots"][1]["distribution"] == [
        {"genre": "jazz", "name": jazz.name, "colour": jazz.colour, "share": 1.0}
    ]
    assert len(client.get(f"/api/me/mood/?to={last}").json()["snapshots"]) == 3


@pytest.mark.parametrize("query, message", [
    ("from=yesterday", "is not a date"), ("from=2026-02-01&to=2026-01-01", "must not be after"),
    ("from=2020-01-01&to=2026-01-01", "at most 366 days"),
])
def test_api_rejects_bad_ranges_clearly(client, user, query, message):
    client.force_login(user)
    response = client.get(f"/api/me/mood/?{query}")
    assert response.status_code == 400 and message in json.dumps(response.json())


def test_api_needs_authentication(client):
    assert client.get("/api/me/mood/").status_code in (401, 403)


def test_songs_near_mood_orders_by_distance():
    far = classified_song({"metal": 1.0}, title="far")
    near = classified_song({"ambient": 1.0}, title="near")
    middle = classified_song({"jazz": 1.0}, title="middle")
    Song.objects.create(title="no mood", audio=audio_blob())
    assert [s.title for s in songs_near_mood(Song.objects.all(), "calm")] == ["near", "middle", "far"]
    assert [s.title for s in songs_near_mood(Song.objects.all(), "-0.4,0.85")][0] == "far"
    distances = [s.mood_distance for s in songs_near_mood(Song.objects.all(), "0,0")]
    assert distances == sorted(distances)
    with pytest.raises(ValueError):
        songs_near_mood(Song.objects.all(), "sleepy")


def test_chip_renders_without_extra_queries(django_assert_num_queries):
    classified_song({"pop": 1.0}, title="with mood")
    Song.objects.create(title="no mood", audio=audio_blob())
    songs = list(Song.objects.select_related("mood").order_by("title"))
    with django_assert_num_queries(0):
        chips = [render_to_string("moods/_chip.html", {"song": song}) for song in songs]
    assert "—" in chips[0] and "Happy" not in chips[0]
    assert "Happy" in chips[1] and 'data-mood="happy"' in chips[1]


def test_the_catalog_pages_show_the_chip_moods_registered(client, user):
    """moods adds its chip to the song page and a Mood column to song tables through catalog.extensions."""
    song = classified_song({"pop": 1.0}, title="with mood")
    client.force_login(user)
    detail = client.get(song.get_absolute_url()).content.decode()
    assert 'data-mood="happy"' in detail.split('class="song-badges"')[1].split("</header>")[0]
    library = client.get(reverse("catalog:song-list")).content.decode()
    assert "<th>Mood</th>" in library and 'data-mood="happy"' in library
    unknown_mood = client.get(reverse("catalog:song-list"), {"mood": "grumpy"})
    assert 'class="filter-mood"' in unknown_mood.content.decode()


def test_radio_queues_the_nearest_visible_songs(client, user, other_user):
    classified_song({"ambient": 1.0}, title="Calm Shared")
    classified_song({"metal": 1.0}, title="Loud Shared")
    classified_song({"ambient": 1.0}, title="Bob Private", user=other_user, visibility=Song.Visibility.PRIVATE)
    client.force_login(user)
    response = client.get(reverse("moods:radio"), {"mood": "calm"})
    assert response.status_code == 200
    queue = response.context["data"]["queue"]
    assert [song["title"] for song in queue] == ["Calm Shared", "Loud Shared"]
    assert queue[0]["stream"] == reverse("catalog:song-stream", args=[Song.objects.get(title="Calm Shared").pk])
    assert b"<audio" in response.content
    picked = client.get(reverse("moods:radio"), {"mood": "-0.4,0.8"}).context["data"]["queue"]
    assert picked[0]["title"] == "Loud Shared"


def test_radio_explains_a_bad_mood(client, user):
    client.force_login(user)
    response = client.get(reverse("moods:radio"), {"mood": "9,9"})
    assert response.status_code == 400
    assert b"between -1 and 1" in response.content


def test_staff_see_only_aggregates_superusers_see_rows(client, user, staff_user, alice_history):
    client.force_login(staff_user)
    url = reverse("admin:moods_moodsnapshot_changelist")
    html = client.get(url).content.decode()
    assert "mood-aggregates" in html and "alice" not in html
    snapshot = MoodSnapshot.objects.filter(user=user).first()
    assert client.get(reverse("admin:moods_moodsnapshot_change", args=[snapshot.pk])).status_code in (302, 403)
    admin = get_user_model().objects.create_superuser("root", password="r-Long-pass-phrase-4")
    client.force_login(admin)
    assert "alice" in client.get(url).content.decode()


def test_admin_warns_about_genres_needing_review(client):
    Genre.objects.create(slug="vaporwave", name="Vaporwave")
    admin = get_user_model().objects.create_superuser("root", password="r-Long-pass-phrase-4")
    client.force_login(admin)
    url = reverse("admin:moods_genremood_changelist")
    html = client.get(url).content.decode()
    assert "need review: Vaporwave" in html and "needs_review__exact" in html
    mood = Genre.objects.get(slug="vaporwave").mood
    form = {"genre": mood.genre_id, "source": "Set by the admin", "valence": "0.3", "arousal": "-0.2",
            **{m: "0.5" for m in ("energetic", "happy", "calm", "melancholic", "intense", "reflective")}}
    response = client.post(reverse("admin:moods_genremood_change", args=[mood.pk]), form)
    assert response.status_code == 302
    mood.refresh_from_db()
    assert (mood.needs_review, mood.valence) == (False, 0.3)
    assert "need review" not in client.get(url).content.decode()


def test_enqueue_with_the_broker_down_logs_and_does_not_raise(caplog, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"  # nothing listens there

    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="moods.receivers"):
        receivers.enqueue(tasks.update_profile_for_listen, 42)
    assert time.monotonic() - started < 3, "a dead broker must not stall the request"
    assert "broker unavailable" in caplog.text
