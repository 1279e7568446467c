"""What the classifier adds to the catalog's song page and API (catalog.extensions): the model that classified it."""

from django.http import HttpRequest
from rest_framework import serializers

from catalog import extensions
from catalog.models import Song

from .models import SongClassification


def classification_context(request: HttpRequest, song: Song) -> dict:
    classification = SongClassification.objects.select_related("model_version").filter(song=song).first()
    return {"classified_with": classification.model_version if classification else None}


def register() -> None:
    extensions.register_panel("song_sections", "classifier/_classified_with.html", context=classification_context,
                              order=10)
    extensions.register_song_detail_field("classified_with", serializers.CharField(
        source="classification.model_version.name", read_only=True, allow_null=True,
        help_text="Name of the model version that classified the song; null until classified"))
