"""What the classifier adds to the catalog's admin, extending its classes the way contrib apps do: the genre
list's label counts and its merge and retire actions, and the model that classified a song."""

from __future__ import annotations

from django.contrib import admin, messages
from django.template.response import TemplateResponse
from django.utils.html import format_html

from catalog.admin import GenreAdmin, SongAdmin
from catalog.models import Genre, Song

from . import labels
from .models import SongClassification


@admin.display(description="Labelled songs", ordering="labelled_songs")
def labelled_songs(genre: Genre) -> int:
    return genre.labelled_songs


@admin.display(description="Enough to train?")
def enough_to_train(genre: Genre) -> str:
    needed = labels.min_labels_per_genre()
    if genre.labelled_songs >= needed:
        return format_html('<span style="color:#1db954">yes</span> ({} of {})', genre.labelled_songs, needed)
    return format_html('<span style="color:#e5534b">no</span> — {} more needed (minimum {})',
                       needed - genre.labelled_songs, needed)


@admin.action(description="Merge the two selected genres")
def merge_selected_genres(modeladmin, request, queryset):
    genres = list(queryset.order_by("ordering", "name"))
    if len(genres) != 2:
        modeladmin.message_user(request, "Select exactly two genres to merge.", messages.ERROR)
        return None
    if request.POST.get("keep"):
        kept = next((g for g in genres if str(g.pk) == request.POST["keep"]), None)
        if kept is None:
            modeladmin.message_user(request, "Pick one of the two selected genres to keep.", messages.ERROR)
            return None
        merged = genres[1] if kept is genres[0] else genres[0]
        fate = labels.merge_genres(kept, merged)
        modeladmin.message_user(
            request, f"Merged “{merged.name}” into “{kept.name}”: its labels and predictions moved; it was {fate}.",
            messages.SUCCESS,
        )
        return None
    return TemplateResponse(request, "admin/classifier/trainingjob/merge_genres.html", {
        **modeladmin.admin_site.each_context(request),
        "title": "Merge two genres",
        "genres": genres,
        "opts": modeladmin.model._meta,
        "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
    })


@admin.action(description="Retire the selected genres (labels stay; left out of new models)")
def retire_selected_genres(modeladmin, request, queryset):
    for genre in queryset:
        labels.retire_genre(genre)
    modeladmin.message_user(request, f"Retired {queryset.count()} genre(s).", messages.SUCCESS)


class TrainingGenreAdmin(GenreAdmin):
    """The catalog's genre admin with how many labelled songs each genre has for training, merge and retire."""

    list_display = [*GenreAdmin.list_display, labelled_songs, enough_to_train]
    actions = [merge_selected_genres, retire_selected_genres]

    def get_queryset(self, request):
        return labels.annotate_label_counts(super().get_queryset(request))


def with_after(fields: list[str], anchor: str, added: str) -> list[str]:
    """``fields`` with ``added`` right after ``anchor`` (unchanged without it)."""
    return [name for field in fields for name in ((field, added) if field == anchor else (field,))]


class ClassifiedSongAdmin(SongAdmin):
    """The catalog's song admin with the model version that classified the song."""

    readonly_fields = [*SongAdmin.readonly_fields, "classified_with"]
    fieldsets = [(name, {**options, "fields": with_after(options["fields"], "top_probability", "classified_with")})
                 for name, options in SongAdmin.fieldsets]

    @admin.display(description="Classified with")
    def classified_with(self, song: Song) -> str:
        classification = SongClassification.objects.select_related("model_version").filter(song=song).first()
        return classification.model_version.name if classification else "—"


for model, model_admin in ((Genre, TrainingGenreAdmin), (Song, ClassifiedSongAdmin)):
    admin.site.unregister(model)
    admin.site.register(model, model_admin)
