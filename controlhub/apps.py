from django.apps import AppConfig


class ControlhubConfig(AppConfig):
    name = "controlhub"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Celery autodiscovers `<app>.tasks` only; the push pipeline's tasks live in controlhub.sync.tasks.
        from .sync import tasks  # noqa: F401
