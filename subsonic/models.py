"""What the Subsonic API keeps of its own: each member's app password, and what their apps are playing now."""

from django.conf import settings
from django.db import models


class AppPassword(models.Model):
    """The secret phone apps sign in with (token auth needs a secret the server can read, so it is not the login
    password, which is only stored hashed). Also accepted as an OpenSubsonic API key."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="app_password")
    password = models.CharField(max_length=64, unique=True)
    generated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"App password of {self.user}"


class NowPlaying(models.Model):
    """The song an app last said it is playing (a scrobble with submission=false), one row per member and app."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    client = models.CharField(max_length=100)
    song = models.ForeignKey("catalog.Song", on_delete=models.CASCADE, related_name="+")
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "client"], name="one_now_playing_per_app")]

    def __str__(self) -> str:
        return f"{self.user_id} on {self.client}: {self.song_id}"
