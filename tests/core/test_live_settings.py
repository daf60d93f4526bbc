"""Live settings: typed and validated, changed by staff in the admin, seen by every
process at its next request, audited; sign-up follows its setting."""

import pytest
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.urls import reverse
from rest_framework.test import APIClient

from core import live_settings
from core.models import AuditEntry, SystemSetting
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def change_url(key: str) -> str:
    live_settings.setting_rows_ensure()
    row = SystemSetting.objects.get(key=key)
    return reverse("admin:core_systemsetting_change", args=[row.pk])


@pytest.fixture
def root(client, superuser):
    client.force_login(superuser)
    return client


def test_an_unset_setting_reads_its_declared_default(settings):
    settings.REPORT_FROM_EMAIL = "Reports <reports@example.com>"
    assert live_settings.get("maintenance_mode") is False
    assert live_settings.get("signup_open") is True
    assert live_settings.get("report_sender") == "Reports <reports@example.com>"
    assert live_settings.get("default_language") == "en"  # LANGUAGE_CODE en-us, not listed


@pytest.mark.parametrize(("key", "bad"), [
    ("upload_max_mb", 0), ("upload_max_mb", "many"), ("maintenance_mode", "perhaps"),
    ("default_time_zone", "Mars/Olympus"), ("default_language", "xx-yy"),
    ("report_sender", "not an address"), ("maintenance_message", "   "),
])
def test_invalid_values_are_refused_and_nothing_changes(key, bad):
    before = live_settings.get(key)
    with pytest.raises(ValidationError) as refused:
        live_settings.setting_set(key=key, value=bad)
    assert "value" in refused.value.message_dict
    assert live_settings.get(key) == before


def test_a_change_outside_a_request_is_audited_too():
    live_settings.setting_set(key="upload_max_mb", value="20")
    assert live_settings.get("upload_max_mb") == 20
    assert live_settings.upload_max_bytes() == 20 * 1024 * 1024
    entry = AuditEntry.objects.get(target_repr="upload_max_mb")
    assert (entry.action, entry.before["value"], entry.after["value"]) == ("update", None, 20)


def test_an_admin_change_reaches_the_next_request_of_another_process_and_is_audited(
        root, superuser):
    """The value is served from the shared cache: a row changed behind the cache's back
    (no invalidation) is not seen; a change in the admin drops the entry, so the next
    read (any process: they share only the cache and the database) gets the new value."""
    live_settings.setting_rows_ensure()
    assert live_settings.get("signup_open") is True  # cached now
    SystemSetting.objects.filter(key="signup_open").update(value=False)  # no signal
    assert live_settings.get("signup_open") is True, "reads come from the cache"
    SystemSetting.objects.filter(key="signup_open").update(value=None)

    response = root.post(change_url("signup_open"), {"value": ""})  # unticked: False
    assert response.status_code == 302, response.content.decode()[:3000]
    assert cache.get(live_settings.CACHE_KEY) is None, "the change dropped the cached values"
    assert live_settings.get("signup_open") is False
    entry = AuditEntry.objects.get(target_repr="signup_open")
    assert (entry.actor, entry.source, entry.before["value"], entry.after["value"]) == \
        (superuser, "admin", None, False)


def test_the_admin_form_validates_with_the_declaration(root):
    response = root.post(change_url("upload_max_mb"), {"value": "0"})
    assert response.status_code == 200
    assert "Ensure this value is greater than or equal to 1" in response.content.decode()
    response = root.post(change_url("default_time_zone"), {"value": "Mars/Olympus"})
    assert "not an IANA time zone" in response.content.decode()
    assert live_settings.get("default_time_zone") == "UTC"


def test_use_default_clears_the_stored_value(root):
    live_settings.setting_set(key="maintenance_message", value="Back at noon.")
    root.post(change_url("maintenance_message"), {"use_default": "on", "value": "x"})
    assert SystemSetting.objects.get(key="maintenance_message").value is None
    assert "maintenance" in live_settings.get("maintenance_message")


def test_the_changelist_lists_every_declared_setting(root):
    body = root.get(reverse("admin:core_systemsetting_changelist")).content.decode()
    for key in live_settings.declared():
        assert key in body


def test_staff_read_settings_in_the_api_and_cannot_write_them(staff_client, user_client):
    live_settings.setting_set(key="upload_max_mb", value=8)
    url = reverse("core-systemsetting-list")
    rows = {r["key"]: r for r in staff_client.get(url, {"page_size": 100}).json()["results"]}
    assert set(live_settings.declared()) <= set(rows)
    assert rows["upload_max_mb"]["current"] == 8 and rows["upload_max_mb"]["type"] == "int"
    assert rows["signup_open"] == {**rows["signup_open"], "value": None, "current": True,
                                   "default": True}
    assert staff_client.post(url, {"key": "x", "value": 1}, format="json").status_code == 405
    assert user_client.get(url).status_code == 403


def test_sign_up_closed_refuses_registration_and_open_uses_the_default_language():
    url = reverse("auth-register")
    body = {"email": "new@example.com", "password": "a sturdy passphrase 42"}
    live_settings.setting_set(key="signup_open", value=False)
    response = APIClient().post(url, body, format="json")
    assert response.status_code == 403 and response.json()["code"] == "signup_closed"
    assert not UserFactory._meta.model.objects.filter(email="new@example.com").exists()

    live_settings.setting_set(key="signup_open", value=True)
    live_settings.setting_set(key="default_language", value="pt-br")
    live_settings.setting_set(key="default_time_zone", value="America/Sao_Paulo")
    assert APIClient().post(url, body, format="json").status_code == 202
    created = UserFactory._meta.model.objects.get(email="new@example.com")
    assert (created.language, created.timezone) == ("pt-br", "America/Sao_Paulo")
