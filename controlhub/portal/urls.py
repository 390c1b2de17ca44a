"""The admin portal's URL map (mounted at /). Each app's pages keep their app's namespace."""
from django.urls import include, path

from calling import dialplan_views as dialplan
from calling import views as calling
from devices import views as devices
from users import views as users

from . import views

portal_patterns = [
    path("", views.overview, name="overview"),
    path("organization/switch/", views.switch_organization, name="switch_organization"),
    path("locations/", views.location_list, name="location_list"),
    path("locations/add/", views.location_add, name="location_add"),
    path("locations/<uuid:pk>/", views.location_detail, name="location_detail"),
    path("locations/<uuid:pk>/edit/", views.location_edit, name="location_edit"),
    path("locations/<uuid:pk>/delete/", views.location_delete, name="location_delete"),
    path("audit/", views.audit_log, name="audit_log"),
    path("sync/<int:pk>/retry/", views.sync_retry, name="sync_retry"),
]

users_patterns = [
    path("users/", users.person_list, name="person_list"),
    path("users/add/", calling.person_add, name="person_add"),
    path("users/<uuid:pk>/", users.person_detail, name="person_detail"),
    path("users/<uuid:pk>/edit/", users.person_edit, name="person_edit"),
    path("users/<uuid:pk>/services/", users.person_services, name="person_services"),
    path("users/<uuid:pk>/delete/", users.person_delete, name="person_delete"),
    path("workspaces/", users.workspace_list, name="workspace_list"),
    path("workspaces/add/", users.workspace_add, name="workspace_add"),
    path("workspaces/<uuid:pk>/", users.workspace_detail, name="workspace_detail"),
    path("workspaces/<uuid:pk>/edit/", users.workspace_edit, name="workspace_edit"),
    path("workspaces/<uuid:pk>/delete/", users.workspace_delete, name="workspace_delete"),
]

calling_patterns = [
    path("numbers/", calling.number_list, name="number_list"),
    path("numbers/add/", calling.number_add, name="number_add"),
    path("numbers/bulk/", calling.number_bulk, name="number_bulk"),
    path("numbers/free/", calling.free_numbers, name="free_numbers"),
    path("pstn/trunks/", calling.trunk_list, name="trunk_list"),
    path("pstn/trunks/add/", calling.trunk_add, name="trunk_add"),
    path("pstn/trunks/<uuid:pk>/", calling.trunk_detail, name="trunk_detail"),
    path("pstn/trunks/<uuid:pk>/edit/", calling.trunk_edit, name="trunk_edit"),
    path("pstn/trunks/<uuid:pk>/delete/", calling.trunk_delete, name="trunk_delete"),
    path("locations/<uuid:pk>/pstn/", calling.location_pstn, name="location_pstn"),
    path("pstn/route-groups/add/", calling.route_group_form, name="route_group_add"),
    path("pstn/route-groups/<uuid:pk>/", calling.route_group_form, name="route_group_edit"),
    path("pstn/route-groups/<uuid:pk>/delete/", calling.route_group_delete, name="route_group_delete"),
    path("locations/<uuid:pk>/outgoing-permissions/", dialplan.location_outgoing_permissions,
         name="location_outgoing_permissions"),
    path("users/<uuid:pk>/outgoing-permissions/", dialplan.person_outgoing_permissions,
         name="person_outgoing_permissions"),
    path("call-routing/", dialplan.call_routing, name="call_routing"),
    path("call-routing/test/", dialplan.call_routing_test, name="call_routing_test"),
    path("call-routing/translation-patterns/add/", dialplan.translation_pattern_add, name="translation_pattern_add"),
    path("call-routing/translation-patterns/<uuid:pk>/delete/", dialplan.translation_pattern_delete,
         name="translation_pattern_delete"),
    path("call-routing/dial-plans/add/", dialplan.dial_plan_form, name="dial_plan_add"),
    path("call-routing/dial-plans/<uuid:pk>/", dialplan.dial_plan_form, name="dial_plan_edit"),
    path("call-routing/dial-plans/<uuid:pk>/delete/", dialplan.dial_plan_delete, name="dial_plan_delete"),
    path("users/<uuid:pk>/calling/", calling.person_calling, name="person_calling"),
    path("users/<uuid:pk>/calling/remove/", calling.person_calling_remove, name="person_calling_remove"),
    path("workspaces/<uuid:pk>/calling/", calling.workspace_calling, name="workspace_calling"),
    path("workspaces/<uuid:pk>/calling/remove/", calling.workspace_calling_remove, name="workspace_calling_remove"),
]

devices_patterns = [
    path("devices/", devices.device_list, name="device_list"),
    path("devices/add/", devices.device_add, name="device_add"),
    path("devices/owners/", devices.owner_suggestions, name="owner_suggestions"),
    path("devices/<uuid:pk>/", devices.device_detail, name="device_detail"),
    path("devices/<uuid:pk>/lines/", devices.device_lines, name="device_lines"),
    path("devices/<uuid:pk>/delete/", devices.device_delete, name="device_delete"),
    path("devices/<uuid:pk>/reset-first-contact/", devices.device_reset_first_contact,
         name="device_reset_first_contact"),
]

urlpatterns = [
    path("", include((portal_patterns, "portal"))),
    path("", include((users_patterns, "users"))),
    path("", include((calling_patterns, "calling"))),
    path("", include((devices_patterns, "devices"))),
    path("", include("users.bulk.urls")),
]
