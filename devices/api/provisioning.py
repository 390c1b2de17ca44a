"""`GET /v1/telephony/config/devices/{deviceId}/provisioning`: where a phone fetches its files, and how.

Not a Webex endpoint (Webex onboards MPP phones by activation code or MAC); same conventions as the others:
`{bootstrapUrl, configUrl, provisioningUrl}`, plus `httpUser`/`httpPassword` when per-device HTTP auth is on and
the caller may change the device (they are secrets: read-only admins get the URLs only), and `firstContactOpen`
when per-device HTTP auth is on: whether the phone's next fetch is served once without credentials (it has never
fetched its file, or an administrator reset its first contact). Another organisation's device is a 404.
"""
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from controlhub.api.common import ORG_ID, WebexAPIView, get_or_404, parse_id
from controlhub.roles import CHANGE

from ..models import Device
from ..provisioning.client import (
    bootstrap_url,
    device_url,
    first_contact_open,
    http_credentials,
    organization_base_url,
)


class DeviceProvisioningOut(serializers.Serializer):
    provisioningUrl = serializers.CharField(help_text="The organisation's base URL: DHCP option 66/150/160")
    bootstrapUrl = serializers.CharField(help_text="The public model file a factory-fresh phone fetches first")
    configUrl = serializers.CharField(help_text="The device's own file (User-Agent MAC checked, HTTP auth)")
    httpUser = serializers.CharField(required=False)
    httpPassword = serializers.CharField(required=False)
    firstContactOpen = serializers.BooleanField(
        required=False, help_text="Per-device HTTP auth on and the phone never fetched its file (or its first contact "
                                  "was reset): its next fetch is served once without credentials")


class DeviceProvisioningView(WebexAPIView):
    @extend_schema(operation_id="telephony_device_provisioning", responses=DeviceProvisioningOut,
                   parameters=[ORG_ID], summary="Get a device's provisioning URLs and HTTP credentials")
    def get(self, request, device_id: str):
        org = self.organization(request)
        pk = parse_id(device_id, "DEVICE", "deviceId")
        device = get_or_404(self.visible(Device, request, org).select_related("organization", "model"), pk, "Device")
        body = {
            "provisioningUrl": organization_base_url(device.organization) + "/",
            "bootstrapUrl": bootstrap_url(device.organization, device.model),
            "configUrl": device_url(device),
        }
        credentials = http_credentials(device)
        if credentials:
            body["firstContactOpen"] = first_contact_open(device)
        if credentials and self.visible(Device, request, org, CHANGE).filter(pk=device.pk).exists():
            body["httpUser"], body["httpPassword"] = credentials
        return Response(body)
