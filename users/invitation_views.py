"""The invitation link's pages: check the link, set a first password, sign in (users.invitations).

As Django's password reset does, the token leaves the address bar at once: a valid link is kept in the session
and the browser is sent to `…/set-password/`, so the token never reaches a Referer header or the history.
"""
from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth.forms import SetPasswordForm
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters

from controlhub.models import Account

from .invitations import Check, accept_invitation, check

SESSION_KEY = "_invitation_token"
SET_PASSWORD = "set-password"
BACKEND = "django.contrib.auth.backends.ModelBackend"


@sensitive_post_parameters("new_password1", "new_password2")
@never_cache
def accept(request, account_id: int, token: str):
    account = Account.objects.filter(pk=account_id, is_active=True).first()
    if token != SET_PASSWORD:
        state = check(account, token)
        if state != Check.VALID:
            return refused(request, state)
        request.session[SESSION_KEY] = {"account": account.pk, "token": token}
        return redirect(reverse("invitation:accept", args=[account.pk, SET_PASSWORD]))
    stash = request.session.get(SESSION_KEY) or {}
    token = stash.get("token", "") if stash.get("account") == account_id else ""
    state = check(account, token)
    if state != Check.VALID:
        return refused(request, state)
    form = SetPasswordForm(account, request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            account = accept_invitation(account, token, form.cleaned_data["new_password1"])
        except ValidationError as exc:   # the link was spent in another tab meanwhile
            return refused(request, Check(exc.code))
        request.session.pop(SESSION_KEY, None)
        auth_login(request, account, backend=BACKEND)   # moves last_login: the link is spent
        messages.success(request, _("Your password is set and you are signed in."))
        return redirect("portal:overview" if account.is_admin else "me:home")
    return render(request, "account/invitation_set_password.html", {"form": form, "account": account})


def refused(request, state: Check):
    status = {Check.EXPIRED: 410, Check.USED: 410}.get(state, 400)
    return render(request, "account/invitation_refused.html", {"state": state.value}, status=status)
