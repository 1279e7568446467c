"""Signals the catalog sends so that other apps (moods) can react without the catalog knowing them."""

from django.dispatch import Signal

#: Sent after a song's predictions are committed. Arguments: song_id.
song_classified = Signal()

#: Sent after a listening event starts counting as a play (30 s or half the song). Arguments: event_id, user_id.
listen_counted = Signal()
