"""REST representations of songs, genres, uploads and listens."""

import copy

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from . import extensions, services
from .models import Genre, GenreLabel, GenrePrediction, ListeningEvent, Song, fast_reverse

_datetime = serializers.DateTimeField()


def song_row(song: Song) -> dict:
    """What :class:`SongSerializer` gives for ``song``, built directly: a list page's rows at a fraction of DRF's
    per-field cost (the list serializers below; tests compare the two)."""
    genre, audio = song.top_genre, song.audio
    return {
        "id": song.pk, "title": song.title, "artist": song.artist, "album": song.album, "year": song.year,
        "duration_s": audio.duration_s, "audio_format": audio.audio_format, "status": str(song.status),
        "top_genre": {"slug": genre.slug, "name": genre.name, "colour": genre.colour} if genre else None,
        "top_probability": song.top_probability, "genre_uncertain": song.genre_uncertain,
        "visibility": str(song.visibility), "uploaded_by": song.uploaded_by.username if song.uploaded_by else None,
        "created_at": _datetime.to_representation(song.created_at), "url": song.get_absolute_url(),
        "stream_url": fast_reverse("api-song-stream", song.pk),
    }


class SongListSerializer(serializers.ListSerializer):
    def to_representation(self, data) -> list[dict]:
        return [song_row(song) for song in data]


class HistoryListSerializer(serializers.ListSerializer):
    def to_representation(self, data) -> list[dict]:
        return [{"id": event.pk, "song": song_row(event.song), "started_at": _datetime.to_representation(event.started_at),
                 "seconds_listened": event.seconds_listened, "completed": event.completed} for event in data]


class GenreBriefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Genre
        fields = ["slug", "name", "colour"]


class GenreSerializer(serializers.ModelSerializer):
    song_count = serializers.IntegerField(read_only=True, help_text="Songs you may see whose top genre this is")

    class Meta:
        model = Genre
        fields = ["slug", "name", "description", "colour", "ordering", "song_count"]


class SongSerializer(serializers.ModelSerializer):
    top_genre = GenreBriefSerializer(read_only=True, allow_null=True)
    uploaded_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    url = serializers.SerializerMethodField(help_text="The song's page")
    stream_url = serializers.SerializerMethodField(help_text="The audio, with HTTP Range support")
    duration_s = serializers.FloatField(source="audio.duration_s", read_only=True, allow_null=True, help_text="Duration in seconds")
    audio_format = serializers.CharField(source="audio.audio_format", read_only=True,
                                         help_text="Detected from the content: wav, mp3, ogg, opus, flac, m4a")

    class Meta:
        model = Song
        fields = [
            "id", "title", "artist", "album", "year", "duration_s", "audio_format", "status",
            "top_genre", "top_probability", "genre_uncertain", "visibility", "uploaded_by", "created_at", "url", "stream_url",
        ]
        read_only_fields = fields
        list_serializer_class = SongListSerializer

    def get_url(self, song: Song) -> str:
        return song.get_absolute_url()

    def get_stream_url(self, song: Song) -> str:
        return reverse("api-song-stream", args=[song.pk])


class PredictionSerializer(serializers.ModelSerializer):
    genre = GenreBriefSerializer(read_only=True)

    class Meta:
        model = GenrePrediction
        fields = ["genre", "probability"]


class LabelSerializer(serializers.ModelSerializer):
    genre = GenreBriefSerializer(read_only=True)
    labelled_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)

    class Meta:
        model = GenreLabel
        fields = ["genre", "labelled_by", "created_at"]


class SongDetailSerializer(SongSerializer):
    predictions = serializers.SerializerMethodField()
    label = serializers.SerializerMethodField()
    timeline = serializers.JSONField(
        read_only=True,
        help_text='Per-frame genre scores: {"genres": [slug, ...], "frames": [[start_s, [p, ...]], ...]}; {} until classified',
    )
    spectrogram_url = serializers.SerializerMethodField()
    sample_rate_hz = serializers.IntegerField(source="audio.sample_rate_hz", read_only=True, allow_null=True)
    channels = serializers.IntegerField(source="audio.channels", read_only=True, allow_null=True)
    size_bytes = serializers.IntegerField(source="audio.size_bytes", read_only=True)
    sha256 = serializers.CharField(source="audio.sha256", read_only=True)

    class Meta(SongSerializer.Meta):
        fields = SongSerializer.Meta.fields + [
            "sample_rate_hz", "channels", "size_bytes", "sha256", "failure_reason", "status_changed_at",
            "predictions", "label", "timeline", "spectrogram_url",
        ]
        read_only_fields = fields
        list_serializer_class = serializers.ListSerializer

    def get_fields(self) -> dict:
        """The declared fields and those other apps added (catalog.extensions.register_song_detail_field)."""
        fields = super().get_fields()
        fields.update({name: copy.deepcopy(field) for name, field in extensions.song_detail_fields().items()})
        return fields

    @extend_schema_field(PredictionSerializer(many=True))
    def get_predictions(self, song: Song) -> list:
        return PredictionSerializer(services.song_predictions(song), many=True).data

    @extend_schema_field(LabelSerializer(allow_null=True))
    def get_label(self, song: Song) -> dict | None:
        label = GenreLabel.objects.select_related("genre", "labelled_by").filter(song=song).first()
        return LabelSerializer(label).data if label else None

    def get_spectrogram_url(self, song: Song) -> str | None:
        return reverse("catalog:song-spectrogram", args=[song.pk]) if song.spectrogram else None


class SongStatusSerializer(serializers.ModelSerializer):
    status_display = serializers.CharField(source="get_status_display", read_only=True)
    top_genre = GenreBriefSerializer(read_only=True, allow_null=True)
    url = serializers.SerializerMethodField()

    class Meta:
        model = Song
        fields = ["id", "status", "status_display", "failure_reason", "top_genre", "top_probability", "genre_uncertain",
                  "url"]
        read_only_fields = fields

    def get_url(self, song: Song) -> str:
        return song.get_absolute_url()


class UploadOptionsSerializer(serializers.Serializer):
    """What an upload says besides its files (the view validates it; it reads the files itself, one outcome each)."""

    visibility = serializers.ChoiceField(choices=Song.Visibility.choices, default=Song.Visibility.SHARED)


class UploadRequestSerializer(UploadOptionsSerializer):
    """The multipart upload, for the schema."""

    file = serializers.ListField(child=serializers.FileField(), help_text="One or more audio files")


class UploadOutcomeSerializer(serializers.Serializer):
    filename = serializers.CharField()
    created = serializers.BooleanField(help_text="False when you had uploaded the same bytes before: your song is returned")
    song = SongSerializer(allow_null=True)
    error = serializers.CharField(allow_blank=True, help_text="Why the file was refused; empty when it was stored")


class UploadResponseSerializer(serializers.Serializer):
    uploads = UploadOutcomeSerializer(many=True)


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()


class ListenSerializer(serializers.ModelSerializer):
    class Meta:
        model = ListeningEvent
        fields = ["id", "song", "started_at", "seconds_listened", "completed", "counted"]
        read_only_fields = ["id", "started_at", "seconds_listened", "completed", "counted"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        user = request.user if request else None
        # Only songs the listener may see; any other id reads as "does not exist".
        self.fields["song"].queryset = Song.objects.visible_to(user) if user else Song.objects.none()


class ListenProgressSerializer(serializers.Serializer):
    seconds_listened = serializers.FloatField(min_value=0, help_text="Seconds actually played so far (not the position)")
    completed = serializers.BooleanField(default=False, help_text="The song played to its end")


class HistoryEntrySerializer(serializers.ModelSerializer):
    song = SongSerializer(read_only=True)

    class Meta:
        model = ListeningEvent
        fields = ["id", "song", "started_at", "seconds_listened", "completed"]
        read_only_fields = fields
        list_serializer_class = HistoryListSerializer
