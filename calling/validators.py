"""Number and extension validation shared by portal forms, the /v1 API and CSV import."""
import re

import phonenumbers
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

EXTENSION_RE = re.compile(r"^[0-9]{2,10}$")


def normalize_number(raw: str, country: str) -> str:
    """Return `raw` as +E.164, reading national formats with the location's country. Raises ValidationError.

    Rejects what cannot be a real, dialable number: invalid for its region or of unassigned ranges, as the
    phonenumbers metadata (Google's libphonenumber) knows them.
    """
    text = (raw or "").strip()
    if not text:
        raise ValidationError(_("Enter a phone number."), code="required")
    if re.search(r"[^0-9+()\-./\s]", text):
        raise ValidationError(_("“%(value)s” contains characters that are not part of a phone number."),
                              params={"value": text}, code="invalid")
    try:
        parsed = phonenumbers.parse(text, country.upper() if country else None)
    except phonenumbers.NumberParseException:
        raise ValidationError(_("“%(value)s” is not a phone number. Use +E.164, e.g. +14085550100, or the "
                                "location's national format."), params={"value": text}, code="invalid") from None
    if not phonenumbers.is_possible_number(parsed):
        raise ValidationError(_("“%(value)s” has the wrong number of digits for its country."),
                              params={"value": text}, code="invalid")
    if not phonenumbers.is_valid_number(parsed):
        raise ValidationError(_("“%(value)s” is not a valid number in an assigned range."),
                              params={"value": text}, code="invalid")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def is_toll_free(e164: str) -> bool:
    return phonenumbers.number_type(phonenumbers.parse(e164)) == phonenumbers.PhoneNumberType.TOLL_FREE


def number_range(start: str, end: str | None, country: str, limit: int = 1000) -> list[str]:
    """Expand a range of numbers (both ends inclusive, same length) into +E.164 strings."""
    first = normalize_number(start, country)
    if not end:
        return [first]
    last = normalize_number(end, country)
    if len(first) != len(last) or int(last[1:]) < int(first[1:]):
        raise ValidationError({"end": _("The last number must be after the first and of the same length.")})
    count = int(last[1:]) - int(first[1:]) + 1
    if count > limit:
        raise ValidationError({"end": _("A range may hold at most %(limit)s numbers; this one has %(count)s.")
                                      % {"limit": limit, "count": count}})
    numbers = [f"+{n}" for n in range(int(first[1:]), int(last[1:]) + 1)]
    for n in numbers:
        normalize_number(n, country)  # every number of the range must be valid, not just its ends
    return numbers


def validate_extension(value: str) -> str:
    text = (value or "").strip()
    if not EXTENSION_RE.match(text):
        raise ValidationError(_("“%(value)s” is not an extension: use 2 to 10 digits."), params={"value": text},
                              code="invalid")
    return text
