from django.apps import AppConfig


class CallingConfig(AppConfig):
    name = "calling"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import sync

        sync.register()
