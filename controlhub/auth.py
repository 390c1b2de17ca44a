"""Sign-in policy for django-allauth: nobody signs up on their own; administrators invite people.

With single sign-on enabled for an organisation (users.sso), its people cannot sign in with a password, except
the break-glass administrators named on its IdP; signing out also ends the IdP session where it supports SLO.
Failed password sign-ins are throttled (ACCOUNT_RATE_LIMITS["login_failed"]) and the refusal says how long to
wait. After signing in, administrators land in the admin portal and everyone else in their user portal (/me/).
"""
import math
import time
from urllib.parse import urlsplit

from allauth.account.adapter import DefaultAccountAdapter
from allauth.account.forms import LoginForm
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from rest_framework.permissions import SAFE_METHODS, BasePermission

THROTTLED = "too_many_login_attempts"


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
        try:
            super().pre_authenticate(request, **credentials)
        except ValidationError as exc:
            if getattr(exc, "code", None) != THROTTLED:
                raise
            raise ValidationError(throttled_message(self.throttle_wait(request, **credentials)),
                                  code=THROTTLED) from exc

    def throttle_wait(self, request, **credentials) -> int | None:
        """Seconds until the failed-sign-in limits let this client and email try again (None: unknown)."""
        try:
            from allauth.core.internal import ratelimit as rl
        except ImportError:  # allauth moved its internals: the message just leaves out the time
            return None
        key = self._get_login_attempts_cache_key(request, **credentials)
        now, wait = time.time(), 0.0
        for rate in rl.get_rates(app="allauth.account", action="login_failed"):
            cache_key = rl.get_cache_key(request, app="allauth.account", action="login_failed", rate=rate, key=key)
            history = [ts for ts in cache.get(cache_key, []) if ts > now - rate.duration]  # newest first
            if len(history) >= rate.amount:
                wait = max(wait, history[rate.amount - 1] + rate.duration - now)
        return math.ceil(wait) if wait > 0 else None

    def send_password_reset_mail(self, user, email: str, context: dict) -> None:
        from users import sso

        if sso.password_sign_in_refused(email) is not None:
            return   # signs in at the IdP: a password could never be used (the page says the same either way)
        super().send_password_reset_mail(user, email, context)

    def get_reset_password_from_key_url(self, key: str) -> str:
        url = super().get_reset_password_from_key_url(key)
        if settings.PUBLIC_BASE_URL:   # behind a proxy the request's host is not the one people reach
            url = settings.PUBLIC_BASE_URL.rstrip("/") + urlsplit(url).path
        return url

    def get_login_redirect_url(self, request) -> str:
        if not request.user.is_admin:
            return reverse("me:home")
        return super().get_login_redirect_url(request)

    def get_logout_redirect_url(self, request) -> str:
        # allauth asks for this before it ends the session: the SAML session data is still there
        from users import sso

        try:
            url = sso.logout_url(request)
        except Exception:  # an IdP misconfiguration must never prevent signing out here
            url = None
        return url or super().get_logout_redirect_url(request)


def throttled_message(seconds: int | None) -> str:
    if not seconds:
        return _("Too many failed sign-in attempts. Wait a few minutes, then try again.")
    if seconds < 90:
        return ngettext("Too many failed sign-in attempts. Wait %(n)d second, then try again.",
                        "Too many failed sign-in attempts. Wait %(n)d seconds, then try again.",
                        seconds) % {"n": seconds}
    minutes = math.ceil(seconds / 60)
    return ngettext("Too many failed sign-in attempts. Wait %(n)d minute, then try again.",
                    "Too many failed sign-in attempts. Wait %(n)d minutes, then try again.", minutes) % {"n": minutes}


class EmailFirstLoginForm(LoginForm):
    """The sign-in form asks for the email first: a person whose organisation uses SSO never types a password
    (the view sends them to their IdP before this form runs), so the password is not a required field; for
    everyone else an empty password is refused here, before any authentication is attempted."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if "password" in self.fields:
            self.fields["password"].required = False
            self.fields["password"].help_text = _("Leave empty if your organization uses single sign-on.")

    def clean(self):
        if self.data.get("login") and not self.data.get("password"):
            forms_clean = super(LoginForm, self).clean()   # field cleaning only; no authentication
            if not self._errors:
                self.add_error("password", _("Enter your password."))
            return forms_clean
        return super().clean()


class IsAdministrator(BasePermission):
    """The /v1 API is for administrators (and their tokens). A person without an admin role may only read
    themselves (`people/me`, as Webex allows every user); every other endpoint answers 403. A role that may
    change nothing (read-only administrator) gets 403 on every write before its body is even read; which areas
    and objects a writing role may touch is decided by the querysets and actions as everywhere else."""

    PERSON_ENDPOINTS = frozenset({"api-people-me"})

    def has_permission(self, request, view) -> bool:
        from controlhub.roles import CHANGE, Area

        account = request.user
        if account is None or not account.is_authenticated:
            return False
        match = getattr(request, "resolver_match", None)
        if not account.is_admin:
            self.message = "This API is for administrators; your account has no administrator role."
            return match is not None and match.url_name in self.PERSON_ENDPOINTS and request.method in SAFE_METHODS
        if request.method in SAFE_METHODS or account.is_superuser:
            return True
        self.message = "Your administrator role is read-only: it cannot change anything."
        return any(grant.allows(area, CHANGE) for grant in account.grants for area in Area)
