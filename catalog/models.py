"""The song library: songs, their stored audio, genres, each song's genre vector (written by whichever app
classifies songs), people's labels, and listening history; artists and albums derived from the songs' tags; people's playlists, stars and ratings."""

import functools

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.db.models.fields.files import FieldFile
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils import timezone

_URL_SENTINELS = {int: 987654321, str: "skybeaturlsentinel"}


def fast_reverse(name: str, arg: int | str) -> str:
    """``reverse(name, args=[arg])`` from a pattern reversed once per URL configuration and script prefix: song
    lists build a few URLs per row."""
    return _url_pattern(name, type(arg), get_script_prefix(), get_urlconf()).format(arg)


@functools.cache
def _url_pattern(name: str, kind: type, prefix: str, urlconf: str | None) -> str:
    sentinel = str(_URL_SENTINELS[kind])
    return reverse(name, args=[sentinel], urlconf=urlconf).replace("{", "{{").replace("}", "}}").replace(sentinel, "{}")


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
        return fast_reverse("catalog:genre-detail", self.slug)


class AudioBlob(models.Model):
    """One stored audio file, named by the SHA-256 of its bytes.

    Every upload of the same bytes becomes its own :class:`Song` (its owner's title, visibility, labels and
    history) over one blob, so the bytes are stored once and nobody learns that someone else has them.
    """

    sha256 = models.CharField(max_length=64, unique=True)
    file = models.FileField(max_length=300, upload_to="audio/")
    size_bytes = models.BigIntegerField()
    audio_format = models.CharField(max_length=16, help_text="Detected from the content: wav, mp3, ogg, opus, flac, m4a")
    duration_s = models.FloatField(null=True, blank=True, help_text="Duration in seconds")
    sample_rate_hz = models.PositiveIntegerField(null=True, blank=True)
    channels = models.PositiveSmallIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.sha256[:12]}… ({self.audio_format})"


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
    audio = models.ForeignKey(AudioBlob, on_delete=models.PROTECT, related_name="songs")
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="uploaded_songs"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    visibility = models.CharField(max_length=8, choices=Visibility.choices, default=Visibility.SHARED)

    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    failure_reason = models.TextField(blank=True)
    status_changed_at = models.DateTimeField(auto_now_add=True)

    # Written by the app that classifies songs (denormalised for cheap browsing); it records which model did it.
    top_genre = models.ForeignKey(Genre, on_delete=models.SET_NULL, null=True, blank=True, related_name="top_songs")
    top_probability = models.FloatField(null=True, blank=True)
    genre_uncertain = models.BooleanField(
        default=False, help_text="The classifier is unsure: the top genre's probability is below its model's "
        "calibrated confidence threshold, so screens show it as a guess (\"Rock?\")",
    )
    timeline = models.JSONField(
        default=dict,
        blank=True,
        help_text='Per-frame genre scores: {"genres": [slug, ...], "frames": [[start_s, [p, ...]], ...]}',
    )
    spectrogram = models.FileField(max_length=300, upload_to="spectrograms/", blank=True)

    # The library's entities for the tag texts above (catalog/library.py links them at ingest).
    library_artist = models.ForeignKey("Artist", on_delete=models.SET_NULL, null=True, blank=True, related_name="songs")
    library_album = models.ForeignKey("Album", on_delete=models.SET_NULL, null=True, blank=True, related_name="songs")
    track_number = models.PositiveSmallIntegerField(null=True, blank=True)
    disc_number = models.PositiveSmallIntegerField(null=True, blank=True)

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
        constraints = [
            # One song per uploader and audio: uploading the same bytes again finds it (anonymous rows aside).
            models.UniqueConstraint(fields=["audio", "uploaded_by"], name="one_song_per_uploader_and_audio"),
        ]

    def __str__(self) -> str:
        return f"{self.artist} – {self.title}" if self.artist else self.title

    def get_absolute_url(self) -> str:
        return fast_reverse("catalog:song-detail", self.pk)

    @property
    def stream_url(self) -> str:
        """The audio, for the player."""
        return fast_reverse("catalog:song-stream", self.pk)

    def can_edit(self, user) -> bool:
        return user.is_authenticated and (user.is_staff or user.pk == self.uploaded_by_id)

    @property
    def sha256(self) -> str:
        return self.audio.sha256

    @property
    def audio_file(self) -> FieldFile:
        """The stored audio (shared with every song of the same bytes)."""
        return self.audio.file


class GenrePrediction(models.Model):
    """One genre probability of one song: its genre vector, row by row, from the latest classification."""

    song = models.ForeignKey(Song, on_delete=models.CASCADE, related_name="predictions")
    genre = models.ForeignKey(Genre, on_delete=models.CASCADE, related_name="predictions")
    probability = models.FloatField()

    class Meta:
        ordering = ["-probability"]
        constraints = [models.UniqueConstraint(fields=["song", "genre"], name="one_prediction_per_genre")]

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


class Artist(models.Model):
    """A performer or album artist: one per normalised name, whatever the spelling of case and spaces in the tags."""

    name = models.CharField(max_length=300)
    name_key = models.CharField(max_length=300, unique=True, help_text="The name case-folded, NFKC, single spaces")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name_key", "id"]

    def __str__(self) -> str:
        return self.name


class Album(models.Model):
    """An album of one album artist (the tag, else the songs' artist), one per normalised title."""

    title = models.CharField(max_length=300)
    title_key = models.CharField(max_length=300, help_text="The title case-folded, NFKC, single spaces")
    artist = models.ForeignKey(Artist, on_delete=models.CASCADE, related_name="albums", help_text="The album artist")
    year = models.PositiveSmallIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["title_key", "id"]
        constraints = [models.UniqueConstraint(fields=["artist", "title_key"], name="one_album_per_artist_title")]

    def __str__(self) -> str:
        return f"{self.artist} – {self.title}"


class Playlist(models.Model):
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="playlists")
    name = models.CharField(max_length=200)
    comment = models.TextField(blank=True, max_length=2000)
    public = models.BooleanField(default=False, help_text="Other members may see and play it (never the private songs in it)")
    created_at = models.DateTimeField(auto_now_add=True)
    changed_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        indexes = [models.Index(fields=["owner", "name"]), models.Index(fields=["public", "name"])]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("catalog:playlist-detail", args=[self.pk])


class PlaylistEntry(models.Model):
    playlist = models.ForeignKey(Playlist, on_delete=models.CASCADE, related_name="entries")
    song = models.ForeignKey(Song, on_delete=models.CASCADE, related_name="playlist_entries")
    position = models.PositiveIntegerField()

    class Meta:
        ordering = ["position", "id"]
        indexes = [models.Index(fields=["playlist", "position"])]

    def __str__(self) -> str:
        return f"{self.playlist_id}[{self.position}] = {self.song_id}"


def _one_target() -> Q:
    song, album, artist = (Q(**{f"{field}__isnull": False}) for field in ("song", "album", "artist"))
    return (song & ~album & ~artist) | (~song & album & ~artist) | (~song & ~album & artist)


class LibraryMark(models.Model):
    """Something a person puts on exactly one song, album or artist."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="%(class)ss")
    song = models.ForeignKey(Song, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    album = models.ForeignKey(Album, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    artist = models.ForeignKey(Artist, on_delete=models.CASCADE, null=True, blank=True, related_name="+")

    class Meta:
        abstract = True
        constraints = [
            models.CheckConstraint(condition=_one_target(), name="%(class)s_marks_one_thing"),
            *(models.UniqueConstraint(fields=["user", field], condition=Q(**{f"{field}__isnull": False}),
                                      name=f"%(class)s_once_per_{field}") for field in ("song", "album", "artist")),
        ]


class Star(LibraryMark):
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.user_id} ★ {self.song_id or self.album_id or self.artist_id}"


class Rating(LibraryMark):
    value = models.PositiveSmallIntegerField(validators=[MinValueValidator(1), MaxValueValidator(5)])

    class Meta(LibraryMark.Meta):
        constraints = [*LibraryMark.Meta.constraints,
                       models.CheckConstraint(condition=Q(value__gte=1, value__lte=5), name="rating_one_to_five")]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.value}/5 for {self.song_id or self.album_id or self.artist_id}"
