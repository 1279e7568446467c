"""Reactions to the catalog.

New genres get a neutral mapping, classified songs a mood, counted listens a profile update.
"""

import logging

from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver

from catalog.models import Genre
from catalog.signals import listen_counted, song_classified
from skybeat.queue import BrokerUnavailable, publish

from . import services, tasks
from .models import GenreMood

logger = logging.getLogger(__name__)


def enqueue(task, *args) -> None:
    """Send a task, failing fast: a broker outage must not fail or stall the request (the nightly recompute catches up)."""
    try:
        publish(task.name, [args])
    except BrokerUnavailable as exc:
        logger.warning("Could not enqueue %s%r: broker unavailable (%s); the nightly recompute will catch up",
                       task.name, args, exc)


@receiver(post_save, sender=Genre, dispatch_uid="moods.genre_gets_neutral_mood")
def give_new_genre_a_neutral_mood(sender, instance: Genre, created: bool, raw: bool = False, **kwargs) -> None:
    if created and not raw:
        GenreMood.objects.get_or_create(
            genre=instance,
            defaults={"needs_review": True, "source": "Neutral placeholder for a new genre: please set."},
        )


@receiver(post_save, sender=GenreMood, dispatch_uid="moods.genre_mood_changed")
def genre_mood_changed(sender, instance: GenreMood, created: bool, raw: bool = False, **kwargs) -> None:
    if not created and not raw:
        transaction.on_commit(lambda: enqueue(tasks.refresh_genre_moods, instance.genre_id))


@receiver(song_classified, dispatch_uid="moods.song_classified")
def song_classified_gets_mood(sender, song_id: int, **kwargs) -> None:
    """Mood is secondary: a failure here is logged, never allowed to fail the classification that sent the signal."""
    try:
        services.update_song_moods([song_id])
    except Exception:
        logger.exception("Could not compute the mood of song %s", song_id)


@receiver(listen_counted, dispatch_uid="moods.listen_counted")
def listen_counted_updates_profile(sender, event_id: int, user_id: int, **kwargs) -> None:
    transaction.on_commit(lambda: enqueue(tasks.update_profile_for_listen, event_id))
