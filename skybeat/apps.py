from django.apps import AppConfig


class SkybeatConfig(AppConfig):
    name = "skybeat"

    def ready(self) -> None:
        from . import throttle  # noqa: F401  (registers its system check)
