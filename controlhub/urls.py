from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("v1/", include("controlhub.api.urls")),
    path("", include("users.sso_urls")),  # before allauth: email-first sign-in shadows accounts/login/
    path("", include("users.invitation_urls")),  # invitation links (set a first password), resend
    path("", include("users.me_urls")),  # the user portal of every signed-in person
    path("accounts/", include("allauth.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("django-admin/", admin.site.urls),
    path("", include("controlhub.portal.urls")),
]
