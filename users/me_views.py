"""The user portal (as settings.webex.com): every signed-in person sees their own profile, numbers and phones.

Nothing here takes an id from the request: the page shows the person linked to the signed-in account, so no one
can look at anyone else. Administrators reach their own page too (and the admin portal from it).
"""
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render
from django.views.decorators.http import require_safe

from .models import Person


@require_safe
@login_required
def home(request):
    person = (Person.objects.filter(account=request.user)
              .select_related("organization", "location", "line__number", "line__location",
                              "line__organization")
              .first())
    devices = []
    if person is not None:
        # Each phone with its line appearances (port, label, whose line): a fixed number of queries per page.
        devices = list(person.devices.select_related("model", "location")
                       .prefetch_related("lines__line__number", "lines__line__person", "lines__line__workspace"))
    return render(request, "me/home.html", {
        "person": person,
        "line": getattr(person, "line", None) if person is not None else None,
        "devices": devices,
        "is_admin": request.user.is_admin,
    })


@login_required
def email_addresses_not_offered(request):
    """allauth's page for adding sign-in email addresses is switched off: an extra address would be a way around
    the SSO rule that an organisation's people sign in at their IdP (the address is checked, not the account)."""
    raise Http404("Email addresses are managed by your administrator.")
