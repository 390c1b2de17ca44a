"""Local gateways: the write path's rules for trunks, route groups and a location's PSTN connection."""
import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from calling.actions import (
    create_route_group,
    create_trunk,
    delete_route_group,
    delete_trunk,
    set_location_pstn_connection,
    update_route_group,
    update_trunk,
)
from calling.engine.render import desired_state
from calling.gateways import UNKNOWN, cube_config, cube_parameters, trunk_status
from calling.models import LocationPstn, Trunk, TrunkType
from controlhub.actions import Actor, delete_location
from controlhub.models import AuditEvent, Location
from controlhub.roles import Role
from tests.conftest import org_location

pytestmark = pytest.mark.django_db
SYSTEM = Actor.system()


def cert_trunk(org, name="SBC 1", **kw):
    data = {"location": org_location(org, "HQ"), "trunk_type": TrunkType.CERTIFICATE_BASED,
            "address": "sbc.example.com", "port": 5061, "domain": "example.com", "password": "Secret123x"} | kw
    return create_trunk(SYSTEM, org, name=name, **data)


def reg_trunk(org, name="LGW 1", **kw):
    return create_trunk(SYSTEM, org, name=name, location=org_location(org, "HQ"), **kw)


def test_registering_trunk_gets_generated_credentials(org):
    trunk = reg_trunk(org)
    assert trunk.trunk_type == TrunkType.REGISTERING and trunk.otg_dtg_id.startswith("lgw")
    assert trunk.sip_username == f"{trunk.otg_dtg_id}_lgu" and len(trunk.password) >= 8
    assert trunk.line_port == f"{trunk.sip_username}@{org.sip_domain}"
    assert trunk.address == "" and trunk.port is None
    assert AuditEvent.objects.filter(object_type="trunk", object_id=str(trunk.pk), action="CREATE").exists()
    other = reg_trunk(org, "LGW 2")
    assert other.sip_username != trunk.sip_username and other.password != trunk.password


def test_certificate_based_needs_address_port_domain(org):
    with pytest.raises(ValidationError) as exc:
        create_trunk(SYSTEM, org, name="SBC", location=org_location(org, "HQ"),
                     trunk_type=TrunkType.CERTIFICATE_BASED, password="Secret123x")
    assert {"address", "port", "domain"} <= set(exc.value.message_dict)
    with pytest.raises(ValidationError) as exc:
        cert_trunk(org, address="not a host!", port=70000)
    assert "not an FQDN or IP address" in exc.value.message_dict["address"][0]
    assert "between 1 and 65535" in exc.value.message_dict["port"][0]
    trunk = cert_trunk(org, address="SBC.Example.COM")
    assert trunk.address == "sbc.example.com"


def test_field_rules(org):
    with pytest.raises(ValidationError) as exc:
        reg_trunk(org, name="  ", password="short", max_concurrent_calls=0)
    assert set(exc.value.message_dict) >= {"name", "password", "max_concurrent_calls"}
    reg_trunk(org)
    with pytest.raises(ValidationError) as exc:
        reg_trunk(org)   # same name
    assert "already exists" in str(exc.value)
    with pytest.raises(ValidationError) as exc:
        create_trunk(SYSTEM, org, name="X", location=None)
    assert "location" in exc.value.message_dict


def test_other_orgs_objects_are_refused(org, other_org):
    with pytest.raises(ValidationError):
        create_trunk(SYSTEM, org, name="X", location=org_location(other_org, "HQ"))
    foreign = reg_trunk(other_org)
    with pytest.raises(ValidationError):
        create_route_group(SYSTEM, org, name="RG", members=[(foreign, 1)])
    with pytest.raises(ValidationError):
        set_location_pstn_connection(SYSTEM, org_location(org, "HQ"), foreign)


def test_update_trunk_only_changeable_fields(org):
    trunk = reg_trunk(org)
    update_trunk(SYSTEM, trunk, name="Renamed", max_concurrent_calls=10, password="NewSecret99")
    trunk.refresh_from_db()
    assert (trunk.name, trunk.max_concurrent_calls, trunk.password) == ("Renamed", 10, "NewSecret99")
    with pytest.raises(ValidationError) as exc:
        update_trunk(SYSTEM, trunk, trunk_type=TrunkType.CERTIFICATE_BASED)
    assert "cannot be changed" in str(exc.value)


def test_route_group_rules(org):
    trunks = [reg_trunk(org, f"T{i}") for i in range(11)]
    with pytest.raises(ValidationError) as exc:
        create_route_group(SYSTEM, org, name="RG", members=[])
    assert "at least one" in str(exc.value)
    with pytest.raises(ValidationError) as exc:
        create_route_group(SYSTEM, org, name="RG", members=[(t, 1) for t in trunks])
    assert "at most 10" in str(exc.value)
    with pytest.raises(ValidationError) as exc:
        create_route_group(SYSTEM, org, name="RG", members=[(trunks[0], 11)])
    assert "1 to 10" in str(exc.value)
    with pytest.raises(ValidationError) as exc:
        create_route_group(SYSTEM, org, name="RG", members=[(trunks[0], 1), (trunks[0], 2)])
    assert "twice" in str(exc.value)
    group = create_route_group(SYSTEM, org, name="RG", members=[(trunks[1], 2), (trunks[0], 1)])
    assert [(m.trunk.name, m.priority) for m in group.members.all()] == [("T0", 1), ("T1", 2)]
    update_route_group(SYSTEM, group, members=[(trunks[2], 1)])
    assert [m.trunk.name for m in group.members.all()] == ["T2"]


def test_trunk_in_use_cannot_be_deleted_and_names_its_users(org):
    trunk = reg_trunk(org)
    hq = org_location(org, "HQ")
    set_location_pstn_connection(SYSTEM, hq, trunk)
    group = create_route_group(SYSTEM, org, name="Backup", members=[(trunk, 1)])
    with pytest.raises(ValidationError) as exc:
        delete_trunk(SYSTEM, trunk)
    assert "location HQ" in str(exc.value) and "route group Backup" in str(exc.value)
    set_location_pstn_connection(SYSTEM, hq, group)
    with pytest.raises(ValidationError) as exc:
        delete_route_group(SYSTEM, group)
    assert "HQ" in str(exc.value)
    set_location_pstn_connection(SYSTEM, hq, None)
    assert not LocationPstn.objects.filter(location=hq).exists()
    delete_route_group(SYSTEM, group)
    delete_trunk(SYSTEM, trunk)
    assert not Trunk.objects.filter(pk=trunk.pk).exists()


def test_location_with_trunks_is_not_deleted(org):
    location = Location.objects.create(organization=org, name="Lab", time_zone="UTC", country="US")
    trunk = create_trunk(SYSTEM, org, name="Lab GW", location=location)
    with pytest.raises(ValidationError) as exc:
        delete_location(SYSTEM, location)
    assert "local gateways" in str(exc.value)
    delete_trunk(SYSTEM, trunk)
    delete_location(SYSTEM, location)


def test_read_only_admin_and_location_admin_cannot_write(org, make_admin):
    trunk = reg_trunk(org)
    read_only = Actor(account=make_admin(Role.READ_ONLY_ADMIN, org=org))
    with pytest.raises(PermissionDenied):
        create_trunk(read_only, org, name="X", location=org_location(org, "HQ"))
    with pytest.raises(PermissionDenied):
        delete_trunk(read_only, trunk)
    with pytest.raises(PermissionDenied):
        set_location_pstn_connection(read_only, org_location(org, "HQ"), trunk)
    hq_admin = Actor(account=make_admin(Role.LOCATION_ADMIN, org=org, locations=[org_location(org, "HQ")]))
    with pytest.raises(PermissionDenied):
        create_trunk(hq_admin, org, name="X", location=org_location(org, "HQ"))


def test_desired_state_renders_gateways_and_trunk_credentials(org):
    cert = cert_trunk(org, address="10.0.0.5", port=5065, transport="udp")
    reg = reg_trunk(org)
    hq, branch = org_location(org, "HQ"), org_location(org, "Branch")
    set_location_pstn_connection(SYSTEM, hq, cert)
    group = create_route_group(SYSTEM, org, name="RG", members=[(reg, 2), (cert, 1)])
    set_location_pstn_connection(SYSTEM, branch, group)
    state = desired_state(org.pk)
    assert [(g.uri, g.aor_user) for g in state.gateways[str(hq.pk)]] == [("sip:10.0.0.5:5065", None)]
    assert [(g.uri, g.aor_user) for g in state.gateways[str(branch.pk)]] == [
        ("sip:10.0.0.5:5065", None), (None, reg.sip_username)]
    assert reg.sip_username in {c.auth_id for c in state.credentials}
    assert reg.sip_username in {line.line_user for line in state.lines}
    assert cert.sip_username not in {c.auth_id for c in state.credentials}


def test_cube_parameters_and_config(org, settings):
    settings.PROVISIONING_OUTBOUND_PROXY = "198.51.100.7:5060"
    trunk = reg_trunk(org, password="Secret123x")
    params = cube_parameters(trunk)
    assert params.registrar_domain == org.sip_domain and params.outbound_proxy == "198.51.100.7:5060"
    config = cube_config(trunk)
    assert f"registrar dns:{org.sip_domain}" in config
    assert (f"credentials number {trunk.sip_username} username {trunk.sip_username} password 0 Secret123x "
            f"realm {org.sip_domain}") in config
    assert "outbound-proxy ipv4:198.51.100.7:5060" in config and f"pattern dtg={trunk.otg_dtg_id}" in config
    assert "voice-class sip tenant 100" in config
    assert trunk_status(trunk) == UNKNOWN   # CALL_ENGINE=none
    assert "certificate-based trunk" in cube_config(cert_trunk(org))
