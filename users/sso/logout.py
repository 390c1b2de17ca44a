"""Single logout: our LogoutRequest to the IdP, and the IdP's LogoutRequest/LogoutResponse to us."""

from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext as _
from onelogin.saml2.auth import OneLogin_Saml2_Auth

from controlhub.models import Organization

from ..sso_models import IdentityProvider
from .base import SESSION_SIGNED_IN, SsoRefused
from .sp import _prepare, base_url, saml_settings


def logout_url(request) -> str | None:
    """Where to send a person signed in through an IdP with single logout; None: local sign-out only."""
    info = request.session.get(SESSION_SIGNED_IN)
    if not info:
        return None
    idp = IdentityProvider.objects.filter(organization_id=info["org"]).select_related("organization").first()
    if idp is None or not idp.slo_url:
        return None
    auth = OneLogin_Saml2_Auth(_prepare(request, request.path), saml_settings(request, idp.organization, idp))
    return auth.logout(return_to=base_url(request) + settings.LOGIN_URL, name_id=info.get("name_id"),
                       session_index=info.get("session_index"), name_id_format=info.get("format"))


def process_slo(request, org: Organization, logout_local) -> str | None:
    """Handle the IdP's LogoutRequest or LogoutResponse (HTTP-Redirect); returns where to redirect next."""
    idp = IdentityProvider.objects.filter(organization=org).first()
    if idp is None:
        raise SsoRefused(_("Single sign-on is not set up for this organization."))
    auth = OneLogin_Saml2_Auth(_prepare(request, reverse("sso:sls", args=[org.pk])),
                               saml_settings(request, org, idp))
    try:
        url = auth.process_slo(delete_session_cb=logout_local)
    except Exception as exc:
        raise SsoRefused(_("The logout message could not be processed: %(error)s") % {"error": exc}) from exc
    if auth.get_errors():
        raise SsoRefused(_("The logout message was rejected: %(reason)s")
                         % {"reason": auth.get_last_error_reason() or ", ".join(auth.get_errors())})
    return url
