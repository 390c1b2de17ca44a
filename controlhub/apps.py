from django.apps import AppConfig


class ControlhubConfig(AppConfig):
    name = "controlhub"
    default_auto_field = "django.db.models.BigAutoField"
