"""MAC address validation shared by portal forms, the /v1 API and bulk phone CSV."""
import netaddr
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _


def normalize_mac(raw: str) -> str:
    """Any common notation (00:1A:2B…, 00-1a-2b…, 001a.2b3c.4d5e, bare hex) → 12 lowercase hex digits.

    Zero, broadcast and multicast addresses are never a phone's own MAC.
    """
    text = (raw or "").strip()
    if not text:
        raise ValidationError(_("Enter the phone's MAC address."), code="required")
    try:
        eui = netaddr.EUI(text, version=48)
    except (netaddr.AddrFormatError, TypeError, ValueError):
        raise ValidationError(_("“%(value)s” is not a MAC address; it has 12 hex digits, e.g. 00:1A:2B:3C:4D:5E."),
                              params={"value": text}, code="invalid") from None
    value = int(eui)
    if value == 0:
        raise ValidationError(_("00:00:00:00:00:00 is not a device's MAC address."), code="invalid")
    if value == 0xFFFFFFFFFFFF:
        raise ValidationError(_("FF:FF:FF:FF:FF:FF is the broadcast address, not a device's MAC address."),
                              code="invalid")
    if eui.words[0] & 0x01:
        raise ValidationError(_("“%(value)s” is a multicast address, not a device's MAC address."),
                              params={"value": text}, code="invalid")
    return format(value, "012x")
