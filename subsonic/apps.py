from django.apps import AppConfig


class SubsonicConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "subsonic"
    verbose_name = "Subsonic API"
