"""The maths of moods on hand-built listening histories."""

import math
import random
from datetime import timedelta

import pytest
from django.utils import timezone

from catalog.models import Genre, GenrePrediction
from moods import services
from moods.models import AppliedListen, GenreMood, MoodSnapshot, SongMood
from moods.profile import (
    HEDGE_BELOW, MOOD_POINTS, MOODS, MoodPoint, blend, confidence, decay, describe, mood_point, with_article,
)

from .moods_factories import (  # noqa: F401  (seeded_moods is a fixture)
    classified_song,
    genre,
    history,
    listen,
    seeded_moods,
)

pytestmark = [pytest.mark.unit, pytest.mark.django_db, pytest.mark.usefixtures("seeded_moods")]
NOW = timezone.make_aware(timezone.datetime(2026, 6, 15, 12, 0))


def profile(user):
    return services.current_profile(user, NOW)[1]


def mapping_of(slug: str) -> MoodPoint:
    gm = GenreMood.objects.get(genre__slug=slug)
    return MoodPoint.of(gm.valence, gm.arousal, gm.weights)


def test_one_genre_only_puts_the_user_on_that_genre(user):
    jazz = classified_song({"jazz": 1.0})
    history(user, jazz, NOW, plays=5)
    result = profile(user)
    jazz_mood = mapping_of("jazz")
    assert result.distribution == {genre("jazz").pk: pytest.approx(1.0)}
    assert (result.blend.valence, result.blend.arousal) == pytest.approx((jazz_mood.valence, jazz_mood.arousal))
    assert result.blend.moods == pytest.approx(jazz_mood.weights)
    assert result.dominant == max(jazz_mood.weights, key=jazz_mood.weights.get) == "reflective"
    assert SongMood.objects.get(song=jazz).dominant == "reflective"


def test_two_genres_weigh_by_seconds_listened(user):
    rock, jazz = classified_song({"rock": 1.0}), classified_song({"jazz": 1.0})
    for song, seconds in ((rock, 300.0), (jazz, 100.0)):
        services.apply_listen(listen(user, song, NOW - timedelta(minutes=5), seconds).pk, now=NOW)
    result = profile(user)
    assert result.distribution[genre("rock").pk] == pytest.approx(0.75)
    assert result.distribution[genre("jazz").pk] == pytest.approx(0.25)
    expected = blend({genre("rock").pk: 0.75, genre("jazz").pk: 0.25},
                     {genre("rock").pk: mapping_of("rock"), genre("jazz").pk: mapping_of("jazz")})
    assert result.blend.valence == pytest.approx(0.75 * mapping_of("rock").valence + 0.25 * mapping_of("jazz").valence)
    assert result.blend.moods == pytest.approx(expected.moods)


def test_a_song_vector_is_split_across_its_genres(user):
    mixed = classified_song({"pop": 0.6, "dance": 0.3, "rock": 0.1})
    history(user, mixed, NOW, plays=2)
    shares = {Genre.objects.get(pk=g).slug: s for g, s in profile(user).distribution.items()}
    assert shares == pytest.approx({"pop": 0.6, "dance": 0.3, "rock": 0.1})


def test_a_listen_one_half_life_old_weighs_half(user, settings):
    settings.SKYBEAT_MOOD_HALF_LIFE_DAYS = 30
    assert decay(NOW - timedelta(days=30), NOW, 30 * 86400) == pytest.approx(0.5)
    old, new = classified_song({"metal": 1.0}), classified_song({"classical": 1.0})
    services.apply_listen(listen(user, old, NOW - timedelta(days=30)).pk, now=NOW)
    services.apply_listen(listen(user, new, NOW).pk, now=NOW)
    result = profile(user)
    assert result.distribution[genre("classical").pk] == pytest.approx(2 / 3)
    assert result.distribution[genre("metal").pk] == pytest.approx(1 / 3)


def test_a_reclassified_song_counts_with_its_new_genre_vector(user):
    song = classified_song({"folk": 1.0})
    GenrePrediction.objects.filter(song=song).update(genre=genre("metal"))
    history(user, song, NOW, plays=1)
    assert list(profile(user).distribution) == [genre("metal").pk]


def test_confidence_is_low_for_a_few_plays_and_the_sentence_hedges(user):
    song = classified_song({"blues": 1.0})
    history(user, song, NOW, plays=3, seconds=180)
    early = profile(user)
    assert early.confidence < HEDGE_BELOW
    assert early.sentence.startswith("Early days: you seem mostly melancholic")
    history(user, classified_song({"blues": 1.0}), NOW, plays=60, seconds=200, spacing=timedelta(hours=1))
    settled = profile(user)
    assert settled.confidence > 0.9
    assert settled.sentence.startswith("Lately you're mostly melancholic, with a reflective streak")


@pytest.mark.parametrize(("second", "article"), [
    ("energetic", "an"), ("happy", "a"), ("calm", "a"), ("melancholic", "a"), ("intense", "an"), ("reflective", "a"),
])
def test_the_streak_takes_the_article_its_mood_needs(second, article):
    moods = {mood: 0.0 for mood in MOODS} | {"energetic" if second != "energetic" else "calm": 0.5, second: 0.4}
    assert f", with {article} {second} streak" in describe(moods, 0.9)
    assert f", with {article} {second} streak" in describe(moods, 0.1)
    assert with_article(second) == f"{article} {second}"


def test_confidence_grows_with_plays_and_hours_and_stays_below_one():
    values = [confidence(plays, plays * 0.06) for plays in (0, 1, 3, 10, 30, 100, 1000)]
    assert values[0] == 0 and all(a < b for a, b in zip(values, values[1:])) and values[-1] <= 1
    assert confidence(1000, 0.01) < 0.05  # many 1-second plays are not much listening


def test_a_listen_of_an_unclassified_song_is_a_play_without_genres(user):
    song = classified_song({"pop": 1.0})
    song.predictions.all().delete()
    history(user, song, NOW, plays=1)
    snapshot = MoodSnapshot.objects.get(user=user)
    assert (snapshot.plays, snapshot.distribution, profile(user).blend) == (1, {}, None)


def test_applying_a_listen_twice_counts_it_once(user):
    event = listen(user, classified_song({"pop": 1.0}), NOW)
    assert services.apply_listen(event.pk, now=NOW) is True
    assert services.apply_listen(event.pk, now=NOW) is False
    snapshot = MoodSnapshot.objects.get(user=user)
    assert (snapshot.plays, snapshot.seconds) == (1, 200.0)
    event.counted = False
    event.save()
    uncounted = listen(user, event.song, NOW)
    uncounted.counted = False
    uncounted.save()
    assert services.apply_listen(uncounted.pk, now=NOW) is False
    assert services.apply_listen(listen(user, event.song, NOW).pk, now=NOW + timedelta(days=1)) is True
    assert MoodSnapshot.objects.filter(user=user).count() == 2


def test_incremental_updates_equal_a_full_recompute(user, other_user):
    rng = random.Random(7)
    songs = [classified_song({"rock": 0.5, "jazz": 0.3, "metal": 0.2}), classified_song({"ambient": 0.9, "folk": 0.1}),
             classified_song({"pop": 1.0}), classified_song({"hip-hop": 0.7, "funk": 0.3})]
    start = NOW - timedelta(days=45)
    for day in range(46):
        today = start + timedelta(days=day)
        for person in (user, other_user):
            for _ in range(rng.randrange(0, 4)):
                at = today - timedelta(minutes=rng.randrange(0, 600))
                services.apply_listen(listen(person, rng.choice(songs), at, rng.uniform(30, 400)).pk, now=today)
    incremental = {s.user_id: s for s in MoodSnapshot.objects.filter(date=NOW.date())}
    assert set(incremental) == {user.pk, other_user.pk}
    assert MoodSnapshot.objects.filter(user=user).count() > 20  # carried forward day after day

    assert services.recompute_profiles(now=NOW) == 2
    for recomputed in MoodSnapshot.objects.filter(date=NOW.date()):
        before = incremental[recomputed.user_id]
        assert recomputed.plays == before.plays
        assert recomputed.seconds == pytest.approx(before.seconds, rel=1e-9)
        assert recomputed.decayed_seconds == pytest.approx(before.decayed_seconds, rel=1e-9)
        assert recomputed.decayed_plays == pytest.approx(before.decayed_plays, rel=1e-9)
        assert recomputed.genre_seconds.keys() == before.genre_seconds.keys()
        for g, value in before.genre_seconds.items():
            assert recomputed.genre_seconds[g] == pytest.approx(value, rel=1e-9)
        for field in ("valence", "arousal", "confidence"):
            assert getattr(recomputed, field) == pytest.approx(getattr(before, field), rel=1e-9, abs=1e-12)
        assert recomputed.moods == pytest.approx(before.moods, rel=1e-9)
        assert recomputed.dominant == before.dominant
    # Every event is now marked applied: the worker's late copy of any of them changes nothing.
    assert AppliedListen.objects.count() == sum(s.plays for s in incremental.values())


def test_recompute_marks_listens_so_a_late_task_does_not_double_count(user):
    event = listen(user, classified_song({"rock": 1.0}), NOW - timedelta(hours=1))
    services.recompute_profiles(now=NOW)
    assert services.apply_listen(event.pk, now=NOW) is False
    assert MoodSnapshot.objects.get(user=user).plays == 1


def test_a_new_genre_gets_a_neutral_mood_to_review():
    shoegaze = Genre.objects.create(slug="shoegaze", name="Shoegaze")
    mood = shoegaze.mood
    assert (mood.valence, mood.arousal, mood.needs_review) == (0, 0, True)
    assert len(set(mood.weights.values())) == 1


def test_every_seeded_genre_has_a_sourced_mapping():
    seeded = GenreMood.objects.filter(needs_review=False)
    assert seeded.count() >= 16
    for gm in seeded:
        assert "docs/moods.md" in gm.source and -1 <= gm.valence <= 1 and -1 <= gm.arousal <= 1
        assert sum(gm.weights.values()) > 0


def test_editing_a_genre_mood_recomputes_its_songs():
    song = classified_song({"country": 1.0})
    assert SongMood.objects.get(song=song).dominant == "happy"
    GenreMood.objects.filter(genre__slug="country").update(valence=-0.8, arousal=-0.5, melancholic=1.0, happy=0.0)
    assert services.refresh_songs_for_genre(genre("country").pk) == 1
    refreshed = SongMood.objects.get(song=song)
    assert (refreshed.valence, refreshed.arousal, refreshed.dominant) == (-0.8, -0.5, "melancholic")


@pytest.mark.parametrize("text, expected", [("calm", MOOD_POINTS["calm"]), (" Happy ", MOOD_POINTS["happy"]),
                                            ("0.5,-0.3", (0.5, -0.3)), ("-1,1", (-1.0, 1.0))])
def test_mood_point_reads_names_and_coordinates(text, expected):
    assert mood_point(text) == expected


@pytest.mark.parametrize("text", ["", "grumpy", "2,0", "0.5", "a,b", "nan,0", "0,0,0"])
def test_mood_point_rejects_nonsense_with_a_clear_message(text):
    with pytest.raises(ValueError, match="use one of energetic, happy, calm") as error:
        mood_point(text)
    assert repr(text) in str(error.value)


def test_named_moods_sit_in_their_quadrants():
    assert set(MOOD_POINTS) == set(MOODS)
    assert all(math.hypot(*point) <= 1.5 for point in MOOD_POINTS.values())
    assert MOOD_POINTS["intense"][0] < 0 < MOOD_POINTS["intense"][1]
    assert MOOD_POINTS["melancholic"][0] < 0 and MOOD_POINTS["melancholic"][1] < 0
