"""`manage.py import_users` / `export_users`: the same engine from the command line."""
import pytest
from django.core.management import CommandError, call_command

from controlhub.models import AuditEvent, AuditSource
from users.models import Person

from .bulk_support import csv_bytes

pytestmark = pytest.mark.django_db


def test_dry_run_changes_nothing_then_import_applies(org, tmp_path, capsys):
    path = tmp_path / "users.csv"
    path.write_bytes(csv_bytes([["A", "B", "", "cmd@example.com", "", "", "HQ", "", ""],
                                ["", "", "", "", "", "", "", "", ""],
                                ["X", "", "", "bad", "", "", "", "", ""]]))
    call_command("import_users", str(path), "--org", org.display_name, "--dry-run")
    out = capsys.readouterr().out
    assert "create: 1" in out and "error: 1" in out and "row 4: User ID/Email (Required)" in out
    assert "Dry run" in out and not Person.objects.filter(email="cmd@example.com").exists()
    call_command("import_users", str(path), "--org", str(org.pk), "--mode", "add-and-remove-services")
    out = capsys.readouterr().out
    assert "1 created" in out and "Error report:" in out
    assert AuditEvent.objects.filter(source=AuditSource.CSV, object_type="person").count() == 1


def test_unknown_org_and_bad_file(org, tmp_path):
    path = tmp_path / "u.csv"
    path.write_bytes(b"Emial\nx@example.com\n")
    with pytest.raises(CommandError, match="No single organization"):
        call_command("import_users", str(path), "--org", "Nope")
    with pytest.raises(CommandError, match="Did you mean"):
        call_command("import_users", str(path), "--org", org.display_name)


def test_export_command_round_trips(org, make_calling_person, tmp_path, capsys):
    make_calling_person(org, "2001")
    out = tmp_path / "out.csv"
    call_command("export_users", "--org", org.display_name, "-o", str(out))
    call_command("import_users", str(out), "--org", org.display_name, "--dry-run")
    assert "unchanged: 1" in capsys.readouterr().out


def test_no_welcome_mail_flag(org, tmp_path, capsys):
    from controlhub.models import Job

    path = tmp_path / "users.csv"
    path.write_bytes(csv_bytes([["A", "B", "", "quiet-cmd@example.com", "", "", "HQ", "", ""]]))
    call_command("import_users", str(path), "--org", org.display_name, "--no-welcome-mail")
    assert "1 created" in capsys.readouterr().out
    assert Job.objects.get(organization=org).options["welcome_mail"] is False
    path.write_bytes(csv_bytes([["A", "B", "", "mailed-cmd@example.com", "", "", "HQ", "", ""]]))
    call_command("import_users", str(path), "--org", org.display_name)
    assert Job.objects.filter(organization=org, options__welcome_mail=True).count() == 1
