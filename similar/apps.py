from django.apps import AppConfig


class SimilarConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "similar"
    verbose_name = "Similar songs"

    def ready(self) -> None:
        from catalog import extensions
        from moods import services as moods_services

        from . import panels, services

        extensions.register_panel("song_sections", "similar/_sounds_like.html", context=panels.sounds_like, order=50)
        extensions.register_panel("home_sections", "similar/_for_you.html", context=panels.for_you, order=10)
        moods_services.set_radio_sequencer(services.flowing_radio)
