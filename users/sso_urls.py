"""URLs of per-organisation SAML SSO (users.sso): the SP endpoints, the settings page, email-first sign-in."""
from django.urls import path

from . import sso_views as views

app_name = "sso"

urlpatterns = [
    path("settings/sso/", views.settings_page, name="settings"),
    path("sso/<uuid:org_id>/metadata/", views.metadata, name="metadata"),
    path("sso/<uuid:org_id>/login/", views.login, name="login"),
    path("sso/<uuid:org_id>/test/", views.test, name="test"),
    path("sso/<uuid:org_id>/acs/", views.acs, name="acs"),
    path("sso/<uuid:org_id>/acs/finish/", views.acs_finish, name="acs_finish"),
    path("sso/<uuid:org_id>/sls/", views.sls, name="sls"),
    # email first: an organisation with SSO goes to its IdP (shadows allauth's view at the same path)
    path("accounts/login/", views.EmailFirstLoginView.as_view(), name="account_login"),
]
