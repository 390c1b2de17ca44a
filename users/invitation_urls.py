"""Invitation links (set a first password) and the portal's "Send invitation again" (namespace `invitation`)."""
from django.urls import path

from . import invitation_views, views

app_name = "invitation"

urlpatterns = [
    path("accounts/invitation/<int:account_id>/<str:token>/", invitation_views.accept, name="accept"),
    path("users/<uuid:pk>/invitation/", views.person_resend_invitation, name="resend"),
]
