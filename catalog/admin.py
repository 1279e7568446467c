from django.contrib import admin, messages
from django.db.models import QuerySet
from django.urls import reverse
from django.utils.html import format_html

from . import services
from .models import Album, Artist, Genre, GenreLabel, GenrePrediction, ListeningEvent, Playlist, Song


class ReadOnlyMixin:
    """Records written by the system: viewable, never edited by hand."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Genre)
class GenreAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "colour", "ordering", "retired", "colour_swatch"]
    list_editable = ["colour", "ordering", "retired"]
    list_filter = ["retired"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}

    @admin.display(description="Swatch")
    def colour_swatch(self, genre: Genre) -> str:
        return format_html('<span style="display:inline-block;width:1.2em;height:1.2em;border-radius:50%;background:{}"></span>',
                           genre.colour)


class PredictionInline(ReadOnlyMixin, admin.TabularInline):
    model = GenrePrediction
    fields = ["genre", "probability"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ["-probability"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("genre")


@admin.register(Song)
class SongAdmin(admin.ModelAdmin):
    list_display = ["title", "artist", "status", "top_genre", "top_probability", "audio__audio_format", "uploaded_by",
                    "visibility", "created_at"]
    list_filter = ["status", "top_genre", "audio__audio_format", "visibility", ("uploaded_by", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["audio", "top_genre", "uploaded_by"]
    search_fields = ["title", "artist", "album", "audio__sha256"]
    date_hierarchy = "created_at"
    inlines = [PredictionInline]
    actions = ["reclassify_selected", "retry_failed"]
    readonly_fields = ["audio_link", "audio_details", "spectrogram_link", "status", "failure_reason", "status_changed_at",
                       "top_genre", "top_probability", "timeline", "created_at"]
    fieldsets = [
        (None, {"fields": ["title", "artist", "album", "year", "visibility", "uploaded_by"]}),
        ("File", {"fields": ["audio_link", "audio_details"]}),
        ("Classification", {"fields": ["status", "failure_reason", "status_changed_at", "top_genre", "top_probability",
                                       "spectrogram_link", "timeline"]}),
    ]
    raw_id_fields = ["uploaded_by"]

    def has_add_permission(self, request) -> bool:
        return False  # songs arrive through the upload page or the API, which verify and deduplicate them

    @admin.display(description="Audio file")
    def audio_link(self, song: Song) -> str:
        return format_html('<a href="{}">{}</a>', reverse("catalog:song-stream", args=[song.pk]), song.audio_file.name)

    @admin.display(description="Audio")
    def audio_details(self, song: Song) -> str:
        audio = song.audio
        return format_html(
            "{} · {} s · {} Hz · {} channel(s) · {} bytes · SHA-256 {} · {} song(s) share these bytes",
            audio.audio_format.upper(), audio.duration_s or "—", audio.sample_rate_hz or "—", audio.channels or "—",
            audio.size_bytes, audio.sha256, audio.songs.count(),
        )

    def delete_model(self, request, song: Song) -> None:
        services.delete_song(song)

    def delete_queryset(self, request, queryset: QuerySet) -> None:
        for song in queryset:
            services.delete_song(song)

    @admin.display(description="Spectrogram")
    def spectrogram_link(self, song: Song) -> str:
        if not song.spectrogram:
            return "—"
        return format_html('<a href="{}">{}</a>', reverse("catalog:song-spectrogram", args=[song.pk]), song.spectrogram.name)

    @admin.action(description="Reclassify selected songs", permissions=["change"])
    def reclassify_selected(self, request, queryset: QuerySet) -> None:
        count = services.reclassify(queryset)
        self.message_user(request, f"{count} song(s) queued for classification.", messages.SUCCESS)

    @admin.action(description="Retry failed songs among the selected", permissions=["change"])
    def retry_failed(self, request, queryset: QuerySet) -> None:
        count = services.reclassify(queryset.filter(status=Song.Status.FAILED))
        self.message_user(request, f"{count} failed song(s) queued again.", messages.SUCCESS if count else messages.WARNING)


@admin.register(GenreLabel)
class GenreLabelAdmin(admin.ModelAdmin):
    list_display = ["song", "genre", "labelled_by", "created_at"]
    list_filter = ["genre", ("labelled_by", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["song", "genre", "labelled_by"]
    search_fields = ["song__title", "song__artist"]
    raw_id_fields = ["song", "labelled_by"]


@admin.register(ListeningEvent)
class ListeningEventAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["started_at", "user", "song", "seconds_listened", "completed", "counted"]
    list_filter = ["counted", "completed"]
    list_select_related = ["user", "song"]
    search_fields = ["user__username", "song__title"]
    date_hierarchy = "started_at"


@admin.register(Artist)
class ArtistAdmin(admin.ModelAdmin):
    list_display = ["name", "created_at"]
    search_fields = ["name"]
    readonly_fields = ["name_key", "created_at"]


@admin.register(Album)
class AlbumAdmin(admin.ModelAdmin):
    list_display = ["title", "artist", "year", "created_at"]
    list_select_related = ["artist"]
    search_fields = ["title", "artist__name"]
    readonly_fields = ["title_key", "created_at"]
    raw_id_fields = ["artist"]


@admin.register(Playlist)
class PlaylistAdmin(admin.ModelAdmin):
    list_display = ["name", "owner", "public", "changed_at"]
    list_filter = ["public"]
    list_select_related = ["owner"]
    search_fields = ["name", "owner__username"]
    raw_id_fields = ["owner"]
