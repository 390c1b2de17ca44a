"""The `/v1` URL map: Webex paths (reference/webex-api.md §7), so wxc-sdk works by changing only its base URL."""
from django.http import Http404
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularJSONAPIView, SpectacularSwaggerView
from rest_framework.permissions import AllowAny
from rest_framework.views import APIView

from calling.api import dialplan, numbers, pstn
from calling.api import locations as calling_locations
from devices.api import devices, members
from devices.api import provisioning as device_provisioning
from users.api import licenses, people, workspaces

from . import locations, organizations

TC = "telephony/config"
L = f"{TC}/locations/<str:location_id>"


class NotFoundView(APIView):
    """Unknown /v1 paths answer a Webex error body like every other error."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    schema = None

    def answer(self, request, *args, **kwargs):
        raise Http404("No such API endpoint")

    get = post = put = patch = delete = answer


urlpatterns = [
    path("openapi.json", SpectacularJSONAPIView.as_view(), name="openapi"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="openapi"), name="api-docs"),
    # organisations, people, licences
    path("organizations", organizations.OrganizationListView.as_view(), name="api-organizations"),
    path("organizations/<str:org_id>", organizations.OrganizationDetailView.as_view(), name="api-organization"),
    path("people", people.PeopleView.as_view(), name="api-people"),
    path("people/me", people.MeView.as_view(), name="api-people-me"),
    path("", include("users.bulk.api_urls")),
    path("people/<str:person_id>", people.PersonDetailView.as_view(), name="api-person"),
    path("licenses", licenses.LicenseListView.as_view(), name="api-licenses"),
    path("licenses/users", licenses.AssignLicensesView.as_view(), name="api-licenses-users"),
    path("licenses/<str:license_id>", licenses.LicenseDetailView.as_view(), name="api-license"),
    # locations
    path("locations", locations.LocationListView.as_view(), name="api-locations"),
    path("locations/<str:location_id>", locations.LocationDetailView.as_view(), name="api-location"),
    path(f"{TC}/locations", calling_locations.TelephonyLocationListView.as_view(), name="api-tc-locations"),
    path(L, calling_locations.TelephonyLocationDetailView.as_view(), name="api-tc-location"),
    path(f"{L}/actions/modifyAnnouncementLanguage/invoke", calling_locations.AnnouncementLanguageView.as_view(),
         name="api-tc-location-announcement-language"),
    # wxc-sdk 1.41 drops `telephony/config/locations/` from this one call (reference/webex-api.md §1)
    path("<str:location_id>/actions/modifyAnnouncementLanguage/invoke",
         calling_locations.AnnouncementLanguageSdkPathView.as_view(), name="api-tc-location-announcement-language-sdk"),
    # local gateways and a location's PSTN connection
    path(f"{TC}/premisePstn/trunks", pstn.TrunkListView.as_view(), name="api-tc-trunks"),
    path(f"{TC}/premisePstn/trunks/trunkTypes", pstn.TrunkTypesView.as_view(), name="api-tc-trunk-types"),
    path(f"{TC}/premisePstn/trunks/<str:trunk_id>", pstn.TrunkDetailView.as_view(), name="api-tc-trunk"),
    path(f"{TC}/premisePstn/trunks/<str:trunk_id>/usage", pstn.TrunkUsageView.as_view(), name="api-tc-trunk-usage"),
    path(f"{TC}/premisePstn/routeGroups", pstn.RouteGroupListView.as_view(), name="api-tc-route-groups"),
    path(f"{TC}/premisePstn/routeGroups/<str:rg_id>", pstn.RouteGroupDetailView.as_view(), name="api-tc-route-group"),
    path(f"{TC}/premisePstn/routeGroups/<str:rg_id>/usage", pstn.RouteGroupUsageView.as_view(),
         name="api-tc-route-group-usage"),
    path("telephony/pstn/locations/<str:location_id>/connection", pstn.ConnectionView.as_view(),
         name="api-pstn-connection"),
    path("telephony/pstn/locations/<str:location_id>/connectionOptions", pstn.ConnectionOptionsView.as_view(),
         name="api-pstn-connection-options"),
    # dial plan: outgoing permissions, translation patterns, premises dial plans, call-routing test
    path(f"{L}/outgoingPermission", dialplan.LocationOutgoingPermissionView.as_view(),
         name="api-tc-location-outgoing-permission"),
    path(f"{TC}/people/<str:person_id>/outgoingPermission", dialplan.PersonOutgoingPermissionView.as_view(),
         name="api-tc-person-outgoing-permission"),
    path("people/<str:person_id>/features/outgoingPermission", dialplan.PersonOutgoingPermissionView.as_view(),
         name="api-person-outgoing-permission"),
    path(f"{TC}/callRouting/translationPatterns", dialplan.TranslationPatternListView.as_view(),
         name="api-tc-translation-patterns"),
    path(f"{TC}/callRouting/translationPatterns/<str:pattern_id>", dialplan.TranslationPatternDetailView.as_view(),
         name="api-tc-translation-pattern"),
    path(f"{L}/callRouting/translationPatterns", dialplan.TranslationPatternListView.as_view(),
         name="api-tc-location-translation-patterns"),
    path(f"{L}/callRouting/translationPatterns/<str:pattern_id>", dialplan.TranslationPatternDetailView.as_view(),
         name="api-tc-location-translation-pattern"),
    path(f"{TC}/premisePstn/dialPlans", dialplan.DialPlanListView.as_view(), name="api-tc-dial-plans"),
    path(f"{TC}/premisePstn/dialPlans/<str:plan_id>", dialplan.DialPlanDetailView.as_view(),
         name="api-tc-dial-plan"),
    path(f"{TC}/premisePstn/dialPlans/<str:plan_id>/dialPatterns", dialplan.DialPatternsView.as_view(),
         name="api-tc-dial-plan-patterns"),
    path(f"{TC}/premisePstn/actions/validateDialPatterns/invoke", dialplan.ValidateDialPatternsView.as_view(),
         name="api-tc-validate-dial-patterns"),
    path(f"{TC}/actions/testCallRouting/invoke", dialplan.TestCallRoutingView.as_view(),
         name="api-tc-test-call-routing"),
    # numbers
    path(f"{TC}/numbers", numbers.NumberListView.as_view(), name="api-tc-numbers"),
    path(f"{L}/numbers", numbers.LocationNumbersView.as_view(), name="api-tc-location-numbers"),
    path(f"{TC}/actions/validateNumbers/invoke", numbers.ValidateNumbersView.as_view(),
         name="api-tc-validate-numbers"),
    path(f"{TC}/actions/validateExtensions/invoke", numbers.ValidateExtensionsView.as_view(),
         name="api-tc-validate-extensions"),
    path(f"{L}/actions/validateExtensions/invoke", numbers.LocationValidateExtensionsView.as_view(),
         name="api-tc-location-validate-extensions"),
    # devices
    path(f"{TC}/supportedDevices", devices.SupportedDevicesView.as_view(), name="api-tc-supported-devices"),
    path("devices", devices.DeviceListView.as_view(), name="api-devices"),
    path("devices/<str:device_id>", devices.DeviceDetailView.as_view(), name="api-device"),
    path(f"{TC}/devices/actions/validateMacs/invoke", devices.ValidateMacsView.as_view(),
         name="api-tc-validate-macs"),
    path(f"{TC}/devices/<str:device_id>/members", members.DeviceMembersView.as_view(), name="api-tc-device-members"),
    path(f"{TC}/devices/<str:device_id>/provisioning", device_provisioning.DeviceProvisioningView.as_view(),
         name="api-tc-device-provisioning"),
    path(f"{TC}/devices/<str:device_id>/availableMembers", members.AvailableMembersView.as_view(),
         name="api-tc-device-available-members"),
    path(f"{TC}/people/<str:person_id>/devices", members.PersonDevicesView.as_view(), name="api-tc-person-devices"),
    path(f"{TC}/workspaces/<str:workspace_id>/devices", members.WorkspaceDevicesView.as_view(),
         name="api-tc-workspace-devices"),
    # workspaces
    path("workspaces", workspaces.WorkspaceListView.as_view(), name="api-workspaces"),
    path("workspaces/<str:workspace_id>", workspaces.WorkspaceDetailView.as_view(), name="api-workspace"),
    re_path(r"^(?!docs$).*$", NotFoundView.as_view(), name="api-not-found"),
]
