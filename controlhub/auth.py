"""Sign-in policy for django-allauth: nobody signs up on their own; administrators invite people.

With single sign-on enabled for an organisation (users.sso), its people cannot sign in with a password, except
the break-glass administrators named on its IdP; signing out also ends the IdP session where it supports SLO.
"""
from allauth.account.adapter import DefaultAccountAdapter
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request) -> bool:
        return False

    def pre_authenticate(self, request, **credentials) -> None:
        from users import sso
        from users.sso_models import SignInOutcome

        email = credentials.get("email") or credentials.get("username") or ""
        idp = sso.password_sign_in_refused(email)
        if idp is not None:
            sso.record_attempt(idp.organization, SignInOutcome.REFUSED,
                               _("Password sign-in refused: the organization signs in with single sign-on."),
                               email=email, request=request)
            raise ValidationError(format_html(
                '{} <a href="{}">{}</a>', _("Your organization signs in with single sign-on."),
                reverse("sso:login", args=[idp.organization_id]), _("Continue with single sign-on")))
        super().pre_authenticate(request, **credentials)

    def get_logout_redirect_url(self, request) -> str:
        # allauth asks for this before it ends the session: the SAML session data is still there
        from users import sso

        try:
            url = sso.logout_url(request)
        except Exception:  # an IdP misconfiguration must never prevent signing out here
            url = None
        return url or super().get_logout_redirect_url(request)
