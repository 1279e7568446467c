"""Moods: where each genre sits on the valence–arousal plane, each song's mood, each user's daily profile."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from .profile import MOOD_COLOURS, MOODS

UNIT = [MinValueValidator(-1.0), MaxValueValidator(1.0)]
WEIGHT = [MinValueValidator(0.0), MaxValueValidator(1.0)]
MOOD_CHOICES = [(mood, mood.capitalize()) for mood in MOODS]


class GenreMood(models.Model):
    """A genre's place on Russell's circumplex and its weights on the named moods (see docs/moods.md)."""

    genre = models.OneToOneField("catalog.Genre", on_delete=models.CASCADE, related_name="mood")
    valence = models.FloatField(default=0.0, validators=UNIT, help_text="Unpleasant (−1) to pleasant (+1)")
    arousal = models.FloatField(default=0.0, validators=UNIT, help_text="Calm (−1) to energetic (+1)")
    energetic = models.FloatField(default=1.0, validators=WEIGHT)
    happy = models.FloatField(default=1.0, validators=WEIGHT)
    calm = models.FloatField(default=1.0, validators=WEIGHT)
    melancholic = models.FloatField(default=1.0, validators=WEIGHT)
    intense = models.FloatField(default=1.0, validators=WEIGHT)
    reflective = models.FloatField(default=1.0, validators=WEIGHT)
    needs_review = models.BooleanField(
        default=True, help_text="A neutral placeholder (0, 0, equal weights) that nobody has set yet"
    )
    source = models.TextField(blank=True, help_text="Where these numbers come from (a study, or who set them and why)")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["genre__ordering", "genre__name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(valence__gte=-1, valence__lte=1, arousal__gte=-1, arousal__lte=1),
                name="genre_mood_on_the_plane",
            )
        ]

    def __str__(self) -> str:
        return f"{self.genre}: valence {self.valence:+.2f}, arousal {self.arousal:+.2f}"

    @property
    def weights(self) -> dict[str, float]:
        return {mood: getattr(self, mood) for mood in MOODS}


class SongMood(models.Model):
    """A song's mood, from its genre vector under the model it was classified with."""

    song = models.OneToOneField("catalog.Song", on_delete=models.CASCADE, related_name="mood")
    valence = models.FloatField(validators=UNIT)
    arousal = models.FloatField(validators=UNIT)
    dominant = models.CharField(max_length=16, choices=MOOD_CHOICES)
    moods = models.JSONField(default=dict, help_text="Share of each named mood, summing to 1")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["valence", "arousal"])]

    def __str__(self) -> str:
        return f"{self.song_id}: {self.dominant}"

    @property
    def colour(self) -> str:
        return MOOD_COLOURS[self.dominant]


class MoodSnapshot(models.Model):
    """A user's mood profile at the end of one day.

    The running sums are decayed relative to ``reference_at`` (the end of ``date``): each counted listen adds
    seconds × 2^((started_at − reference_at) / half-life). Adding one listen is then one addition, and the same
    numbers come out of a full recompute. The derived fields (distribution onwards) are a record of that day.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="mood_snapshots")
    date = models.DateField()
    reference_at = models.DateTimeField(help_text="The instant the decayed sums are relative to")
    genre_seconds = models.JSONField(default=dict, help_text="{genre id: decayed seconds × probability}")
    decayed_seconds = models.FloatField(default=0.0)
    decayed_plays = models.FloatField(default=0.0)
    plays = models.PositiveIntegerField(default=0, help_text="Counted listens so far")
    seconds = models.FloatField(default=0.0, help_text="Seconds listened so far")
    distribution = models.JSONField(default=dict, help_text="{genre id: share}")
    valence = models.FloatField(null=True, blank=True)
    arousal = models.FloatField(null=True, blank=True)
    moods = models.JSONField(default=dict)
    dominant = models.CharField(max_length=16, choices=MOOD_CHOICES, blank=True)
    confidence = models.FloatField(default=0.0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-date"]
        constraints = [models.UniqueConstraint(fields=["user", "date"], name="one_mood_snapshot_per_user_day")]
        indexes = [models.Index(fields=["user", "-date"])]

    def __str__(self) -> str:
        return f"{self.user_id} on {self.date}: {self.dominant or '—'}"


class AppliedListen(models.Model):
    """A counted listen already in its user's snapshot sums: applying it again is a no-op."""

    event = models.OneToOneField("catalog.ListeningEvent", on_delete=models.CASCADE, primary_key=True, related_name="+")

    def __str__(self) -> str:
        return f"listen {self.event_id}"
