from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("v1/", include("controlhub.api.urls")),
    path("", include("users.sso_urls")),  # before allauth: email-first sign-in shadows accounts/login/
    path("accounts/", include("allauth.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("django-admin/", admin.site.urls),
    path("", include("controlhub.portal.urls")),
]
