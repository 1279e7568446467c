"""What the mood dashboard shows, assembled from stored snapshots (cheap reads: no scan of the history)."""

from datetime import date, datetime, timedelta

from django.conf import settings
from django.db.models import Sum
from django.utils import timezone

from catalog.models import Genre, ListeningEvent, Song

from .models import MoodSnapshot
from .profile import HEDGE_BELOW, MOOD_COLOURS, MOOD_POINTS, MOODS
from .services import current_profile

TRAIL_WEEKS = 12
TOP = 5
#: Genres below this share are drawn together as "Other" in the donut.
MIN_DONUT_SHARE = 0.02


def weekly_snapshots(user, today: date, weeks: int = TRAIL_WEEKS) -> list[MoodSnapshot]:
    """The last snapshot of each of the last ``weeks`` weeks (Monday-based), oldest first."""
    since = today - timedelta(days=today.weekday() + 7 * (weeks - 1))
    latest: dict[date, MoodSnapshot] = {}
    for snapshot in (MoodSnapshot.objects.filter(user=user, date__gte=since, plays__gt=0)
                     .only("date", "valence", "arousal", "moods", "dominant").order_by("date")):
        latest[snapshot.date - timedelta(days=snapshot.date.weekday())] = snapshot
    return [latest[week] for week in sorted(latest)]


def genre_shares(distribution: dict, genres: dict | None = None) -> list[dict]:
    """``distribution`` {genre id: share} (ids may be JSON strings) as rows, largest share first.

    ``genres`` ({id: Genre}) saves the look-up when many distributions are shown at once.
    """
    shares = {int(genre_id): share for genre_id, share in distribution.items()}
    genres = Genre.objects.in_bulk(list(shares)) if genres is None else genres
    rows = [{"id": g, "genre": genres[g].slug, "name": genres[g].name, "colour": genres[g].colour, "share": share}
            for g, share in shares.items() if g in genres]
    return sorted(rows, key=lambda row: -row["share"])


def top_songs(user, now: datetime, period_days: float) -> list[dict]:
    """The songs the user listened to most over the period, with their share of its listening time."""
    events = ListeningEvent.objects.filter(
        user=user, counted=True, started_at__gte=now - timedelta(days=period_days),
        song__in=Song.objects.visible_to(user),
    )
    total = events.aggregate(total=Sum("seconds_listened"))["total"] or 0
    rows = (events.values("song_id", "song__title", "song__artist").annotate(seconds=Sum("seconds_listened"))
            .order_by("-seconds", "song_id")[:TOP])
    return [{"id": row["song_id"], "title": row["song__title"], "artist": row["song__artist"],
             "seconds": row["seconds"], "share": row["seconds"] / total if total else 0} for row in rows]


def donut(shares: list[dict]) -> list[dict]:
    kept = [row for row in shares if row["share"] >= MIN_DONUT_SHARE]
    rest = 1.0 - sum(row["share"] for row in kept)
    if rest > 1e-9:
        kept.append({"name": "Other", "colour": "#555a70", "share": rest})
    return [{"name": row["name"], "colour": row["colour"], "share": row["share"]} for row in kept]


def dashboard_data(user, now: datetime | None = None) -> dict | None:
    """Everything the dashboard draws, or None for a user with no counted listening yet.

    "What shaped this" looks back one half-life: older listening weighs less than half.
    """
    now = now or timezone.now()
    period_days = settings.SKYBEAT_MOOD_HALF_LIFE_DAYS
    _, profile = current_profile(user, now)
    if profile is None:
        return None
    shares = genre_shares(profile.distribution)
    weeks = weekly_snapshots(user, timezone.localdate(now))
    moods = profile.blend.moods if profile.blend else {}
    return {
        "sentence": profile.sentence or "Your songs are still being classified: moods appear once they are.",
        "confidence": profile.confidence,
        "hedged": profile.confidence < HEDGE_BELOW,
        "point": {"valence": profile.blend.valence, "arousal": profile.blend.arousal} if profile.blend else None,
        "trail": [{"date": s.date.isoformat(), "valence": s.valence, "arousal": s.arousal} for s in weeks],
        "genres": donut(shares),
        "top_genres": shares[:TOP],
        "top_songs": top_songs(user, now, period_days),
        "moods": [{"mood": m, "label": m.capitalize(), "share": moods.get(m, 0.0), "colour": MOOD_COLOURS[m]}
                  for m in MOODS],
        "weeks": [{"week": (s.date - timedelta(days=s.date.weekday())).isoformat(), "moods": s.moods} for s in weeks],
        "mood_colours": MOOD_COLOURS,
        "mood_points": {m: list(p) for m, p in MOOD_POINTS.items()},
        "period_days": period_days,
    }
