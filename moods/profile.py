"""The maths of moods: recency-weighted genre sums, the genre→mood mapping, confidence, words.

Pure functions and small value types; the database side lives in ``moods/services.py``.
The defaults and their sources are documented in docs/moods.md.
"""

import math
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import F, FloatField, QuerySet
from django.db.models.expressions import ExpressionWrapper

MOODS = ("energetic", "happy", "calm", "melancholic", "intense", "reflective")

#: Where each named mood sits on Russell's circumplex (valence, arousal); see docs/moods.md.
MOOD_POINTS: dict[str, tuple[float, float]] = {
    "energetic": (0.45, 0.85),
    "happy": (0.85, 0.35),
    "calm": (0.55, -0.65),
    "melancholic": (-0.65, -0.45),
    "intense": (-0.45, 0.80),
    "reflective": (0.15, -0.45),
}
MOOD_COLOURS = {
    "energetic": "#ff9f1c",
    "happy": "#ffd23f",
    "calm": "#1ed2a4",
    "melancholic": "#5c7cff",
    "intense": "#ff5c7a",
    "reflective": "#b57cff",
}

#: Confidence = (1 − e^(−plays / K_PLAYS)) × (1 − e^(−hours / K_HOURS)), on recency-weighted amounts.
CONFIDENCE_K_PLAYS = 10.0
CONFIDENCE_K_HOURS = 0.5
#: Below this confidence the sentence hedges ("Early days: …").
HEDGE_BELOW = 0.5
#: A second mood is a "streak" when its share is at least this fraction of the dominant one's.
STREAK_RATIO = 0.6


def decay(started_at: datetime, reference_at: datetime, half_life_s: float) -> float:
    """2^((started_at − reference_at) / half-life): 1 at the reference, ½ one half-life before it."""
    return 2.0 ** ((started_at - reference_at).total_seconds() / half_life_s)


def normalised(values: dict, *, equal_if_empty: tuple = ()) -> dict:
    total = sum(values.values())
    if total > 0:
        return {key: value / total for key, value in values.items()}
    return {key: 1.0 / len(equal_if_empty) for key in equal_if_empty}


@dataclass(frozen=True)
class MoodPoint:
    """A genre's mapping: a point on the plane and mood weights summing to 1."""

    valence: float
    arousal: float
    weights: dict[str, float]

    @classmethod
    def of(cls, valence: float, arousal: float, weights: dict[str, float]) -> "MoodPoint":
        clipped = {mood: max(0.0, weights.get(mood, 0.0)) for mood in MOODS}
        return cls(valence, arousal, normalised(clipped, equal_if_empty=MOODS))


NEUTRAL = MoodPoint.of(0.0, 0.0, {})


@dataclass(frozen=True)
class Blend:
    """Shares of genres pushed through the mapping."""

    valence: float
    arousal: float
    moods: dict[str, float]

    @property
    def dominant(self) -> str:
        return max(MOODS, key=lambda mood: self.moods[mood])


def blend(shares: dict[int, float], mapping: dict[int, MoodPoint]) -> Blend:
    """Weighted mean position and mood shares of genre ``shares`` (which sum to 1); unmapped genres are neutral."""
    valence = arousal = 0.0
    moods = dict.fromkeys(MOODS, 0.0)
    for genre_id, share in shares.items():
        point = mapping.get(genre_id, NEUTRAL)
        valence += share * point.valence
        arousal += share * point.arousal
        for mood in MOODS:
            moods[mood] += share * point.weights[mood]
    return Blend(valence, arousal, normalised(moods, equal_if_empty=MOODS))


@dataclass
class Sums:
    """A user's listening, decayed relative to one reference instant.

    A listen started at t adds seconds × 2^((t − reference) / half-life): order-free, so adding one listen to the
    stored sums gives exactly what summing every listen from scratch gives.
    """

    genre_seconds: dict[int, float] = field(default_factory=dict)
    seconds: float = 0.0
    plays: float = 0.0

    def add(self, vector: dict[int, float] | None, seconds_listened: float, weight: float) -> None:
        """Add one listen; ``vector`` is the song's genre probabilities summing to 1 (None: not classified)."""
        seconds = max(0.0, seconds_listened) * weight
        self.seconds += seconds
        self.plays += weight
        for genre_id, probability in (vector or {}).items():
            self.genre_seconds[genre_id] = self.genre_seconds.get(genre_id, 0.0) + seconds * probability

    def rescaled(self, factor: float) -> "Sums":
        """The same listening relative to another reference: multiply by 2^((old − new) / half-life)."""
        return Sums({g: s * factor for g, s in self.genre_seconds.items()}, self.seconds * factor, self.plays * factor)


def confidence(effective_plays: float, effective_hours: float) -> float:
    """In [0, 1): grows with both the number of recent plays and the recent hours listened."""
    plays = 1.0 - math.exp(-max(0.0, effective_plays) / CONFIDENCE_K_PLAYS)
    hours = 1.0 - math.exp(-max(0.0, effective_hours) / CONFIDENCE_K_HOURS)
    return plays * hours


@dataclass(frozen=True)
class Profile:
    distribution: dict[int, float]
    blend: Blend | None
    confidence: float
    effective_plays: float

    @property
    def dominant(self) -> str:
        return self.blend.dominant if self.blend else ""

    @property
    def sentence(self) -> str:
        return describe(self.blend.moods, self.confidence) if self.blend else ""


def profile_from_sums(sums: Sums, mapping: dict[int, MoodPoint], decay_to_now: float = 1.0) -> Profile:
    """The profile of ``sums``.

    ``decay_to_now`` = 2^((reference − now) / half-life) ages the amounts (confidence), not the shares.
    """
    distribution = normalised(sums.genre_seconds)
    return Profile(
        distribution=distribution,
        blend=blend(distribution, mapping) if distribution else None,
        confidence=confidence(sums.plays * decay_to_now, sums.seconds * decay_to_now / 3600.0),
        effective_plays=sums.plays * decay_to_now,
    )


def describe(moods: dict[str, float], confidence_: float) -> str:
    """'Lately you're mostly calm, with a reflective streak.' — hedged while confidence is low."""
    first, second = sorted(MOODS, key=lambda mood: moods.get(mood, 0.0), reverse=True)[:2]
    streak = f", with {with_article(second)} streak" if moods.get(second, 0.0) >= STREAK_RATIO * moods.get(first, 0.0) else ""
    if confidence_ < HEDGE_BELOW:
        return f"Early days: you seem mostly {first}{streak} so far — a few more songs will make this surer."
    return f"Lately you're mostly {first}{streak}."


def with_article(word: str) -> str:
    """"an intense", "a calm": the indefinite article by the word's first letter (right for every mood name)."""
    return f"{'an' if word[:1].lower() in 'aeiou' else 'a'} {word}"


def mood_point(mood: str) -> tuple[float, float]:
    """A named mood ("calm") or "valence,arousal" ("0.5,-0.3") as a point on the plane."""
    text = (mood or "").strip().lower()
    if text in MOOD_POINTS:
        return MOOD_POINTS[text]
    parts = text.split(",")
    if len(parts) == 2:
        try:
            valence, arousal = float(parts[0]), float(parts[1])
        except ValueError:
            pass
        else:
            if all(math.isfinite(x) and -1.0 <= x <= 1.0 for x in (valence, arousal)):
                return valence, arousal
    raise ValueError(
        f"Unknown mood {mood!r}: use one of {', '.join(MOODS)}, or 'valence,arousal' with both numbers "
        "between -1 and 1, e.g. '0.5,-0.3'."
    )


def songs_near_mood(queryset: QuerySet, mood: str) -> QuerySet:
    """Songs of ``queryset`` that have a mood, nearest first to ``mood`` (see :func:`mood_point`).

    Raises ValueError with a readable message for an invalid ``mood``.
    """
    valence, arousal = mood_point(mood)
    dv = F("mood__valence") - valence
    da = F("mood__arousal") - arousal
    distance = ExpressionWrapper(dv * dv + da * da, output_field=FloatField())
    return queryset.filter(mood__isnull=False).annotate(mood_distance=distance).order_by("mood_distance", "pk")
