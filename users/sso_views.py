"""Views of per-organisation SAML SSO: thin wrappers around `users.sso`.

SP endpoints (metadata, login, ACS, SLS) are public and keyed by the organisation's id; the settings page and
"Test SSO" are for administrators who may change the organisation (full admins).
"""
from allauth.account.views import LoginView
from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth import logout as auth_logout
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from controlhub.models import Organization
from controlhub.portal.shortcuts import actor, attach_errors, may, portal_view
from controlhub.roles import CHANGE, Area

from . import sso
from .sso_forms import MetadataUploadForm, SsoSettingsForm
from .sso_models import IdentityProvider, SignInOutcome, SsoSignIn

BACKEND = "django.contrib.auth.backends.ModelBackend"


def _org(org_id) -> Organization:
    return get_object_or_404(Organization, pk=org_id)


# --------------------------------------------------------------------------------------------- settings page


@portal_view(Area.ORGANIZATION)
def settings_page(request):
    org = request.organization
    idp = IdentityProvider.objects.filter(organization=org).first()
    may_change = may(request.user, Area.ORGANIZATION, CHANGE)
    upload_form = MetadataUploadForm()
    settings_form = SsoSettingsForm(organization=org, initial={
        "email_attribute": idp.email_attribute if idp else "",
        "group_attribute": idp.group_attribute if idp else "",
        "role_mapping": SsoSettingsForm.mapping_text(idp.role_mapping) if idp else "",
        "break_glass": list(idp.break_glass_accounts.all()) if idp else [],
    })
    if request.method == "POST":
        if not may_change:
            raise PermissionDenied
        step = request.POST.get("step")
        try:
            if step == "upload":
                upload_form = MetadataUploadForm(request.POST, request.FILES)
                if upload_form.is_valid():
                    try:
                        sso.upload_idp_metadata(actor(request), org, upload_form.cleaned_data["metadata"])
                    except ValidationError as exc:
                        attach_errors(upload_form, exc)
                    else:
                        messages.success(request, _("IdP metadata saved. Run “Test SSO” before enabling it."))
                        return redirect("sso:settings")
            elif step == "settings" and idp is not None:
                settings_form = SsoSettingsForm(request.POST, organization=org)
                if settings_form.is_valid():
                    data = settings_form.cleaned_data
                    try:
                        sso.update_idp(actor(request), idp, email_attribute=data["email_attribute"],
                                       group_attribute=data["group_attribute"], role_mapping=data["role_mapping"],
                                       break_glass=list(data["break_glass"]))
                    except ValidationError as exc:
                        attach_errors(settings_form, exc)
                    else:
                        messages.success(request, _("Single sign-on settings saved."))
                        return redirect("sso:settings")
            elif step in ("enable", "disable") and idp is not None:
                sso.update_idp(actor(request), idp, enabled=(step == "enable"))
                messages.success(request, _("Single sign-on is on.") if step == "enable"
                                 else _("Single sign-on is off: everyone signs in with a password."))
                return redirect("sso:settings")
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return redirect("sso:settings")
    return render(request, "sso/settings.html", {
        "idp": idp, "may_change": may_change, "upload_form": upload_form, "settings_form": settings_form,
        "sp": sso.sp_urls(request, org),
        "attempts": SsoSignIn.objects.filter(organization=org).select_related("person")[:10],
    })


@require_GET
def metadata(request, org_id):
    org = _org(org_id)
    response = HttpResponse(sso.sp_metadata(request, org), content_type="application/samlmetadata+xml")
    if request.GET.get("download"):
        response["Content-Disposition"] = f'attachment; filename="controlhub-sp-{org.pk}.xml"'
    return response


@portal_view(Area.ORGANIZATION)
def test(request, org_id):
    """Start a test sign-in (new tab): validates everything, signs nobody in, records the result."""
    if str(request.organization.pk) != str(org_id):
        raise Http404   # another organisation's SSO is not there for this admin, as everywhere else
    if not may(request.user, Area.ORGANIZATION, CHANGE):
        raise PermissionDenied
    if not IdentityProvider.objects.filter(organization=request.organization).exists():
        raise Http404
    return HttpResponseRedirect(sso.start_login(request, request.organization, test=True))


# --------------------------------------------------------------------------------------------- SP endpoints


@require_GET
def login(request, org_id):
    org = _org(org_id)
    if sso.enabled_idp(org.pk) is None:
        return _refused(request, org, _("Single sign-on is not enabled for this organization."), audit=False)
    return HttpResponseRedirect(sso.start_login(request, org, next_url=request.GET.get("next") or "/"))


@csrf_exempt
@require_POST
def acs(request, org_id):
    """The IdP's cross-site POST arrives without our session cookie: re-post it from our own origin."""
    org = _org(org_id)
    return render(request, "sso/acs_repost.html", {
        "action": reverse("sso:acs_finish", args=[org.pk]),
        "fields": {k: request.POST.get(k, "") for k in ("SAMLResponse", "RelayState")},
    })


@csrf_exempt   # the SAML response is the credential; InResponseTo ties it to this browser's session
@require_POST
def acs_finish(request, org_id):
    org = _org(org_id)
    post = {k: request.POST.get(k, "") for k in ("SAMLResponse", "RelayState")}
    try:
        verified = sso.verify_response(request, org, post)
        person = sso.find_person(verified)
        if verified.test:
            return _test_result(request, org, verified, person)
        account = sso.account_for(person)
        added = sso.apply_role_mapping(verified.idp, account, verified.groups)
    except sso.SsoRefused as refused:
        if request.session.get(sso.SESSION_PENDING, {}).get(str(org.pk), {}).get("test"):
            request.session[sso.SESSION_PENDING].pop(str(org.pk), None)
            request.session.modified = True
        return _refused(request, org, refused.reason, name_id=refused.name_id, email=refused.email,
                        person=refused.person)
    pending = request.session.get(sso.SESSION_PENDING, {})
    auth_login(request, account, backend=BACKEND)   # a new session (key rotated): nothing carried over
    request.session[sso.SESSION_PENDING] = pending
    request.session[sso.SESSION_SIGNED_IN] = {"org": str(org.pk), "name_id": verified.name_id,
                                              "format": verified.name_id_format,
                                              "session_index": verified.session_index}
    sso.record_attempt(org, SignInOutcome.SIGNED_IN, _("Signed in through the IdP.") +
                       (" " + _("Roles granted: %(roles)s") % {"roles": ", ".join(added)} if added else ""),
                       name_id=verified.name_id, email=verified.email, person=person, account=account,
                       request=request)
    nxt = verified.next_url
    if not url_has_allowed_host_and_scheme(nxt, allowed_hosts={request.get_host()}):
        nxt = "/"
    if nxt == "/" and not account.is_admin:
        nxt = reverse("me:home")   # people without an admin role land in their user portal, as with a password
    return HttpResponseRedirect(nxt)


def _test_result(request, org, verified, person):
    if not request.user.is_authenticated or not may(request.user, Area.ORGANIZATION, CHANGE):
        raise sso.SsoRefused(_("Only an administrator of the organization can run the SSO test."))
    sso.mark_tested(actor(request), verified.idp)
    sso.record_attempt(org, SignInOutcome.TESTED, _("Test sign-in succeeded."), name_id=verified.name_id,
                       email=verified.email, person=person, account=request.user, request=request)
    return render(request, "sso/test_result.html", {"org": org, "verified": verified, "person": person})


def _refused(request, org, reason, *, audit=True, **details):
    if audit:
        account = request.user if request.user.is_authenticated else None
        sso.record_attempt(org, SignInOutcome.REFUSED, reason, account=account, request=request, **details)
    return render(request, "sso/refused.html", {"org": org, "reason": reason}, status=403)


@require_GET
def sls(request, org_id):
    """Single logout: the IdP's LogoutRequest (sign out here, answer) or its LogoutResponse to ours."""
    org = _org(org_id)
    try:
        url = sso.process_slo(request, org, lambda: auth_logout(request))
    except sso.SsoRefused as refused:
        return _refused(request, org, refused.reason)
    auth_logout(request)
    return HttpResponseRedirect(url or reverse("account_login") + "?signed_out=1")


# --------------------------------------------------------------------------------------------- email-first sign-in


class EmailFirstLoginView(LoginView):
    """allauth's sign-in page, asking for the email first: with SSO on for the person's organisation, an empty
    password sends them to their IdP. A password for such a person is refused by the account adapter."""

    def post(self, request, *args, **kwargs):
        email = (request.POST.get("login") or "").strip()
        if email and not request.POST.get("password"):
            idp = sso.idp_for_email(email)
            if idp is not None:
                nxt = request.POST.get("next") or request.GET.get("next") or "/"
                url = reverse("sso:login", args=[idp.organization_id])
                if url_has_allowed_host_and_scheme(nxt, allowed_hosts={request.get_host()}):
                    url += "?" + urlencode({"next": nxt})
                return HttpResponseRedirect(url)
        return super().post(request, *args, **kwargs)
