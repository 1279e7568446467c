"""Context of the panels similar adds to the catalog's pages (see catalog.extensions)."""

from typing import Any

from django.http import HttpRequest

from catalog.models import ListeningEvent, Song

from . import services


def sounds_like(request: HttpRequest, song: Song) -> dict[str, Any]:
    return {"sounds_like": services.similar_songs(request.user, song)}


def for_you(request: HttpRequest, _: None) -> dict[str, Any]:
    if not request.user.is_authenticated:
        return {"for_you": None}
    mix = services.for_you(request.user)
    return {"for_you": mix, "listened": bool(mix) or ListeningEvent.objects.filter(user=request.user).exists()}
