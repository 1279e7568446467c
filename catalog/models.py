"""The song library: songs, genres, the classifier's predictions, people's labels, and listening history."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse


class Genre(models.Model):
    slug = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True)
    colour = models.CharField(max_length=7, default="#8888aa", help_text="Hex colour used in charts, e.g. #1db954")
    ordering = models.PositiveIntegerField(default=100)
    retired = models.BooleanField(
        default=False, help_text="Retired genres keep their labels but leave the taxonomy of new models."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["ordering", "name"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("catalog:genre-detail", args=[self.slug])


class SongQuerySet(models.QuerySet):
    def visible_to(self, user) -> "SongQuerySet":
        """Songs a user may see: shared ones, plus their own uploads; staff see everything."""
        if user.is_authenticated and user.is_staff:
            return self
        shared = Q(visibility=Song.Visibility.SHARED)
        if not user.is_authenticated:
            return self.filter(shared)
        return self.filter(shared | Q(uploaded_by=user))


class Song(models.Model):
    class Visibility(models.TextChoices):
        PRIVATE = "private", "Private to me"
        SHARED = "shared", "Shared with everyone"

    class Status(models.TextChoices):
        PENDING = "pending", "Queued"
        PROCESSING = "processing", "Classifying"
        CLASSIFIED = "classified", "Classified"
        FAILED = "failed", "Failed"

    title = models.CharField(max_length=300)
    artist = models.CharField(max_length=300, blank=True)
    album = models.CharField(max_length=300, blank=True)
    year = models.PositiveSmallIntegerField(null=True, blank=True)
    duration_s = models.FloatField(null=True, blank=True, help_text="Duration in seconds")
    audio_file = models.FileField(max_length=300, upload_to="audio/")
    sha256 = models.CharField(max_length=64, unique=True)
    size_bytes = models.BigIntegerField()
    audio_format = models.CharField(max_length=16, help_text="Detected from the content: wav, mp3, ogg, opus, flac, m4a")
    sample_rate_hz = models.PositiveIntegerField(null=True, blank=True)
    channels = models.PositiveSmallIntegerField(null=True, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="uploaded_songs"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    visibility = models.CharField(max_length=8, choices=Visibility.choices, default=Visibility.SHARED)

    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    failure_reason = models.TextField(blank=True)
    status_changed_at = models.DateTimeField(auto_now_add=True)

    # Written by the classifier (denormalised for cheap browsing).
    top_genre = models.ForeignKey(Genre, on_delete=models.SET_NULL, null=True, blank=True, related_name="top_songs")
    top_probability = models.FloatField(null=True, blank=True)
    genre_uncertain = models.BooleanField(
        default=False, help_text="The classifier is unsure: the top genre's probability is below its model's "
        "calibrated confidence threshold, so screens show it as a guess (\"Rock?\")",
    )
    classified_with = models.ForeignKey(
        "classifier.ModelVersion", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    timeline = models.JSONField(
        default=dict,
        blank=True,
        help_text='Per-frame genre scores: {"genres": [slug, ...], "frames": [[start_s, [p, ...]], ...]}',
    )
    spectrogram = models.FileField(max_length=300, upload_to="spectrograms/", blank=True)

    objects = SongQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["status", "created_at"]),
            models.Index(fields=["top_genre", "genre_uncertain", "-top_probability"], name="song_genre_confident_idx"),
            # Counting the songs of a genre someone may see, from the index alone (genre pages, ?genre= filter).
            models.Index(fields=["top_genre", "visibility", "uploaded_by"], name="song_genre_visible_idx"),
            models.Index(fields=["visibility", "-created_at"]),
            models.Index(fields=["uploaded_by", "-created_at"]),
            models.Index(fields=["title"]),
            models.Index(fields=["artist"]),
            models.Index(fields=["album"]),
        ]

    def __str__(self) -> str:
        return f"{self.artist} – {self.title}" if self.artist else self.title

    def get_absolute_url(self) -> str:
        return reverse("catalog:song-detail", args=[self.pk])

    def can_edit(self, user) -> bool:
        return user.is_authenticated and (user.is_staff or user.pk == self.uploaded_by_id)


class GenrePrediction(models.Model):
    """One genre probability of one song under one model version (the song's genre vector, row by row)."""

    song = models.ForeignKey(Song, on_delete=models.CASCADE, related_name="predictions")
    model_version = models.ForeignKey("classifier.ModelVersion", on_delete=models.CASCADE, related_name="predictions")
    genre = models.ForeignKey(Genre, on_delete=models.CASCADE, related_name="predictions")
    probability = models.FloatField()

    class Meta:
        ordering = ["-probability"]
        constraints = [
            models.UniqueConstraint(fields=["song", "model_version", "genre"], name="one_prediction_per_genre")
        ]

    def __str__(self) -> str:
        return f"{self.song_id}: {self.genre_id} {self.probability:.2f}"


class GenreLabel(models.Model):
    """A person's statement of a song's genre, kept apart from predictions (training data)."""

    song = models.ForeignKey(Song, on_delete=models.CASCADE, related_name="labels")
    genre = models.ForeignKey(Genre, on_delete=models.CASCADE, related_name="labels")
    labelled_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True)
    created_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["song"], name="one_label_per_song")]

    def __str__(self) -> str:
        return f"{self.song_id} → {self.genre_id}"


class ListeningEvent(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="listens")
    song = models.ForeignKey(Song, on_delete=models.CASCADE, related_name="listens")
    started_at = models.DateTimeField()
    seconds_listened = models.FloatField(default=0)
    completed = models.BooleanField(default=False, help_text="Reached the end of the song")
    counted = models.BooleanField(
        default=False, help_text="Passed 30 s or half the song: counts as a play in history and moods"
    )

    class Meta:
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["user", "-started_at"]), models.Index(fields=["user", "counted", "-started_at"])]

    def __str__(self) -> str:
        return f"{self.user_id} ♪ {self.song_id} at {self.started_at:%Y-%m-%d %H:%M}"
