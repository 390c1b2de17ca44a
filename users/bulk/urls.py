"""Portal URLs of the users CSV import/export and the Tasks page (namespace `bulk`)."""
from django.urls import path

from . import views

app_name = "bulk"

urlpatterns = [
    path("users/import/", views.import_users, name="import_users"),
    path("users/export/", views.export_users, name="export_users"),
    path("devices/import/", views.import_phones, name="import_phones"),
    path("devices/import/template.csv", views.phones_template, name="phones_template"),
    path("tasks/", views.task_list, name="task_list"),
    path("tasks/<uuid:pk>/", views.task_detail, name="task_detail"),
    path("tasks/<uuid:pk>/confirm/", views.task_confirm, name="task_confirm"),
    path("tasks/<uuid:pk>/cancel/", views.task_cancel, name="task_cancel"),
    path("tasks/<uuid:pk>/errors.csv", views.task_errors, name="task_errors"),
]
