from django.apps import AppConfig


class MoodsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "moods"
    verbose_name = "Moods"

    def ready(self) -> None:
        from . import catalog_pages, receivers  # noqa: F401  (receivers connects the signal receivers)

        catalog_pages.register()
