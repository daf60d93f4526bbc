"""One status badge for every admin: the same look for the same state, escaped labels."""

import pytest
from django.urls import reverse

from core.admin.display import GREEN, RED, status_badge
from tests.factories import ImportJobFactory, ReportDeliveryFactory, ReportRunFactory


def test_a_badge_is_coloured_by_status_and_escapes_its_label():
    assert status_badge("done", "<b>Done</b>", {"done": GREEN}) == (
        f'<strong class="status-badge" style="color: {GREEN}">&lt;b&gt;Done&lt;/b&gt;</strong>')
    assert 'style="color: inherit"' in status_badge("new", "New", {"done": GREEN})


@pytest.mark.django_db
def test_failed_imports_and_report_runs_look_the_same(client, superuser):
    ImportJobFactory(failed=True)
    ReportRunFactory(status="failed")
    ReportDeliveryFactory(status="sent")
    client.force_login(superuser)
    failed = f'<strong class="status-badge" style="color: {RED}">Failed</strong>'
    for name in ("analytics_importjob", "reports_reportrun"):
        assert failed in client.get(reverse(f"admin:{name}_changelist")).content.decode(), name
    sent = f'<strong class="status-badge" style="color: {GREEN}">Sent</strong>'
    assert sent in client.get(reverse("admin:reports_reportdelivery_changelist")).content.decode()
