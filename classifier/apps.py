from django.apps import AppConfig


class ClassifierConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "classifier"
    verbose_name = "Genre classifier"

    def ready(self) -> None:
        from . import catalog_pages

        catalog_pages.register()
