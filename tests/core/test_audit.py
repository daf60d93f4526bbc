"""The audit trail records admin and API changes with who, where, and what changed."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from core.models import AuditEntry
from core.services import audit_entries_prune
from core.tasks import prune_audit_entries
from tests.factories import AuditEntryFactory, UserFactory

pytestmark = pytest.mark.django_db


def entries_for(obj):
    return AuditEntry.objects.filter(target_id=str(obj.pk)).order_by("id")


def test_api_create_update_delete_are_recorded(staff_client, superuser):
    created = staff_client.post(
        reverse("accounts-user-list"), {"email": "new@example.com", "first_name": "Ana"},
        format="json", HTTP_X_FORWARDED_FOR="198.51.100.1", REMOTE_ADDR="192.0.2.10",
    )
    assert created.status_code == 201
    pk = created.json()["id"]
    staff_client.patch(reverse("accounts-user-detail", args=[pk]), {"first_name": "Bia"},
                       format="json")
    staff_client.delete(reverse("accounts-user-detail", args=[pk]))

    create, update, delete = AuditEntry.objects.filter(target_id=str(pk)).order_by("id")
    assert [create.action, update.action, delete.action] == ["create", "update", "delete"]
    assert create.actor == superuser and create.source == "api"
    # No trusted proxy configured: the forwarded header is ignored.
    assert create.ip_address == "192.0.2.10"
    assert create.request_id == created["X-Request-ID"]
    assert update.before["first_name"] == "Ana" and update.after["first_name"] == "Bia"
    assert delete.before["email"] == "new@example.com" and delete.after is None


def test_passwords_never_reach_the_trail(staff_client):
    staff_client.post(reverse("accounts-user-list"),
                      {"email": "pw@example.com", "password": "a-Very-long-passphrase-42"},
                      format="json")
    entry = AuditEntry.objects.get(target_repr="pw@example.com")
    assert entry.after["password"].startswith("redacted:")
    assert "passphrase" not in str(entry.after)


def test_admin_changes_are_recorded_with_source_admin(client, superuser):
    client.force_login(superuser)
    target = UserFactory(first_name="Old")
    url = reverse("admin:accounts_user_change", args=[target.pk])
    form = client.get(url).context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None and k != "password"}
    data.update(first_name="New", groups=[], user_permissions=[], preferences="{}",
                metadata="{}", date_joined_0=timezone.now().date().isoformat(),
                date_joined_1="10:00:00")
    response = client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    entry = entries_for(target).get(action="update")
    assert entry.source == "admin" and entry.actor == superuser
    assert (entry.before["first_name"], entry.after["first_name"]) == ("Old", "New")


def test_changes_outside_requests_are_not_attributed(db):
    user = UserFactory()
    assert not entries_for(user).exists()


def test_signing_in_is_not_recorded_as_an_update(client):
    user = UserFactory(is_staff=True)
    response = client.post(reverse("admin:login"), {
        "username": user.email, "password": "correct horse battery staple"})
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.last_login is not None
    assert not entries_for(user).exists()


def test_incoming_request_id_is_kept_when_sane(staff_client):
    ok = staff_client.get(reverse("core-auditentry-list"), HTTP_X_REQUEST_ID="trace-12345678")
    assert ok["X-Request-ID"] == "trace-12345678"
    forged = staff_client.get(reverse("core-auditentry-list"),
                              HTTP_X_REQUEST_ID="bad id\r\nSet-Cookie: x")
    assert forged["X-Request-ID"] != "bad id\r\nSet-Cookie: x"
    assert len(forged["X-Request-ID"]) == 32


def test_trusted_proxy_count_picks_the_right_hop(staff_client, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    staff_client.post(reverse("accounts-user-list"), {"email": "ip@example.com"}, format="json",
                      HTTP_X_FORWARDED_FOR="10.9.9.9, 198.51.100.1", REMOTE_ADDR="192.0.2.10")
    assert AuditEntry.objects.get(target_repr="ip@example.com").ip_address == "198.51.100.1"


def test_audit_entries_cannot_be_changed_in_the_admin(client, superuser):
    client.force_login(superuser)
    entry = AuditEntryFactory()
    assert client.get(reverse("admin:core_auditentry_changelist")).status_code == 200
    assert client.get(reverse("admin:core_auditentry_add")).status_code == 403
    view = client.get(reverse("admin:core_auditentry_change", args=[entry.pk]))
    assert view.status_code == 200 and b'type="submit"' not in view.content.split(b"<form")[-1]
    assert client.post(reverse("admin:core_auditentry_delete", args=[entry.pk])).status_code == 403


def test_prune_keeps_create_entries_and_recent_ones(settings):
    settings.AUDIT_RETENTION_DAYS = 30
    old = timezone.now() - timedelta(days=40)
    old_create = AuditEntryFactory(action="create")
    old_update = AuditEntryFactory(action="update")
    recent_update = AuditEntryFactory(action="update")
    AuditEntry.objects.filter(pk__in=[old_create.pk, old_update.pk]).update(created_at=old)

    assert prune_audit_entries.delay().get() == 1
    remaining = set(AuditEntry.objects.values_list("pk", flat=True))
    assert remaining == {old_create.pk, recent_update.pk}


def test_prune_rejects_negative_retention():
    with pytest.raises(ValueError, match="zero or positive"):
        audit_entries_prune(retention_days=-1)


def test_prune_is_scheduled_daily(settings):
    schedule = settings.CELERY_BEAT_SCHEDULE["prune-audit-entries"]
    assert schedule["task"] == "core.tasks.prune_audit_entries"


@pytest.mark.django_db
def test_a_third_party_value_json_cannot_hold_is_recorded_as_text():
    from zoneinfo import ZoneInfo

    from django_celery_beat.models import CrontabSchedule

    from core.audit import snapshot

    schedule = CrontabSchedule(minute="0", hour="7", timezone=ZoneInfo("America/Sao_Paulo"))
    assert snapshot(schedule)["timezone"] == "America/Sao_Paulo"
