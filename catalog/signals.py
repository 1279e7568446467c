"""Signals about the catalog's songs, for apps the catalog does not know to react to."""

from django.dispatch import Signal

#: Sent (by the app that classifies songs) after a song's genre vector is committed. Arguments: song_id.
song_classified = Signal()

#: Sent after a listening event starts counting as a play (30 s or half the song). Arguments: event_id, user_id.
listen_counted = Signal()
