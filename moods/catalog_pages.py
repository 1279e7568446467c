"""What moods adds to the catalog's pages (catalog.extensions): the mood chip, the song tables' Mood column and
the ``mood`` filter of song searches (nearest first to a mood)."""

from django import forms
from django.db.models import QuerySet

from catalog import extensions

from .profile import songs_near_mood

CHIP = "moods/_chip.html"


def with_mood(songs: QuerySet) -> QuerySet:
    """Song lists fetch each song's mood with the song, so the chips cost no query per row."""
    return songs.select_related("mood")


def register() -> None:
    extensions.register_panel("song_badges", CHIP, order=10)
    extensions.register_panel("song_columns", CHIP, order=10, heading="Mood")
    extensions.register_song_list_hook(with_mood)
    extensions.register_song_filter(
        "mood", songs_near_mood, forms.CharField(required=False, max_length=32),
        description="Nearest first to this mood (songs without a mood are left out)",
    )
