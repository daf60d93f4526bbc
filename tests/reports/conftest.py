"""Fixtures of the report pipeline tests: a workspace with sales, members and a definition."""

import smtplib
from datetime import date
from decimal import Decimal

import pytest
from django.core import mail

from tests.factories import (
    MembershipFactory,
    ReportDefinitionFactory,
    SaleRecordFactory,
    WorkspaceFactory,
)

#: Explicit dates, so the report is the same whenever the test runs.
Q1_2025 = {"date_from": "2025-01-01", "date_to": "2025-03-31"}


def add_sales(workspace):
    """Three sales in Q1 2025: PR 10 t (Jan) and 7.25 t (Mar), SP 5.5 t (Feb)."""
    for day, state, city, weight in [(date(2025, 1, 10), "PR", "CURITIBA", "10.000"),
                                     (date(2025, 2, 11), "SP", "CAMPINAS", "5.500"),
                                     (date(2025, 3, 12), "PR", "LONDRINA", "7.250")]:
        SaleRecordFactory(workspace=workspace, sale_date=day, state=state, city=city,
                          net_weight_tonnes=Decimal(weight))


@pytest.fixture
def workspace(db):
    return WorkspaceFactory()


@pytest.fixture
def owner(workspace):
    return MembershipFactory(workspace=workspace, role="owner").user


@pytest.fixture
def recipients(workspace):
    return [MembershipFactory(workspace=workspace, role=role).user
            for role in ("member", "viewer")]


@pytest.fixture
def definition(workspace, owner, recipients):
    add_sales(workspace)
    return ReportDefinitionFactory(workspace=workspace, name="Regional sales Q1",
                                   kind="regional_sales", parameters=dict(Q1_2025),
                                   owner=owner, recipients=recipients,
                                   schedule_cron="0 7 1 * *", schedule_timezone="UTC")


class FlakyBackend:
    """A mail backend whose first ``failures`` sends fail like an SMTP server refusing."""

    failures = 1
    calls = 0

    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages):
        FlakyBackend.calls += 1
        if FlakyBackend.calls <= FlakyBackend.failures:
            raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
        mail.outbox.extend(messages)
        return len(messages)


@pytest.fixture
def flaky_mail(settings):
    settings.EMAIL_BACKEND = "tests.reports.conftest.FlakyBackend"
    FlakyBackend.calls, FlakyBackend.failures = 0, 1
    return FlakyBackend
