"""The user portal's URLs (namespace `me`)."""
from django.urls import path

from . import me_views

app_name = "me"

urlpatterns = [
    path("me/", me_views.home, name="home"),
    # shadows allauth's email management (included after this): people do not add sign-in addresses themselves
    path("accounts/email/", me_views.email_addresses_not_offered, name="account_email"),
]
