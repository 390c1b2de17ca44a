"""`/v1` routes of the users CSV (included before `people/<personId>` so these names are not taken as ids)."""
from django.urls import path

from . import api

urlpatterns = [
    path("people/csv", api.PeopleCsvView.as_view(), name="api-people-csv"),
    path("people/csvImportJobs", api.ImportJobListView.as_view(), name="api-people-csv-jobs"),
    path("people/csvImportJobs/<str:job_id>", api.ImportJobDetailView.as_view(), name="api-people-csv-job"),
    path("people/csvImportJobs/<str:job_id>/actions/<str:action>/invoke", api.ImportJobActionView.as_view(),
         name="api-people-csv-job-action"),
    path("people/csvImportJobs/<str:job_id>/errors", api.ImportJobErrorsView.as_view(),
         name="api-people-csv-job-errors"),
]
