"""Celery tasks: thin, idempotent wrappers around moods.services."""

from celery import shared_task

from . import services


@shared_task(name="moods.tasks.update_profile_for_listen")
def update_profile_for_listen(event_id: int) -> bool:
    """Add one counted listen to its user's snapshot of today (a no-op if it is already in)."""
    return services.apply_listen(event_id)


@shared_task(name="moods.tasks.recompute_all_profiles")
def recompute_all_profiles() -> int:
    """Nightly: today's snapshot of every listener from scratch (picks up edited mappings, late classifications)."""
    return services.recompute_profiles()


@shared_task(name="moods.tasks.refresh_genre_moods")
def refresh_genre_moods(genre_id: int) -> int:
    """A GenreMood changed: recompute the moods of the songs that involve that genre."""
    return services.refresh_songs_for_genre(genre_id)
